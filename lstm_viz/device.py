"""Which device lstm-viz computes on: CUDA if there is one, then Apple MPS, then the CPU, picked once."""

from __future__ import annotations

import functools
import os

import torch

__all__ = ["describe_device", "pick_device"]

# The CPU thread count at start-up: the training engine briefly runs small models on one thread, and the
# sidebar should not report that passing setting.
_CPU_THREADS = torch.get_num_threads()


@functools.cache
def pick_device() -> torch.device:
    """The device every model and recording of this process lives on.

    Order: CUDA, then Apple MPS, then CPU. ``LSTM_VIZ_DEVICE=cpu`` (or ``cuda``, ``mps``) forces a choice,
    e.g. to compare speeds; an unavailable forced device falls back to the CPU.
    """
    forced = os.environ.get("LSTM_VIZ_DEVICE", "").strip().lower()
    if forced == "cpu":
        return torch.device("cpu")
    if forced in ("", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if forced in ("", "mps") and mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_device(device: torch.device | None = None) -> str:
    """A short human label, e.g. ``CUDA (NVIDIA A100)``, ``Apple MPS`` or ``CPU (2 threads)``."""
    device = device or pick_device()
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({_CPU_THREADS} thread{'s' if _CPU_THREADS != 1 else ''})"
