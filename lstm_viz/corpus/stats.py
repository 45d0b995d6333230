"""Unit statistics over a whole corpus, gathered chunk by chunk while it is recorded: one row per (name, unit).

``count, mean, std, min, max``; saturation — the share of steps below ``low`` and above ``high``: 0.1 / 0.9 for
the sigmoid gates f, i, o (as ``viz.saturation``), −0.9 / 0.9 for the tanh-valued g, m, h, and ±artanh(0.9) ≈ ±1.472
for c (where tanh(c), what h is made of, passes ±0.9); and the ``TOP_K`` highest and lowest positions (file_id, t,
value) of every unit. Statistics are of the values as stored (after float16 rounding), so they agree exactly with
queries over the shards. Ties are broken by (file_id, t) ascending, as the queries break them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["TOP_K", "UnitStats", "saturation_bounds"]

TOP_K = 20
_GATES = ("f", "i", "o")
_TANH = ("g", "m", "h")


def saturation_bounds(tensor: str) -> tuple[float, float]:
    """(low, high): a unit of this tensor is saturated below low or above high."""
    if tensor in _GATES:
        return 0.1, 0.9
    if tensor in _TANH:
        return -0.9, 0.9
    edge = math.atanh(0.9)  # c: where tanh(c) passes ±0.9
    return -edge, edge


def _candidates(values: np.ndarray, bar: np.ndarray, k: int, largest: bool) -> tuple[np.ndarray, np.ndarray]:
    """(row, unit) pairs of ``values`` (rows, units) that may enter a unit's top (bottom) k, ``bar`` (units,)
    being the k-th best kept so far (±inf before k values were seen).

    Cheap where it matters: once k values are kept, only values at least as good as the k-th pass. A unit with
    more than 4k passing is cut to its own k best, of equal values the earlier rows (rows are in (file_id, t)
    order, so ties go as the queries break them).
    """
    passing = values >= bar if largest else values <= bar
    counts = np.count_nonzero(passing, axis=0)
    crowded = np.flatnonzero(counts > 4 * k)
    passing[:, crowded] = False
    flat = np.flatnonzero(passing)
    rows, units = [flat // values.shape[1]], [flat % values.shape[1]]
    for u in crowded.tolist():
        column = values[:, u]
        edge = np.partition(column, -k)[-k] if largest else np.partition(column, k - 1)[k - 1]
        better = np.flatnonzero(column > edge if largest else column < edge)
        tied = np.flatnonzero(column == edge)[: k - len(better)]
        rows.append(np.concatenate([better, tied]))
        units.append(np.full(k, u))
    return np.concatenate(rows), np.concatenate(units)


class UnitStats:
    """Streaming statistics of named tensors; ``update`` with each chunk's rows in (file_id, t) order."""

    def __init__(self, units: Mapping[str, int], k: int = TOP_K) -> None:
        self.units = dict(units)
        self.k = k
        self.acc: dict[str, dict[str, np.ndarray]] = {}
        for name, n in self.units.items():
            self.acc[name] = {
                "count": np.zeros(1, np.int64),
                "sum": np.zeros(n, np.float64),
                "m2": np.zeros(n, np.float64),
                "min": np.full(n, np.inf, np.float32),
                "max": np.full(n, -np.inf, np.float32),
                "low": np.zeros(n, np.int64),
                "high": np.zeros(n, np.int64),
                **{f"{side}_{what}": np.zeros((n, 0), dtype)
                   for side in ("top", "bottom") for what, dtype in (("value", np.float32), ("file_id", np.int32),
                                                                       ("t", np.int32))},
            }  # fmt: skip

    def update(self, name: str, values: np.ndarray, file_id: np.ndarray, t: np.ndarray) -> None:
        """Add ``values`` (rows, units) float32 — rows sorted by (file_id, t) — of tensor ``name``."""
        acc = self.acc[name]
        low, high = saturation_bounds(name.rsplit(".", 1)[1])
        n, seen = len(values), int(acc["count"][0])
        if n == 0:
            return
        # mean and M2 merged chunk by chunk (Chan et al.): exact to float rounding, no cancellation
        chunk_mean = values.mean(0, dtype=np.float64)
        chunk_m2 = np.square(values - chunk_mean.astype(np.float32)).sum(0, dtype=np.float64)
        mean = acc["sum"] / max(seen, 1)
        delta = chunk_mean - mean
        total = seen + n
        acc["m2"] += chunk_m2 + delta**2 * seen * n / total  # M2: sum of squared deviations from the mean
        acc["sum"] += chunk_mean * n
        acc["count"] += n
        acc["min"] = np.minimum(acc["min"], values.min(0))
        acc["max"] = np.maximum(acc["max"], values.max(0))
        acc["low"] += np.count_nonzero(values < low, axis=0)
        acc["high"] += np.count_nonzero(values > high, axis=0)
        units = values.shape[1]
        for side in ("top", "bottom"):
            largest = side == "top"
            kept = acc[f"{side}_value"]
            bar = kept[:, -1] if kept.shape[1] >= self.k else np.full(units, -np.inf if largest else np.inf, np.float32)
            rows, unit = _candidates(values, bar, self.k, largest)
            m = np.bincount(unit, minlength=units)
            width = kept.shape[1] + int(m.max(initial=0))
            order = np.argsort(unit, kind="stable")
            rows, unit = rows[order], unit[order]
            slot = kept.shape[1] + np.arange(len(unit)) - np.repeat(np.cumsum(m) - m, m)
            value = np.full((units, width), -np.inf if largest else np.inf, np.float32)
            fid = np.full((units, width), np.iinfo(np.int32).max, np.int32)
            tt = np.full((units, width), np.iinfo(np.int32).max, np.int32)
            value[:, : kept.shape[1]] = kept
            fid[:, : kept.shape[1]] = acc[f"{side}_file_id"]
            tt[:, : kept.shape[1]] = acc[f"{side}_t"]
            value[unit, slot], fid[unit, slot], tt[unit, slot] = values[rows, unit], file_id[rows], t[rows]
            best = np.lexsort((tt, fid, -value if largest else value), axis=-1)[:, : min(self.k, total)]
            acc[f"{side}_value"] = np.take_along_axis(value, best, 1)
            acc[f"{side}_file_id"] = np.take_along_axis(fid, best, 1)
            acc[f"{side}_t"] = np.take_along_axis(tt, best, 1)

    # ------------------------------------------------------------------ resume
    def arrays(self) -> dict[str, np.ndarray]:
        """Everything gathered so far, as flat arrays (``np.savez``) keyed ``name|field``."""
        return {f"{name}|{field}": value for name, acc in self.acc.items() for field, value in acc.items()}

    def load_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        for name, acc in self.acc.items():
            for field in acc:
                acc[field] = np.asarray(arrays[f"{name}|{field}"])

    # ------------------------------------------------------------------ the table
    def table(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per (name, unit): name, unit, count, mean, std, min, max, low, high, frac_low, frac_high, and
        top_/bottom_ file_id, t, value (lists of up to k, best first)."""
        frames = []
        for name in names or list(self.acc):
            acc = self.acc[name]
            n = int(acc["count"][0])
            mean = acc["sum"] / max(n, 1)
            var = acc["m2"] / max(n, 1)
            low, high = saturation_bounds(name.rsplit(".", 1)[1])
            frame = pd.DataFrame({
                "name": name, "unit": np.arange(self.units[name], dtype=np.int32), "count": n,
                "mean": mean, "std": np.sqrt(var), "min": acc["min"], "max": acc["max"],
                "low": low, "high": high,
                "frac_low": acc["low"] / max(n, 1), "frac_high": acc["high"] / max(n, 1),
            })  # fmt: skip
            for side in ("top", "bottom"):
                for what in ("file_id", "t", "value"):
                    frame[f"{side}_{what}"] = list(acc[f"{side}_{what}"])
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)
