"""RecordingLSTM's argument checks: why nn.LSTM refused an argument, said clearly, as the exception class nn.LSTM
raises (see :mod:`lstm_viz.core.errors`). A mixin of :class:`lstm_viz.core.lstm.RecordingLSTM`."""

import numbers
import operator
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from lstm_viz.core.errors import (
    RNNArgumentAttributeError,
    RNNArgumentError,
    RNNArgumentRuntimeError,
    RNNArgumentTypeError,
    mirror,
)

__all__ = [
    "LSTMArgumentChecks",
    "autocast_mismatch",
    "autocast_on",
    "constructor_error",
    "describe_argument",
    "dtype_problem",
    "init_checked",
    "led_by",
    "nn_message",
    "size_error",
]


def autocast_on() -> bool:
    check = getattr(torch._C, "_is_any_autocast_enabled", None)
    return bool(check()) if check is not None else torch.is_autocast_enabled()


def autocast_mismatch(x: Tensor, weight: Tensor) -> tuple[torch.dtype, torch.dtype] | None:
    """Under autocast, the dtypes the kernel would get for the input and the weights when they differ, else None.

    nn.LSTM and nn.GRU skip their own dtype check under autocast and leave it to the kernel, which gets each tensor
    cast to the autocast dtype where autocast casts it (floating point other than float64, on an autocast device) and
    as it is elsewhere: integer, bool and float64 input beside float32 weights fail there. record computes in the
    weights' dtype, so it must refuse the same inputs rather than cast them."""
    device_type = x.device.type
    try:
        enabled = torch.is_autocast_enabled(device_type)
        cast_to = torch.get_autocast_dtype(device_type) if enabled else None
    except (RuntimeError, TypeError, AttributeError):  # an older PyTorch or a device autocast does not know
        enabled, cast_to = False, None

    def seen(dtype: torch.dtype) -> torch.dtype:
        return cast_to if enabled and dtype.is_floating_point and dtype != torch.float64 else dtype

    pair = (seen(x.dtype), seen(weight.dtype))
    return pair if pair[0] != pair[1] else None


def dtype_problem(what: str, t: Tensor, weight: Tensor) -> str | None:
    """Why the kernel refuses ``t`` beside ``weight`` (autocast's casts included), or None."""
    if autocast_on():
        mismatch = autocast_mismatch(t, weight)
        if mismatch is not None:
            return (
                f"under autocast {what} ({t.dtype}) reaches the kernel as {mismatch[0]} and the weights "
                f"({weight.dtype}) as {mismatch[1]}"
            )
    elif t.dtype != weight.dtype:
        return f"{what} dtype {t.dtype} does not match the weights' {weight.dtype}"
    return None


def led_by(problem: RNNArgumentError, theirs: str | None) -> RNNArgumentError:
    """``problem`` with its message led by ``theirs``, the text nn.LSTM's / nn.GRU's own exception has for the same
    call (got by running their forward or check: kernel messages differ from build to build), then `` — `` and ours.
    A message that already starts with it, or no text of theirs, leaves ``problem`` as it is."""
    theirs = (theirs or "").rstrip()
    ours = str(problem)
    if not theirs or ours.startswith(theirs):
        return problem
    return type(problem)(f"{theirs} — {ours}")


def nn_message(forward: Callable[..., Any], module: Any, x: Any, hx: Any) -> str | None:
    """What ``forward(module, x, hx)`` — nn.LSTM's or nn.GRU's own forward — says to these arguments, or None where
    it runs. Only asked once a check has refused them (it runs the kernel where nothing refuses)."""
    try:
        with torch.no_grad():
            forward(module, x, hx)
    except Exception as err:  # whatever it raises: its text leads ours
        return str(err).rstrip() or None
    return None


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def describe_argument(value: Any) -> str:
    """An argument in a few words for a message: a single tensor of shape …, a tuple of 2 (tensor (…), int), an int."""
    if isinstance(value, Tensor):
        return f"a single tensor of shape {_shape(value)}"
    if isinstance(value, (tuple, list)):
        parts = ", ".join(f"tensor {_shape(v)}" if isinstance(v, Tensor) else type(v).__name__ for v in value)
        return f"a {type(value).__name__} of {len(value)} ({parts})"
    name = type(value).__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def _c0_dtype_runs(weight: torch.dtype, c0: torch.dtype) -> bool:
    """Whether nn.LSTM runs with c0 in another dtype than the weights (and h0): float64 weights take any c0, bfloat16
    weights a float32 c0 (CPU, PyTorch 2.13); it refuses every other mismatch."""
    return weight == torch.float64 or (weight == torch.bfloat16 and c0 == torch.float32)


