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
import torch

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


def _chunk_top(keys: np.ndarray, k: int) -> np.ndarray:
    """Row indices (units, k) of each column's k largest ``keys``; ties go to the earlier row."""
    kth = torch.topk(torch.from_numpy(keys), k, dim=0, sorted=True).values[-1].numpy()  # (U,)
    above = keys > kth
    tied = keys == kth
    need = k - above.sum(0)
    mask = above | (tied & (np.cumsum(tied, 0) <= need))  # exactly k per column
    _, rows = np.nonzero(mask.T)  # unit-major, rows ascending within a unit
    return rows.reshape(keys.shape[1], k)


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
                "sumsq": np.zeros(n, np.float64),
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
        acc["count"] += len(values)
        acc["sum"] += values.sum(0, dtype=np.float64)
        acc["sumsq"] += np.einsum("ru,ru->u", values, values, dtype=np.float64)
        acc["min"] = np.minimum(acc["min"], values.min(0))
        acc["max"] = np.maximum(acc["max"], values.max(0))
        acc["low"] += (values < low).sum(0)
        acc["high"] += (values > high).sum(0)
        k = min(self.k, len(values))
        for side, keys in (("top", values), ("bottom", -values)):
            rows = _chunk_top(np.ascontiguousarray(keys), k)  # (U, k)
            value = np.concatenate([acc[f"{side}_value"], np.take_along_axis(values.T, rows, 1)], 1)
            fid = np.concatenate([acc[f"{side}_file_id"], file_id[rows]], 1)
            tt = np.concatenate([acc[f"{side}_t"], t[rows]], 1)
            order = np.lexsort((tt, fid, -value if side == "top" else value), axis=-1)[:, : self.k]
            acc[f"{side}_value"] = np.take_along_axis(value, order, 1)
            acc[f"{side}_file_id"] = np.take_along_axis(fid, order, 1)
            acc[f"{side}_t"] = np.take_along_axis(tt, order, 1)

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
            var = np.maximum(acc["sumsq"] / max(n, 1) - mean**2, 0.0)
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
