"""Whether a model can be trained on this machine at all, asked before it is built."""

from __future__ import annotations

import os

import torch

from lstm_viz.parsing import InputError
from lstm_viz.tasks import ModelConfig, build_model, count_parameters

__all__ = ["check_fits_memory"]


def _machine_memory() -> int | None:
    """This machine's physical memory in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits_memory(config: ModelConfig, memory: int | None = None) -> None:
    """InputError when training ``config``'s model cannot fit ``memory`` (this machine's, by default): its weights,
    their gradients and Adam's two moments are 16 bytes a float32 parameter before any activation. Counted on the
    meta device (nothing allocated), so a typo such as 1,000 layers of 1,000 units is refused with the numbers
    instead of the process being killed by the system when it runs out."""
    memory = _machine_memory() if memory is None else memory
    if not memory:
        return
    with torch.device("meta"):
        parameters = count_parameters(build_model(config))
    needed = 16 * parameters
    if needed > memory:
        raise InputError(f"a {config.label()} has {parameters:,} parameters: training it needs at least "
                         f"{needed / 1e9:,.1f} GB (weights, gradients and Adam's state), more than this machine's "
                         f"{memory / 1e9:,.1f} GB of memory; choose a smaller hidden size or fewer layers")  # fmt: skip
