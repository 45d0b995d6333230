"""Cell budgets for big recordings: bin time steps and keep the most active units, and say what was done.

A heatmap of T = 2,000 steps × 512 units has a million cells per panel; a browser cannot draw six of those
quickly and the figure would weigh tens of megabytes. Figures therefore ask for a ``View`` of at most
``max_steps`` columns and ``max_units`` rows: time is binned into equal runs of consecutive steps (mean per
bin), and units are ranked by how much they change over time (standard deviation over t, summed over the
quantities shown) and the top ones kept, in their original order. ``View.note`` is the sentence a figure
prints about it ("" when nothing was reduced).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_MAX_STEPS",
    "DEFAULT_MAX_UNITS",
    "TimeBins",
    "View",
    "bin_time",
    "pick_units",
    "plan_view",
]

DEFAULT_MAX_STEPS = 400  # columns per heatmap panel
DEFAULT_MAX_UNITS = 64  # rows per heatmap panel


@dataclass(frozen=True)
class TimeBins:
    """Consecutive runs of time steps: bin k covers steps ``start[k] .. stop[k] - 1``."""

    start: np.ndarray  # (K,) int
    stop: np.ndarray  # (K,) int

    @property
    def size(self) -> int:
        """Steps per bin (the last bin may be shorter)."""
        return int(self.stop[0] - self.start[0]) if len(self.start) else 1

    @property
    def binned(self) -> bool:
        return self.size > 1

    @property
    def steps_each(self) -> str:
        """``"11 steps"``, or ``"11 steps, the last of 2"`` when the last bin is shorter: for the notes that say
        what a column or point is the mean of."""
        last = int(self.stop[-1] - self.start[-1]) if len(self.start) else self.size
        return f"{self.size} steps" + (f", the last of {last}" if last != self.size else "")

    def __len__(self) -> int:
        return len(self.start)

    def centers(self) -> np.ndarray:
        """Where each bin sits on a time axis: its first step when unbinned, else the middle of its run."""
        if not self.binned:
            return self.start.astype(float)
        return (self.start + self.stop - 1) / 2.0

    def labels(self) -> list[str]:
        """``"3"`` for a single step, ``"16–23"`` for a bin."""
        if not self.binned:
            return [str(int(s)) for s in self.start]
        pairs = zip(self.start, self.stop, strict=True)
        return [f"{int(a)}–{int(b) - 1}" if b - a > 1 else str(int(a)) for a, b in pairs]

    def reduce(self, values: np.ndarray, axis: int = -1) -> np.ndarray:
        """Mean of ``values`` over each bin along ``axis`` (a no-op when every bin is one step)."""
        if not self.binned:
            return values
        values = np.moveaxis(np.asarray(values), axis, -1)
        sums = np.add.reduceat(values, self.start, axis=-1)
        means = sums / (self.stop - self.start)
        return np.moveaxis(means, -1, axis)


def bin_time(steps: int, max_steps: int = DEFAULT_MAX_STEPS) -> TimeBins:
    """Split ``steps`` time steps into at most ``max_steps`` equal runs of consecutive steps."""
    if steps <= 0:
        raise ValueError(f"a recording needs at least one time step, got {steps}")
    if max_steps <= 0:
        raise ValueError(f"max_steps must be positive, got {max_steps}")
    size = max(1, -(-steps // max_steps))  # ceil
    start = np.arange(0, steps, size)
    stop = np.minimum(start + size, steps)
    return TimeBins(start=start, stop=stop)


def pick_units(activity: np.ndarray, max_units: int = DEFAULT_MAX_UNITS) -> np.ndarray:
    """Indices of the ``max_units`` most active units (largest ``activity``), in ascending unit order."""
    activity = np.asarray(activity, dtype=float)
    n = activity.shape[0]
    if max_units <= 0:
        raise ValueError(f"max_units must be positive, got {max_units}")
    if n <= max_units:
        return np.arange(n)
    # NaN activity (a constant unit) ranks last; ties are broken by the lower index (stable sort).
    order = np.argsort(-np.nan_to_num(activity, nan=-np.inf), kind="stable")
    return np.sort(order[:max_units])


@dataclass(frozen=True)
class View:
    """Which time bins and units a figure shows, and the sentence that says so."""

    bins: TimeBins
    units: np.ndarray  # (U',) original unit indices, ascending
    total_steps: int
    total_units: int

    @property
    def reduced(self) -> bool:
        return self.bins.binned or len(self.units) < self.total_units

    @property
    def note(self) -> str:
        parts = []
        if self.bins.binned:
            parts.append(
                f"time binned: each column is the mean of {self.bins.steps_each} "
                f"({self.total_steps} → {len(self.bins)})"
            )
        if len(self.units) < self.total_units:
            parts.append(f"the {len(self.units)} most active of {self.total_units} units (largest change over time)")
        return " · ".join(parts)  # a subtitle is one line: every character counts

    def apply(self, values: np.ndarray) -> np.ndarray:
        """``values`` (T, U_total) → (U', T') ready for a heatmap (units as rows)."""
        values = np.asarray(values)
        return self.bins.reduce(values[:, self.units], axis=0).T


def plan_view(
    series: Sequence[np.ndarray],
    max_steps: int = DEFAULT_MAX_STEPS,
    max_units: int = DEFAULT_MAX_UNITS,
    units: Sequence[int] | None = None,
) -> View:
    """One shared view for several (T, U) arrays of the same shape (e.g. f, i, g, o, c of one layer).

    ``units`` forces a choice of units instead of the most active ones.
    """
    if not series:
        raise ValueError("plan_view needs at least one (T, U) array")
    steps, total_units = np.asarray(series[0]).shape
    if units is not None:
        chosen = np.array(sorted({int(u) for u in units}), dtype=int)
        if len(chosen) and (chosen.min() < 0 or chosen.max() >= total_units):
            raise ValueError(f"units must be in 0..{total_units - 1}, got {list(units)}")
    else:
        activity = np.zeros(total_units)
        if total_units > max_units:
            for values in series:
                activity += np.asarray(values, dtype=float).std(axis=0)
        chosen = pick_units(activity, max_units)
    return View(bins=bin_time(steps, max_steps), units=chosen, total_steps=steps, total_units=total_units)
