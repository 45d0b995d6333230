"""Unit report for CharLM: record long texts in chunks, rank every unit, pick units on one text, score on another.

``python -m lstm_viz text-report MODEL`` (``cli/text_report.py``) prints ``unit_report``'s numbers as models/README.md
gives them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from lstm_viz import Recording
from lstm_viz.core.recording import unit_label
from lstm_viz.tasks.charlm.data import BINARY_LABELS, NUMERIC_LABELS
from lstm_viz.tasks.charlm.model import CharLM
from lstm_viz.tasks.charlm.scoring import SCORED_TENSORS, UnitScorer, best_units, exact_auroc, pearson

__all__ = ["GOALS", "REPORTED", "rank_units", "record_chunks", "unit_report", "unit_values"]

# feature → (score, goal): the single-unit goals of the shipped model
GOALS: dict[str, tuple[str, float]] = {
    "in_string": ("auroc", 0.95),
    "in_comment": ("auroc", 0.95),
    "bracket_depth": ("abs_r", 0.75),
    "column": ("abs_r", 0.8),
}
# what the unit report scores: the goals, and the docstring cell (no goal: in_string's larger part, which a model
# may keep in a cell of its own, apart from the short strings' — the in_string unit's score with these characters
# left out is its score on the short strings)
REPORTED: dict[str, tuple[str, float | None]] = {**GOALS, "in_long_string": ("auroc", None)}


@torch.no_grad()
def record_chunks(
    model: CharLM, ids: np.ndarray, batch_size: int = 8, chunk: int = 1250
) -> Iterator[tuple[Recording, np.ndarray]]:
    """Record ``ids`` as B streams, ``chunk`` steps at a time with the state carried; yield (recording, positions).

    ``positions`` (B, T) are the indices into ``ids`` of the recording's characters: the recording at [b, t] is the
    state after reading ``ids[positions[b, t]]``, which is what that character's labels describe.
    """
    model.eval()
    device = next(model.parameters()).device
    length = len(ids) // batch_size
    starts = np.arange(batch_size)[:, None] * length
    streams = torch.as_tensor(np.asarray(ids)[: batch_size * length].reshape(batch_size, length), device=device)
    state = None
    for t in range(0, length, chunk):
        rec = model.record(streams[:, t : t + chunk], state)
        state = (rec.h_n, rec.c_n)
        yield rec, starts + np.arange(t, min(t + chunk, length))[None, :]


def rank_units(
    model: CharLM,
    ids: np.ndarray,
    labels: Mapping[str, np.ndarray],
    binary: Sequence[str] = BINARY_LABELS,
    numeric: Sequence[str] = NUMERIC_LABELS,
    tensors: Sequence[str] = SCORED_TENSORS,
    batch_size: int = 8,
    chunk: int = 1250,
) -> pd.DataFrame:
    """UnitScorer's table (every unit × feature) of ``model`` on ``ids`` with per-character ``labels``."""
    scorer = UnitScorer(binary, numeric)
    for rec, positions in record_chunks(model, ids, batch_size, chunk):
        scorer.update_recording(rec.to("cpu"), {f: labels[f][positions] for f in (*binary, *numeric)}, tensors)
    return scorer.table()


def unit_values(
    model: CharLM, ids: np.ndarray, units: Sequence[tuple[str, int]], batch_size: int = 8, chunk: int = 1250
) -> tuple[np.ndarray, np.ndarray]:
    """The values of a few units (``(name, unit)``, e.g. ``("layer1.fwd.c", 17)``) on ``ids``: (N, k), positions."""
    values, where = [], []
    for rec, positions in record_chunks(model, ids, batch_size, chunk):
        values.append(np.stack([rec[name][..., unit].cpu().numpy().ravel() for name, unit in units], 1))
        where.append(positions.ravel())
    return np.concatenate(values), np.concatenate(where)


def _score(values: np.ndarray, target: np.ndarray, kind: str) -> float:
    return exact_auroc(values, target) if kind == "auroc" else pearson(values, target)


