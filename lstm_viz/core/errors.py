"""Exceptions for arguments a recording RNN cannot take: clearer messages, yet caught by whatever caught nn.LSTM's or
nn.GRU's.

PyTorch's RNNs raise ``ValueError`` for some bad arguments (wrong number of dimensions, dtype), ``RuntimeError`` for
others (wrong feature size, wrong hx shape, no time steps), ``TypeError`` for constructor sizes that are not whole
numbers, ``AttributeError`` when the input is not a tensor and ``IndexError`` for an hx with fewer than two states.
A drop-in twin must not break code that catches those, so every error here is a ``ValueError`` (what lstm-viz's app
and CLI catch and show) and also the class PyTorch raises for the same argument.
"""

from __future__ import annotations

__all__ = [
    "RNNArgumentAttributeError",
    "RNNArgumentError",
    "RNNArgumentIndexError",
    "RNNArgumentRuntimeError",
    "RNNArgumentTypeError",
    "RNNInputError",
    "RNNInputTypeError",
    "mirror",
]


# ---------------------------------------------------------------------------------------------------- exceptions
class RNNArgumentError(ValueError):
    """An argument a recording RNN cannot take. A ``ValueError`` (what lstm-viz's app and CLI catch and show).

    Raised as itself where nn.LSTM raises ``ValueError``; elsewhere as the subclass that is also the exception class
    nn.LSTM raises for the same argument, so code written for nn.LSTM catches it too.
    """


class RNNArgumentRuntimeError(RNNArgumentError, RuntimeError):
    """Shapes, sizes, devices, dtypes of (h0, c0), zero time steps: where nn.LSTM raises ``RuntimeError``."""


class RNNArgumentTypeError(RNNArgumentError, TypeError):
    """Constructor sizes that are not whole numbers, an hx that is not a pair: where nn.LSTM raises ``TypeError``."""


class RNNArgumentAttributeError(RNNArgumentError, AttributeError):
    """An input that is not a tensor (a list, a NumPy array): where nn.LSTM raises ``AttributeError``."""


class RNNArgumentIndexError(RNNArgumentError, IndexError):
    """An hx with fewer than two states: where nn.LSTM raises ``IndexError``."""


_MIRRORS: tuple[tuple[type[Exception], type[RNNArgumentError]], ...] = (
    (RuntimeError, RNNArgumentRuntimeError),
    (TypeError, RNNArgumentTypeError),
    (AttributeError, RNNArgumentAttributeError),
    (IndexError, RNNArgumentIndexError),
    (ValueError, RNNArgumentError),
)


def mirror(err: BaseException) -> type[RNNArgumentError] | None:
    """The RNNArgumentError class that is also ``err``'s class, or None when there is none."""
    return next((ours for builtin, ours in _MIRRORS if isinstance(err, builtin)), None)


class RNNInputError(RNNArgumentRuntimeError):
    """Bad input (shape, dtype, hx) to a recording RNN: a ValueError and a RuntimeError, as nn.LSTM/nn.GRU raise."""


class RNNInputTypeError(RNNInputError, RNNArgumentTypeError, RNNArgumentAttributeError):
    """Input or hx of the wrong type (nn.GRU raises AttributeError on a non-tensor; this is that and a TypeError)."""