# ---------------------------------------------------------------------------------------------------- constructor
def constructor_error(err: BaseException, given: dict[str, Any]) -> RNNArgumentError | None:
    """nn.LSTM's constructor refused ``given``: the same exception, in its RNNArgumentError class, naming the value.

    The checks follow nn.LSTM's order; None if none of them explains ``err`` (then it is re-raised unchanged).
    """
    dropout = given["dropout"]
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        problem: RNNArgumentError = RNNArgumentError(
            "dropout should be a number in range [0, 1] representing the probability of an element being zeroed, "
            f"got {dropout!r}"
        )
    else:
        problem = size_error(given)
    return problem if problem is not None and isinstance(problem, type(err)) else None


def init_checked(
    init: Callable[..., None], module: Any, given: dict[str, Any] | None, *args: Any, **kwargs: Any
) -> None:
    """``init(module, *args, **kwargs)`` — nn.LSTM's or nn.GRU's constructor — with a refusal re-raised in its
    RNNArgumentError class, naming the value (:func:`constructor_error` reads the values by name in ``given``, defaults
    included); one it does not explain, or any refusal when ``given`` is None, unchanged."""
    try:
        init(module, *args, **kwargs)
    except (TypeError, ValueError) as err:
        clearer = None if given is None else constructor_error(err, given)
        if clearer is None:
            raise
        raise led_by(clearer, str(err)) from None


def size_error(given: dict[str, Any]) -> RNNArgumentError | None:
    for name in ("bias", "batch_first"):
        if not isinstance(given[name], bool):
            return RNNArgumentTypeError(
                f"{name} should be of type bool, got: {type(given[name]).__name__} ({given[name]!r}); use True or False"
            )
    for name, meaning in (("input_size", "features per time step"), ("hidden_size", "units per layer")):
        value = given[name]
        if not isinstance(value, int):
            return RNNArgumentTypeError(
                f"{name} should be of type int, got: {type(value).__name__} ({value!r}); it is the number of "
                f"{meaning}, a whole number ≥ 1"
            )
        if value <= 0:
            return RNNArgumentError(f"{name} must be greater than zero, got {value}; it is the number of {meaning}")
    layers = given["num_layers"]
    if isinstance(layers, numbers.Real) and not isinstance(layers, bool) and layers <= 0:
        return RNNArgumentError(f"num_layers must be greater than zero, got {layers!r}")
    try:
        operator.index(layers)
    except TypeError:
        return RNNArgumentTypeError(
            f"num_layers should be of type int, got: {type(layers).__name__} ({layers!r}); a whole number ≥ 1"
        )
    proj, hidden = given.get("proj_size", 0), given["hidden_size"]  # (a GRU has none)
    if isinstance(proj, numbers.Real):
        if proj < 0:
            return RNNArgumentError(
                f"proj_size should be a positive integer or zero to disable projections, got {proj!r}"
            )
        if proj >= hidden:
            return RNNArgumentError(
                f"proj_size has to be smaller than hidden_size: got proj_size={proj!r} with hidden_size={hidden} "
                f"(the projection maps hidden_size units to proj_size); use 0 for no projection"
            )
    try:
        operator.index(proj)
    except TypeError:
        return RNNArgumentTypeError(
            f"proj_size should be of type int, got: {type(proj).__name__} ({proj!r}); 0 for no projection"
        )
    return None


