"""The character model's data where it lies: the running stdlib's train and validation text, cached per process.

:func:`load_corpus` is what the engine trains on: the train files joined in a shuffled order (``shuffle_seed=0``)
and the validation files in path order, encoded, with the split manifest that identifies them (stored in the
checkpoint). It is the data of ``python -m lstm_viz.tasks.charlm.train`` (the research script) without
``--corpus``.

Validation files for the app (a random file, windows for probes and ablations, the text units are ranked on) are
picked by the split rule — a hash of the file's path, :func:`~lstm_viz.tasks.charlm.data.split_of` — so on any
Python a file that is "validation" here was never a training file of a model trained on another Python's library;
only the contents may differ. :func:`manifest_note` says what differs from a model's stored manifest.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstm_viz.tasks.charlm.data import (
    TokenizeFailure,
    build_manifest,
    compare_manifest,
    corpus_text,
    encode,
    label_text,
    list_stdlib_files,
    load_split,
    read_source,
    split_of,
    stdlib_root,
)

__all__ = [
    "Corpus",
    "TextSample",
    "load_corpus",
    "manifest_note",
    "validation_paths",
    "validation_sample",
    "validation_text",
    "validation_windows",
]


@dataclass(frozen=True)
class Corpus:
    """The encoded train and validation streams (uint8 ids) and the manifest that identifies their files."""

    manifest: dict
    train_ids: np.ndarray
    val_ids: np.ndarray


@functools.cache
def load_corpus() -> Corpus:
    """The running stdlib's corpus as the research script builds it (about 10 s: every file is tokenized once)."""
    manifest = build_manifest()
    train_text, _ = corpus_text(load_split(manifest, "train"), shuffle_seed=0)
    val_text, _ = corpus_text(load_split(manifest, "val"), shuffle_seed=None)
    return Corpus(manifest, encode(train_text).astype(np.uint8), encode(val_text).astype(np.uint8))


@functools.cache
def validation_paths() -> tuple[str, ...]:
    """Relative paths of the running stdlib's validation files (by the split rule), sorted; no file is read."""
    return tuple(rel for rel in list_stdlib_files() if split_of(rel) == "val")


@functools.lru_cache(maxsize=256)
def read_validation_file(rel: str) -> str:
    """One validation file's text as Python reads it ('' when it cannot be decoded)."""
    try:
        return read_source(stdlib_root() / rel)
    except (OSError, SyntaxError, UnicodeDecodeError, LookupError):
        return ""


@functools.lru_cache(maxsize=8)
def validation_text(min_chars: int) -> tuple[str, tuple[tuple[str, int, int], ...]]:
    """Whole validation files joined in path order (as the research script evaluates them) until at least
    ``min_chars`` characters (fewer only when the split is smaller), and ``(path, start, end)`` of each file in it.
    Whole files, so that each one tokenizes for its labels; cut the result to ``min_chars`` after labelling."""
    texts: dict[str, str] = {}
    total = 0
    for rel in validation_paths():
        if total >= min_chars:
            break
        text = read_validation_file(rel)
        if text:
            texts[rel] = text
            total += len(text) + 1
    joined, spans = corpus_text(texts, shuffle_seed=None)
    return joined, tuple(spans)


@dataclass(frozen=True)
class TextSample:
    """Pieces of several files joined: ``spans`` holds ``(path, start, end)`` of each piece in ``text``,
    ``first_lines`` the line number (1-based, in its file) of each piece's first character, and ``labels`` one value
    per character of ``text`` for every label, each file labelled whole (a piece that starts inside a string or
    bracket is labelled as inside it)."""

    text: str
    spans: tuple[tuple[str, int, int], ...]
    first_lines: tuple[int, ...]
    labels: dict[str, np.ndarray]


