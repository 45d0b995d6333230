"""Unit scoring: how well each single unit of a recording tracks a per-character feature (AUROC, Pearson r).

For every unit of every layer, direction and tensor (f, i, g, o, c, h by default):

- binary features (``in_string``, …): the AUROC of the unit's value as a score for the feature — the chance that a
  random character with the feature has a larger value than a random one without (ties count one half). 0.5 is
  chance; a unit that is *low* inside strings has AUROC near 0, so rankings use ``max(AUROC, 1 − AUROC)`` and the
  table keeps the raw AUROC, whose side of 0.5 is the unit's direction.
- numeric features (``bracket_depth``, ``column``, …): Pearson's r; rankings use |r|, the sign is the direction.

:class:`UnitScorer` is streaming: feed it chunks (``update``) and read the table (``table``). Pearson r is exact to
float rounding (Chan's parallel merge of means and co-moments; chunk sums in float32, the merge in float64). AUROC
comes from per-unit histograms: each unit's values are cut into ``bins`` equal bins between the unit's 0.05 % and
99.95 % quantiles in the first chunk (values beyond go to the end bins) and counted per feature pattern with one
``bincount``; two values in one bin count as a tie, which moves the estimate toward 0.5 by at most the share of pairs
that meet in a bin. Gates are binned on their pre-activation's scale (:func:`spread_for_bins`), so that a gate whose
two classes differ only deep in saturation (0.9990 vs 0.9999) is not one tie.
Use it to rank; :func:`exact_auroc` (one sort) re-scores the few units one reports.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from lstm_viz import Recording

__all__ = [
    "SCORED_TENSORS",
    "StreamingUnits",
    "UnitScorer",
    "best_units",
    "exact_auroc",
    "feature_columns",
    "pearson",
    "recording_units",
    "score_recording",
    "spread_for_bins",
]

SCORED_TENSORS: tuple[str, ...] = ("f", "i", "g", "o", "c", "h")


def recording_units(rec: Recording, tensors: Sequence[str] = SCORED_TENSORS) -> Iterator[tuple[str, Tensor]]:
    """``(name, values (T·B, units))`` for every layer, direction and tensor, rows in time-major order.

    Row ``t·B + b`` is batch element b at step t (the layout the recording keeps in memory, so usually no copy);
    per-character labels of shape (B, T) line up with ``labels.T.reshape(-1)``.
    """
    for name in rec.names():
        if name.rsplit(".", 1)[1] not in tensors:
            continue
        values = rec[name]  # (B, T, U)
        yield name, values.transpose(0, 1).reshape(-1, values.shape[-1])


# Gates are binned on the scale of their pre-activation: a monotone map changes no AUROC, and a saturated gate's
# values, crowded within 0.001 of 0 or 1 (two classes may differ only there: 0.9990 vs 0.9999), spread over many
# bins instead of sharing one. Sigmoid gates (LSTM f, i, o; GRU r, z) through logit, tanh ones (LSTM g, GRU n)
# through atanh, each clamped first to the float32 values nearest the ends (1.0 itself is a true tie). h and c stay
# as they are: h = o·tanh(c) is rarely saturated, and atanh's long tails there left more values past the range that
# the first chunk fixes (measured on the shipped text model's validation scan: the ten best units of each binary
# feature within 0.0024 of the exact AUROC, and 0.006 over the best 60, against 0.012 and 0.022 binned linearly).
_SIGMOID_GATES, _TANH_GATES = frozenset("fiorz"), frozenset("gn")
_BELOW_ONE = 1.0 - 2.0**-24  # the float32 value nearest 1 from below
_TINY = 1e-30


def spread_for_bins(tensor: str, values: Tensor) -> Tensor:
    """``values`` (a scratch copy: changed in place) of gate ``tensor`` (``"f"``, ``"g"``, … ) mapped onto its
    pre-activation's scale for binning (see above); other tensors unchanged."""
    if tensor in _SIGMOID_GATES:
        return values.clamp_(_TINY, _BELOW_ONE).logit_()
    if tensor in _TANH_GATES:
        return values.clamp_(-_BELOW_ONE, _BELOW_ONE).atanh_()
    return values


