"""The cell finder: which units of a text model follow what.

Three questions, for any text model (any model whose task reads text, one step per character):

- **Built-in features** (:func:`rank_recording`, :func:`rank_ids`, :func:`scan_validation`): every unit of every
  layer, direction and tensor (f, i, g, o, c, h) ranked by how well it tracks a feature of Python source
  (``lstm_viz.tasks.charlm.data.label_text``: in_string, in_long_string, in_comment, keyword, number, line_start —
  AUROC; bracket_depth, indent, column — Pearson r). A unit that is *low* inside strings is as much a string cell as
  one that is high, so the score is the AUROC in the unit's better direction, ``max(AUROC, 1 − AUROC)``, or ``|r|``;
  ``sign`` says the direction (+1: higher inside the feature / rising with it). The streaming scorer
  (``scorer.FastScorer``) bins each unit's values (gates on their pre-activation's scale): AUROC within about 0.003
  of the exact one for the best units of the shipped model, r exact;
  :func:`exact_best` re-scores the best units exactly from their values.
- **Marks** (:func:`rank_by_marks`, LSTMVis-style): the user marks what a cell should follow — a regular expression
  on the text or ranges of characters — and a threshold; a unit is "on" where its value is above the threshold (or
  below minus it), and units are ranked by the F1 score of "on" against the marks (Jaccard, precision and recall
  beside it).
- **Contexts** (:func:`top_contexts`): where one unit is highest (or lowest) across a body of text, with the text
  around each place and the unit's value on every character of it. A :class:`ContextSource` provides them: today
  :class:`ValidationScan` (validation files of the running stdlib, scanned once per model); a corpus recorded by
  ``lstm_viz.corpus`` can be one by implementing the same two methods.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import regex
import torch
from torch import Tensor, nn

from lstm_viz.core.recording import CellRecording
from lstm_viz.parsing import InputError, quote
from lstm_viz.tasks.charlm.data import (
    BINARY_LABELS,
    LABEL_NAMES,
    NUMERIC_LABELS,
    TokenizeFailure,
    encode,
    label_text,
)
from lstm_viz.tasks.charlm.scoring import SCORED_TENSORS, exact_auroc, pearson
from lstm_viz.tasks.charlm.stdlib import validation_sample
from lstm_viz.text.scorer import FastScorer, TopPlaces

__all__ = [
    "BINARY_FEATURES",
    "FEATURES",
    "FEATURE_NOTES",
    "NUMERIC_FEATURES",
    "TENSORS",
    "Context",
    "ContextSource",
    "Ranking",
    "ValidationScan",
    "exact_best",
    "marks_from_ranges",
    "marks_from_regex",
    "metric_of",
    "rank_by_marks",
    "rank_ids",
    "rank_recording",
    "scan_validation",
    "text_labels",
    "top_contexts",
    "unit_values",
]

FEATURES: tuple[str, ...] = LABEL_NAMES
BINARY_FEATURES: tuple[str, ...] = BINARY_LABELS
NUMERIC_FEATURES: tuple[str, ...] = NUMERIC_LABELS
TENSORS: tuple[str, ...] = SCORED_TENSORS  # f, i, g, o, c, h
FEATURE_WORDS = {
    "in_string": "inside a string literal (quotes included from the opening one)",
    "in_long_string": "inside a triple-quoted string (docstrings, most of them)",
    "in_comment": "inside a comment",
    "bracket_depth": "how many ( [ { are open",
    "indent": "the block's indentation level",
    "column": "the position in the line",
    "keyword": "inside a keyword (def, if, return, …)",
    "number": "inside a number",
    "line_start": "the first character of a line",
}


# what a reader of a ranking should know about a feature (shown under it in the app)
FEATURE_NOTES = {
    "in_string": "Short strings and triple-quoted ones (docstrings, mostly) may be two cells, one each: a quote "
    "cell scores well here only on the short strings. Rank by in_long_string for the docstring cell.",
    "in_long_string": "A part of in_string: the short strings count as outside. Docstrings read like comments, so a "
    "docstring cell often lights up in comments too.",
    "in_comment": "Comments read like docstrings: a comment cell that also lights up in docstrings scores lower here "
    "than on code alone.",
}


def metric_of(feature: str) -> str:
    """``"auroc"`` for a binary feature, ``"abs_pearson"`` for a numeric one."""
    if feature not in FEATURES:
        raise InputError(f"unknown feature {feature!r}; choose one of {', '.join(FEATURES)}")
    return "auroc" if feature in BINARY_FEATURES else "abs_pearson"


APP_ADVICE = "Rank units on validation files instead, or mark what you expect with a regular expression."


def text_labels(text: str, *, prefix: bool = False, advice: str = APP_ADVICE) -> dict[str, np.ndarray]:
    """The built-in features of ``text`` per character; InputError when it is not Python that tokenizes (ending
    with ``advice``: what the caller's user can do instead). ``prefix``: the text is the first part of a longer
    source, so what is still open where it ends is no error."""
    try:
        return label_text(text, prefix=prefix)
    except TokenizeFailure as err:
        raise InputError(
            f"the built-in features are those of Python source, and this text does not tokenize as Python ({err}). "
            + advice
        ) from None


# ------------------------------------------------------------------------------------------------ built-in features
def _direction_free(raw, metric: str):
    """A unit's raw AUROC or r as its score, whichever way it tracks the feature: max(AUROC, 1 − AUROC) or |r|
    (NumPy arrays or floats)."""
    return np.abs(raw) if metric == "abs_pearson" else np.maximum(raw, 1 - raw)


@dataclass
class Ranking:
    """Every unit's score against every feature: ``table`` has ``name, layer, direction, tensor, unit`` and one
    column per feature (the raw AUROC, or r), over ``chars`` characters; how long recording and scoring took.

    r is exact. An AUROC is binned (within about 0.003 over many characters, but up to ~0.1 on a text of a few
    hundred): the ``EXACT_TOP`` best units of each tensor and binary feature of a one-text recording — those a list
    filtered to some tensors shows first — are recomputed exactly (``rank_recording``); ``python -m lstm_viz
    units`` re-scores its candidates exactly too."""

    table: pd.DataFrame
    chars: int
    record_seconds: float = 0.0
    score_seconds: float = 0.0

    def best(self, feature: str, k: int = 10) -> pd.DataFrame:
        """The ``k`` best units for ``feature``: ``name, unit, score, sign, value`` (value = the raw AUROC or r)."""
        metric = metric_of(feature)
        raw = self.table[feature].to_numpy(dtype=float)
        score = _direction_free(raw, metric)
        sign = np.where(raw >= (0 if metric == "abs_pearson" else 0.5), 1, -1)
        frame = self.table[["name", "layer", "direction", "tensor", "unit"]].assign(score=score, sign=sign, value=raw)
        frame = frame[np.isfinite(score)]
        return _best_first(frame).head(k)


def _best_first(frame: pd.DataFrame) -> pd.DataFrame:
    """Best score first, equal scores by name, then unit. Scores are compared at 12 decimals: max(a, 1 − a) of
    two equal AUROCs can differ in the last bit (6243/6890 and 1 − 647/6890), which ordered ties by rounding."""
    key = frame.assign(_key=frame["score"].round(12))
    ordered = key.sort_values(["_key", "name", "unit"], ascending=[False, True, True], kind="stable")
    return ordered.drop(columns="_key")


def _features_present(labels: Mapping[str, np.ndarray], features: Sequence[str]) -> tuple[list[str], list[str]]:
    binary = [f for f in features if f in BINARY_FEATURES and f in labels]
    numeric = [f for f in features if f in NUMERIC_FEATURES and f in labels]
    return binary, numeric


def rank_recording(
    rec: CellRecording,
    labels: Mapping[str, np.ndarray],
    features: Sequence[str] = FEATURES,
    tensors: Sequence[str] = TENSORS,
) -> Ranking:
    """Rank every unit of a recording of one text (batch 1) against its per-character ``labels``."""
    started = time.perf_counter()
    binary, numeric = _features_present(labels, features)
    if not binary and not numeric:
        raise InputError(f"no built-in feature to rank by; choose some of {', '.join(FEATURES)}")
    scorer = FastScorer(binary, numeric)
    targets = {f: np.asarray(labels[f]).reshape(-1)[: rec.seq_len] for f in (*binary, *numeric)}
    scorer.begin(targets)
    for name, values in _time_major(rec, tensors):
        scorer.update(name, values.reshape(-1, values.shape[-1]))
    table = scorer.table()
    if rec.batch_size == 1:
        _exact_at_the_top(table, rec, {f: targets[f] for f in binary})
    return Ranking(table, rec.seq_len, 0.0, time.perf_counter() - started)


EXACT_TOP = 32  # per tensor and binary feature, the units whose binned AUROC is recomputed exactly (and those
# within 0.01 behind them)


def _exact_at_the_top(table: pd.DataFrame, rec: CellRecording, labels: Mapping[str, np.ndarray]) -> None:
    """Replace the binned AUROC (``text.scorer``) by the exact one where it is read — the best units of each tensor
    and binary feature, and any unit close behind them — so that the numbers shown and the order of near ties are
    exact, also in a list filtered to some tensors (the best 32 over all six left an h-only list binned: off by up
    to 0.06, 4 of its top 20 wrong). One text of a recording (batch 1): a sort per unit, ~0.2 ms at 10,000 steps."""
    tensors = table["tensor"].to_numpy()
    for feature, target in labels.items():
        raw = table[feature].to_numpy(dtype=float)
        score = np.where(np.isfinite(raw), _direction_free(raw, "auroc"), -np.inf)
        for tensor in np.unique(tensors):
            rows = np.flatnonzero((tensors == tensor) & np.isfinite(score))  # NaN: not ranked
            if not len(rows):
                continue
            order = rows[np.argsort(-score[rows], kind="stable")]
            cut = score[order[min(EXACT_TOP, len(order)) - 1]] - 0.01
            for row in order[score[order] >= cut][: 8 * EXACT_TOP]:
                name, unit = table.at[row, "name"], int(table.at[row, "unit"])
                table.at[row, feature] = exact_auroc(rec[name][0, :, unit], target)


def _time_major(rec: CellRecording, tensors: Sequence[str]):
    """``(name, values (T, B, U))`` of every recorded tensor in ``tensors`` (a view where the layout allows)."""
    for name in rec.names():
        if name.rsplit(".", 1)[1] in tensors:
            yield name, rec[name].transpose(0, 1)


def _streams(ids: np.ndarray, streams: int) -> tuple[Tensor, np.ndarray]:
    """``ids`` cut into ``streams`` rows of equal length (the rest dropped) and each row's start in ``ids``."""
    length = len(ids) // streams
    if length < 1:
        raise InputError(f"{len(ids)} characters are too few for {streams} streams")
    rows = torch.as_tensor(np.asarray(ids[: streams * length], dtype=np.int64).reshape(streams, length))
    return rows, np.arange(streams) * length


@torch.no_grad()
def _scan(
    model: nn.Module,
    ids: np.ndarray,
    labels: Mapping[str, np.ndarray] | None,
    features: Sequence[str],
    tensors: Sequence[str],
    streams: int,
    chunk: int,
    top_k: int,
    window: int = 25,
) -> tuple[Ranking | None, TopPlaces | None, np.ndarray]:
    rows, starts = _streams(ids, streams)
    binary, numeric = _features_present(labels or {}, features)
    scorer = FastScorer(binary, numeric) if binary or numeric else None
    tracker = TopPlaces(top_k, window) if top_k else None
    if tracker is not None:
        chunk = max(window, chunk - chunk % window)
    state = None
    record_s = score_s = 0.0
    was_training = model.training
    model.eval()
    try:
        for t in range(0, rows.shape[1], chunk):
            tick = time.perf_counter()
            rec = model.record(rows[:, t : t + chunk], hx=state)
            state = (rec.h_n, rec.c_n)
            rec = rec.to("cpu")
            record_s += time.perf_counter() - tick
            tick = time.perf_counter()
            steps = rec.seq_len
            positions = (starts[None, :] + np.arange(t, t + steps)[:, None])  # (T, B): index into ids, time-major
            if scorer is not None:
                scorer.begin({f: np.asarray(labels[f])[positions].reshape(-1) for f in (*binary, *numeric)})
            for name, values in _time_major(rec, tensors):  # (T, B, U)
                if scorer is not None:
                    scorer.update(name, values.reshape(-1, values.shape[-1]))
                if tracker is not None:
                    tracker.update(name, values, positions)
            score_s += time.perf_counter() - tick
    finally:
        model.train(was_training)
    tick = time.perf_counter()
    ranking = None
    if scorer is not None:
        ranking = Ranking(scorer.table(), rows.numel(), record_s, score_s + time.perf_counter() - tick)
    return ranking, tracker, starts


def rank_ids(
    model: nn.Module,
    ids: np.ndarray,
    labels: Mapping[str, np.ndarray],
    features: Sequence[str] = FEATURES,
    tensors: Sequence[str] = TENSORS,
    streams: int = 1,
    chunk: int = 2048,
) -> Ranking:
    """Record ``ids`` (as ``streams`` parallel rows, ``chunk`` steps at a time, the state carried) and rank every
    unit against ``labels``. One stream reads the text exactly as one pass would; more streams are faster but
    each starts from a zero state."""
    ranking, _, _ = _scan(model, np.asarray(ids), labels, features, tensors, streams, chunk, 0)
    assert ranking is not None
    return ranking


@torch.no_grad()
def unit_values(
    model: nn.Module, ids: np.ndarray, units: Sequence[tuple[str, int]], streams: int = 1, chunk: int = 2048
) -> np.ndarray:
    """The values of a few units (``("layer1.fwd.c", 17)`` …) on ``ids`` read as :func:`rank_ids` reads them:
    ``(N', len(units))`` for the first N' = streams · (len(ids) // streams) characters."""
    rows, _ = _streams(np.asarray(ids), streams)
    out = np.zeros((rows.numel(), len(units)), dtype=np.float32)
    length = rows.shape[1]
    state = None
    for t in range(0, length, chunk):
        rec = model.record(rows[:, t : t + chunk], hx=state)
        state = (rec.h_n, rec.c_n)
        for j, (name, unit) in enumerate(units):
            values = rec[name][..., unit].float().cpu().numpy()  # (B, T)
            for b in range(rows.shape[0]):
                out[b * length + t : b * length + t + values.shape[1], j] = values[b]
    return out


def exact_best(
    ranking: Ranking, values: np.ndarray, units: Sequence[tuple[str, int]], labels: np.ndarray, feature: str
) -> pd.DataFrame:
    """Re-score ``units`` (whose values ``(N, len(units))`` are given) exactly; best first, as ``Ranking.best``."""
    metric = metric_of(feature)
    rows = []
    for j, (name, unit) in enumerate(units):
        raw = exact_auroc(values[:, j], labels) if metric == "auroc" else pearson(values[:, j], labels)
        score = float(_direction_free(raw, metric))
        sign = 1 if raw >= (0 if metric == "abs_pearson" else 0.5) else -1
        rows.append({"name": name, "unit": int(unit), "score": score, "sign": sign, "value": raw})
    frame = pd.DataFrame(rows)
    return _best_first(frame[np.isfinite(frame["score"])])


# ------------------------------------------------------------------------------------------------------ marks
REGEX_SECONDS = 2.0  # the longest a user's regular expression may search a text (a server thread waits on it)


def marks_from_regex(text: str, pattern: str) -> np.ndarray:
    r"""Where ``pattern`` matches in ``text`` (every character of every match), as a bool array; InputError for a
    pattern that does not compile, runs over ``REGEX_SECONDS`` or matches nothing. The syntax is the ``regex``
    module's (a superset of Python's ``re``: also POSIX classes such as ``[[:alpha:]]``, ``\p{L}`` and look-behind of
    any width), which can stop a search that runs long."""
    if not pattern:
        raise InputError("the regular expression is empty. Example: \"[^\"\\n]*\" marks double-quoted strings")
    try:
        compiled = regex.compile(pattern)  # VERSION0: re's meaning where re accepts the pattern
    except (regex.error, ValueError, OverflowError) as err:
        raise InputError(f"the regular expression {quote(pattern)} does not compile: {err}. Example: #.*") from None
    marks = np.zeros(len(text), dtype=bool)
    try:
        for match in compiled.finditer(text, timeout=REGEX_SECONDS):
            marks[match.start() : match.end()] = True
    except TimeoutError:
        raise InputError(f"the regular expression {quote(pattern)} took over {REGEX_SECONDS:g} s on this text and was "
                         "stopped: nested repetition such as (a+)+ or (x+x+)+ can take exponentially long; simplify "
                         "it. Example: #.* marks comments") from None  # fmt: skip
    if not marks.any():
        raise InputError(f"the regular expression {quote(pattern)} matches nothing in the text (an empty match marks "
                         "nothing). Example: #.* marks comments")  # fmt: skip
    return marks


_RANGE = re.compile(r"^\s*(\d+)\s*(?:[-–:]\s*(\d+))?\s*$")


def marks_from_ranges(spec: str, length: int) -> np.ndarray:
    """Ranges of character positions, e.g. ``"10-25, 40-52"`` (inclusive, t from 0) or ``"7"``, as a bool array."""
    marks = np.zeros(length, dtype=bool)
    parts = [p for p in re.split(r"[,;]", spec or "") if p.strip()]
    if not parts:
        raise InputError(f"no range given. Example: 10-25, 40-52 (character positions, from 0 to {length - 1})")
    for part in parts:
        match = _RANGE.match(part)
        if match is None:
            raise InputError(f"{part.strip()!r} is not a range. Example: 10-25, 40-52 (positions from 0 to "
                             f"{length - 1})")  # fmt: skip
        a = int(match[1])
        b = int(match[2]) if match[2] is not None else a
        if a > b or b >= length:
            raise InputError(f"the range {a}-{b} is outside the text (positions 0 to {length - 1}) or reversed")
        marks[a : b + 1] = True
    return marks


def rank_by_marks(
    rec: CellRecording,
    marks: np.ndarray,
    threshold: float = 0.5,
    polarity: str = "either",
    tensors: Sequence[str] = TENSORS,
) -> pd.DataFrame:
    """Every unit ranked by how well "on" matches ``marks`` (one recorded text, batch 0).

    A unit is on where its value > ``threshold`` (``polarity="high"``), < −``threshold`` (``"low"``), or the better
    of the two for that unit (``"either"``). Columns: ``name, unit, polarity, f1, jaccard, precision, recall, on``
    (characters on), best F1 first."""
    if polarity not in ("high", "low", "either"):
        raise ValueError(f"polarity must be 'high', 'low' or 'either', got {polarity!r}")
    marks = np.asarray(marks, dtype=bool).reshape(-1)
    if len(marks) != rec.seq_len:
        raise ValueError(f"{len(marks)} marks for {rec.seq_len} characters")
    if not marks.any():
        raise InputError("nothing is marked: mark at least one character")
    y = torch.from_numpy(marks)[:, None]
    frames = []
    for name in rec.names():
        if name.rsplit(".", 1)[1] not in tensors:
            continue
        values = rec[name][0].float()  # (T, U), on the recording's device (a library user's may be a GPU)
        y = y.to(values.device)
        sides = {"high": values > threshold, "low": values < -threshold}
        best = None
        for side, on in sides.items():
            if polarity not in (side, "either"):
                continue
            tp = (on & y).sum(0).double().cpu()
            fp = (on & ~y).sum(0).double().cpu()
            fn = (~on & y).sum(0).double().cpu()
            frame = pd.DataFrame({
                "name": name, "unit": np.arange(values.shape[1]), "polarity": side,
                "f1": (2 * tp / (2 * tp + fp + fn).clamp_min(1)).numpy(),
                "jaccard": (tp / (tp + fp + fn).clamp_min(1)).numpy(),
                "precision": (tp / (tp + fp).clamp_min(1)).numpy(),
                "recall": (tp / (tp + fn).clamp_min(1)).numpy(),
                "on": (tp + fp).numpy().astype(int),
            })  # fmt: skip
            best = frame if best is None else best.where(best["f1"] >= frame["f1"], frame)
        frames.append(best)
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["f1", "jaccard", "name", "unit"], ascending=[False, False, True, True],
                             kind="stable").reset_index(drop=True)  # fmt: skip


