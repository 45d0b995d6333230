"""Python-source corpus for the character LSTM: the stdlib files, their split manifest, per-character labels, vocab.

Corpus. The ``.py`` files of the running interpreter's standard library (``sysconfig.get_paths()["stdlib"]``),
read where they lie, without ``site-packages`` and the ``test``/``tests``/``idle_test`` folders. A file's text is
what Python itself reads: decoded with its declared encoding (``tokenize.open``) and with universal newlines, so
``\\r\\n`` and ``\\r`` become ``\\n``. Files that do not tokenize are skipped and counted.

Split. By file: ``sha256(relative path)`` → its first 8 hex digits as an integer, modulo 100, below ``val_percent``
→ validation. It depends on nothing but the path, so it is the same on every machine and for every Python whose
stdlib holds that path. :func:`build_manifest` records it (python version, every path with size, digest and split,
the skipped files) as a plain dict to store in a checkpoint; :func:`compare_manifest` says what differs from the
stdlib at hand.

Labels (:func:`label_text`), one value per character of the text, the first character included. They describe
the state *after reading that character*, which is what an LSTM's c and h hold at that step:

- ``in_string``: inside a string literal. The opening quote(s) count (after reading them one is inside the
  string), the closing quote(s) do not (after reading them one is out), nor does the prefix (``f``, ``rb``, …).
  An f-string is one string from its opening quote to its closing quote, replacement fields included, on every
  Python: before 3.12 tokenize gives it as one STRING token, from 3.12 on as FSTRING_START … FSTRING_END (nested
  f-strings included). Text is read as the running Python reads it: before 3.12 an f-string that reuses its own
  quote inside (``f"{d["k"]}"``, new in 3.12) tokenizes as two strings with ``k`` between them, as 3.11 sees it.
- ``in_long_string``: the part of ``in_string`` inside a triple-quoted string (the grammar's *longstring*:
  docstrings, most of them), so that ``in_string`` minus it is the short strings. A character model may keep the
  two apart — the shipped one has a cell for short strings and another for docstrings, which read like comments —
  and then ranking by ``in_string`` alone finds neither at its best.
- ``in_comment``: inside a comment: from ``#`` to the last character before the line break.
- ``bracket_depth``: how many ``( [ {`` are open, outside strings and comments; an opening bracket already counts
  itself, a closing one no longer counts.
- ``indent``: the block nesting level (tokenize's INDENT/DEDENT) in force on the character's line; it changes only
  at the start of a line, so continuation lines keep their statement's level and blank or comment-only lines keep
  the level before them.
- ``column``: the character's position in its line (0 for the first; a tab or a non-ASCII character is one).
- ``keyword`` (a hard keyword: ``def``, ``if``, … — not soft ones like ``match``), ``number`` (inside a numeric
  literal), ``line_start`` (column 0).

Text with ``\\r\\n`` or ``\\r`` line breaks is labelled as its universal-newline form; the ``\\r`` of a ``\\r\\n``
takes the labels of the ``\\n`` after it.

Vocabulary: ``<unk>`` (id 0), tab, newline and the 95 printable ASCII characters ``' '…'~'``; every other
character is ``<unk>``, one id per character, so ids and labels stay aligned.
"""

from __future__ import annotations

import hashlib
import io
import keyword
import random
import re
import sys
import sysconfig
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "BINARY_LABELS",
    "EXCLUDED_DIRS",
    "LABEL_NAMES",
    "NUMERIC_LABELS",
    "UNK",
    "VOCAB",
    "VOCAB_SIZE",
    "ManifestDiff",
    "ManifestMismatch",
    "TokenizeFailure",
    "build_manifest",
    "compare_manifest",
    "corpus_labels",
    "corpus_text",
    "decode",
    "encode",
    "label_text",
    "list_stdlib_files",
    "load_split",
    "read_research_corpus",
    "read_source",
    "research_corpus",
    "research_labels",
    "select_files",
    "split_of",
    "stdlib_root",
]