class StreamingUnits:
    """Per recording name: the binning fixed by the first chunk, and the accumulated bin counts and moments (shared
    by ``UnitScorer`` and ``text.scorer.FastScorer``). ``tensor`` (the name's last part) says how values are spread
    before binning (:func:`spread_for_bins`); the moments use the values as they are."""

    def __init__(self, first: Tensor, bins: int, n_numeric: int, tensor: str = "") -> None:
        units = first.shape[1]
        self.tensor = tensor
        # Bin range per unit: the first chunk's 0.05 % … 99.95 % quantiles (of ≤ 4,096 rows), widened a bit; the
        # k-th smallest (1-based) value is sorted[int(q · (n − 1))].
        sample = spread_for_bins(tensor, first[:: max(1, first.shape[0] // 2048)].clone())
        n = len(sample)
        lo = sample.kthvalue(int(0.0005 * (n - 1)) + 1, dim=0).values
        hi = sample.kthvalue(int(0.9995 * (n - 1)) + 1, dim=0).values
        margin = torch.maximum((hi - lo) * 0.01, 1e-4 * (1 + torch.maximum(lo.abs(), hi.abs())))
        lo, hi = lo - margin, hi + margin
        offset = torch.arange(units, dtype=torch.float32) * bins
        # bin index + unit offset = x · scale + shift, clamped to the unit's own bins
        self.scale = (bins / (hi - lo)).contiguous()
        self.shift = (offset - lo * self.scale).contiguous()
        self.first_bin, self.last_bin = offset, offset + (bins - 1)
        self.counts: dict[int, Tensor] = {}  # binary-feature pattern → counts per (unit, bin)
        self.nan = torch.zeros(units, dtype=torch.bool)  # units that had a NaN value: their AUROC is NaN
        self.reference = first[: min(len(first), 1000)].mean(0)  # shift for the moments (keeps float32 exact enough)
        self.n = 0
        self.mean_x = torch.zeros(units, dtype=torch.float64)
        self.m2_x = torch.zeros(units, dtype=torch.float64)
        self.mean_y = torch.zeros(n_numeric, dtype=torch.float64)
        self.m2_y = torch.zeros(n_numeric, dtype=torch.float64)
        self.c_xy = torch.zeros(units, n_numeric, dtype=torch.float64)

    def to_bins(self, work: Tensor, nan: Tensor) -> None:
        """``work`` (N, units), a scratch copy of a chunk's values, turned in place into each value's bin plus its
        unit's offset, as a float (truncated to an index by the caller). ``nan`` (units,) marks the units with a NaN
        in this chunk: they are remembered (their AUROC reads NaN) and binned anywhere, a NaN having no bin."""
        spread_for_bins(self.tensor, work)  # a gate on its pre-activation's scale (no AUROC changes)
        work.mul_(self.scale).add_(self.shift)
        torch.clamp(work, self.first_bin, self.last_bin, out=work)
        if nan.any():
            self.nan |= nan
            work.copy_(torch.where(work.isnan(), self.first_bin, work))

    def merge_moments(self, n: int, s1: Tensor, s2: Tensor, c_xy: Tensor, mean_y: Tensor, m2_y: Tensor) -> None:
        """Merge one chunk of ``n`` rows into the running moments (Chan et al.): ``s1``, ``s2`` are Σ(x − ref) and
        Σ(x − ref)² per unit, ``c_xy`` Σ(x − ref)(y − ȳ) (units, features), ``mean_y``, ``m2_y`` the chunk's label
        means and Σ(y − ȳ)². Leaves ``self.n`` to the caller."""
        mean_x = self.reference.double() + s1 / n
        m2_x = (s2 - s1 * s1 / n).clamp_min(0)
        n_a, n_b = self.n, n
        total = n_a + n_b
        dx = mean_x - self.mean_x
        dy = mean_y - self.mean_y
        self.m2_x += m2_x + dx**2 * (n_a * n_b / total)
        self.m2_y += m2_y + dy**2 * (n_a * n_b / total)
        self.c_xy += c_xy + dx[:, None] * dy[None, :] * (n_a * n_b / total)
        self.mean_x += dx * (n_b / total)
        self.mean_y += dy * (n_b / total)


class UnitScorer:
    """Streaming AUROC (binary features) and Pearson r (numeric features) for every unit; see the module doc."""

    def __init__(self, binary: Sequence[str], numeric: Sequence[str], bins: int = 256) -> None:
        if len(binary) > 16:
            raise ValueError("at most 16 binary features")
        self.binary = tuple(binary)
        self.numeric = tuple(numeric)
        self.bins = bins
        self._state: dict[str, StreamingUnits] = {}
        self._buffers: dict[tuple, Tensor] = {}

    def update(self, name: str, values: Tensor, labels: Mapping[str, np.ndarray | Tensor]) -> None:
        """Add ``values`` (N, units) of tensor ``name`` with its N-long labels (every feature given)."""
        x = values.detach().to("cpu", torch.float32)
        n, units = x.shape
        state = self._state.get(name)
        if state is None:
            state = self._state[name] = StreamingUnits(x, self.bins, len(self.numeric), name.rsplit(".", 1)[-1])
        work = self._buffer(n * units, torch.float32).view(n, units)
        if self.numeric:
            y = torch.stack(
                [torch.as_tensor(np.asarray(labels[f]), dtype=torch.float64).reshape(n) for f in self.numeric], 1
            )
            mean_y = y.mean(0)
            y_centred = y - mean_y
            torch.sub(x, state.reference, out=work)  # x − ref: the moments in float32 without cancellation
            c_xy = (y_centred.t().float() @ work).t().double()  # Σ x (y − ȳ) = Σ (x − x̄)(y − ȳ)
            s1 = work.sum(0).double()
            s2 = work.square_().sum(0).double()
            state.merge_moments(n, s1, s2, c_xy, mean_y, (y_centred**2).sum(0))
            nan = s1.isnan()  # a unit with a NaN value: its Σ is NaN
        else:
            nan = x.sum(0).isnan()
        if self.binary:
            pattern = torch.zeros(n, dtype=torch.int64)
            for bit, feature in enumerate(self.binary):
                pattern |= torch.as_tensor(np.asarray(labels[feature]), dtype=torch.int64).reshape(n) << bit
            codes, compact = torch.unique(pattern, return_inverse=True)
            size = units * self.bins
            if len(codes) * size >= 2**31:
                raise ValueError("too many units × bins × feature patterns for int32 bin indices")
            state.to_bins(work.copy_(x), nan)
            index = self._buffer(n * units, torch.int32, slot=1).view(n, units)
            index.copy_(work)  # truncates toward zero: the bin
            index += (compact.to(torch.int32) * size)[:, None]
            counts = torch.bincount(index.view(-1), minlength=len(codes) * size).view(len(codes), units, self.bins)
            for row, code in enumerate(codes.tolist()):
                if code in state.counts:
                    state.counts[code] += counts[row]
                else:
                    state.counts[code] = counts[row].clone()
        state.n += n

    def _buffer(self, numel: int, dtype: torch.dtype, slot: int = 0) -> Tensor:
        """A reused scratch buffer (fresh allocations of this size cost more than the arithmetic)."""
        key = (slot, dtype)
        buffer = self._buffers.get(key)
        if buffer is None or buffer.numel() < numel:
            buffer = self._buffers[key] = torch.empty(numel, dtype=dtype)
        return buffer[:numel]

    def update_recording(self, rec: Recording, labels: Mapping[str, np.ndarray], tensors=SCORED_TENSORS) -> None:
        """Add every unit of ``rec``; ``labels[f]`` has the recording's (B, T) shape (or (T,) when B = 1)."""
        batch, steps = rec.batch_size, rec.seq_len
        time_major = {
            f: np.asarray(labels[f]).reshape(batch, steps).T.reshape(-1) for f in (*self.binary, *self.numeric)
        }
        for name, values in recording_units(rec, tensors):
            self.update(name, values, time_major)

    def table(self) -> pd.DataFrame:
        """One row per unit (``name``, ``unit``), one column per feature: AUROC or Pearson r (signed)."""
        frames = []
        for name, state in self._state.items():
            layer, direction, tensor = name.split(".")
            counts = {code: c.double() for code, c in state.counts.items()}  # (K, bins) each
            columns = feature_columns(counts, self.binary, self.numeric, state.m2_x, state.m2_y, state.c_xy, state.nan)
            units = len(state.scale)
            frames.append(
                pd.DataFrame(
                    {
                        "name": name,
                        "layer": int(layer.removeprefix("layer")),
                        "direction": direction,
                        "tensor": tensor,
                        "unit": np.arange(units),
                        **columns,
                    }
                )
            )
        table = pd.concat(frames, ignore_index=True)
        table.attrs.update(binary=list(self.binary), numeric=list(self.numeric))
        return table


def best_units(table: pd.DataFrame, feature: str, k: int = 5, binary: bool | None = None) -> pd.DataFrame:
    """The k units that track ``feature`` best: by max(AUROC, 1 − AUROC) for binary, |r| for numeric features.

    ``binary`` defaults to what the table says (``table.attrs["binary"]``, set by :meth:`UnitScorer.table`).
    """
    if binary is None:
        binary = feature in table.attrs.get("binary", ())
    values = table[feature]
    strength = np.maximum(values, 1 - values) if binary else values.abs()
    out = table.assign(strength=strength).nlargest(k, "strength")
    return out[["name", "layer", "direction", "tensor", "unit", feature, "strength"]]


def score_recording(
    rec: Recording,
    labels: Mapping[str, np.ndarray],
    binary: Sequence[str],
    numeric: Sequence[str],
    tensors: Sequence[str] = SCORED_TENSORS,
    bins: int = 256,
) -> pd.DataFrame:
    """Score every unit of one recording (labels shaped like the recording's (B, T)); see UnitScorer."""
    scorer = UnitScorer(binary, numeric, bins)
    scorer.update_recording(rec, labels, tensors)
    return scorer.table()


def host_array(a: np.ndarray | Tensor) -> np.ndarray:
    """An array or a tensor (on any device, with or without grad) as a NumPy array in host memory."""
    return a.detach().cpu().numpy() if isinstance(a, Tensor) else np.asarray(a)


def exact_auroc(values: np.ndarray | Tensor, labels: np.ndarray | Tensor) -> float:
    """AUROC of ``values`` as a score for boolean ``labels``, ties counted one half (Mann–Whitney, one sort)."""
    values = host_array(values).astype(np.float64).ravel()
    labels = host_array(labels).astype(bool).ravel()
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    mid_rank = upper - (counts - 1) / 2.0  # 1-based average rank of each distinct value
    rank_sum = mid_rank[inverse][labels].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def pearson(values: np.ndarray | Tensor, target: np.ndarray | Tensor) -> float:
    """Pearson's r of two 1-D arrays (float64)."""
    x = host_array(values).astype(np.float64).ravel()
    y = host_array(target).astype(np.float64).ravel()
    x = x - x.mean()
    y = y - y.mean()
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denom) if denom > 0 else float("nan")


def feature_columns(
    counts: Mapping[int, Tensor],
    binary: Sequence[str],
    numeric: Sequence[str],
    m2_x: Tensor,
    m2_y: Tensor,
    c_xy: Tensor,
    nan: Tensor | None = None,
) -> dict[str, np.ndarray]:
    """Each feature's score for K units from running sums: for the ``binary`` features, AUROC from ``counts`` —
    ``{code: (K, bins) float64}``, how many characters with that feature code (bit j = ``binary[j]`` present) fell
    in each value bin of each unit (ties within a bin count half) —; for the ``numeric`` ones, Pearson r from the
    centred sums ``m2_x (K,)``, ``m2_y (F,)``, ``c_xy (K, F)``. NaN where a feature or a unit does not vary, and
    for the units ``nan`` (K,) marks: a unit with a NaN value has no AUROC (its r is NaN through its sums)."""
    columns: dict[str, np.ndarray] = {}
    if binary:
        total = sum(counts.values())
        for bit, feature in enumerate(binary):
            pos = sum((c for code, c in counts.items() if code >> bit & 1), torch.zeros_like(total))
            neg = total - pos
            neg_below = torch.cumsum(neg, 1) - neg
            pairs = pos.sum(1) * neg.sum(1)
            wins = (pos * (neg_below + 0.5 * neg)).sum(1)
            defined = pairs > 0 if nan is None else (pairs > 0) & ~nan
            columns[feature] = torch.where(defined, wins / pairs.clamp_min(1), torch.nan).numpy()
    if numeric:
        denom = torch.sqrt(m2_x[:, None] * m2_y[None, :])
        r = torch.where(denom > 0, c_xy / denom.clamp_min(1e-300), torch.nan)
        for j, feature in enumerate(numeric):
            columns[feature] = r[:, j].numpy()
    return columns
