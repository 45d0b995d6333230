"""record_modules: run any nn.Module once and record every nn.LSTM and nn.GRU inside it.

    output, recordings = record_modules(model, tokens)          # output is model(tokens), bit for bit
    recordings["encoder"].c                                      # (layers, directions, batch, T, hidden)
    recordings["decoder.rnn"]["layer0.fwd.z"]                    # (batch, T, hidden)

How it works: a forward hook on each selected recurrent module (removed in ``finally``, so the model keeps exactly
the hooks it had, even when its forward raises) receives the input and hx the module got — after its own pre-hooks —
and the output its forward returned (it runs before the module's own forward hooks, which may edit that output). The
model goes on with that output untouched, so its result is bit-identical to ``model(*args, **kwargs)``. The recording
is computed from the same input and hx by a recording twin that holds the very weight tensors the module's forward
just handed its kernel (``module._flat_weights``: parametrizations, weight_norm and pruning as that call computed
them, nothing copied and nothing computed again — a random parametrization such as weight dropout is not drawn anew,
spectral norm takes no extra power-iteration step), so a plain nn.LSTM or nn.GRU needs no conversion, and its
``output``/``h_n``/``c_n`` are replaced by what the module's forward really returned (detached copies: a model that
then edits them in place — ``ReLU(inplace=True)``, a carried state reset with ``zero_()`` — does not change the
recording). Only selected modules are hooked: the rest of the model runs at its own cost.

Checked, not assumed: the recomputed h at each sequence's last step must give the h_n the module returned. A subclass
of nn.LSTM/nn.GRU whose forward computes something else (a scaled input, its own cell) fails that check and is
recorded with a ``RuntimeWarning`` saying its gates are not what it ran (``extras["reproduced"]`` is False). A model
that calls ``self.rnn.forward(x)`` rather than ``self.rnn(x)`` skips the hooks: when nothing selected was recorded, a
``RuntimeWarning`` says so.

Keys: the module's path in ``model.named_modules()`` (``""`` if ``model`` itself is the LSTM/GRU). A module called
more than once in one forward gets ``path`` for its first call and ``path#1``, ``path#2``, … for the next ones,
in call order. A module shared under two paths is keyed by the first path ``named_modules()`` lists.

Recordings use eval-mode semantics (no dropout between layers); in training mode with dropout the model's output
still is its own, but the recorded gates are those of the dropout-free pass. TorchScript modules run no Python
hooks and are not recorded; a scripted model in which nothing could be recorded is refused (TypeError), not run.
"""

from __future__ import annotations

import dataclasses
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from lstm_viz.core.gru import STRATEGIES as GRU_STRATEGIES
from lstm_viz.core.lstm import STRATEGIES as LSTM_STRATEGIES
from lstm_viz.core.packed import record_packed
from lstm_viz.core.recording import CellRecording
from lstm_viz.core.twins import constructor_options, recording_twin

__all__ = ["record_modules", "recurrent_modules"]

NamesFilter = Iterable[str] | Callable[[str], bool] | None


def recurrent_modules(model: nn.Module) -> dict[str, nn.LSTM | nn.GRU]:
    """Every nn.LSTM / nn.GRU (subclasses included) in ``model``, by its path in ``model.named_modules()``."""
    return {path: m for path, m in model.named_modules() if isinstance(m, (nn.LSTM, nn.GRU))}


def _select(model: nn.Module, names: NamesFilter) -> dict[str, nn.LSTM | nn.GRU]:
    found = recurrent_modules(model)
    if names is None:
        return found
    if callable(names):
        return {path: m for path, m in found.items() if names(path)}
    if isinstance(names, str):
        names = [names]
    wanted = list(names)
    unknown = [p for p in wanted if p not in found]
    if unknown:
        modules = dict(model.named_modules())
        reasons = [_why_not(model, modules, found, p) for p in unknown]
        have = ", ".join(repr(p) for p in found) or "none"
        raise ValueError(f"cannot record {'; '.join(reasons)}; the recurrent modules are: {have}")
    return {path: found[path] for path in wanted}


