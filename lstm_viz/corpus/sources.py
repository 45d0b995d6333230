"""Where a corpus's text comes from: the Python standard library, text files, or every text file under a folder.

Every source becomes a list of :class:`SourceFile` (a name, where to read it, its length in characters and a digest
of its bytes), in a fixed order, before anything is recorded: the recording plan and its resume depend only on
that list. A file's text is what a reader sees: Python sources (``--stdlib``) decoded as Python decodes them
(``tokenize.open``: declared encoding, universal newlines), other files as UTF-8 with universal newlines (``\\r\\n``
and ``\\r`` become ``\\n``). ``--max-chars`` keeps whole files in order and cuts the last one;
``--max-file-chars`` leaves out longer files (one file is one sequential stream: a file much longer than the rest
keeps one lane busy while the others idle).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lstm_viz.corpus.errors import CorpusError
from lstm_viz.corpus.schema import FORMAT
from lstm_viz.parsing import wide_encoding
from lstm_viz.tasks.charlm.data import list_stdlib_files, read_source, stdlib_root

__all__ = ["SourceFile", "read_text", "stdlib_files", "text_dir_files", "text_files"]

_SNIFF = 8192  # bytes looked at for a NUL byte, the mark of a binary file


@dataclass(frozen=True)
class SourceFile:
    """One file of the corpus: ``name`` as shown and stored, ``path`` to read, ``chars`` recorded (``total`` in the
    file; fewer when ``--max-chars`` cut it), ``sha256`` of its bytes (16 hex digits), ``python`` = read as source."""

    name: str
    path: str
    chars: int
    total: int
    sha256: str
    python: bool = False

    def to_dict(self) -> dict:
        return {"name": self.name, "path": self.path, "chars": self.chars, "total": self.total,
                "sha256": self.sha256, "python": self.python}  # fmt: skip

    @classmethod
    def from_dict(cls, values: dict) -> SourceFile:
        return cls(**values)


def _decode(data: bytes, where: str) -> str:
    """UTF-8 text with universal newlines, or CorpusError saying why the bytes are not text."""
    wide = wide_encoding(data)
    if wide:
        raise CorpusError(f"{where} is {wide} text; record-corpus reads UTF-8. Save it as UTF-8 (e.g. iconv -f {wide} "
                          f"-t UTF-8 IN > OUT) and give that file")  # fmt: skip
    if b"\x00" in data[:_SNIFF] or (len(data) > _SNIFF and b"\x00" in data):
        raise CorpusError(f"{where} is a binary file, not text (it holds NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CorpusError(f"{where} is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff")


def read_text(source: SourceFile) -> str:
    """The recorded text of ``source`` (its first ``chars`` characters); CorpusError if it changed since planning."""
    path = Path(source.path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CorpusError(f"cannot read {source.name}: {err.strerror or err}") from None
    if hashlib.sha256(data).hexdigest()[:16] != source.sha256:
        raise CorpusError(f"{source.name} changed since the recording began; record into a new --out folder")
    text = read_source(path) if source.python else _decode(data, source.name)
    return text[: source.chars]


def _load(path: Path, name: str, python: bool) -> tuple[str, str]:
    data = path.read_bytes()
    text = read_source(path) if python else _decode(data, name)
    return text, hashlib.sha256(data).hexdigest()[:16]


def _cut(files: list[SourceFile], max_chars: int | None) -> list[SourceFile]:
    if max_chars is None:
        return files
    if max_chars < 1:
        raise CorpusError(f"--max-chars must be at least 1, got {max_chars}")
    kept, total = [], 0
    for f in files:
        if total >= max_chars:
            break
        chars = min(f.chars, max_chars - total)
        kept.append(SourceFile(f.name, f.path, chars, f.total, f.sha256, f.python))
        total += chars
    return kept


def _too_long(chars: int, max_file_chars: int | None) -> str | None:
    if max_file_chars is not None and chars > max_file_chars:
        return f"{chars:,} characters, over --max-file-chars {max_file_chars:,}"
    return None


def stdlib_files(
    max_chars: int | None = None, root: Path | str | None = None, max_file_chars: int | None = None
) -> tuple[list[SourceFile], dict]:
    """The standard library's ``.py`` files (``tasks.charlm.data``'s listing, in path order) and ``{name: reason}``
    of those that cannot be read as Python source, are empty or are over ``max_file_chars``."""
    root = Path(root) if root is not None else stdlib_root()
    files, skipped, total = [], {}, 0
    for rel in list_stdlib_files(root):
        if max_chars is not None and total >= max_chars:
            break
        try:
            text, digest = _load(root / rel, rel, python=True)
        except (SyntaxError, UnicodeDecodeError, LookupError, OSError) as err:
            skipped[rel] = f"{type(err).__name__}: {err}"[:200]
            continue
        if not text or _too_long(len(text), max_file_chars):
            skipped[rel] = _too_long(len(text), max_file_chars) or "empty"
            continue
        files.append(SourceFile(rel, str(root / rel), len(text), len(text), digest, python=True))
        total += len(text)
    if not files:
        raise CorpusError(f"no readable .py files under {root}")
    return _cut(files, max_chars), skipped


def text_files(
    paths: Sequence[str | Path], max_chars: int | None = None, max_file_chars: int | None = None
) -> tuple[list[SourceFile], dict]:
    """The given text files, in the order given; any that is missing, empty, binary or not UTF-8 is an error (one
    over ``max_file_chars`` is skipped and listed)."""
    files, seen, skipped = [], set(), {}
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise CorpusError(f"text file {str(given)!r} not found")
        if not path.is_file():
            raise CorpusError(f"{given} is not a file (for a folder use --text-dir)")
        name = str(given)
        same = path.resolve()  # crlf.py and ./crlf.py are one file
        if same in seen:
            raise CorpusError(f"{given} is given twice")
        seen.add(same)
        try:
            text, digest = _load(path, name, python=False)
        except OSError as err:
            raise CorpusError(f"cannot read {given}: {err.strerror or err}") from None
        if not text:
            raise CorpusError(f"{given} is empty: there is nothing to record")
        if _too_long(len(text), max_file_chars):
            skipped[name] = _too_long(len(text), max_file_chars)
            continue
        files.append(SourceFile(name, str(path.resolve()), len(text), len(text), digest))
    if not files:
        raise CorpusError(f"no text files left to record ({'; '.join(f'{k}: {v}' for k, v in skipped.items())})")
    return _cut(files, max_chars), skipped


def _is_corpus(manifest: Path) -> bool:
    """Whether ``manifest`` is a recorded corpus's manifest.json (its folder is left out of a --text-dir)."""
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return False


