"""Interventions: clamp, ablate or patch any gate or state at chosen steps and units, and run the cell on from there.

An :class:`Intervention` names a recorded tensor (``layer1.bwd.c``), the time steps (positions in the input, for
both directions) and the units it replaces, and the value it puts there. When that tensor is computed at a chosen
step, the chosen units are replaced, and everything computed afterwards uses the replaced value: the same step's c
and h, later steps, later layers, the output, h_n and c_n. The equations, with the replaced values written in::

    i, f, g, o  ← the gates of x_t and h_{t-1}, then replaced where asked
    c_t = f ⊙ c_{t-1} + i ⊙ g,   then replaced where asked
    m_t = o ⊙ tanh(c_t),   an LSTMP's m replaced where asked
    h_t = m_t (or W_hr m_t for an LSTMP),   then h replaced where asked

For a GRU the tensors are r, z, n, h: ``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``, ``h = (1 − z) ⊙ n + z ⊙
h_prev``, each replaced where asked as soon as it is computed.

:func:`plan` checks interventions against a module's shape (a bad name, step or unit is a ValueError naming what
exists) and groups them by layer and direction; :func:`run_lstm_layer` / :func:`run_gru_layer` run one layer and
direction step by step with the replacements. They use only out-of-place operations, so the same code records
(under ``no_grad``) and computes a differentiable forward pass under interventions.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence

from lstm_viz.core.errors import RNNArgumentError
from lstm_viz.core.twins import current_weights, recording_twin

__all__ = [
    "Edit",
    "Intervention",
    "LayerPlan",
    "UnitPerRow",
    "as_list",
    "checked_steps",
    "intervened_forward",
    "packed_interventions_error",
    "plan",
    "record_intervened",
    "replaceable_sizes",
    "run_gru_layer",
    "run_lstm_layer",
    "run_module",
]

_DIRECTIONS = ("fwd", "bwd")
# ASCII only (here and in intervention_text's spec): \d and \w also match other scripts' digits, which int() and
# float() read ("١" is 1).
M_IS_H = "without a projection m = o·tanh(c) is h itself"  # why a plain LSTM's m is not replaced on its own
_NAME = re.compile(r"layer([0-9]+)\.(fwd|bwd)\.(\w+)", re.ASCII)


@dataclass(frozen=True)
class Intervention:
    """Replace ``units`` of the recorded tensor ``name`` at ``steps`` by ``value``.

    ``name``: ``layer{k}.{fwd|bwd}.{f|i|g|o|c|h}``, an LSTMP's ``m`` too (``r|z|n|h`` for a GRU). ``steps``: time
    indices, positions in the input for both directions; None = every step. ``units``: unit indices; None = every
    unit. ``value``: a number, or a tensor broadcastable to ``(batch, len(steps), len(units))`` — e.g.
    ``other_rec.h[0, 0, :, 4:5]`` to patch step 4 from another run. Broadcasting aligns from the right: a 2-D value
    is read as ``(steps, units)``, so give per-row values in 3-D, ``(batch, 1, units)``.
    """

    name: str
    value: float | Tensor
    steps: Sequence[int] | None = None
    units: Sequence[int] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ValueError(f"an intervention's name must be text like 'layer0.fwd.c', got {self.name!r}")
        for what in ("steps", "units"):
            chosen = getattr(self, what)
            if chosen is None:
                continue
            if _whole(chosen):
                object.__setattr__(self, what, (int(chosen),))
                continue
            if isinstance(chosen, Tensor):
                chosen = chosen.reshape(-1).tolist()
            elif hasattr(chosen, "ravel") and hasattr(chosen, "tolist"):  # a NumPy array (e.g. from np.argsort)
                chosen = chosen.ravel().tolist()
            try:
                items = tuple(chosen)
            except TypeError:
                raise ValueError(f"{what} must be a list of whole numbers or None, got {chosen!r}") from None
            if not items or not all(_whole(v) for v in items):
                raise ValueError(f"{what} must be a non-empty list of whole numbers or None, got {chosen!r}")
            items = tuple(int(v) for v in items)
            if len(set(items)) != len(items):  # with a tensor value, the later slice would silently win
                raise ValueError(f"{self.name}: {what} {list(items)} name a {what[:-1]} twice; give each once")
            object.__setattr__(self, what, items)
        if not isinstance(self.value, Tensor):
            try:
                value = float(self.value)
            except (TypeError, ValueError, OverflowError):
                raise ValueError(f"an intervention's value must be a number or a tensor, got {self.value!r}") from None
            if not math.isfinite(value):
                raise ValueError(f"{self.name}: an intervention's value must be a finite number, got {value}")
            object.__setattr__(self, "value", value)
        elif self.value.device.type != "meta" and not torch.isfinite(self.value.detach()).all():
            raise ValueError(f"{self.name}: the value tensor holds NaN or infinity; patch with finite values only")


def _whole(value: object) -> bool:
    """A whole number: int or a NumPy/other integral scalar, not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def checked_steps(name: str, steps: Iterable[int] | None, seq_len: int) -> list[int]:
    """The steps at which ``name`` is replaced (None: every step of ``seq_len``), or a ValueError when one is outside
    0…seq_len − 1 (−1 is not the last step here) or named twice — the one check of Intervention and the sweep."""
    steps = list(range(seq_len)) if steps is None else [int(t) for t in steps]
    bad = [t for t in steps if not 0 <= t < seq_len]
    if bad:
        raise ValueError(f"{name}: step {bad[0]} is outside the input's steps 0…{seq_len - 1}")
    if len(set(steps)) != len(steps):
        raise ValueError(f"{name}: steps {steps} name a step twice; give each once")
    return steps