EXCLUDED_DIRS: frozenset[str] = frozenset({"site-packages", "test", "tests", "idle_test", "__pycache__"})
MANIFEST_KIND = "lstm-viz/charlm-python-stdlib"
MANIFEST_VERSION = 1

# ---------------------------------------------------------------------------------------------------- vocabulary
UNK = "<unk>"
VOCAB: tuple[str, ...] = (UNK, "\t", "\n", *(chr(k) for k in range(32, 127)))
VOCAB_SIZE = len(VOCAB)  # 98
_ID_OF_ASCII = np.zeros(128, dtype=np.int64)  # code point → id; 0 (<unk>) for control characters
for _id, _ch in enumerate(VOCAB[1:], start=1):
    _ID_OF_ASCII[ord(_ch)] = _id
_CHAR_OF_ID = np.array([0, *(ord(ch) for ch in VOCAB[1:])], dtype=np.uint32)


def encode(text: str) -> np.ndarray:
    """Token ids (int64, one per character of ``text``); characters outside the vocabulary become 0 (``<unk>``)."""
    code_points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")  # a lone surrogate (from
    # bytes that are not UTF-8 in a command line: Python decodes argv with surrogateescape) is one more <unk>
    return np.where(code_points < 128, _ID_OF_ASCII[np.minimum(code_points, 127)], 0)


def decode(ids: np.ndarray | list[int], unk: str = "\ufffd") -> str:
    """The text of ``ids``; ``<unk>`` is written as ``unk`` (one character by default, so positions stay)."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= VOCAB_SIZE):
        raise ValueError(f"ids must be in 0..{VOCAB_SIZE - 1}, got {ids.min()}..{ids.max()}")
    if len(unk) == 1:
        code_points = _CHAR_OF_ID[ids].copy()
        code_points[ids == 0] = ord(unk)
        return code_points.astype("<u4").tobytes().decode("utf-32-le")
    return "".join(unk if k == 0 else VOCAB[k] for k in ids.tolist())


# ---------------------------------------------------------------------------------------------------- labels
BINARY_LABELS: tuple[str, ...] = ("in_string", "in_long_string", "in_comment", "keyword", "number", "line_start")
NUMERIC_LABELS: tuple[str, ...] = ("bracket_depth", "indent", "column")
LABEL_NAMES: tuple[str, ...] = (
    "in_string",
    "in_long_string",
    "in_comment",
    "bracket_depth",
    "indent",
    "column",
    "keyword",
    "number",
    "line_start",
)
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python >= 3.12
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)
_CHECKED = frozenset({tokenize.STRING, tokenize.COMMENT, tokenize.OP, tokenize.NAME, tokenize.NUMBER})


class TokenizeFailure(ValueError):
    """The text does not tokenize (or tokenizes with error tokens), so it gets no labels."""


def _error_token_words(tok: tokenize.TokenInfo) -> str:
    """What an error token means, where (line and column counted from 1, as editors count)."""
    where = f"line {tok.start[0]}, column {tok.start[1] + 1}"
    if tok.string in ("'", '"'):
        return f"the string that opens at {where} is not closed on its line"
    return f"{tok.string!r} at {where} is not Python"


def _tokenize_error_words(error: Exception) -> str:
    """tokenize's TokenError or SyntaxError in words. A TokenError's args are (reason, (line, column)): 3.11 says
    "EOF in multi-line …" there; 3.12+ also "unterminated string literal (detected at line 1)" for a quote left open
    on its line (3.11 gave an error token for that) and the number errors ("invalid hexadecimal literal"), with the
    column counted from 1."""
    reason = str(error.args[0]) if error.args else str(error)
    if "EOF in multi-line statement" in reason:
        return "a bracket is still open where the text ends"
    if "EOF in multi-line string" in reason or "unterminated triple-quoted" in reason:
        return "a triple-quoted string is still open where the text ends"
    if isinstance(error, SyntaxError) and error.lineno:
        return f"{error.msg} (line {error.lineno})"
    place = error.args[1] if len(error.args) > 1 else None
    if isinstance(place, tuple) and len(place) == 2 and all(isinstance(k, int) for k in place):
        where = f"line {place[0]}, column {max(place[1], 1)}"
        if reason.startswith("unterminated string literal"):
            return f"the string that opens at {where} is not closed on its line"
        return f"{reason.removesuffix('.')} at {where}"
    return f"{type(error).__name__}: {error}"


def _not_python(tok: tokenize.TokenInfo, in_fstring: bool) -> bool:
    """Whether a token that 3.12+'s tokenize passes on is a character Python refuses there: it gives ``$``, ``?`` and
    a backtick as OP and ``€`` as NAME where 3.11 gave an error token; ``!`` is an operator only inside an f-string's
    braces (``{x!r}``), ``!=`` anywhere."""
    if tok.type == tokenize.OP:
        return not in_fstring if tok.string == "!" else tok.string not in tokenize.EXACT_TOKEN_TYPES
    return tok.type == tokenize.NAME and not tok.string.isidentifier()


_SURROGATE = re.compile("[\ud800-\udfff]")


def _quote_split(literal: str) -> tuple[int, int]:
    """(prefix length, quote length) of a string literal or an FSTRING_START such as ``rb'''`` or ``f"``."""
    p = min(k for k in (literal.find("'"), literal.find('"')) if k >= 0)
    q = 3 if literal[p : p + 3] in ("'''", '"""') else 1
    return p, q