class LSTMArgumentChecks:
    """The checks ``forward`` (after nn.LSTM refused) and ``record`` (before it runs) share."""

    # ------------------------------------------------------------------------------------------------ argument checks
    def _layout(self) -> str:
        """The batched input's shape in words, e.g. ``(seq_len, batch, input_size=3)``."""
        size = f"input_size={self.input_size}"
        return f"(batch, seq_len, {size})" if self.batch_first else f"(seq_len, batch, {size})"

    def _refusal(self, x: Any, hx: Any) -> RNNArgumentError | None:
        """What forward raises for ``(x, hx)`` — :meth:`_diagnose`'s exception, its message led by nn.LSTM's own for
        the same call — or None where nn.LSTM runs. (record, intervened_forward: nothing has run yet.)"""
        problem = self._diagnose(x, hx)
        if problem is None:
            return None
        return led_by(problem, nn_message(torch.nn.LSTM.forward, self, x, hx))

    def _diagnose(self, x: Any, hx: Any) -> RNNArgumentError | None:
        """Why nn.LSTM.forward refuses ``(x, hx)`` — in the class it raises (an RNNArgumentError subclass), saying what
        was expected and what was given — or None where nn.LSTM runs. The checks come in nn.LSTM's order: its Python
        checks, whose messages start with nn.LSTM's own text, then its kernel's, whose text the callers put first
        (:func:`led_by`: it differs from build to build). hx is read as nn.LSTM reads it: for an unbatched input only
        ``hx[0]`` and ``hx[1]`` (a stacked tensor or a longer tuple runs), for a batched one a pair (h0, c0)."""
        I, H, P = self.input_size, self.hidden_size, self.real_hidden_size
        weight = self._flat_weights[0]
        if not isinstance(x, Tensor):
            try:
                x.dim  # noqa: B018 — nn.LSTM's first use of its input; the AttributeError's text is its own
            except AttributeError as err:
                return RNNArgumentAttributeError(
                    f"{err}: the input must be a torch.Tensor, 2-D (seq_len, input_size={I}) or 3-D "
                    f"{self._layout()}, or a PackedSequence; got {describe_argument(x)} — convert it with "
                    f"torch.tensor(..., dtype={weight.dtype})"
                )
            return None  # tensor-like: nn.LSTM decides
        if x.dim() not in (2, 3):
            return RNNArgumentError(
                f"LSTM: Expected input to be 2D or 3D, got {x.dim()}D instead: 2-D (seq_len, input_size={I}) for one "
                f"sequence or 3-D {self._layout()} for a batch; got a {x.dim()}-D tensor of "
                f"shape {_shape(x)}"
            )
        batched = x.dim() == 3
        batch = x.shape[0 if self.batch_first else 1] if batched else 1
        lead = self.num_layers * self.num_directions
        want_h, want_c = (lead, batch, P), (lead, batch, H)  # as nn.LSTM states them (unbatched: batch 1)
        shown_h, shown_c = (want_h, want_c) if batched else ((lead, P), (lead, H))
        meaning = (
            f"(num_layers * num_directions = {lead}, {'batch = ' + str(batch) + ', ' if batched else ''}"
            f"{{}} = {{}}) for input of shape {_shape(x)}"
        )
        h_meaning = meaning.format("proj_size" if self.proj_size else "hidden_size", P)
        c_meaning = meaning.format("hidden_size", H)
        if hx is not None:
            single = isinstance(hx, Tensor)
            try:
                h0, c0 = hx[0], hx[1]
                dims = (h0.dim(), c0.dim())
            except (TypeError, IndexError, AttributeError) as err:
                cls = mirror(err)
                if cls is None:
                    return None  # not a failure nn.LSTM's own checks would meet: it decides
                return cls(
                    f"{err}: hx must be a tuple (h0, c0) of two tensors, h0 of shape {shown_h} and c0 of shape "
                    f"{shown_c}; got {describe_argument(hx)}"
                )
            if batched and not isinstance(hx, (tuple, list, Tensor)):  # {0: h0, 1: c0}: the kernel takes a sequence
                return RNNArgumentTypeError(
                    f"hx must be a tuple (h0, c0) of two tensors, h0 of shape {shown_h} and c0 of shape {shown_c}; "
                    f"got {describe_argument(hx)}"
                )
            not_a_pair = f"; hx must be a tuple (h0, c0), not {describe_argument(hx)}" if single else ""
            want = 3 if batched else 2
            if dims != (want, want):
                return RNNArgumentRuntimeError(
                    f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, hx and cx should also be {want}-D "
                    f"but got ({dims[0]}-D, {dims[1]}-D) tensors: h0 must have shape {shown_h} and c0 {shown_c} "
                    f"for input of shape {_shape(x)}; got h0 {_shape(h0)} and c0 {_shape(c0)}{not_a_pair}"
                )
        if autocast_on():
            mismatch = autocast_mismatch(x, weight)
            if mismatch is not None:
                return RNNArgumentRuntimeError(
                    f"under autocast the input ({x.dtype}) reaches the kernel as {mismatch[0]} and the weights "
                    f"({weight.dtype}) as {mismatch[1]}; "
                    + (
                        f"convert the input: input.to({weight.dtype})"
                        if x.is_floating_point()
                        else "an LSTM computes in floating point (an embedding first, for token ids?)"
                    )
                )
        elif x.dtype != weight.dtype:
            try:  # nn.LSTM's own input check says it, in its words
                torch.nn.LSTM.check_input(self, x if batched else x.unsqueeze(1), None)
                theirs = f"RNN input dtype ({x.dtype}) does not match weight dtype ({weight.dtype})"
            except (ValueError, RuntimeError) as err:
                theirs = str(err)
            if x.is_floating_point() or x.is_complex():
                return RNNArgumentError(theirs)
            return RNNArgumentError(
                f"{theirs} — an LSTM computes in floating point: convert the input with input.to({weight.dtype}) "
                f"(an embedding first, for token ids?)"
            )
        if x.shape[-1] != I:
            return RNNArgumentRuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {I}, got {x.shape[-1]}: the input's last "
                f"dimension holds the features, {self._layout() if batched else f'(seq_len, input_size={I})'}; "
                f"got shape {_shape(x)}"
            )
        if hx is not None:
            for k, (name, state, want_shape, shown, said) in enumerate(
                (("h0", h0, want_h, shown_h, h_meaning), ("c0", c0, want_c, shown_c, c_meaning))
            ):
                given = _shape(state if batched else state.unsqueeze(1))
                if given != want_shape:
                    return RNNArgumentRuntimeError(
                        f"Expected hidden[{k}] size {want_shape}, got {list(given)}: {name} must have shape "
                        f"{shown} {said}; got {_shape(state)}{not_a_pair}"
                    )
            if batched and single:  # unbatched, nn.LSTM takes (hx[0], hx[1]) of whatever it is
                return RNNArgumentTypeError(
                    f"hx must be a tuple (h0, c0) of two tensors, not {describe_argument(hx)}; split it with "
                    f"tuple(hx) if it stacks h0 and c0"
                )
            if batched and _length(hx) != 2:
                return RNNArgumentRuntimeError(f"hx must be (h0, c0), two states; got {describe_argument(hx)}")
        if x.device != weight.device:
            return RNNArgumentRuntimeError(
                f"the input is on {x.device} and the weights on {weight.device}: move the input with "
                f"x.to({str(weight.device)!r})"
            )
        if hx is not None:
            for name, state in (("h0", h0), ("c0", c0)):
                if state.device != x.device:
                    return RNNArgumentRuntimeError(
                        f"{name} is on {state.device} and the input on {x.device}: move {name} with "
                        f"{name}.to({str(x.device)!r})"
                    )
        if x.shape[(1 if self.batch_first else 0) if batched else 0] == 0:
            where = ("dimension 1 (batch_first)" if self.batch_first else "dimension 0") if batched else "dimension 0"
            return RNNArgumentRuntimeError(
                f"the input's time axis, {where}, is empty (shape {_shape(x)}); give at least one step"
            )
        if hx is not None:
            for name, state in (("h0", h0), ("c0", c0)):
                problem = _state_dtype_problem(name, state, weight, h0.dtype)
                if problem is not None:
                    return problem
        return None