@functools.lru_cache(maxsize=4)
def validation_sample(chars: int) -> TextSample:
    """``chars`` characters from *every* validation file (fewer only when the split is smaller), in path order.

    Each file gives an equal share: a short file all of it, a long one whole lines from its middle; what short
    files leave over is shared among the longer ones. A ranking or a unit's top contexts over this sample speak for
    all validation files — the first files in path order (:func:`validation_text`) are a few modules, and from the
    140,000th character on a run of ``encodings`` tables."""
    if isinstance(chars, bool) or not isinstance(chars, int) or chars < 1:
        raise ValueError(f"chars must be a positive whole number, not {chars!r}")
    texts, file_labels = [], {}
    for rel in validation_paths():
        text = read_validation_file(rel)
        text = text if text.endswith("\n") or not text else text + "\n"
        try:
            file_labels[rel] = label_text(text)
        except TokenizeFailure:  # skipped, as the training split skips it
            continue
        if text:
            texts.append((rel, text))
    budget = chars
    cuts: dict[str, tuple[int, int]] = {}
    by_length = sorted(texts, key=lambda item: (len(item[1]), item[0]))
    for left, (rel, text) in zip(range(len(by_length), 0, -1), by_length, strict=True):
        share = budget // left
        if share >= len(text):
            a, b = 0, len(text)
        else:
            a = text.rfind("\n", 0, (len(text) - share) // 2) + 1  # a line's start before the middle share
            b = a + share
            if left > 1:  # end on a line's end where one lies inside the share; the last piece takes what is left
                b = text.rfind("\n", a, b) + 1 or b
        cuts[rel] = (a, b)
        budget -= b - a
    parts, spans, first_lines, labels, offset = [], [], [], [], 0
    for rel, text in texts:  # path order
        a, b = cuts[rel]
        if b <= a:
            continue
        parts.append(text[a:b])
        spans.append((rel, offset, offset + b - a))
        first_lines.append(text.count("\n", 0, a) + 1)
        labels.append({name: values[a:b] for name, values in file_labels[rel].items()})
        offset += b - a
    joined = {name: np.concatenate([piece[name] for piece in labels]) for name in labels[0]} if labels else {}
    return TextSample("".join(parts), tuple(spans), tuple(first_lines), joined)


def validation_windows(n: int, length: int, seed: int = 0) -> np.ndarray:
    """``n`` windows of ``length`` consecutive characters of validation text as ids ``(n, length)`` int64, drawn
    with ``seed`` from the first 200,000 characters (the same windows for the same stdlib)."""
    text, _ = validation_text(200_000)
    ids = encode(text[:200_000])
    if len(ids) < length + 1:
        ids = np.resize(ids if len(ids) else encode("def f():\n    return 0\n"), length + 1)
    starts = np.random.default_rng(seed).integers(0, len(ids) - length, size=n)
    return np.stack([ids[s : s + length] for s in starts]).astype(np.int64)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def manifest_note(stored: dict | None, current: dict | None = None) -> str:
    """A sentence on how the running stdlib differs from the one a model was trained on ("" when it does not).

    Without ``current`` only the Python version and the stored validation files are checked (fast: about a
    megabyte is read); with ``current`` (a manifest built now) the whole corpus is compared."""
    if not isinstance(stored, dict) or not isinstance(stored.get("files"), dict):
        return ""
    trained = f"Python {stored.get('python_version', '?')}'s standard library (digest {stored.get('digest', '?')})"
    if current is not None:
        try:
            diff = compare_manifest(stored, current)
        except (KeyError, ValueError, TypeError):
            return f"The model's corpus manifest cannot be read: it is not known whether it was trained on {trained}."
        if diff.same and diff.python_version is None:
            return ""
        return (f"This model was trained on {trained}; the running one differs — "
                + diff.describe().replace("\n", "; ") + ".")  # fmt: skip
    root = stdlib_root()
    running = ".".join(map(str, sys.version_info[:3]))
    val = {rel: v for rel, v in stored["files"].items() if isinstance(v, dict) and v.get("split") == "val"}
    missing = changed = 0
    for rel, entry in val.items():
        path = Path(root) / rel
        if not path.is_file():
            missing += 1
            continue
        data = path.read_bytes()
        if (len(data), _digest(data)) != (entry.get("size"), entry.get("sha256")):
            changed += 1
    if not missing and not changed and running == stored.get("python_version"):
        return ""
    parts = []
    if running != stored.get("python_version"):
        parts.append(f"this server runs Python {running}")
    if missing or changed:
        parts.append(f"of its {len(val)} validation files {missing} are missing here and {changed} differ")
    return (f"This model was trained on {trained}; {' and '.join(parts) or 'the library differs'}. Validation "
            "files are chosen by the same rule (a hash of the file's path), so none of them was one of the model's "
            "training files.")  # fmt: skip