def _open_string_start(text: str, after: int) -> int | None:
    """Where the in_string span of a string literal left open at the end of ``text`` begins (its first quote: the
    prefix letters do not count), the literal being the first thing after position ``after``; None if no literal
    starts there."""
    start = after + len(text[after:]) - len(text[after:].lstrip(" \t\f\\\n"))
    letters = len(text[start:]) - len(text[start:].lstrip("rRbBuUfFtT"))
    quote = text[start + letters : start + letters + 3]
    if letters > 3 or not quote or quote[0] not in "'\"":
        return None
    return start + letters


def label_text(text: str, *, prefix: bool = False) -> dict[str, np.ndarray]:
    """Per-character labels of Python source ``text`` (see the module docstring); raises TokenizeFailure.

    Returns ``{name: array of len(text)}``: bool for the binary labels, int32 for ``bracket_depth``, ``indent`` and
    ``column``.

    ``prefix``: ``text`` is the first part of a longer source (a file cut at a length limit), so brackets, a
    triple-quoted string or an f-string still open where it ends are open, not an error — each label describes the
    state after its character, which the text up to it decides. Other errors still raise.
    """
    n = len(text)
    # Universal newlines: work on `norm`, map every character of `text` to its character in `norm`.
    crlf_r = np.zeros(n, dtype=np.int64)
    if "\r" in text:
        code_points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")  # a lone surrogate (from
    # bytes that are not UTF-8 in a command line: Python decodes argv with surrogateescape) is one more <unk>
        crlf_r[:-1] = (code_points[:-1] == 13) & (code_points[1:] == 10)
        norm = text.replace("\r\n", "\n").replace("\r", "\n")
    else:
        norm = text
    to_norm = np.arange(n, dtype=np.int64) - (np.cumsum(crlf_r) - crlf_r)  # a removed \r maps to its \n
    m = len(norm)
    # A lone surrogate (see above) is one character that 3.12+'s tokenize cannot even encode: tokenize U+FFFD there.
    source = _SURROGATE.sub("\ufffd", norm) if _SURROGATE.search(norm) else norm

    newline = np.frombuffer(norm.encode("utf-32-le", "surrogatepass"), dtype="<u4") == 10
    line_starts = np.concatenate([[0], np.flatnonzero(newline) + 1, [m, m]])  # row r (1-based) starts at [r - 1]
    positions = np.arange(m, dtype=np.int64)
    row_of = np.searchsorted(line_starts[:-2], positions, side="right") - 1  # 0-based line of every character
    column = (positions - line_starts[row_of]).astype(np.int32)

    in_string = np.zeros(m + 1, dtype=np.int32)  # +1/-1 marks, summed into spans at the end
    in_long_string = np.zeros(m + 1, dtype=np.int32)
    in_comment = np.zeros(m + 1, dtype=np.int32)
    depth_step = np.zeros(m + 1, dtype=np.int32)
    depth = 0  # brackets open so far (a close below 0 is refused: tokenize alone would label negative depths)
    keyword_mark = np.zeros(m + 1, dtype=np.int32)
    number_mark = np.zeros(m + 1, dtype=np.int32)
    indent_step = np.zeros(len(line_starts), dtype=np.int32)  # per line

    def span(marks: np.ndarray, start: int, end: int) -> None:
        if end > start:
            marks[start] += 1
            marks[end] -= 1

    def string_span(start: int, end: int, quote: int) -> None:  # quote: 1 or 3 characters (a triple-quoted string)
        span(in_string, start, end)
        if quote == 3:
            span(in_long_string, start, end)

    fstring_open: list[tuple[int, int]] = []  # each open f-string's in_string start and quote length (3.12+)
    last_end = 0  # where the last token seen ends
    blank_error = None  # a blank that 3.11 marked as an error token
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            kind = tok.type
            start = int(line_starts[tok.start[0] - 1]) + tok.start[1]
            end = int(line_starts[tok.end[0] - 1]) + tok.end[1]
            if kind == tokenize.ERRORTOKEN:
                if tok.string.isspace():  # 3.11 marks the blank before a bad character too: name that character
                    blank_error = blank_error or tok
                    continue
                raise TokenizeFailure(_error_token_words(tok))
            if _not_python(tok, bool(fstring_open)):
                raise TokenizeFailure(_error_token_words(tok))
            if kind in _CHECKED and source[start:end] != tok.string:
                raise TokenizeFailure(f"token {tok.string!r} at {tok.start} does not match the text there")
            last_end = max(last_end, end)
            if kind == _FSTRING_START:
                p, q = _quote_split(tok.string)
                fstring_open.append((start + p, q))
            elif kind == _FSTRING_END:
                opened, q = fstring_open.pop()
                if not fstring_open:
                    string_span(opened, start, q)
            elif fstring_open:
                continue  # inside an f-string: all of it is string, as before 3.12
            elif kind == tokenize.STRING:
                p, q = _quote_split(tok.string)
                string_span(start + p, end - q, q)
            elif kind == tokenize.COMMENT:
                span(in_comment, start, end)
            elif kind == tokenize.OP:
                if tok.string in "([{":
                    depth_step[start] += 1
                    depth += 1
                elif tok.string in ")]}":
                    depth_step[start] -= 1
                    depth -= 1
                    if depth < 0:  # tokenize reads on (its depth below 0), and Python would not: say where
                        raise TokenizeFailure(f"unmatched '{tok.string}' (line {tok.start[0]})")
            elif kind == tokenize.NAME:
                if keyword.iskeyword(tok.string):
                    span(keyword_mark, start, end)
            elif kind == tokenize.NUMBER:
                span(number_mark, start, end)
            elif kind == tokenize.INDENT:
                indent_step[tok.start[0] - 1] += 1
            elif kind == tokenize.DEDENT:
                indent_step[tok.start[0] - 1] -= 1
    except (tokenize.TokenError, SyntaxError) as error:  # IndentationError is a SyntaxError
        reason = str(error.args[0]) if error.args else ""
        # 3.11 says "EOF in multi-line statement/string"; 3.12+ also "unterminated triple-quoted (f-)string literal"
        cut_short = isinstance(error, tokenize.TokenError) and ("EOF in multi-line" in reason
                                                                 or "unterminated triple-quoted" in reason)  # fmt: skip
        if not (prefix and cut_short):
            raise TokenizeFailure(_tokenize_error_words(error)) from None
        if "string" in reason and not fstring_open:  # a triple-quoted string runs past the end
            opened = _open_string_start(norm, last_end)
            if opened is None:
                raise TokenizeFailure(f"{type(error).__name__}: {error}") from None
            quote = _quote_split(norm[opened : opened + 3])[1]  # 1: a short string continued by a backslash
            string_span(opened, m, quote)
    if blank_error is not None:
        raise TokenizeFailure(_error_token_words(blank_error))
    if fstring_open:
        if not prefix:
            raise TokenizeFailure("an f-string is not closed")
        opened, q = fstring_open[0]
        string_span(opened, m, q)

    labels = {
        "in_string": np.cumsum(in_string[:m]) > 0,
        "in_long_string": np.cumsum(in_long_string[:m]) > 0,
        "in_comment": np.cumsum(in_comment[:m]) > 0,
        "bracket_depth": np.cumsum(depth_step[:m]).astype(np.int32),
        "indent": np.cumsum(indent_step)[row_of].astype(np.int32),
        "column": column,
        "keyword": np.cumsum(keyword_mark[:m]) > 0,
        "number": np.cumsum(number_mark[:m]) > 0,
        "line_start": column == 0,
    }
    if norm is not text:
        labels = {name: values[to_norm] for name, values in labels.items()}
    return {name: labels[name] for name in LABEL_NAMES}