def text_dir_files(
    folder: str | Path, pattern: str = "*", max_chars: int | None = None, max_file_chars: int | None = None
) -> tuple[list[SourceFile], dict]:
    """Every file under ``folder`` whose name matches ``pattern`` (hidden files and folders left out), in path
    order; empty, binary, non-UTF-8 and over-long files are skipped and listed with the reason, and a recorded corpus
    inside the folder (its --out) is left out."""
    root = Path(folder)
    if not root.exists():
        raise CorpusError(f"text folder {str(folder)!r} not found")
    if not root.is_dir():
        raise CorpusError(f"{folder} is not a folder (for one file use --text-file)")
    files, skipped, total = [], {}, 0
    corpora = {m.parent for m in root.rglob("manifest.json") if _is_corpus(m)}  # e.g. --out inside --text-dir
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        parts = path.relative_to(root).parts
        if any(part.startswith(".") for part in parts) or not fnmatch.fnmatch(path.name, pattern):
            continue
        if corpora.intersection(path.parents):  # a recording is not a text to record
            continue
        rel = "/".join(parts)
        if max_chars is not None and total >= max_chars:
            break
        try:
            text, digest = _load(path, rel, python=False)
        except CorpusError as err:
            skipped[rel] = str(err).removeprefix(f"{rel} ")
            continue
        except OSError as err:
            skipped[rel] = f"cannot read: {err.strerror or err}"
            continue
        if not text or _too_long(len(text), max_file_chars):
            skipped[rel] = _too_long(len(text), max_file_chars) or "empty"
            continue
        files.append(SourceFile(rel, str(path.resolve()), len(text), len(text), digest))
        total += len(text)
    if not files:
        why = f" ({len(skipped)} skipped: {next(iter(skipped.values()))}, …)" if skipped else ""
        raise CorpusError(f"no text files matching {pattern!r} under {folder}{why}")
    return _cut(files, max_chars), skipped
