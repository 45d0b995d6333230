"""Which units matter: ablate each unit in turn (or each unit at each step) and rank them by how much the answers move.

For every recorded tensor asked for (``c`` and ``h`` by default), every layer and direction and every unit, the
model answers its task's inputs with that one unit replaced (by 0, or by the unit's mean over the inputs) at every
step — or, with ``per_step``, at one step at a time. The task says how far each answer moved
(``Task.answer_change``: for subtraction whether the decoded integer changed, elsewhere the mean |change| of the
output) and which groups of inputs to report apart (subtraction: pairs whose binary subtraction borrows, and the
others). All single-unit ablations of one tensor run as a few large batches: the inputs repeated once per unit,
each copy with its own unit replaced (:func:`lstm_viz.core.sweep.ablated_outputs`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import Tensor, nn

from lstm_viz.core.device import small_model_threads, torch_threads, without_tf32
from lstm_viz.core.interventions import M_IS_H, replaceable_sizes
from lstm_viz.core.recording import DIRECTIONS
from lstm_viz.core.sweep import ablated_outputs
from lstm_viz.tasks import task_for

__all__ = ["VALUES", "Ablation", "ablate_units", "describe_unit", "unit_means"]

VALUES = ("zero", "mean")  # what an ablated unit is set to
MAX_ROWS = 8192  # rows per batch of the sweep (inputs × units): in cache, and bounded whatever the data size
# ... and at most this many floats in one (rows, steps, width) tensor of a batch, so that long inputs and wide layers
# stay bounded too: the text model's 'all' (24 windows × 128 characters, 384 units) took 5.6 GB in batches of 8,064
# rows, ~0.6 GB in batches of 384, in the same time.
MAX_BLOCK_FLOATS = 16_000_000


@dataclass
class Ablation:
    """A sweep's result: ``table`` has one row per ablation, most effective first — ``name`` (``layer0.fwd.c``),
    ``tensor, layer, direction, unit, step`` (−1 = every step), ``effect`` (the mean answer change over all inputs)
    and ``effect <group>`` per group — plus what was measured, on how many inputs, and how long it took."""

    table: pd.DataFrame
    measure: str
    value: str
    inputs: int
    groups: dict[str, int] = field(default_factory=dict)  # group → number of inputs in it
    seconds: float = 0.0

    def top(self, k: int = 10) -> pd.DataFrame:
        return self.table.head(k)

    @property
    def effect_columns(self) -> list[str]:
        """``effect`` and each ``effect <group>`` column of the table, in its order."""
        return [c for c in self.table.columns if c == "effect" or c.startswith("effect ")]

    @property
    def in_shares(self) -> bool:
        """Whether the effects are shares of answers (drawn and shown as %), not changes of a number."""
        return self.measure.startswith("share")


def ablate_units(
    model: nn.Module,
    tensors: Sequence[str] = ("c", "h"),
    *,
    x: Tensor | None = None,
    groups: dict[str, Tensor] | None = None,
    source: str = "all",
    value: str = "zero",
    per_step: bool = False,
    max_rows: int = MAX_ROWS,
    progress: Callable[[int, int], None] | None = None,
) -> Ablation:
    """Ablate every unit of ``tensors`` in every layer and direction, one at a time; rank by the answers' change.

    ``x`` and ``groups`` default to the task's own (``Task.ablation_inputs(config, source)``: for subtraction
    ``source="all"`` is every pair 0 ≤ b ≤ a ≤ 255). ``value``: ``"zero"`` or ``"mean"`` (the unit's mean over the
    inputs and steps). ``per_step``: one ablation per unit and step instead of per unit. ``progress(done, total)``
    is called after each batch (counting inputs × ablated tensors). Small models run on one CPU thread, in batches
    that stay in cache: the sweep is many small steps, which threads would only slow down.
    """
    if value not in VALUES:
        raise ValueError(f"value must be one of {', '.join(VALUES)}, got {value!r}")
    task = task_for(model.config)
    if x is None:
        x, default_groups = task.ablation_inputs(model.config, source)
        groups = default_groups if groups is None else groups
    groups = dict(groups or {})
    rnn = model.rnn()
    sizes = replaceable_sizes(rnn)
    unknown = [t for t in tensors if t not in sizes]
    if unknown or not tensors:
        as_h = f" ({M_IS_H}: ablate h)" if "m" in unknown and "c" in sizes else ""
        raise ValueError(f"tensors must be some of {', '.join(sizes)}, got {', '.join(tensors) or 'none'}{as_h}")
    device = next(model.parameters()).device
    x = x.to(device)
    N, T = x.shape[0], x.shape[1]
    with torch.no_grad():  # what the recurrent layer reads (a text model: the characters' embeddings)
        rnn_in = model.rnn_input(x) if hasattr(model, "rnn_input") else x
    started = time.perf_counter()
    was_training = model.training
    model.eval()
    try:
        # without_tf32: the sweep's step-by-step layer and the fused kernel round alike (by default a GPU's cuDNN
        # rounds products to TF32, which would put a floor of ~1e-4–1e-3 under every unit's measured change)
        with torch.no_grad(), torch_threads(small_model_threads(model)), without_tf32():
            before = model(x)
            means = unit_means(model, x, tensors) if value == "mean" else {}
            jobs = [
                (f"layer{k}.{d}.{q}", q, k, d, step)
                for k in range(rnn.num_layers)
                for d in DIRECTIONS[: 2 if rnn.bidirectional else 1]
                for q in tensors
                for step in (range(T) if per_step else [None])
            ]
            rows = []
            total, done = len(jobs) * N, 0
            width = max(*sizes.values(), int(getattr(model.config, "output_size", 1) or 1))
            rows_cap = max(1, min(max_rows, MAX_BLOCK_FLOATS // (T * width)))
            for name, q, k, d, step in jobs:
                units = torch.arange(sizes[q], device=device)
                fill: float | Tensor = 0.0 if value == "zero" else means[name]
                block = max(1, rows_cap // len(units))  # inputs per batch: every unit's copy of them together
                change = torch.empty(len(units), N, device=device)
                for first in range(0, N, block):
                    part = slice(first, min(N, first + block))
                    outs = ablated_outputs(rnn, rnn_in[part], name, units, fill, None if step is None else [step])
                    n = outs.shape[1]  # (U, n, T, ·): every unit's ablation of these n inputs
                    after = model.head(outs.reshape(len(units) * n, *outs.shape[2:]))
                    ref = before[part].repeat(len(units), *([1] * (before.dim() - 1)))
                    change[:, part] = task.answer_change(ref, after).view(len(units), n).float()
                    done += n
                    if progress is not None:
                        progress(done, total)
                for unit in units.tolist():
                    row = {"name": name, "tensor": q, "layer": k, "direction": d, "unit": unit,
                           "step": -1 if step is None else step, "effect": float(change[unit].mean())}  # fmt: skip
                    for group, mask in groups.items():
                        mask = mask.to(device)
                        row[f"effect {group}"] = float(change[unit][mask].mean()) if mask.any() else math.nan
                    rows.append(row)
    finally:
        model.train(was_training)
    table = pd.DataFrame(rows).sort_values("effect", ascending=False, kind="stable").reset_index(drop=True)
    return Ablation(
        table=table,
        measure=task.ablation_measure,
        value=value,
        inputs=N,
        groups={g: int(m.sum()) for g, m in groups.items()},
        seconds=time.perf_counter() - started,
    )


def unit_means(model: nn.Module, x: Tensor, tensors: Sequence[str]) -> dict[str, Tensor]:
    """Each unit's mean over the inputs and steps of ``x``, by recording name (``layer0.fwd.c`` → ``(units,)``), for
    every layer and direction of the ``tensors`` named (``"c"``, ``"h"`` …): the value "its mean" sets a unit to, in
    the ranking and in Intervene (:func:`lstm_viz.interventions.effects.unit_means`). Steps past a packed sequence's
    end (NaN) are left out of the mean, not counted as 0."""
    rec = model.record(x)
    return {name: torch.nanmean(rec[name].float(), dim=(0, 1)) for name in rec.names()
            if name.split(".")[-1] in tensors}  # fmt: skip


def describe_unit(result: Ablation, row: pd.Series | dict) -> str:
    """One sentence about one ablation, e.g. "layer0.fwd.c unit 12: zeroing it changes 41 % of the answers of pairs
    that borrow and 0 % of the others"."""
    row = dict(row)
    verb = "zeroing it" if result.value == "zero" else "setting it to its mean"
    when = "" if row.get("step", -1) < 0 else f" at step {row['step']}"
    def amount(value: float, n: int) -> str:  # a share with its count: 1 of 32,896 is not "0.0%"
        if not result.in_shares:
            return f"{value:.4g}"
        count = round(value * n)
        return f"{value:.1%} ({count:,} of {n:,})" if 0 < value < 0.001 else f"{value:.1%}"

    parts = [f"{amount(row['effect'], result.inputs)} over all {result.inputs:,} inputs"]
    for group, n in result.groups.items():
        parts.append(f"{amount(row[f'effect {group}'], n)} over the {n:,} '{group}' input{'s' * (n != 1)}")
    return f"{row['name']} unit {row['unit']}, {verb}{when} — {result.measure}: " + "; ".join(parts)