def _why_not(model: nn.Module, modules: dict[str, nn.Module], found: dict[str, nn.Module], path: str) -> str:
    """Why ``path`` is not one of ``found``'s recurrent modules."""
    if path in modules:
        return f"{path!r} is a {type(modules[path]).__name__}, not an nn.LSTM or nn.GRU"
    try:
        module = model.get_submodule(path)  # a second name for a shared module (named_modules lists it once)
    except (AttributeError, ValueError):
        return f"no module {path!r}"
    first = next((p for p, m in found.items() if m is module), None)
    if first is not None:
        return f"{path!r} is the same module as {first!r} (shared); ask for {first!r}"
    return f"{path!r} is a {type(module).__name__}, not an nn.LSTM or nn.GRU"


def _check_strategy(selected: dict[str, nn.Module], strategy: str) -> None:
    """Refuse, before the model runs, a strategy one of the selected modules cannot record with."""
    for path, module in selected.items():
        allowed = LSTM_STRATEGIES if isinstance(module, nn.LSTM) else GRU_STRATEGIES
        if strategy not in allowed:
            raise ValueError(
                f"strategy {strategy!r} cannot record {path!r} ({type(module).__name__}); it takes "
                f"{', '.join(map(repr, allowed))} — or select modules with names=…"
            )


