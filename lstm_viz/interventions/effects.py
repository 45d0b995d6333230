"""One intervention, before and after: what it replaces (a choice of tensor, units, steps and value), the model's
answer with and without it, and where the change first appears and how it spreads through steps and layers.

Values a user can choose: 0 (ablate), 1, a constant, the unit's mean over the inputs *Which units matter* sweeps, or
the values the same tensor took on a second input (activation patching). Pure functions; the app's Intervene tab
draws them.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from lstm_viz.core.interventions import Intervention, record_intervened, replaceable_sizes
from lstm_viz.core.recording import DIRECTIONS, CellRecording
from lstm_viz.interventions import ablation
from lstm_viz.parsing import fixed
from lstm_viz.tasks import Answer, TaskInput, task_for
from lstm_viz.viz.divergence import Divergence, beyond_rounding, compared, first_divergence

__all__ = [
    "VALUE_KINDS",
    "Choice",
    "Effect",
    "build",
    "intervene",
    "names_of",
    "parse_indices",
    "spread_table",
    "unit_means",
    "width_of",
]

ROUNDING = 1e-5  # |after − before| up to this times max(1, |value|) is float rounding (kernel vs step by step)

VALUE_KINDS: dict[str, str] = {
    "zero": "0 (ablate)",
    "one": "1",
    "constant": "a constant",
    "mean": "the unit's mean",  # (over task inputs: the caption after says so)
    "patch": "B's value (patch)",
}  # short: a segmented control never wraps, and all five fit one line of a 1,024-px window


_SET_TO: dict[str, str] = {  # how a caption says what was done (VALUE_KINDS are the buttons' labels)
    "zero": "set to 0 (ablated)",
    "one": "set to 1",
    "constant": "set to {constant:g}",
    "mean": "set to each unit's average value over {data}, every step (the mean Which units matter ranks by)",
    "patch": "replaced by their values on the second input B",
}


@dataclass(frozen=True)
class Choice:
    """What a user picked: ``name`` (``layer0.fwd.c``), ``units`` and ``steps`` (None = all), the kind of value
    (one of ``VALUE_KINDS``) and, for ``constant``, the number."""

    name: str
    units: tuple[int, ...] | None
    steps: tuple[int, ...] | None
    kind: str = "zero"
    constant: float = 0.0

    def describe(self, data: str = "the task's inputs") -> str:
        """One line for a caption; ``data`` names what a unit's mean is taken over (``Task.ablation_data``)."""
        units = (
            "every unit"
            if self.units is None
            else f"unit{'s' if len(self.units) > 1 else ''} " + ", ".join(map(str, self.units))
        )
        steps = (
            "every step"
            if self.steps is None
            else f"step{'s' if len(self.steps) > 1 else ''} t = " + ", ".join(map(str, self.steps))
        )
        return f"{self.name}: {units} at {steps} {_SET_TO[self.kind].format(constant=self.constant, data=data)}"


_MEANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model → {(name, weights' versions): means}


@torch.no_grad()
def unit_means(model: nn.Module, name: str) -> torch.Tensor:
    """Each unit's mean of ``name`` over the inputs *Which units matter* sweeps (``Task.ablation_inputs(config,
    "all")``, every input and step): ``(units,)`` — so that a unit opened from the ranking is set to the value it
    was ranked with (the probe batch gave another: 0.034 against 0.077 for the subtraction LSTM's c unit 1). Kept
    per model until its weights change (a recording of all 32,896 subtraction pairs takes ~0.2 s)."""
    versions = tuple(p._version for p in model.parameters())  # bumped by every in-place change (a training step)
    kept = _MEANS.setdefault(model, {})
    if (name, versions) not in kept:
        for stale in [k for k in kept if k[1] != versions]:  # one set of weights at a time
            del kept[stale]
        x, _ = task_for(model.config).ablation_inputs(model.config, "all")
        x = x.to(next(model.parameters()).device)
        kept[(name, versions)] = ablation.unit_means(model, x, [name.rsplit(".", 1)[1]])[name]
    return kept[(name, versions)]


def build(
    choice: Choice, model: nn.Module, rec_b: CellRecording | None = None, steps_a: int | None = None
) -> Intervention:
    """The Intervention a choice describes; ValueError (with what to do) when it cannot be built. A patch from B at
    every step (``steps`` None) covers the steps both inputs have: A's ``steps_a`` and B's."""
    if choice.kind not in VALUE_KINDS:
        raise ValueError(f"unknown value {choice.kind!r}; choose one of {', '.join(VALUE_KINDS)}")
    if choice.kind == "constant" and not math.isfinite(choice.constant):
        raise ValueError(f"the constant must be a finite number, got {choice.constant!r}")
    units = None if choice.units is None else list(choice.units)
    steps = None if choice.steps is None else list(choice.steps)
    if choice.kind in ("zero", "one", "constant"):
        value = {"zero": 0.0, "one": 1.0}.get(choice.kind, choice.constant)
        return Intervention(choice.name, value, steps=steps, units=units)
    if choice.kind == "mean":
        means = unit_means(model, choice.name)
        return Intervention(choice.name, means if units is None else means[units], steps=steps, units=units)
    if rec_b is None:
        raise ValueError("patching needs the second input B: type one in the 'Compare two inputs' tab")
    source = rec_b[choice.name]  # (batch, T_b, units)
    both = source.shape[1] if steps_a is None else min(source.shape[1], steps_a)
    chosen = list(range(both)) if steps is None else steps
    if any(t >= source.shape[1] for t in chosen):
        raise ValueError(
            f"input B has {source.shape[1]} steps, so it cannot supply step {max(chosen)}; choose steps below "
            f"{source.shape[1]} or a B as long as A"
        )
    value = source[:, chosen] if units is None else source[:, chosen][:, :, units]
    return Intervention(choice.name, value, steps=chosen, units=units)


@dataclass(frozen=True)
class Effect:
    """The model on one input with and without an intervention."""

    before: Answer
    after: Answer
    rec_before: CellRecording
    rec_after: CellRecording
    divergence: Divergence

    @property
    def changed(self) -> bool:
        """Whether the answer moved by more than float rounding (the intervened run goes step by step, the plain one
        through the fused kernel: numbers can differ in their last bits when nothing changed)."""
        return not _same_answer(self.before.value, self.after.value)

    def change_sentence(self) -> str:
        """The change in words: a number's move with both values ("The prediction moved from -0.0007 to 0.0000
        (still right)."), else whether the answer changed, and right or wrong where the truth is known."""
        if not self.changed:
            return "The answer did not change."
        was, now = self.before.correct, self.after.correct
        verdict = ""
        if was is not None and now is not None:
            verdict = f" ({'still' if was == now else 'now'} {'right' if now else 'wrong'})"
        a, b = self.before.value, self.after.value
        if isinstance(a, float) and isinstance(b, float):
            return f"The prediction moved from {fixed(a)} to {fixed(b)}{verdict}."
        return f"The answer changed{verdict}."


def _same_answer(a: object, b: object) -> bool:
    """Answers' values equal up to ``ROUNDING`` (relative to their size) in every number, exactly elsewhere."""
    if isinstance(a, int | float) and isinstance(b, int | float) and float in (type(a), type(b)):  # ints: exact
        return math.isclose(a, b, rel_tol=ROUNDING, abs_tol=ROUNDING) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same_answer(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_answer(a[k], b[k]) for k in a)
    return a == b


def intervene(model: nn.Module, inp: TaskInput, intervention: Intervention, rec_before: CellRecording) -> Effect:
    """Answer and record ``inp`` under ``intervention`` (``rec_before`` is the plain recording of ``inp``).

    Off the CPU, ``rec_before`` is replaced by the same step-by-step run the intervention needs, without it: a GPU's
    kernel rounds otherwise (cuDNN computes float32 with TF32 products by default, ~1e-3 relative, far above
    ``ROUNDING``), and that rounding would read as a change at every step."""
    task = task_for(model.config)
    x = inp.x.to(next(model.parameters()).device)
    rec_after = model.record(x, interventions=[intervention]).to("cpu")
    if x.device.type != "cpu":
        with torch.no_grad():
            rec_before = record_intervened(model.rnn(), model.rnn_input(x), None, []).to("cpu")
    before = task.answer(model, inp)
    after = task.answer(model, inp, [intervention])
    return Effect(before, after, rec_before, rec_after, first_divergence(rec_before, rec_after, tol=ROUNDING))


def spread_table(rec_a: CellRecording, rec_b: CellRecording, tol: float = ROUNDING) -> pd.DataFrame:
    """How a change spreads: per (layer, direction, t), the largest |B − A| over every tensor and unit and how many
    units changed by more than ``tol`` of their size (in any tensor); differences under that — float rounding
    between the fused kernel and the step-by-step run an intervention needs — count as none (``beyond_rounding``).
    Columns ``layer, direction, t, max_abs, units_changed, h_units_changed``: with a projection (LSTMP) h has
    proj_size units of its own, counted apart (a change to h alone counted as no unit under a point of 1.22);
    without one ``h_units_changed`` is 0 and h's units are counted with the others."""
    rows = []
    steps = min(rec_a.seq_len, rec_b.seq_len)
    for k in range(rec_a.num_layers):
        for d in range(rec_a.num_directions):
            pairs = [
                (getattr(rec_a, q)[k, d, 0, :steps].float(), getattr(rec_b, q)[k, d, 0, :steps].float())
                for q in compared(rec_a)  # the heatmaps' tensors: an LSTMP's m too (an intervention on m changes it)
            ]  # each (T, units)
            beyond = [beyond_rounding(a, b, tol) for a, b in pairs]
            diffs = [torch.where(out, (b - a).abs(), 0.0) for (a, b), out in zip(pairs, beyond, strict=True)]
            peak = torch.stack([dd.amax(dim=1) for dd in diffs]).amax(dim=0)  # (T,): 0 where only rounding
            own = [out for out in beyond if out.shape == beyond[0].shape]  # h may be narrower (a projection)
            changed = torch.stack(own).any(dim=0).sum(dim=1)  # (T,)
            narrow = [out for out in beyond if out.shape != beyond[0].shape]  # an LSTMP's h: units of its own
            h_changed = narrow[0].sum(dim=1) if narrow else torch.zeros_like(changed)
            for t in range(steps):
                rows.append({"layer": k, "direction": DIRECTIONS[d], "t": t, "max_abs": float(peak[t]),
                             "units_changed": int(changed[t]), "h_units_changed": int(h_changed[t])})  # fmt: skip
    return pd.DataFrame(rows)


def names_of(model: nn.Module) -> list[str]:
    """Every tensor an intervention can replace in ``model``, as recording names (``layer0.fwd.f`` …)."""
    rnn = model.rnn()
    sizes = replaceable_sizes(rnn)
    return [
        f"layer{k}.{d}.{q}"
        for k in range(rnn.num_layers)
        for d in DIRECTIONS[: 2 if rnn.bidirectional else 1]
        for q in sizes
    ]


def width_of(model: nn.Module, name: str) -> int:
    """How many units the tensor ``name`` has (h of an LSTMP: proj_size)."""
    return replaceable_sizes(model.rnn())[name.rsplit(".", 1)[-1]]


def parse_indices(text: str, limit: int, what: str, example: str) -> tuple[int, ...] | None:
    """``"3, 5-7"`` → ``(3, 5, 6, 7)``; empty or ``all`` → None (every one). ValueError naming the bad part."""
    text = (text or "").strip()
    if not text or text.lower() == "all":
        return None
    out: list[int] = []
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        lo, _, hi = part.partition("-")
        lo, hi = lo.strip(), hi.strip()
        if not lo and hi.isdecimal() and part.startswith("-"):  # "-1": a negative number, not a range
            raise ValueError(f"{what}: {part[:20]} is outside 0…{limit - 1} (they count from 0); e.g. {example} "
                             "(or all)")  # fmt: skip
        if not lo.isdecimal() or (hi and not hi.isdecimal()):  # decimal digits (int() reads them); '²' is not one
            raise ValueError(f"{what}: {part[:20]!r} is not a whole number or a range; e.g. {example} (or all)")
        if len(lo) > 12 or len(hi) > 12:
            shown = part if len(part) <= 20 else part[:20] + "…"
            raise ValueError(f"{what}: {shown} is far outside 0…{limit - 1}; e.g. {example} (or all)")
        a, b = int(lo), int(hi) if hi else int(lo)
        if b < a:
            raise ValueError(f"{what}: the range {part!r} goes down; write it low-high, e.g. {example}")
        if b >= limit:
            raise ValueError(f"{what}: {b} is outside 0…{limit - 1}; e.g. {example} (or all)")
        out.extend(range(a, b + 1))
    return tuple(dict.fromkeys(out))