def packed_interventions_error() -> RNNArgumentError:
    """What record and intervened_forward raise for interventions on a PackedSequence."""
    return RNNArgumentError(
        "interventions run on a padded batch, not on a PackedSequence: record the PackedSequence without "
        "interventions, or pad it (torch.nn.utils.rnn.pad_packed_sequence) and intervene on the padded tensor — "
        "its backward direction then starts at the padding — or run each sequence on its own"
    )


@dataclass(frozen=True)
class UnitPerRow:
    """An ablation sweep's intervention: replace one unit *per batch row* of ``name`` (row b: unit ``units[b]``) at
    ``steps`` (None = every step) by ``value`` (a number, or one value per row). Many single-unit ablations then run
    as one batch: the input repeated once per unit, each copy with its own unit replaced."""

    name: str
    units: Tensor
    value: float | Tensor = 0.0
    steps: Sequence[int] | None = None


@dataclass
class Edit:
    """One replacement inside one layer and direction: ``tensor`` at the steps in ``values`` (step → value), on
    ``units`` (None = all). ``rows_units`` (the ablation sweep's fast path) names one unit per batch row instead."""

    tensor: str
    values: dict[int, Tensor | float]
    units: Tensor | None = None
    rows_units: Tensor | None = None

    def apply(self, t: int, x: Tensor) -> Tensor:
        """``x`` (B, U) at step ``t`` with the replacement made (a new tensor; ``x`` is left as it was)."""
        if t not in self.values:
            return x
        value = self.values[t]
        if self.rows_units is not None:  # one unit per row: x[b, rows_units[b]] = value
            index = self.rows_units.view(-1, 1)
            fill = value if isinstance(value, Tensor) else torch.full_like(index, value, dtype=x.dtype)
            return x.scatter(1, index, fill.to(x.dtype).expand(index.shape))
        if self.units is None:
            if isinstance(value, Tensor):
                return value.to(x.dtype).expand_as(x).clone()
            return torch.full_like(x, value)
        value_t = value.to(x.dtype) if isinstance(value, Tensor) else x.new_tensor(value)
        return x.index_put((torch.arange(x.shape[0], device=x.device)[:, None], self.units[None, :]),
                           value_t.expand(x.shape[0], len(self.units)))  # fmt: skip