def record_modules(
    model: nn.Module,
    *args: Any,
    names: NamesFilter = None,
    strategy: str = "auto",
    **kwargs: Any,
) -> tuple[Any, dict[str, CellRecording]]:
    """Run ``model(*args, **kwargs)`` once; return its output and a recording of each nn.LSTM / nn.GRU in it.

    ``names`` selects what to record: None (all), a list of module paths, or a callable ``path -> bool``
    (like TransformerLens' ``names_filter``); unselected modules are not touched. ``strategy`` is passed to each
    recording (``"auto"`` picks per module). ``names`` and ``strategy`` are consumed here; every other argument
    goes to the model. Returns ``(output, {key: recording})``, keyed as the module doc says (``"decoder.rnn"``,
    ``"decoder.rnn#1"`` for its second call), in call order. The model is left as it was, also if it raises.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"record_modules runs an nn.Module, got {type(model).__name__}")
    selected = _select(model, names)
    if not selected and any(isinstance(m, torch.jit.ScriptModule) for m in model.modules()):
        raise TypeError(
            f"record_modules found no nn.LSTM or nn.GRU to record in this {type(model).__name__}: TorchScript "
            "modules (torch.jit.script / torch.jit.trace) run no Python hooks and hide the modules inside them; "
            "record the eager model (before it is scripted), with the same weights"
        )
    _check_strategy(selected, strategy)
    recordings: dict[str, CellRecording] = {}
    calls: dict[str, int] = {}

    def hook_for(path: str):
        def hook(module: nn.Module, hook_args: tuple, hook_kwargs: dict, output: Any) -> None:
            x = hook_args[0] if hook_args else hook_kwargs.get("input")
            hx = hook_args[1] if len(hook_args) > 1 else hook_kwargs.get("hx")
            count = calls.get(path, 0)
            calls[path] = count + 1
            key = path if count == 0 else f"{path}#{count}"
            recordings[key] = _record(module, x, hx, output, strategy, key)
            # returning None leaves the module's output exactly as its forward returned it

        return hook

    handles = []
    try:
        for path, module in selected.items():
            # prepend: before the model's own forward hooks, so it sees what the forward returned (a patching or
            # steering hook that edits the output runs after it, on the model's side)
            handles.append(module.register_forward_hook(hook_for(path), with_kwargs=True, prepend=True))
        output = model(*args, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    if selected and not recordings:
        warnings.warn(
            f"record_modules recorded nothing: none of {', '.join(map(repr, selected))} was called through its "
            "hooks in this forward. A model that calls `self.rnn.forward(x)` skips them (call `self.rnn(x)`), and a "
            "module this input does not reach is not run",
            RuntimeWarning,
            stacklevel=2,
        )
    return output, recordings


def _record(module: nn.LSTM | nn.GRU, x: Any, hx: Any, output: Any, strategy: str, key: str = "") -> CellRecording:
    """The recording of one call, with (copies of) forward's own output, h_n (and c_n) in place of the recomputed
    ones, checked against them (see the module doc)."""
    out, hidden = output
    out = (
        PackedSequence(_kept(out.data), out.batch_sizes, out.sorted_indices, out.unsorted_indices)
        if isinstance(out, PackedSequence)
        else _kept(out)
    )
    hidden = tuple(_kept(t) for t in hidden) if isinstance(module, nn.LSTM) else _kept(hidden)
    used = dict(zip(module._flat_weights_names, module._flat_weights, strict=True))  # what forward just ran with
    if isinstance(x, PackedSequence):
        rec = record_packed(module, x, hx, strategy=strategy, forward_result=(out, hidden), weights=used)
    else:
        rec = _twin(module, used).record(x, hx, strategy=strategy)
        states = {"h_n": hidden[0], "c_n": hidden[1]} if isinstance(module, nn.LSTM) else {"h_n": hidden}
        rec = dataclasses.replace(rec, output=out, **states)
    # in training mode, dropout between layers changed what the upper layers read: only layer 0 can be compared
    dropped = module.training and module.dropout > 0 and module.num_layers > 1
    gap = _unexplained(rec, layers=1 if dropped else None)
    rec.extras["reproduced"] = gap is None
    if gap is not None:
        warnings.warn(
            f"record_modules: {key or 'the model'!r} ({type(module).__name__}) returned an h_n that its recording "
            f"does not reproduce (largest difference {gap:.3g}): its forward computes more than "
            f"nn.{'LSTM' if isinstance(module, nn.LSTM) else 'GRU'}'s equations on the input it was given, so the "
            "recorded gates and states are not what it ran (its output, h_n and c_n are its own)",
            RuntimeWarning,
            stacklevel=2,
        )
    return rec


# module → (what its twin was made from, the twin): a module called again with the same weights and options records
# through the same twin, whose buffers are then reused (a new twin each call allocated them anew: record_modules of
# an LSTM(64, 256) on (32, 256, 64) took 56 ms against 38 ms for its forward plus a record).
_TWINS: weakref.WeakKeyDictionary[nn.Module, tuple[tuple, nn.Module]] = weakref.WeakKeyDictionary()
_TWINS_LOCK = threading.Lock()


def _twin(module: nn.LSTM | nn.GRU, used: dict[str, Tensor]) -> nn.Module:
    """The recording twin of ``module`` computing with ``used`` (its forward's weight tensors), kept while the
    weights (the same tensor objects: the twin holds them, so their ids stay theirs) and options stay the same."""
    options = tuple(sorted(constructor_options(module).items()))
    made_from = (module.training, module.input_size, module.hidden_size, options,
                 tuple((name, id(w)) for name, w in used.items()))  # fmt: skip
    with _TWINS_LOCK:
        held = _TWINS.get(module)
        if held is None or held[0] != made_from:
            held = _TWINS[module] = (made_from, recording_twin(module, weights=used))
    return held[1]


def _kept(t: Tensor) -> Tensor:
    """A detached copy: the model may edit the tensor it got in place after this."""
    return t.detach().clone()


def _unexplained(rec: CellRecording, layers: int | None = None) -> float | None:
    """None when the recorded h at each sequence's last step (step 0 for a backward direction) is the h_n forward
    returned (of the first ``layers`` layers), up to rounding; else the largest difference. Rounding: of the
    dtype forward returned (autocast's bfloat16 included), and of TF32 where a GPU's cuDNN may use it."""
    h = rec.h  # (layers, directions, batch, T, ·)
    L, D, B, T = h.shape[:4]
    if T == 0 or B == 0:
        return None
    h_n = rec.h_n.reshape(L, D, B, -1)
    lengths = rec.lengths if rec.lengths is not None else torch.full((B,), T)
    last = (lengths.to(h.device) - 1).clamp(min=0)
    batch = torch.arange(B, device=h.device)
    ends = torch.stack([h[:, 0, batch, last], *([h[:, 1, :, 0]] if D == 2 else [])], dim=1)  # (L, D, B, ·)
    ends, h_n = ends[:layers].float(), h_n[:layers].float()
    if {h.dtype, rec.h_n.dtype} & {torch.float16, torch.bfloat16}:
        tol = {"rtol": 5e-2, "atol": 5e-2}
    elif h.device.type == "cuda" and torch.backends.cudnn.allow_tf32:
        tol = {"rtol": 1e-2, "atol": 1e-2}
    else:
        tol = {"rtol": 1e-3, "atol": 1e-4}
    if torch.allclose(ends, h_n, equal_nan=True, **tol):
        return None
    return float(torch.nan_to_num((ends - h_n).abs(), nan=0.0).max())