# ---------------------------------------------------------------------------------------------------- corpus
def stdlib_root() -> Path:
    """The running interpreter's standard library folder."""
    return Path(sysconfig.get_paths()["stdlib"])


def list_stdlib_files(root: Path | str | None = None) -> list[str]:
    """Relative POSIX paths of the ``.py`` files under ``root`` (default: the stdlib), sorted, folders excluded."""
    root = Path(root) if root is not None else stdlib_root()
    paths = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if path.is_file() and not EXCLUDED_DIRS.intersection(rel.parts[:-1]):
            paths.append(rel.as_posix())
    return sorted(paths)


def split_of(relpath: str, val_percent: int = 10) -> str:
    """``"val"`` or ``"train"`` for a relative path: ``int(sha256(path)[:8], 16) % 100 < val_percent`` → val."""
    bucket = int(hashlib.sha256(relpath.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "val" if bucket < val_percent else "train"


def read_source(path: Path | str) -> str:
    """A source file's text as Python reads it: its declared encoding, universal newlines."""
    with tokenize.open(path) as f:
        return f.read()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def build_manifest(root: Path | str | None = None, val_percent: int = 10) -> dict:
    """The corpus and its split as a plain dict (JSON- and ``torch.save``-able) that identifies it exactly.

    Every candidate file is read and tokenized once; those that cannot be decoded or tokenized go to
    ``"skipped"`` (path → reason) and are in no split.
    """
    root = Path(root) if root is not None else stdlib_root()
    files: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    for rel in list_stdlib_files(root):
        data = (root / rel).read_bytes()
        try:
            label_text(read_source(root / rel))
        except (TokenizeFailure, SyntaxError, UnicodeDecodeError, LookupError) as error:
            skipped[rel] = f"{type(error).__name__}: {error}"[:200]
            continue
        files[rel] = {"size": len(data), "sha256": _digest(data), "split": split_of(rel, val_percent)}
    listing = "\n".join(f"{rel}\t{v['size']}\t{v['sha256']}\t{v['split']}" for rel, v in files.items())
    return {
        "kind": MANIFEST_KIND,
        "version": MANIFEST_VERSION,
        "python_version": ".".join(map(str, sys.version_info[:3])),
        "implementation": sys.implementation.name,
        "root": str(root),
        "excluded_dirs": sorted(EXCLUDED_DIRS),
        "val_percent": val_percent,
        "split_rule": "val if int(sha256(relative posix path).hexdigest()[:8], 16) % 100 < val_percent",
        "files": files,
        "skipped": skipped,
        "counts": {
            "train": sum(v["split"] == "train" for v in files.values()),
            "val": sum(v["split"] == "val" for v in files.values()),
            "skipped": len(skipped),
            "train_bytes": sum(v["size"] for v in files.values() if v["split"] == "train"),
            "val_bytes": sum(v["size"] for v in files.values() if v["split"] == "val"),
        },
        "digest": _digest(listing.encode("utf-8")),
    }


@dataclass
class ManifestDiff:
    """What differs between a stored manifest and the current corpus. Empty lists and None mean "the same"."""

    python_version: tuple[str, str] | None = None
    settings: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # in the stored manifest, not (or no longer usable) now
    added: list[str] = field(default_factory=list)  # usable now, not in the stored manifest
    changed: list[str] = field(default_factory=list)  # same path, other size or content
    split_changed: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        """True when the files, their contents and their split are identical (the python version may differ)."""
        return not (self.settings or self.missing or self.added or self.changed or self.split_changed)

    def describe(self, limit: int = 5) -> str:
        """A short human-readable account, one line per kind of difference."""
        if self.same and self.python_version is None:
            return "the corpus is identical to the stored manifest"
        lines = []
        if self.python_version is not None:
            lines.append(f"python version: stored {self.python_version[0]}, now {self.python_version[1]}")
        lines += [f"setting: {s}" for s in self.settings]
        for title, paths in (
            ("missing now", self.missing),
            ("new files", self.added),
            ("changed content", self.changed),
            ("changed split", self.split_changed),
        ):
            if paths:
                shown = ", ".join(paths[:limit]) + (f", … ({len(paths) - limit} more)" if len(paths) > limit else "")
                lines.append(f"{title} ({len(paths)}): {shown}")
        if self.same:
            lines.append("the files, their contents and the split are identical")
        return "\n".join(lines)


class ManifestMismatch(RuntimeError):
    """The stored manifest's files are not the ones found now; the message says what differs."""


def compare_manifest(stored: dict, current: dict | None = None) -> ManifestDiff:
    """Compare a stored manifest to ``current`` (default: a manifest built now from the running stdlib)."""
    if stored.get("kind") != MANIFEST_KIND:
        raise ValueError(f"not a charlm corpus manifest (kind {stored.get('kind')!r})")
    if current is None:
        current = build_manifest(val_percent=stored["val_percent"])
    diff = ManifestDiff()
    if stored["python_version"] != current["python_version"]:
        diff.python_version = (stored["python_version"], current["python_version"])
    for key in ("val_percent", "excluded_dirs", "version"):
        if stored.get(key) != current.get(key):
            diff.settings.append(f"{key}: stored {stored.get(key)!r}, now {current.get(key)!r}")
    old, new = stored["files"], current["files"]
    diff.missing = sorted(set(old) - set(new))
    diff.added = sorted(set(new) - set(old))
    for rel in sorted(set(old) & set(new)):
        if (old[rel]["size"], old[rel]["sha256"]) != (new[rel]["size"], new[rel]["sha256"]):
            diff.changed.append(rel)
        if old[rel]["split"] != new[rel]["split"]:
            diff.split_changed.append(rel)
    return diff


def load_split(manifest: dict, split: str, root: Path | str | None = None, strict: bool = True) -> dict[str, str]:
    """``{relative path: text}`` of one split's files, in path order, checked against the manifest's digests.

    With ``strict`` a missing or changed file raises ManifestMismatch; without, such files are left out.
    """
    root = Path(root) if root is not None else Path(manifest["root"])
    texts: dict[str, str] = {}
    problems: list[str] = []
    for rel, entry in sorted(manifest["files"].items()):
        if entry["split"] != split:
            continue
        path = root / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
            continue
        data = path.read_bytes()
        if (len(data), _digest(data)) != (entry["size"], entry["sha256"]):
            problems.append(f"{rel}: content differs")
            continue
        texts[rel] = read_source(path)
    if problems and strict:
        raise ManifestMismatch(f"{len(problems)} file(s) differ from the manifest: " + "; ".join(problems[:5]))
    return texts


def corpus_text(texts: dict[str, str], shuffle_seed: int | None = 0) -> tuple[str, list[tuple[str, int, int]]]:
    """All ``texts`` joined into one string (file order shuffled by ``shuffle_seed``; None keeps path order).

    Returns the string and ``(path, start, end)`` of every file in it. Each file ends with a newline (one is added
    where the file lacks it), so a file's first character starts a line.
    """
    order = sorted(texts)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(order)
    parts, spans, offset = [], [], 0
    for rel in order:
        text = texts[rel] if texts[rel].endswith("\n") or not texts[rel] else texts[rel] + "\n"
        parts.append(text)
        spans.append((rel, offset, offset + len(text)))
        offset += len(text)
    return "".join(parts), spans


def corpus_labels(text: str, spans: list[tuple[str, int, int]]) -> dict[str, np.ndarray]:
    """Labels of a :func:`corpus_text` string, file by file (each file's labels start fresh), joined."""
    parts = [label_text(text[start:end]) for _, start, end in spans]
    return {name: np.concatenate([p[name] for p in parts]) for name in LABEL_NAMES}


def select_files(texts: dict[str, str], max_chars: int, seed: int = 1) -> dict[str, str]:
    """Whole files from ``texts``, in an order shuffled by ``seed``, until ``max_chars`` characters are reached."""
    order = sorted(texts)
    random.Random(seed).shuffle(order)
    chosen, total = {}, 0
    for rel in order:
        if total >= max_chars:
            break
        chosen[rel] = texts[rel]
        total += len(texts[rel])
    return chosen


def research_corpus(select_chars: int = 150_000) -> tuple[dict, dict[str, np.ndarray]]:
    """The running stdlib as the research script and the unit report read it: ``(manifest, arrays)``.

    ``arrays`` holds ``train_ids`` (the training files joined in a shuffled order), ``val_ids`` (the validation
    files in path order), ``select_ids`` (whole training files, about ``select_chars`` characters: the text units
    are *picked* on, so that validation only scores them), all uint8, and ``val.<label>`` / ``select.<label>`` per
    character. ``python -m lstm_viz.tasks.charlm.train --save-corpus`` stores them in one ``.npz``."""
    manifest = build_manifest()
    train_texts, val_texts = load_split(manifest, "train"), load_split(manifest, "val")
    train_text, _ = corpus_text(train_texts, shuffle_seed=0)
    val_text, val_spans = corpus_text(val_texts, shuffle_seed=None)
    select_text, select_spans = corpus_text(select_files(train_texts, select_chars), shuffle_seed=None)
    arrays = {
        "train_ids": encode(train_text).astype(np.uint8),
        "val_ids": encode(val_text).astype(np.uint8),
        "select_ids": encode(select_text).astype(np.uint8),
    }
    for prefix, (text, spans) in (("val", (val_text, val_spans)), ("select", (select_text, select_spans))):
        for name, values in corpus_labels(text, spans).items():
            arrays[f"{prefix}.{name}"] = values
    return manifest, arrays


def research_labels(arrays: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """The per-character labels of :func:`research_corpus`'s arrays by text: ``{"val": {label: values},
    "select": {label: values}}``."""
    return {p: {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith(p + ".")} for p in ("val", "select")}


def read_research_corpus(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """``(manifest, arrays)`` from an ``.npz`` that ``--save-corpus`` wrote; ValueError in words for anything
    else."""
    import json
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path} is not a corpus written by --save-corpus ({err}); write it again") from None
    if "manifest" not in arrays or "train_ids" not in arrays:
        raise ValueError(f"{path} is not a corpus written by --save-corpus; write it again")
    return json.loads(str(arrays.pop("manifest"))), arrays

