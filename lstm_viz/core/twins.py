"""The weights a recurrent module's forward would use right now, and recording twins that read them.

``current_weights(module)`` reads every flat weight the way ``forward`` sees it, without running the module's
hooks: parametrizations (``torch.nn.utils.parametrizations.weight_norm`` …) are evaluated by ``getattr``, and the
legacy ``torch.nn.utils.weight_norm`` / ``spectral_norm`` and ``torch.nn.utils.prune`` pre-hooks — which only
refresh the weight when forward runs — are asked for the weight they would set (spectral norm without a
power-iteration step, so nothing changes). ``run_forward_pre_hooks(module, x, hx)`` runs a module's own pre-hooks as
calling it would (both recording classes' ``record`` start with it); ``plain_copy`` is their ``from_lstm`` /
``from_gru``: a recording module holding a copy of those weights.

``recording_twin(module, layer=None, direction=None)`` is a RecordingLSTM / RecordingGRU with the module's options
whose weights *are* those tensors (no copy): the whole stack, or one layer and direction as a one-layer,
one-direction model (what packed recording runs). It is built on the ``meta`` device, so it costs no memory.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.prune import BasePruningMethod
from torch.nn.utils.spectral_norm import SpectralNorm
from torch.nn.utils.weight_norm import WeightNorm

__all__ = [
    "constructor_options",
    "current_weights",
    "plain_copy",
    "recording_twin",
    "register_twin",
    "run_forward_pre_hooks",
]

# nn.LSTM → RecordingLSTM, nn.GRU → RecordingGRU: each recording class registers itself where it is defined, so this
# module (which packed recording and record_modules use) does not import them.
_TWINS: dict[type[nn.RNNBase], type[nn.RNNBase]] = {}


def register_twin(base: type[nn.RNNBase], twin: type[nn.RNNBase]) -> None:
    """Say which recording class records modules of class ``base``."""
    _TWINS[base] = twin


def current_weights(module: nn.RNNBase) -> dict[str, Tensor]:
    """``{name: tensor}`` for every name in ``module._flat_weights_names``, as forward would see it now."""
    fresh: dict[str, Tensor] = {}
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, WeightNorm):
            fresh[hook.name] = hook.compute_weight(module)
        elif isinstance(hook, SpectralNorm):
            fresh[hook.name] = hook.compute_weight(module, do_power_iteration=False)
        elif isinstance(hook, BasePruningMethod):  # torch.nn.utils.prune: weight = weight_orig * weight_mask
            fresh[hook._tensor_name] = hook.apply_mask(module)
    return {name: fresh[name] if name in fresh else getattr(module, name) for name in module._flat_weights_names}


def constructor_options(module: nn.RNNBase) -> dict[str, Any]:
    """``module``'s constructor options besides the sizes (and proj_size for an LSTM)."""
    proj = {"proj_size": module.proj_size} if isinstance(module, nn.LSTM) else {}
    return {"num_layers": module.num_layers, "bias": module.bias, "batch_first": module.batch_first,
            "dropout": module.dropout, "bidirectional": module.bidirectional, **proj}  # fmt: skip


def plain_copy(cls: type[nn.RNNBase], module: nn.RNNBase) -> nn.RNNBase:
    """A ``cls`` (RecordingLSTM / RecordingGRU) with ``module``'s options and a copy of the weights its forward uses
    now, on their device and dtype, in its training mode, each weight as trainable (``requires_grad``) as it was: a
    weight-normed, pruned or otherwise parametrized module gives a plain one."""
    weights = current_weights(module)
    first = weights["weight_ih_l0"]
    copy = cls(module.input_size, module.hidden_size, device=first.device, dtype=first.dtype,
               **constructor_options(module))  # fmt: skip
    with torch.no_grad():
        for name in copy._flat_weights_names:
            getattr(copy, name).copy_(weights[name])
    for name in copy._flat_weights_names:  # a frozen weight stays frozen (an optimiser built after a swap skips it)
        getattr(copy, name).requires_grad_(weights[name].requires_grad)
    copy.train(module.training)
    return copy


def run_forward_pre_hooks(module: nn.Module, x: Any, hx: Any) -> tuple[Any, Any]:
    """``module``'s forward pre-hooks, as calling it runs them, on ``(x,)`` or ``(x, hx)``; the (x, hx) they leave.

    ``weight_norm``, pruning and spectral norm recompute the weights in such hooks. Global hooks
    (``nn.modules.module.register_module_forward_pre_hook``) are left out: tools pair them with forward hooks,
    which a recording does not run.
    """
    hooks = module._forward_pre_hooks
    if not hooks:
        return x, hx
    args: tuple = (x,) if hx is None else (x, hx)
    with_kwargs = getattr(module, "_forward_pre_hooks_with_kwargs", {})
    for hook_id, hook in list(hooks.items()):
        if hook_id in with_kwargs:
            result = hook(module, args, {})
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got {result}."
                    )
                args = result[0] + tuple(result[1].values())
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    return args[0], (args[1] if len(args) > 1 else None)


def _suffix(layer: int, direction: int) -> str:
    return f"l{layer}{'_reverse' if direction == 1 else ''}"


def recording_twin(
    module: nn.LSTM | nn.GRU,
    layer: int | None = None,
    direction: int | None = None,
    weights: dict[str, Tensor] | None = None,
) -> nn.Module:
    """A RecordingLSTM / RecordingGRU that computes with ``module``'s current weights (shared, not copied).

    With ``layer`` and ``direction`` it is the one-layer, forward-only model of that layer and direction (its input
    size is the layer's: ``input_size`` for layer 0, ``num_directions × (proj_size or hidden_size)`` above).
    ``batch_first`` is always False for a one-layer twin: callers hand it time-major input.
    """
    weights = current_weights(module) if weights is None else weights
    cls = next((twin for base, twin in _TWINS.items() if isinstance(module, base)), None)
    if cls is None:
        raise TypeError(f"expected an nn.LSTM or nn.GRU, got {type(module).__name__}")
    is_lstm = isinstance(module, nn.LSTM)
    proj = {"proj_size": module.proj_size} if is_lstm else {}
    if layer is None:
        twin = cls(module.input_size, module.hidden_size, device="meta", **constructor_options(module))
        mapping = {name: name for name in twin._flat_weights_names}
    else:
        directions = 2 if module.bidirectional else 1
        below = directions * ((module.proj_size or module.hidden_size) if is_lstm else module.hidden_size)
        twin = cls(
            module.input_size if layer == 0 else below,
            module.hidden_size,
            num_layers=1,
            bias=module.bias,
            device="meta",
            **proj,
        )
        mapping = {name: f"{name.removesuffix('_l0')}_{_suffix(layer, direction)}" for name in twin._flat_weights_names}
    for name, source in mapping.items():
        del twin._parameters[name]
        setattr(twin, name, weights[source])  # a plain attribute; RNNBase keeps _flat_weights in step
    twin._flat_weight_refs = [weakref.ref(w) for w in twin._flat_weights]  # nothing "changed": no re-flattening
    twin.train(module.training)
    return twin
