"""Training histories (lists of per-epoch metric dicts) as frames and arrays for curves, thinned for the browser."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MAX_POINTS", "history_frame", "series", "thin", "thin_each", "thin_index"]

MAX_POINTS = 500  # the most points a curve redrawn live sends to the browser


def thin_index(n: int, max_points: int) -> np.ndarray:
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(int))


def history_frame(history: Sequence[Mapping[str, Any]] | pd.DataFrame, max_points: int | None = None) -> pd.DataFrame:
    """The metric history as a DataFrame, one row per epoch (thinned to ``max_points`` rows if given).

    Only scalar entries are kept; without an ``epoch`` column the rows are numbered from 1.
    """
    if isinstance(history, pd.DataFrame):
        frame = history if max_points is None else thin(history, max_points)
    else:
        index = thin_index(len(history), max_points or len(history) or 1)
        rows = [history[k] for k in index]
        frame = pd.DataFrame([{k: v for k, v in row.items() if np.isscalar(v) or v is None} for row in rows])
        if "epoch" not in frame.columns:
            frame = frame.assign(epoch=index + 1)
    if "epoch" not in frame.columns:
        frame = frame.assign(epoch=np.arange(1, len(frame) + 1))
    return frame


def series(history: Sequence[Mapping[str, Any]] | pd.DataFrame, max_points: int = MAX_POINTS) -> dict[str, np.ndarray]:
    """The numeric columns of a (thinned) history as float arrays, ``epoch`` always present — a fast
    ``history_frame`` for figures redrawn twice a second (no DataFrame of thousands of dicts each time)."""
    if isinstance(history, pd.DataFrame):
        frame = history_frame(history, max_points)
        out = {c: frame[c].to_numpy(dtype=float) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])}
        return out
    index = thin_index(len(history), max_points)
    rows = [history[k] for k in index]
    names = [k for k, v in (rows[-1].items() if rows else ()) if isinstance(v, (int, float, np.number))]
    out = {name: np.fromiter((r.get(name, np.nan) for r in rows), float, len(rows)) for name in names}
    if "epoch" not in out:
        out["epoch"] = (index + 1).astype(float)
    return out


def thin(frame: pd.DataFrame, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """At most ``max_points`` evenly spaced rows, always keeping the first and the last."""
    return frame if len(frame) <= max_points else frame.iloc[thin_index(len(frame), max_points)]


def thin_each(frame: pd.DataFrame, by: str, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """``thin`` each group of rows of ``by`` on its own (two models' histories in one frame): thinning them together
    could drop one model's last epoch."""
    if frame.empty:
        return frame
    return pd.concat([thin(part, max_points) for _, part in frame.groupby(by, sort=False)])