def unit_report(
    model: CharLM,
    select: tuple[np.ndarray, Mapping[str, np.ndarray]],
    report: tuple[np.ndarray, Mapping[str, np.ndarray]],
    goals: Mapping[str, tuple[str, float | None]] = GOALS,
    candidates: int = 20,
    also: tuple[np.ndarray, Mapping[str, np.ndarray]] | None = None,
) -> dict[str, dict]:
    """For each goal feature: the unit picked on ``select`` (ids, labels), scored on ``report`` (ids, labels).
    A feature whose goal is None is scored the same way, ``reached`` None.

    Every unit is ranked on ``select`` with the fast scorer; its ``candidates`` best are re-scored exactly on
    ``select``; the best of those is *the* unit, with its direction (the side of 0.5 or the sign of r), and its
    score on ``report`` is given in that direction (``report_score``: AUROC oriented so > 0.5 means the picked
    direction, or |r| with ``sign_kept``). ``best_on_report`` is the best candidate's score on ``report``, for
    information only (picking by it would fit the report text). ``report_score_without`` (binary features):
    the picked unit's ``report_score`` on the characters outside each other binary goal feature — a string cell
    that also lights up in comments scores higher with the comments left out. ``also``: one more text (ids,
    labels), say Python source from outside the standard library, that the picked unit is scored on too
    (``also_score``, in the picked direction as ``report_score``; ``also_best``: the best candidate there), read
    as one stream.
    """
    select_ids, select_labels = select
    report_ids, report_labels = report
    binary = [f for f, (kind, _) in goals.items() if kind == "auroc"]
    numeric = [f for f, (kind, _) in goals.items() if kind != "auroc"]
    table = rank_units(model, select_ids, select_labels, binary, numeric)
    shortlist = {f: best_units(table, f, candidates) for f in goals}
    units = sorted({(row.name, int(row.unit)) for frame in shortlist.values() for row in frame.itertuples()})
    column = {unit: k for k, unit in enumerate(units)}
    sel_values, sel_pos = unit_values(model, select_ids, units)
    rep_values, rep_pos = unit_values(model, report_ids, units)
    # one stream, the state carried through the whole text (as a reader reads one file)
    also_values, also_pos = unit_values(model, also[0], units, batch_size=1) if also is not None else (None, None)
    out: dict[str, dict] = {}
    for feature, (kind, goal) in goals.items():
        score_kind = "auroc" if kind == "auroc" else "r"
        scored = []
        for row in shortlist[feature].itertuples():
            k = column[(row.name, int(row.unit))]
            on_select = _score(sel_values[:, k], select_labels[feature][sel_pos], score_kind)
            on_report = _score(rep_values[:, k], report_labels[feature][rep_pos], score_kind)
            scored.append((row.name, int(row.unit), on_select, on_report))
        if score_kind == "auroc":
            oriented = [(n, u, max(s, 1 - s), r if s >= 0.5 else 1 - r, s >= 0.5) for n, u, s, r in scored]
        else:
            oriented = [(n, u, abs(s), r * np.sign(s), bool(s >= 0)) for n, u, s, r in scored]
        name, unit, select_score, report_score, up = max(oriented, key=lambda item: item[2])
        without = {}  # a binary feature's unit scored apart from the other binary features (a string cell that is
        if score_kind == "auroc":  # also a comment cell: its score with the comments left out says so)
            values, target = rep_values[:, column[(name, unit)]], report_labels[feature][rep_pos]
            for other in (f for f in binary if f != feature):
                keep = np.asarray(report_labels[other][rep_pos]) == 0
                if 0 < np.count_nonzero(target[keep]) < np.count_nonzero(keep):
                    auroc = _score(values[keep], target[keep], "auroc")
                    without[other] = float(auroc if up else 1 - auroc)
        shown_score = abs(report_score) if score_kind == "r" else report_score  # |r|, or the oriented AUROC
        out[feature] = {
            "unit": unit_label(name, unit),
            "score": "AUROC" if score_kind == "auroc" else "|r|",
            "direction": ("high" if up else "low") if score_kind == "auroc" else ("+" if up else "-"),
            "select_score": float(select_score),
            "report_score": float(shown_score),
            "sign_kept": bool(report_score > 0) if score_kind == "r" else bool(report_score >= 0.5),
            "goal": goal,
            "reached": None if goal is None else bool(shown_score >= goal),
            "best_on_report": float(max(abs(o[3]) if score_kind == "r" else o[3] for o in oriented)),
            "report_score_without": without,
            "screen_top": shortlist[feature].head(3).to_dict("records"),
        }
        if also is not None:
            target = also[1][feature][also_pos]
            # each candidate in the direction it was picked in on ``select``, as report_score and best_on_report
            there = {}
            for n, u, on_select, _ in scored:
                v = _score(also_values[:, column[(n, u)]], target, score_kind)
                there[(n, u)] = (v if on_select >= 0.5 else 1 - v) if score_kind == "auroc" else v * np.sign(on_select)
            picked = there[(name, unit)]
            out[feature]["also_score"] = float(abs(picked)) if score_kind == "r" else float(picked)
            out[feature]["also_best"] = float(max(abs(v) if score_kind == "r" else v for v in there.values()))
            if score_kind == "r":
                out[feature]["also_sign_kept"] = bool(picked > 0)
    return out
