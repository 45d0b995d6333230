"""Plain state_dicts (``torch.save(model.state_dict(), path)``): which model lstm-viz knows they are, read off their
keys and shapes, and — for a bigger model's — which LSTMs and GRUs they hold, to show one at a time.

- the twelve StatQuest scalars (``wlr1 … bo1``) → a ``statquest`` model;
- an ``nn.LSTM``/``nn.GRU`` state_dict (``weight_ih_l0`` …, any prefix such as ``lstm.``) → a ``sequence``
  model (a SequenceModel wrapping a batch-first RecordingLSTM, or an nn.GRU; ``forward`` returns the output
  sequence), except that a one-unit LSTM with input size 1 becomes a ``toy_lstm`` (post 0);
- such an LSTM plus a ``Linear`` head (``fc.weight``, ``fc.bias``) → a ``subtraction`` model when the input
  size is 2 and the head has one output (post 4's ``LSTMSubtractor``), else a ``regressor`` (post 2);
- any other model's state_dict that holds LSTMs or GRUs (a seq2seq's encoder and decoder, an Embedding → LSTM → Linear
  language model): one of its recurrent modules alone, chosen by ``module`` (``"encoder.lstm"``); without it
  :class:`ModuleChoice` names the modules there are.

:mod:`lstm_viz.training.checkpoints` reads the files (safely) and builds the model.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from torch import Tensor

from lstm_viz.tasks import STATQUEST_NAMES, ModelConfig, registered
from lstm_viz.tasks.base import PlainWeights

__all__ = [
    "CheckpointError",
    "ModuleChoice",
    "infer_config",
    "listed_modules",
    "module_weights",
    "recurrent_modules",
    "scan_modules",
    "unwrapped",
]

_RNN_KEY = re.compile(r"^(?P<prefix>.*?)(?P<name>(?:weight|bias)_(?:ih|hh|hr)_l(?P<layer>\d+)(?P<rev>_reverse)?)$")
_RNN_NAME = r"(?:weight|bias)_(?:ih|hh|hr)_l\d+(?:_reverse)?"
# a recurrent weight saved through torch.nn.utils' weight_norm (_g, _v), pruning (_orig, _mask) or spectral_norm
# (_orig, _u, _v), or through torch.nn.utils.parametrize (parametrizations.<name>.original, or original0/1)
_WRAPPED = re.compile(rf"^(?P<key>.*?{_RNN_NAME})_(?P<part>orig|mask|g|v|u)$")
_PARAMETRIZED = re.compile(rf"^(?P<prefix>.*?)parametrizations\.(?P<name>{_RNN_NAME})\.(?P<part>.+)$")


class CheckpointError(ValueError):
    """A file that is not a usable checkpoint; the message says why and how to get a good one."""


class ModuleChoice(CheckpointError):
    """A state_dict that is not one model lstm-viz knows, but holds recurrent modules it can show one at a time:
    ``options`` maps each one's name (its prefix, ``"encoder.lstm"``; ``""`` for top-level keys) to a description
    (``"LSTM(32→64, 2 layers)"``), ``unreadable`` the other groups of recurrent weights to why they are not one.
    Load one with ``load_checkpoint(source, module=name)``."""

    def __init__(self, message: str, options: dict[str, str], unreadable: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.options = options
        self.unreadable = dict(unreadable or {})


def infer_config(
    state_dict: dict[str, Tensor], module: str | None = None, name: str | None = None
) -> tuple[ModelConfig, dict[str, Tensor], str]:
    """Recognise a plain state_dict: ``(config, state_dict renamed for build_model(config), description)``; with
    ``module``, that recurrent module of it alone (:func:`scan_modules`). ``name``: the file, in messages (None:
    "the file").

    The recurrent layer is read here (prefix, cell, sizes); which model it is, each task says in turn (registry
    order: the StatQuest scalars, the toy LSTM, the subtraction head, the regressor, a bare LSTM). Raises
    CheckpointError when the keys or shapes do not describe a model lstm-viz knows (see the module doc), and
    ModuleChoice when one of its recurrent modules can be shown alone.
    """
    state_dict, problems = unwrapped(state_dict)
    if module is None:
        try:
            return _recognised(state_dict)
        except ModuleChoice as err:  # named, as the other messages name the file
            if name is None:
                raise
            said = str(err)
            said = f"{name} holds{said.removeprefix('the file holds')}" if said.startswith("the file holds") else (
                f"{name}: {said}")  # fmt: skip
            raise ModuleChoice(said, err.options, err.unreadable) from None
        except CheckpointError:
            if len(problems) != 1:
                raise
            [(broken, why)] = problems.items()
            where = f"the module {broken!r}" if broken else "its top-level module"
            raise CheckpointError(f"{name or 'the file'}: {where} is not readable as an LSTM or a GRU: {why}") from None
    options, broken = scan_modules(state_dict)
    if module in broken:
        raise CheckpointError(f"{name or 'the file'}: the module {module!r} is not readable as an LSTM or a GRU: "
                              f"{broken[module]}")  # fmt: skip
    if module not in options:
        raise CheckpointError(f"{name or 'the file'} has no recurrent module {module!r}; it holds "
                              f"{listed_modules(options) or 'none'}")  # fmt: skip
    chosen = _module_weights(state_dict, module)
    config, weights, description = _recognised(chosen)
    others = len(state_dict) - len(chosen)
    left = f" (the file's {others:,} other tensor{'s' if others != 1 else ''} left out)" if others else ""
    return config, weights, f"{module or 'the top-level module'} alone{left}: {description}"


def _recognised(state_dict: dict[str, Tensor]) -> tuple[ModelConfig, dict[str, Tensor], str]:
    """The model a whole plain state_dict describes (:func:`infer_config` without a module)."""
    weights = _plain_weights(state_dict)
    try:
        for task in registered():
            found = task.recognise(weights)
            if found is not None:
                return found
    except CheckpointError:
        raise
    except ValueError as err:
        raise CheckpointError(f"the weights describe an unsupported model: {err}") from None
    held = ", ".join(sorted(weights.head))
    if weights.head and all(k.endswith((".weight", ".bias")) for k in weights.head):  # a Linear layer's names
        held = ", ".join(f"{k} of shape {tuple(v.shape)}" for k, v in sorted(weights.head.items()))
    message = (f"besides the {weights.name}{weights.where} the file holds {held}; lstm-viz understands an LSTM alone "
               "or followed by one Linear layer (a 2-D weight and its bias) that reads its output")  # fmt: skip
    # beside weights no task reads (embeddings, other layers, a counter): the recurrent module can be shown alone
    raise _module_choice(state_dict, besides=message)


_LISTED = 12  # modules named in a message; more are counted


def listed_modules(options: dict[str, str], more: str = "") -> str:
    """The first ``_LISTED`` modules as ``name: what`` (``(top level)`` for ``""``), then how many more, and
    ``more`` after that count."""
    listed = ", ".join(f"{name or '(top level)'}: {what}" for name, what in list(options.items())[:_LISTED])
    return listed + (f", … and {len(options) - _LISTED:,} more{more}" if len(options) > _LISTED else "")


def _module_choice(state_dict: dict[str, Tensor], besides: str | None = None) -> CheckpointError:
    """The error for a state_dict whose recurrent modules can be shown one at a time: ModuleChoice naming them, or
    a plain CheckpointError when none can be read alone (each one's reason given). ``besides``: why the file is not
    one model as a whole, when it holds one recurrent module beside other weights (None: it holds several)."""
    options, broken = scan_modules(state_dict)
    unreadable = "; ".join(f"{name or '(top level)'}: {why}" for name, why in list(broken.items())[:_LISTED])
    if not options:
        if besides is not None:  # its one recurrent layer has no module's name (keys like cell.fwd_weight_ih_l0)
            return CheckpointError(besides)
        return CheckpointError(f"the file's recurrent weights cannot be read as an LSTM or a GRU ({unreadable})")
    names = list(options)
    first = names[0]
    choose = (f"choose {'one' if len(names) > 1 else 'it'} by its name (in the app: the list under the upload; on "
              f"the command line: --module {shlex.quote(first)}; in Python: load_checkpoint(path, "
              f"module={first!r})): it is read on vectors of its input size, the file's other weights left out")
    left = f"; not readable as an LSTM or a GRU: {unreadable}" if broken else ""
    if besides is not None and len(names) == 1:
        return ModuleChoice(f"{besides}; the {options[first]} can be shown alone: {choose}{left}", options, broken)
    listed = listed_modules(options, more=": `python -m lstm_viz info FILE` lists them all")
    total = len(names) + len(broken)
    return ModuleChoice(f"the file holds {total:,} recurrent modules ({listed}); lstm-viz shows one at a time: "
                        f"{choose}{left}", options, broken)  # fmt: skip


def _weight_norm(g: Tensor, v: Tensor) -> Tensor | None:
    """weight_norm's weight g·v/‖v‖, the norm over every dimension but the one g keeps (over all where g keeps none);
    None where g's shape is not weight_norm's for v."""
    if g.dim() == 0:
        return v * (g / v.norm())
    if g.dim() != v.dim() or any(a not in (1, b) for a, b in zip(g.shape, v.shape, strict=True)):
        return None
    kept = [d for d in range(v.dim()) if g.shape[d] != 1]
    if len(kept) > 1:
        return None
    return v * (g / v.norm(dim=[d for d in range(v.dim()) if d not in kept], keepdim=True))


def _computed(how: Callable[..., Tensor | None], *parts: object) -> Tensor | None:
    """``how(*parts)`` for tensors that fit it, else None (not tensors, or shapes no wrapper makes: a foreign or
    damaged file is then refused as incomplete, not with an arithmetic error)."""
    if not all(isinstance(p, Tensor) and p.is_floating_point() for p in parts):
        return None
    try:
        return how(*parts)
    except (RuntimeError, ValueError, IndexError):
        return None


def _legacy_weight(parts: dict[str, Tensor]) -> Tensor | None:
    """The weight torch.nn.utils' weight_norm (g, v), pruning (orig, mask) or spectral_norm (orig, u, v: as its
    forward runs in eval mode, W / (u · W v)) computes from what it saved; None for other parts."""
    if set(parts) == {"g", "v"}:
        return _computed(_weight_norm, parts["g"], parts["v"])
    if set(parts) == {"orig", "mask"}:
        return _computed(lambda w, m: w * m if w.shape == m.shape else None, parts["orig"], parts["mask"])
    if set(parts) == {"orig", "u", "v"}:
        return _computed(lambda w, u, v: w / (u @ (w.reshape(w.shape[0], -1) @ v)), parts["orig"], parts["u"],
                         parts["v"])  # fmt: skip
    return None


def unwrapped(state_dict: dict[str, Tensor]) -> tuple[dict[str, Tensor], dict[str, str]]:
    """The state_dict with each recurrent weight saved through weight_norm, pruning or spectral_norm as the weight
    the module's forward computes from it (``w_g``/``w_v``, ``w_orig``/``w_mask``, ``w_orig``/``w_u``/``w_v``;
    ``parametrizations.w.original0``/``original1`` of weight_norm), and, per module name, why a weight cannot be
    (another parametrization: its function is not in the file)."""
    legacy: dict[str, dict[str, Tensor]] = {}
    param: dict[tuple[str, str], dict[str, Tensor]] = {}
    for key, value in state_dict.items():
        if (found := _WRAPPED.match(key)) is not None:
            legacy.setdefault(found["key"], {})[found["part"]] = value
        elif (found := _PARAMETRIZED.match(key)) is not None:
            param.setdefault((found["prefix"], found["name"]), {})[found["part"]] = value
    if not legacy and not param:
        return state_dict, {}
    out = dict(state_dict)
    for key, parts in legacy.items():
        weight = _legacy_weight(parts)
        if weight is not None and key not in out:
            out[key] = weight
            for part in parts:
                del out[f"{key}_{part}"]
    problems: dict[str, str] = {}
    for (prefix, name), parts in param.items():
        pair = set(parts) == {"original0", "original1"}  # weight_norm's g and v
        weight = _computed(_weight_norm, parts["original0"], parts["original1"]) if pair else None
        if weight is not None:
            out[f"{prefix}{name}"] = weight
            for part in parts:
                del out[f"{prefix}parametrizations.{name}.{part}"]
            continue
        module = prefix[:-1] if prefix.endswith(".") else prefix
        problems.setdefault(module, (
            f"{name} is saved through a parametrization (parametrizations.{name}.{next(iter(parts))}), whose "
            f"function a state_dict does not keep; save the weights its forward uses instead: "
            f"torch.nn.utils.parametrize.remove_parametrizations(module, {name!r}) before torch.save, or save "
            f"RecordingLSTM.from_lstm(module).state_dict() (RecordingGRU.from_gru for a GRU)"))  # fmt: skip
    return out, problems


def scan_modules(state_dict: dict[str, Tensor]) -> tuple[dict[str, str], dict[str, str]]:
    """The recurrent modules of a plain state_dict: ``(readable, unreadable)``. ``readable`` maps each LSTM or GRU
    that can be shown alone — by its name, the keys' prefix without its dot (``"encoder.lstm"``; ``""`` for
    top-level keys) — to what it is (``"LSTM(32→64, 2 layers)"``), ``unreadable`` each other group of recurrent
    weights to why it is not one (``"the LSTM weights are incomplete: …"``); both in key order. Keys that only end
    like a recurrent weight (``cell.fwd_weight_ih_l0``: no module's name) are not modules."""
    state_dict, problems = unwrapped(state_dict)
    readable: dict[str, str] = {}
    unreadable: dict[str, str] = {}
    for key in state_dict:
        match = _RNN_KEY.match(key)
        prefix = match["prefix"] if match is not None else None
        if prefix is None or (prefix and not prefix.endswith(".")):
            continue
        name = prefix[:-1] if prefix else ""
        if name in readable or name in unreadable:
            continue
        try:
            readable[name] = _plain_weights(_module_weights(state_dict, name)).name
        except CheckpointError as err:
            unreadable[name] = str(err)
    for name, why in problems.items():  # a parametrized weight: why, rather than "the weights are incomplete"
        readable.pop(name, None)
        unreadable[name] = why
    return readable, unreadable


def recurrent_modules(state_dict: dict[str, Tensor]) -> dict[str, str]:
    """Every LSTM or GRU in a plain state_dict that can be shown alone (:func:`scan_modules`' first part)."""
    return scan_modules(state_dict)[0]


def module_weights(state_dict: dict[str, Tensor], module: str) -> dict[str, Tensor]:
    """The recurrent weights of ``module`` (a prefix without its dot, ``""`` for top-level keys) renamed without
    the prefix (``weight_ih_l0`` …); the file's other weights are left out."""
    return _module_weights(unwrapped(state_dict)[0], module)


def _module_weights(state_dict: dict[str, Tensor], module: str) -> dict[str, Tensor]:
    """:func:`module_weights` of a state_dict already :func:`unwrapped` (scan_modules asks this per module)."""
    prefix = f"{module}." if module else ""
    out = {}
    for key, value in state_dict.items():
        match = _RNN_KEY.match(key)
        if match is not None and match["prefix"] == prefix:
            out[match["name"]] = value
    return out


def _shape_fault(w_ih: Tensor, w_hh: Tensor) -> str:
    """Which of weight_ih_l0 and weight_hh_l0 does not fit an LSTM's or a GRU's shapes, and the shape it needs: an
    LSTM's are (4·hidden, input) and (4·hidden, hidden), a GRU's 3·hidden rows. (The hidden size was read off
    weight_hh_l0's columns, so a cut weight_hh_l0 was blamed on a sound weight_ih_l0.)"""
    rows, (hh_rows, hidden) = w_ih.shape[0], w_hh.shape
    shape = "(4×hidden, …) for an LSTM (gates i, f, g, o), 3×hidden for a GRU"
    if hh_rows in (4 * hidden, 3 * hidden) and hidden:  # weight_hh_l0 fits: weight_ih_l0's rows do not
        return (f"weight_ih_l0 has shape {tuple(w_ih.shape)}: with weight_hh_l0 of shape {tuple(w_hh.shape)} "
                f"(hidden size {hidden}) it needs {hh_rows} rows — {shape}")  # fmt: skip
    for gates in (4, 3):
        if rows == hh_rows and rows % gates == 0:  # the rows agree: weight_hh_l0's columns are off
            return (f"weight_hh_l0 has shape {tuple(w_hh.shape)}: with {rows} rows ({gates} gates × hidden size "
                    f"{rows // gates}) it needs {rows // gates} columns, one per hidden unit")  # fmt: skip
    return (f"weight_ih_l0 of shape {tuple(w_ih.shape)} and weight_hh_l0 of shape {tuple(w_hh.shape)} are not an "
            f"LSTM's or a GRU's: both have 4×hidden rows for an LSTM (3×hidden for a GRU) and weight_hh_l0 hidden "
            f"columns")  # fmt: skip


def _plain_weights(state_dict: dict[str, Tensor]) -> PlainWeights:
    """The recurrent layer of a plain state_dict, read off its keys and shapes (CheckpointError if there is none)."""
    keys = frozenset(state_dict)
    if keys == frozenset(STATQUEST_NAMES):  # twelve named scalars, no recurrent layer
        return PlainWeights(keys, {}, {}, {}, "the twelve StatQuest scalars", "", dict(state_dict))
    rnn: dict[str, Tensor] = {}
    prefixes: set[str] = set()
    for key, value in state_dict.items():
        match = _RNN_KEY.match(key)
        if match:
            prefixes.add(match["prefix"])
            rnn[match["name"]] = value
    if not rnn:
        shown = ", ".join(sorted(keys)[:5]) + (", …" if len(keys) > 5 else "")
        raise CheckpointError(
            f"the weights ({shown}) are not an LSTM's: lstm-viz recognises nn.LSTM/nn.GRU state_dicts "
            f"(weight_ih_l0, weight_hh_l0, …), optionally with a Linear head 'fc', and its own checkpoints"
        )
    if len(prefixes) != 1:
        raise _module_choice(state_dict)
    prefix = prefixes.pop()
    if "weight_ih_l0" not in rnn or "weight_hh_l0" not in rnn:
        raise CheckpointError("the LSTM weights are incomplete: weight_ih_l0 and weight_hh_l0 are required")
    w_ih, w_hh = rnn["weight_ih_l0"], rnn["weight_hh_l0"]
    if w_ih.dim() != 2 or w_hh.dim() != 2:
        raise CheckpointError("weight_ih_l0 and weight_hh_l0 must be matrices")
    if "weight_hr_l0" in rnn:
        cell, proj, hidden = "lstm", rnn["weight_hr_l0"].shape[0], rnn["weight_hr_l0"].shape[1]
    else:
        proj, hidden = 0, w_hh.shape[1]
        gates = w_ih.shape[0] / max(hidden, 1)
        if gates == 4:
            cell = "lstm"
        elif gates == 3:
            cell = "gru"
        else:
            raise CheckpointError(_shape_fault(w_ih, w_hh))
    num_layers = 1 + max(int(m["layer"]) for k in rnn if (m := _RNN_KEY.match(k)))
    bidirectional = "weight_ih_l0_reverse" in rnn
    options = dict(
        input_size=w_ih.shape[1], hidden_size=hidden, num_layers=num_layers, proj_size=proj,
        bidirectional=bidirectional, cell=cell, bias="bias_ih_l0" in rnn,
    )  # fmt: skip
    name = f"{'GRU' if cell == 'gru' else ('LSTMP' if proj else 'LSTM')}({w_ih.shape[1]}→{hidden}"
    name += f"{'→' + str(proj) if proj else ''}, {num_layers} layer{'s' if num_layers > 1 else ''}"
    name += f"{', bidirectional' if bidirectional else ''})"
    head = {k: v for k, v in state_dict.items() if not _RNN_KEY.match(k)}
    where = f" (under '{prefix.removesuffix('.')}')" if prefix else ""
    return PlainWeights(keys, rnn, head, options, name, where, dict(state_dict))
