"""Exceptions for bad input to a recording RNN: clearer messages, yet caught by whatever caught nn.LSTM's / nn.GRU's.

PyTorch's RNNs raise ``ValueError`` for some bad inputs (wrong number of dimensions, dtype) and ``RuntimeError`` for
others (wrong feature size, wrong hx shape, no time steps), and ``AttributeError`` when the input is not a tensor at
all. A drop-in twin must not break code that catches those, so its errors subclass them all.
"""

from __future__ import annotations

__all__ = ["RNNInputError", "RNNInputTypeError"]


class RNNInputError(ValueError, RuntimeError):
    """Bad input (shape, dtype, hx) to a recording RNN; a ValueError and a RuntimeError, as nn.LSTM/nn.GRU raise."""


class RNNInputTypeError(RNNInputError, TypeError, AttributeError):
    """Input or hx of the wrong type (nn.GRU raises AttributeError on a non-tensor; this is that and a TypeError)."""