@dataclass
class LayerPlan:
    """The edits of one layer and direction, by tensor name."""

    edits: dict[str, list[Edit]] = field(default_factory=dict)

    def apply(self, tensor: str, t: int, x: Tensor) -> Tensor:
        for edit in self.edits.get(tensor, ()):
            x = edit.apply(t, x)
        return x

    def add(self, edit: Edit) -> None:
        self.edits.setdefault(edit.tensor, []).append(edit)


def plan(
    interventions: Iterable[Intervention] | None,
    *,
    num_layers: int,
    num_directions: int,
    seq_len: int,
    batch: int,
    sizes: dict[str, int],
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> dict[tuple[int, int], LayerPlan]:
    """Check interventions against a module's shape and group them by (layer, direction).

    ``sizes`` maps each tensor that can be replaced to its width (LSTM: f, i, g, o, c → hidden_size, h →
    proj_size or hidden_size; an LSTMP's m = o·tanh(c) before the projection → hidden_size). ValueError, naming
    what exists, for a bad name, step, unit or value shape.
    """
    plans: dict[tuple[int, int], LayerPlan] = {}
    tensors = ", ".join(sizes)
    layers = "layer0" if num_layers == 1 else f"layer0…layer{num_layers - 1}"
    exists = (
        f"this model has {layers}, direction {' and '.join(_DIRECTIONS[:num_directions])}, "
        f"tensors {tensors} (e.g. 'layer0.fwd.{next(iter(sizes))}')"
    )
    for item in interventions or ():
        if not isinstance(item, (Intervention, UnitPerRow)):
            raise ValueError(f"interventions must be Intervention objects, got {type(item).__name__}")
        match = _NAME.fullmatch(item.name)
        if match is None:
            raise ValueError(f"{item.name!r} is not a recording name like 'layer0.fwd.c'; {exists}")
        if match[1] != str(int(match[1])):  # layer01 would be read as layer1 and kept as it was written
            raise ValueError(f"{item.name!r}: write the layer without leading zeros (layer{int(match[1])}); {exists}")
        layer, direction, tensor = int(match[1]), _DIRECTIONS.index(match[2]), match[3]
        if tensor == "m" and "c" in sizes and "m" not in sizes and layer < num_layers and direction < num_directions:
            raise ValueError(f"{item.name!r}: {M_IS_H}; replace 'layer{layer}.{match[2]}.h'")
        if layer >= num_layers or direction >= num_directions or tensor not in sizes:
            raise ValueError(f"{item.name!r} is not in this model: {exists}")
        steps = checked_steps(item.name, item.steps, seq_len)
        width = sizes[tensor]
        if isinstance(item, UnitPerRow):
            edit = _per_row_edit(item, tensor, steps, width, batch, device)
            plans.setdefault((layer, direction), LayerPlan()).add(edit)
            continue
        units = None
        if item.units is not None:
            bad = [u for u in item.units if not 0 <= u < width]
            if bad:
                raise ValueError(f"{item.name}: unit {bad[0]} is outside 0…{width - 1} ({tensor} has {width} units)")
            units = torch.tensor(list(item.units), dtype=torch.long, device=device)
        n_units = width if units is None else len(units)
        values: dict[int, Tensor | float] = {}
        if isinstance(item.value, Tensor):
            value = item.value.detach() if not item.value.requires_grad else item.value
            value = value.to(device=device, dtype=dtype) if device is not None or dtype is not None else value
            if value.is_floating_point() and not bool(torch.isfinite(value.detach()).all()):  # finite before the cast
                raise ValueError(f"{item.name}: the value holds numbers beyond {value.dtype}'s range (the model's)")
            try:
                full = value.expand(batch, len(steps), n_units) if value.dim() <= 3 else None
            except RuntimeError:
                full = None
            if full is None:
                raise ValueError(
                    f"{item.name}: the value's shape {tuple(item.value.shape)} does not broadcast to "
                    f"(batch {batch}, {len(steps)} step(s), {n_units} unit(s))"
                )
            for k, s in enumerate(steps):
                values[s] = full[:, k, :]
        else:
            if dtype is not None and dtype.is_floating_point and abs(item.value) > torch.finfo(dtype).max:
                raise ValueError(f"{item.name}: the value {item.value:g} is beyond {dtype}'s range (the model's)")
            values = dict.fromkeys(steps, float(item.value))
        plans.setdefault((layer, direction), LayerPlan()).add(Edit(tensor, values, units))
    return plans


def _per_row_edit(
    item: UnitPerRow, tensor: str, steps: list[int], width: int, batch: int, device: torch.device | str | None
) -> Edit:
    units = torch.as_tensor(item.units, dtype=torch.long, device=device).reshape(-1)
    if units.numel() != batch:
        raise ValueError(f"{item.name}: {units.numel()} units per row for a batch of {batch} rows")
    if units.numel() and not (int(units.min()) >= 0 and int(units.max()) < width):
        raise ValueError(f"{item.name}: units must be in 0…{width - 1} ({tensor} has {width} units)")
    value = item.value
    if isinstance(value, Tensor):
        value = value.to(device).reshape(-1, 1)
        if value.shape[0] not in (1, batch):
            raise ValueError(f"{item.name}: {value.shape[0]} values for a batch of {batch} rows")
    return Edit(tensor, dict.fromkeys(steps, value), rows_units=units)


def as_list(interventions: Intervention | Iterable[Intervention] | None) -> list[Intervention]:
    """What ``record``/``intervened_forward`` were given as ``interventions`` — None, one Intervention, or any
    iterable of them — as a list, read once (a generator would be empty the second time)."""
    if isinstance(interventions, Intervention):
        return [interventions]  # one intervention for a list of one
    return list(interventions or ())


# -------------------------------------------------------------------------------------------------- the cells
def _order(T: int, reverse: bool) -> range:
    return range(T - 1, -1, -1) if reverse else range(T)


def run_lstm_layer(
    x: Tensor,
    h0: Tensor,
    c0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    w_hr: Tensor | None,
    layer_plan: LayerPlan | None,
    reverse: bool = False,
) -> dict[str, Tensor]:
    """One LSTM layer and direction step by step with the plan's replacements; time-major in and out.

    ``x`` (T, B, I), ``h0`` (B, P), ``c0`` (B, H). Returns ``i, f, g, o, c, m`` (T, B, H), ``h`` (T, B, P) —
    position order for both directions — and ``h_n`` (B, P), ``c_n`` (B, H).
    """
    layer_plan = layer_plan or LayerPlan()
    T = x.shape[0]
    H = w_hh.shape[0] // 4
    pre = x @ w_ih.t()  # (T, B, 4H): x_t W_ih^T for every t at once
    if b_ih is not None:
        pre = pre + (b_ih + b_hh)
    out: dict[str, list[Tensor | None]] = {k: [None] * T for k in ("i", "f", "g", "o", "c", "m", "h")}
    h, c = h0, c0
    for t in _order(T, reverse):
        gates = pre[t] + h @ w_hh.t()  # (B, 4H) in storage order i, f, g, o
        i = layer_plan.apply("i", t, torch.sigmoid(gates[:, :H]))
        f = layer_plan.apply("f", t, torch.sigmoid(gates[:, H : 2 * H]))
        g = layer_plan.apply("g", t, torch.tanh(gates[:, 2 * H : 3 * H]))
        o = layer_plan.apply("o", t, torch.sigmoid(gates[:, 3 * H :]))
        c = layer_plan.apply("c", t, f * c + i * g)
        m = layer_plan.apply("m", t, o * torch.tanh(c))  # (an LSTMP's; without a projection m is h: never here)
        h = layer_plan.apply("h", t, m @ w_hr.t() if w_hr is not None else m)
        for name, value in (("i", i), ("f", f), ("g", g), ("o", o), ("c", c), ("m", m), ("h", h)):
            out[name][t] = value
    result = {name: torch.stack(values) for name, values in out.items()}  # type: ignore[arg-type]
    result["h_n"], result["c_n"] = h, c
    return result


def run_gru_layer(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    layer_plan: LayerPlan | None,
    reverse: bool = False,
) -> dict[str, Tensor]:
    """One GRU layer and direction step by step with the plan's replacements; time-major in and out.

    ``x`` (T, B, I), ``h0`` (B, H). Returns ``r, z, n, h`` (T, B, H) in position order and ``h_n`` (B, H).
    """
    layer_plan = layer_plan or LayerPlan()
    T = x.shape[0]
    H = w_hh.shape[0] // 3
    pre = x @ w_ih.t()  # (T, B, 3H): W_ir x, W_iz x, W_in x
    if b_ih is not None:
        pre = pre + b_ih
    out: dict[str, list[Tensor | None]] = {k: [None] * T for k in ("r", "z", "n", "h")}
    h = h0
    for t in _order(T, reverse):
        hh = h @ w_hh.t()
        if b_hh is not None:
            hh = hh + b_hh
        r = layer_plan.apply("r", t, torch.sigmoid(pre[t, :, :H] + hh[:, :H]))
        z = layer_plan.apply("z", t, torch.sigmoid(pre[t, :, H : 2 * H] + hh[:, H : 2 * H]))
        n = layer_plan.apply("n", t, torch.tanh(pre[t, :, 2 * H :] + r * hh[:, 2 * H :]))
        h = layer_plan.apply("h", t, (1 - z) * n + z * h)
        for name, value in (("r", r), ("z", z), ("n", n), ("h", h)):
            out[name][t] = value
    result = {name: torch.stack(values) for name, values in out.items()}  # type: ignore[arg-type]
    result["h_n"] = h
    return result


# ------------------------------------------------------------------------------------------- whole modules
def replaceable_sizes(module: torch.nn.Module) -> dict[str, int]:
    """The tensors an intervention can replace in ``module`` (an nn.LSTM or nn.GRU) and their widths."""
    H = module.hidden_size
    if isinstance(module, torch.nn.GRU):
        return dict.fromkeys(("r", "z", "n", "h"), H)
    if module.proj_size:  # an LSTMP: m = o·tanh(c) (H units) before the projection h = W_hr m (proj_size)
        return {**dict.fromkeys(("f", "i", "g", "o", "c", "m"), H), "h": module.proj_size}
    return {**dict.fromkeys(("f", "i", "g", "o", "c"), H), "h": H}


def run_module(
    module: torch.nn.Module,
    x: Tensor,
    hx: Tensor | tuple[Tensor, Tensor] | None,
    interventions: Iterable[Intervention] | None,
    *,
    keep: bool = True,
    plans: dict[tuple[int, int], LayerPlan] | None = None,
    weights: dict[str, Tensor] | None = None,
    dropout: float = 0.0,
) -> tuple[Tensor, Tensor, Tensor | None, dict[str, Tensor]]:
    """Run an nn.LSTM / nn.GRU on ``x`` with ``interventions``, step by step, differentiably.

    Returns ``output`` (shaped as the module's forward returns it), ``h_n``, ``c_n`` (None for a GRU) and, when
    ``keep``, every tensor as ``(num_layers, num_directions, T, B, width)`` (time-major, position order).
    ``dropout``: the probability with which each layer's output is dropped before the next layer, as a module in
    training mode does (its own random mask); 0 (the default) is eval semantics, the documented way to look
    inside a model. ``plans`` (from
    :func:`plan`, or built by hand, e.g. one unit per batch row for an ablation sweep) adds to ``interventions``.
    ``weights`` (name → tensor) replaces the module's attributes (e.g. the weights a weight_norm hook would set).
    """
    gru = isinstance(module, torch.nn.GRU)
    batched = x.dim() == 3
    x_l = (x.transpose(0, 1) if module.batch_first else x) if batched else x.unsqueeze(1)  # (T, B, I)
    T, B, _ = x_l.shape
    L, D, H = module.num_layers, 2 if module.bidirectional else 1, module.hidden_size
    P = H if gru else (module.proj_size or H)
    if gru:
        h0 = x_l.new_zeros(L * D, B, H) if hx is None else (hx if batched else hx.unsqueeze(1))
        c0 = None
    else:
        if hx is None:
            h0, c0 = x_l.new_zeros(L * D, B, P), x_l.new_zeros(L * D, B, H)
        else:
            h0, c0 = hx if batched else (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
            c0 = c0.to(h0.dtype)  # nn.LSTM takes a float32 c0 beside bfloat16 weights; the steps run in one dtype
    planned = plan(interventions, num_layers=L, num_directions=D, seq_len=T, batch=B,
                   sizes=replaceable_sizes(module), device=x_l.device, dtype=x_l.dtype)  # fmt: skip
    for key, extra in (plans or {}).items():
        for edits in extra.edits.values():
            for edit in edits:
                planned.setdefault(key, LayerPlan()).add(edit)
    kept: dict[str, list[list[Tensor]]] = {}
    h_n, c_n = [], []
    layer_in = x_l
    for k in range(L):
        outs = []
        for d in range(D):
            sfx = f"l{k}{'_reverse' if d else ''}"
            w = {n: _weight(module, weights, f"{n}_{sfx}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
            idx = k * D + d
            if gru:
                r = run_gru_layer(layer_in, h0[idx], w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"],
                                  planned.get((k, d)), reverse=d == 1)  # fmt: skip
            else:
                r = run_lstm_layer(layer_in, h0[idx], c0[idx], w["weight_ih"], w["weight_hh"], w["bias_ih"],
                                   w["bias_hh"], _weight(module, weights, f"weight_hr_{sfx}"), planned.get((k, d)),
                                   reverse=d == 1)  # fmt: skip
                c_n.append(r.pop("c_n"))
            h_n.append(r.pop("h_n"))
            outs.append(r["h"])
            if keep:
                for name, value in r.items():
                    kept.setdefault(name, [[] for _ in range(L)])[k].append(value)
        layer_in = torch.cat(outs, dim=-1) if D == 2 else outs[0]
        if dropout > 0 and k < L - 1:
            layer_in = F.dropout(layer_in, p=dropout, training=True)
    output = layer_in
    if batched and module.batch_first:
        output = output.transpose(0, 1)
    elif not batched:
        output = output.squeeze(1)
    h_n_t = torch.stack(h_n)
    c_n_t = torch.stack(c_n) if c_n else None
    if not batched:
        h_n_t = h_n_t.squeeze(1)
        c_n_t = c_n_t.squeeze(1) if c_n_t is not None else None
    tensors = {name: torch.stack([torch.stack(per_dir) for per_dir in layers]) for name, layers in kept.items()}
    return output, h_n_t, c_n_t, tensors


def _weight(module: torch.nn.Module, weights: dict[str, Tensor] | None, name: str) -> Tensor | None:
    if weights is not None and name in weights:
        return weights[name]
    return getattr(module, name, None)


def record_intervened(module: torch.nn.Module, x: Tensor, hx, interventions: Iterable[Intervention], *,
                      strategy: str = "auto", dropout: float = 0.0,
                      weights: dict[str, Tensor] | None = None):  # fmt: skip
    """The recording of ``module`` (a RecordingLSTM or RecordingGRU) on ``x`` under ``interventions``: the values
    after each replacement, and ``output``/``h_n``/``c_n`` as the replaced run ends. Step by step (``loop``): another
    ``strategy`` is refused, not silently replaced. ``dropout`` as :func:`run_module`; ``weights``, if already read."""
    from lstm_viz.core.recording import GRURecording, Recording

    if strategy not in ("auto", "loop"):  # the fused kernel computes a whole layer at once: nothing to replace in
        raise RNNArgumentError(f"strategy={strategy!r} cannot record under interventions: they replace values step "
                               f"by step, as the 'loop' strategy runs; pass strategy='auto' or 'loop'")  # fmt: skip
    interventions = list(interventions)  # read once: a generator would be empty the second time
    weights = current_weights(module) if weights is None else weights
    with torch.no_grad():
        output, h_n, c_n, tensors = run_module(module, x, hx, interventions, weights=weights, dropout=dropout)
    batched = x.dim() == 3
    x_bt = x.unsqueeze(0) if not batched else (x if module.batch_first else x.transpose(0, 1))
    moved = {name: t.transpose(2, 3) for name, t in tensors.items()}  # (L, D, T, B, ·) → (L, D, B, T, ·)
    extras = {"batched": batched, "strategy": "loop", "interventions": [i.name for i in interventions]}
    if isinstance(module, torch.nn.GRU):
        extras["hx_given"] = hx is not None
        return GRURecording(output=output, h_n=h_n, x=x_bt.detach(), **moved, extras=extras)
    extras["proj_size"] = module.proj_size
    return Recording(output=output, h_n=h_n, c_n=c_n, x=x_bt.detach(), **moved, extras=extras)


def intervened_forward(
    module: torch.nn.Module,
    x: Tensor,
    hx: Tensor | tuple[Tensor, Tensor] | None = None,
    interventions: Iterable[Intervention] | None = None,
):
    """What ``module(x, hx)`` returns — ``output, (h_n, c_n)`` for an LSTM, ``output, h_n`` for a GRU — under
    ``interventions``, with gradients (e.g. a loss under an intervention). No interventions: ``module(x, hx)``.

    ``x`` and ``hx`` are checked as the module's forward checks them (the same exception classes, readable
    messages); a PackedSequence takes no interventions. In training mode dropout between layers is applied as
    forward applies it (with its own random mask).
    """
    if not isinstance(module, (torch.nn.LSTM, torch.nn.GRU)):
        raise TypeError(
            f"intervened_forward runs one nn.LSTM or nn.GRU (a RecordingLSTM/RecordingGRU included), got "
            f"{type(module).__name__}; for an LSTM inside your own model, call it on that module (model.lstm) with "
            "the input it gets, or record every recurrent module of the model with record_modules"
        )
    interventions = as_list(interventions)
    if not interventions:
        return module(x, hx)
    if isinstance(x, PackedSequence):
        raise packed_interventions_error()
    weights = current_weights(module)
    _check_arguments(module, x, hx, weights)
    if hx is not None and isinstance(module, torch.nn.LSTM):
        hx = (hx[0], hx[1])  # as nn.LSTM reads it (unbatched: a stacked tensor, a longer tuple)
    dropout = module.dropout if module.training else 0.0
    output, h_n, c_n, _ = run_module(module, x, hx, interventions, keep=False, weights=weights, dropout=dropout)
    return (output, h_n) if c_n is None else (output, (h_n, c_n))


def _check_arguments(module: torch.nn.Module, x: object, hx: object, weights: dict[str, Tensor]) -> None:
    """Raise what the module's forward raises for arguments it refuses (nn's own message first)."""
    gru = isinstance(module, torch.nn.GRU)
    own = "_check_input" if gru else "_refusal"  # a recording module checks itself; a plain one through its twin
    checker = module if hasattr(module, own) else recording_twin(module, weights=weights)  # (its weights, no copy)
    problem = checker._check_input(x, hx, weights["weight_ih_l0"]) if gru else checker._refusal(x, hx)  # GRU: raises
    if problem is not None:
        raise problem
