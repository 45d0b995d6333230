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


def _candidates(
    by_unit: np.ndarray, bar: np.ndarray, bar_key: np.ndarray, row_key: np.ndarray, k: int, largest: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(unit, row) pairs of ``by_unit`` (units, rows) that may enter a unit's top (bottom) k: better than ``bar``
    (units,), the k-th best kept so far (±inf before k values were seen), or equal to it at an earlier position
    (``row_key`` (rows,) < ``bar_key`` (units,); key = file_id · 2³² + t).

    Cheap where it matters: a unit is looked at only when its best value in the chunk reaches its bar, which after
    the first chunks is rare. A unit with more than 4k values passing is cut to its own k best, of equal values the
    earlier rows (rows are in (file_id, t) order, so ties go as the queries break them).
    """
    best = by_unit.max(1) if largest else by_unit.min(1)
    hopeful = np.flatnonzero(best >= bar if largest else best <= bar)
    if len(hopeful) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    values = by_unit[hopeful]
    edge = bar[hopeful, None]
    passing = (values > edge) if largest else (values < edge)
    passing |= (values == edge) & (row_key[None, :] < bar_key[hopeful, None])
    crowded = np.count_nonzero(passing, axis=1) > 4 * k
    passing[crowded] = False
    index, rows = np.nonzero(passing)  # unit-major, rows ascending within a unit
    units, rows = [hopeful[index]], [rows]
    for u in hopeful[crowded].tolist():  # cut to the unit's own k best (ties: earlier rows)
        row = by_unit[u]
        cut = np.partition(row, -k)[-k] if largest else np.partition(row, k - 1)[k - 1]
        better = np.flatnonzero(row > cut if largest else row < cut)
        units.append(np.full(k, u))
        rows.append(np.concatenate([better, np.flatnonzero(row == cut)[: k - len(better)]]))
    units, rows = np.concatenate(units), np.concatenate(rows)
    order = np.argsort(units, kind="stable")  # crowded units were appended after: unit-major again
    return units[order], rows[order]


class UnitStats:
    """Streaming statistics of named tensors; ``update`` with each chunk's values, rows in (file_id, t) order."""

    def __init__(self, units: Mapping[str, int], k: int = TOP_K) -> None:
        self.units = dict(units)
        self.k = k
        self.acc: dict[str, dict[str, np.ndarray]] = {}
        for name, n in self.units.items():
            self.acc[name] = {
                "count": np.zeros(1, np.int64),
                "sum": np.zeros(n, np.float64),
                "m2": np.zeros(n, np.float64),
                "low": np.zeros(n, np.int64),
                "high": np.zeros(n, np.int64),
                **{f"{side}_{what}": np.zeros((n, 0), dtype)
                   for side in ("top", "bottom") for what, dtype in (("value", np.float32), ("file_id", np.int32),
                                                                       ("t", np.int32))},
            }  # fmt: skip

    def update(self, name: str, by_unit: np.ndarray, file_id: np.ndarray, t: np.ndarray) -> None:
        """Add ``by_unit`` (units, rows) float32 — rows in (file_id, t) order — of tensor ``name``."""
        acc = self.acc[name]
        low, high = saturation_bounds(name.rsplit(".", 1)[1])
        units, n = by_unit.shape
        seen = int(acc["count"][0])
        if n == 0:
            return
        # mean and M2 merged chunk by chunk (Chan et al.): exact to float rounding, no cancellation
        chunk_mean = by_unit.mean(1, dtype=np.float64)
        deviation = by_unit - chunk_mean[:, None].astype(np.float32)
        chunk_m2 = np.einsum("ur,ur->u", deviation, deviation, dtype=np.float64)
        delta = chunk_mean - acc["sum"] / max(seen, 1)
        total = seen + n
        acc["m2"] += chunk_m2 + delta**2 * seen * n / total  # M2: the sum of squared deviations from the mean
        acc["sum"] += chunk_mean * n
        acc["count"] += n
        acc["low"] += np.count_nonzero(by_unit < low, axis=1)
        acc["high"] += np.count_nonzero(by_unit > high, axis=1)
        row_key = (file_id.astype(np.int64) << 32) + t
        for side in ("top", "bottom"):
            largest = side == "top"
            kept = acc[f"{side}_value"]
            full = kept.shape[1] >= self.k
            bar = kept[:, -1] if full else np.full(units, -np.inf if largest else np.inf, np.float32)
            bar_key = (
                (acc[f"{side}_file_id"][:, -1].astype(np.int64) << 32) + acc[f"{side}_t"][:, -1]
                if full
                else np.full(units, np.iinfo(np.int64).max)
            )
            unit, rows = _candidates(by_unit, bar, bar_key, row_key, self.k, largest)
            if len(unit) == 0:
                continue
            m = np.bincount(unit, minlength=units)
            width = kept.shape[1] + int(m.max())
            slot = kept.shape[1] + np.arange(len(unit)) - np.repeat(np.cumsum(m) - m, m)  # unit-major already
            value = np.full((units, width), -np.inf if largest else np.inf, np.float32)
            fid = np.full((units, width), np.iinfo(np.int32).max, np.int32)
            tt = np.full((units, width), np.iinfo(np.int32).max, np.int32)
            value[:, : kept.shape[1]] = kept
            fid[:, : kept.shape[1]] = acc[f"{side}_file_id"]
            tt[:, : kept.shape[1]] = acc[f"{side}_t"]
            value[unit, slot], fid[unit, slot], tt[unit, slot] = by_unit[unit, rows], file_id[rows], t[rows]
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
                "mean": mean, "std": np.sqrt(var), "min": acc["bottom_value"][:, 0], "max": acc["top_value"][:, 0],
                "low": low, "high": high,
                "frac_low": acc["low"] / max(n, 1), "frac_high": acc["high"] / max(n, 1),
            })  # fmt: skip
            for side in ("top", "bottom"):
                for what in ("file_id", "t", "value"):
                    frame[f"{side}_{what}"] = list(acc[f"{side}_{what}"])
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)