# ------------------------------------------------------------------------------------------------------ contexts
@dataclass(frozen=True)
class Context:
    """The text around one place where a unit is extreme, with the unit's value at every character of it."""

    position: int  # the character's index in the source's text
    value: float  # the unit's value there
    start: int  # index of text[0] in the source's text
    text: str
    values: np.ndarray  # (len(text),)
    where: str  # e.g. "json/decoder.py, line 12"


class ContextSource(Protocol):
    """A body of recorded text in which a unit's top-activating contexts can be looked up."""

    def describe(self) -> str:
        """What the text is, in words (e.g. "the first 100,000 characters of 9 validation files")."""
        ...

    def top_contexts(self, name: str, unit: int, k: int = 10, width: int = 40, low: bool = False) -> list[Context]:
        """The ``k`` places where unit ``unit`` of ``name`` is highest (``low``: lowest), ``width`` characters
        of text each side, best first."""
        ...


@dataclass
class ValidationScan:
    """The validation files of the running stdlib read once by a model: every unit ranked against every feature,
    and every unit's top and bottom places (for :meth:`top_contexts`). The text is read as ``streams`` parallel
    rows, each from a zero state (so a place near a row's start has little context behind it)."""

    model: nn.Module
    text: str
    ids: np.ndarray
    spans: tuple[tuple[str, int, int], ...]
    streams: int
    starts: np.ndarray
    ranking: Ranking | None
    tracker: TopPlaces | None = field(repr=False, default=None)
    first_lines: tuple[int, ...] = ()  # each span's first line in its file (1 for every span when empty)

    def describe(self) -> str:
        files = sum(start < len(self.ids) for _, start, _ in self.spans)
        return f"{len(self.ids):,} characters from {files} validation files of the standard library (a share of each)"

    def _where(self, position: int) -> str:
        for n, (rel, start, end) in enumerate(self.spans):
            if start <= position < end:
                line = (self.first_lines[n] if self.first_lines else 1) + self.text.count("\n", start, position)
                return f"{rel}, line {line}"
        return "?"

    def top_contexts(self, name: str, unit: int, k: int = 10, width: int = 40, low: bool = False) -> list[Context]:
        if self.tracker is None or name not in self.tracker.names():
            raise InputError(f"{name} was not scanned; scan the validation text with its tensor first")
        windows = self.tracker.places(name, unit, low)  # more than k: near-duplicates are skipped below
        length = len(self.ids) // self.streams
        w = self.tracker.window
        rows = sorted({int(p) // length for p, _ in windows})
        ends = {r: max(p % length for p, _ in windows if p // length == r) + w + width + 1 for r in rows}
        values = _row_values(self.model, self.ids, self.starts, length, rows, ends, name, unit)
        found: list[Context] = []
        for first, _ in windows:
            row, step = divmod(first, length)
            inside = values[row][step : step + w]
            step += int(inside.argmin() if low else inside.argmax())  # the extreme inside the window
            start = int(self.starts[row])
            if any(abs(start + step - c.position) <= width for c in found):
                continue  # the same place as one already shown
            a, b = max(0, step - width), min(length, step + width + 1)
            found.append(Context(start + step, float(values[row][step]), start + a,
                                 self.text[start + a : start + b], values[row][a:b], self._where(start + step)))
            if len(found) == k:
                break
        return found


@torch.no_grad()
def _row_values(model, ids, starts, length, rows, ends, name, unit) -> dict[int, np.ndarray]:
    """One unit's values along some rows of a scan, each read from its start (as the scan read it)."""
    if not rows:
        return {}
    steps = min(length, max(ends.values()))
    batch = torch.as_tensor(np.stack([ids[starts[r] : starts[r] + steps] for r in rows]).astype(np.int64))
    values = model.record(batch)[name][..., unit].float().cpu().numpy()
    return {r: values[j] for j, r in enumerate(rows)}


def scan_validation(
    model: nn.Module,
    chars: int = 100_000,
    tensors: Sequence[str] = TENSORS,
    streams: int = 50,
    chunk: int = 250,
    top_k: int = 30,
    features: Sequence[str] = FEATURES,
) -> ValidationScan:
    """Read ``chars`` characters from every validation file (:func:`~lstm_viz.tasks.charlm.stdlib.validation_sample`:
    an equal share of each, labelled file by file) and rank every unit; with ``top_k``, remember each unit's
    ``top_k`` highest and lowest windows (contexts show up to about a third of them: neighbouring windows are one
    place)."""
    sample = validation_sample(chars)
    ids = encode(sample.text)
    streams = max(1, min(streams, len(ids) // 64))
    ranking, tracker, starts = _scan(model, ids, sample.labels, features, tensors, streams, chunk, top_k)
    return ValidationScan(model, sample.text, ids, sample.spans, streams, starts, ranking, tracker, sample.first_lines)


def top_contexts(
    source: ContextSource, name: str, unit: int, k: int = 10, width: int = 40, low: bool = False
) -> list[Context]:
    """A unit's top-activating contexts in ``source`` (a :class:`ValidationScan`, or any :class:`ContextSource`)."""
    return source.top_contexts(name, unit, k, width, low)
