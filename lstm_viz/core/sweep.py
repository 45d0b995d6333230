"""Many single-unit ablations at once: a recurrent module's output with one unit replaced, for each of many units.

``ablated_outputs(module, x, name, units, value)`` returns, for every unit u in ``units``, the module's output on
``x`` when unit u of the tensor ``name`` (``layer1.fwd.c``) is replaced by ``value`` at the chosen steps — as one
tensor ``(len(units), batch, T, …)``. It computes only what an ablation can change: the layers below the ablated
one run once, with the fused kernel; the ablated layer and direction runs step by step for all units together, in
place, on preallocated buffers; the other direction of that layer runs once; the layers above run with the fused
kernel on the ablated copies. Same numbers as ``Intervention`` + ``record``/``intervened_forward`` (tested), many
times faster for the which-units-matter sweep (no autograd, no per-step allocation).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lstm_viz.core.cudnn_layer import layer_params, run_layer
from lstm_viz.core.interventions import M_IS_H, checked_steps, replaceable_sizes
from lstm_viz.core.twins import current_weights

__all__ = ["ablated_outputs"]


def _run_layer(module: nn.Module, weights: dict[str, Tensor], layer: int, x: Tensor, h0: Tensor, c0: Tensor | None,
               directions: Sequence[int]) -> Tensor:  # fmt: skip
    """One layer (some of its directions) with the fused kernel; time-major ``x`` (T, B, I) → (T, B, len(dirs)·P).

    Only the forward direction alone, both together, or the backward one alone (run on the reversed input)."""
    gru = isinstance(module, nn.GRU)
    proj = (not gru) and module.proj_size > 0
    params = layer_params(weights, layer, directions, module.bias, proj)
    if list(directions) == [1]:  # the backward direction alone: a forward pass over the reversed sequence
        x = x.flip(0)
    bidirectional = len(directions) == 2
    hx = h0 if gru else (h0, c0)
    out, _, _ = run_layer("gru" if gru else "lstm", x, hx, params, module.bias, bidirectional, module.hidden_size,
                          0 if gru else module.proj_size)  # fmt: skip
    return out.flip(0) if list(directions) == [1] else out


@torch.no_grad()
def ablated_outputs(
    module: nn.Module,
    x: Tensor,
    name: str,
    units: Tensor | Sequence[int],
    value: float | Tensor = 0.0,
    steps: Sequence[int] | None = None,
) -> Tensor:
    """The output of ``module`` (an nn.LSTM or nn.GRU, batch-first or not) on ``x`` once per unit in ``units``,
    with that unit of ``name`` replaced by ``value`` (a number, or one value per unit) at ``steps`` (None = all).

    Returns ``(len(units), *output.shape)`` in the module's own layout. Eval semantics (no dropout), zero initial
    state.
    """
    match = re.fullmatch(r"layer(\d+)\.(fwd|bwd)\.(\w)", name)
    gru = isinstance(module, nn.GRU)
    sizes = replaceable_sizes(module)  # an LSTMP's m too
    tensors = tuple(sizes)
    D = 2 if module.bidirectional else 1
    known = match is not None and int(match[1]) < module.num_layers and match[3] in tensors
    if not known or (match[2] == "bwd" and D == 1):
        as_h = f"; {M_IS_H}: ablate '{name[:-1]}h'" if match is not None and match[3] == "m" and not gru else ""
        raise ValueError(f"{name!r} is not a recording name of this model (e.g. 'layer0.fwd.{tensors[-1]}'){as_h}")
    layer, direction, tensor = int(match[1]), ("fwd", "bwd").index(match[2]), match[3]
    units = torch.as_tensor(units, dtype=torch.long, device=x.device).reshape(-1)
    U = len(units)
    weights = current_weights(module)
    batched = x.dim() == 3
    x_l = (x.transpose(0, 1) if module.batch_first else x) if batched else x.unsqueeze(1)  # (T, B, I)
    T, B, _ = x_l.shape
    H = module.hidden_size
    P = H if gru else (module.proj_size or H)
    width = sizes[tensor]
    if U and not (int(units.min()) >= 0 and int(units.max()) < width):
        raise ValueError(f"{name}: units must be in 0…{width - 1}")
    steps = checked_steps(name, steps, T)  # as Intervention checks them: -1 would index from the end
    chosen = torch.zeros(T, dtype=torch.bool)
    chosen[steps] = True
    fill = torch.as_tensor(value, dtype=x_l.dtype, device=x_l.device).reshape(-1)
    fill = fill.expand(U).reshape(U, 1) if fill.numel() in (1, U) else None
    if fill is None:
        raise ValueError(f"{name}: give one value, or one per unit ({U})")

    # Layers below the ablated one: once, on the B original rows.
    for k in range(layer):
        x_l = _run_layer(module, weights, k, x_l, x_l.new_zeros(D, B, P), None if gru else x_l.new_zeros(D, B, H),
                         list(range(D)))  # fmt: skip
    # The ablated layer: the ablated direction for every unit at once; the other direction once, then repeated.
    sfx = f"l{layer}{'_reverse' if direction else ''}"
    w_ih, w_hh = weights[f"weight_ih_{sfx}"], weights[f"weight_hh_{sfx}"]
    b_ih, b_hh = weights.get(f"bias_ih_{sfx}"), weights.get(f"bias_hh_{sfx}")
    run = _gru_direction if gru else _lstm_direction
    w_hr = None if gru else weights.get(f"weight_hr_{sfx}")
    ablated = run(x_l, w_ih, w_hh, b_ih, b_hh, w_hr, tensor, units, fill, chosen, reverse=direction == 1)  # (T,U,B,P)
    if D == 2:
        c0 = None if gru else x_l.new_zeros(1, B, H)
        other = _run_layer(module, weights, layer, x_l, x_l.new_zeros(1, B, P), c0, [1 - direction])
        other = other.unsqueeze(1).expand(T, U, B, P)
        parts = [ablated, other] if direction == 0 else [other, ablated]
        x_l = torch.cat(parts, dim=-1)
    else:
        x_l = ablated
    x_l = x_l.reshape(T, U * B, -1)
    # Layers above: the fused kernel on the U·B ablated copies.
    for k in range(layer + 1, module.num_layers):
        x_l = _run_layer(module, weights, k, x_l, x_l.new_zeros(D, U * B, P),
                         None if gru else x_l.new_zeros(D, U * B, H), list(range(D)))  # fmt: skip
    out = x_l.reshape(T, U, B, -1).permute(1, 0, 2, 3)  # (U, T, B, D·P)
    if not batched:
        return out[:, :, 0]
    return out.transpose(1, 2) if module.batch_first else out


def _set(view: Tensor, units: Tensor, fill: Tensor) -> None:
    """``view`` (U, B, width): unit ``units[j]`` of block j := ``fill[j]``."""
    view[torch.arange(len(units), device=view.device), :, units] = fill


def _lstm_direction(x, w_ih, w_hh, b_ih, b_hh, w_hr, tensor, units, fill, chosen, reverse):
    """One LSTM direction, U ablated copies of B rows, in place: returns h as (T, U, B, P)."""
    T, B, _ = x.shape
    U, H = len(units), w_hh.shape[0] // 4
    P = w_hr.shape[0] if w_hr is not None else H
    pre = x.reshape(T * B, -1) @ w_ih.t()  # x_t W_ih^T + b for every step, shared by every copy
    if b_ih is not None:
        pre = pre + (b_ih + b_hh)
    pre = pre.view(T, 1, B, 4 * H)
    w_hh_t = w_hh.t()
    w_hr_t = w_hr.t() if w_hr is not None else None
    gates = x.new_empty(U, B, 4 * H)
    h = x.new_zeros(U, B, P)
    c = x.new_zeros(U, B, H)
    m = x.new_empty(U, B, H)
    out = x.new_empty(T, U, B, P)
    i, f, g, o = (gates[..., k * H : (k + 1) * H] for k in range(4))
    named = {"i": i, "f": f, "g": g, "o": o}
    for t in range(T - 1, -1, -1) if reverse else range(T):
        torch.matmul(h, w_hh_t, out=gates)  # (U, B, 4H) = h_{t-1} W_hh^T
        gates.add_(pre[t])
        gates[..., : 2 * H].sigmoid_()  # i, f
        g.tanh_()
        o.sigmoid_()
        if chosen[t] and tensor in named:
            _set(named[tensor], units, fill)
        c.mul_(f).addcmul_(i, g)  # c_t = f ⊙ c_{t-1} + i ⊙ g
        if chosen[t] and tensor == "c":
            _set(c, units, fill)
        torch.tanh(c, out=m).mul_(o)  # m_t = o ⊙ tanh(c_t)
        if chosen[t] and tensor == "m":  # an LSTMP's, before the projection
            _set(m, units, fill)
        if w_hr_t is not None:
            torch.matmul(m, w_hr_t, out=h)
        else:
            h.copy_(m)
        if chosen[t] and tensor == "h":
            _set(h, units, fill)
        out[t] = h
    return out


def _gru_direction(x, w_ih, w_hh, b_ih, b_hh, w_hr, tensor, units, fill, chosen, reverse):
    """One GRU direction, U ablated copies of B rows, in place: returns h as (T, U, B, H)."""
    T, B, _ = x.shape
    U, H = len(units), w_hh.shape[0] // 3
    pre = x.reshape(T * B, -1) @ w_ih.t()
    if b_ih is not None:
        pre = pre + b_ih
    pre = pre.view(T, 1, B, 3 * H)
    w_hh_t = w_hh.t()
    hh = x.new_empty(U, B, 3 * H)
    rz = x.new_empty(U, B, 2 * H)
    n = x.new_empty(U, B, H)
    h = x.new_zeros(U, B, H)
    out = x.new_empty(T, U, B, H)
    r, z = rz[..., :H], rz[..., H:]
    for t in range(T - 1, -1, -1) if reverse else range(T):
        torch.matmul(h, w_hh_t, out=hh)
        if b_hh is not None:
            hh.add_(b_hh)
        torch.add(hh[..., : 2 * H], pre[t, ..., : 2 * H], out=rz).sigmoid_()
        if chosen[t] and tensor == "r":
            _set(r, units, fill)
        if chosen[t] and tensor == "z":
            _set(z, units, fill)
        torch.addcmul(pre[t, ..., 2 * H :], r, hh[..., 2 * H :], out=n).tanh_()  # n = tanh(W_in x + b + r ⊙ (…))
        if chosen[t] and tensor == "n":
            _set(n, units, fill)
        h.sub_(n).mul_(z).add_(n)  # h = (1 − z) ⊙ n + z ⊙ h_prev = n + z ⊙ (h_prev − n)
        if chosen[t] and tensor == "h":
            _set(h, units, fill)
        out[t] = h
    return out