def _length(hx: Any) -> int | None:
    try:
        return len(hx)
    except TypeError:
        return None


def _state_dtype_problem(name: str, state: Tensor, weight: Tensor, h0: torch.dtype) -> RNNArgumentError | None:
    """Why nn.LSTM's kernel refuses h0 or c0 in ``state``'s dtype beside ``weight``'s, or None.

    h0 must reach the kernel in the weights' dtype, and c0 too but where :func:`_c0_dtype_runs`; under autocast the
    kernel gets each as autocast casts it (:func:`autocast_mismatch`), so a float64 h0 beside float32 weights fails."""
    if autocast_on():
        mismatch = autocast_mismatch(state, weight)
        if mismatch is None or (name == "c0" and _c0_dtype_runs(mismatch[1], mismatch[0])):
            return None
        return RNNArgumentRuntimeError(
            f"under autocast {name} ({state.dtype}) reaches the kernel as {mismatch[0]} and the weights "
            f"({weight.dtype}) as {mismatch[1]}; convert it with {name}.to({weight.dtype})"
        )
    w = weight.dtype
    if state.dtype == w or (name == "c0" and h0 == w and _c0_dtype_runs(w, state.dtype)):
        return None
    return RNNArgumentRuntimeError(
        f"{name} dtype ({state.dtype}) does not match weight dtype ({w}) (nn.LSTM's kernel fails on it); "
        f"convert it with {name}.to({w})"
    )
