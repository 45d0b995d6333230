"""How an epoch's training samples are ordered and cut into mini-batches.

``shuffle`` is False (in order: slices, nothing drawn), True (one ``randperm`` an epoch from the trainer's own
generator) or ``"dataloader"`` (as a post's ``DataLoader(shuffle=True)`` draws it: ``dataloader_order``). A part-epoch
saved in a checkpoint keeps its order; ``checked_order`` reads it back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

__all__ = ["SHUFFLES", "checked_order", "dataloader_order", "epoch_batches", "restored_partial"]

SHUFFLES = (False, True, "dataloader")


def dataloader_order(n: int, generator: torch.Generator) -> Tensor:
    """An epoch's order of ``n`` samples exactly as ``DataLoader(dataset, shuffle=True)`` draws it from the global
    generator — here from ``generator``: the loader's iterator takes a base seed (one int64), its ``RandomSampler``
    another, and permutes with a fresh generator seeded by that. A post's recipe shuffled this way (post 4:
    ``--preset seed --seed 822``) sees the post's very batches, so its printed losses come back (epoch 1:
    47.0924, the sum of the batch means as the post prints it); a plain ``randperm`` drew other batches."""
    torch.empty((), dtype=torch.int64).random_(generator=generator)  # _BaseDataLoaderIter's _base_seed
    seed = int(torch.empty((), dtype=torch.int64).random_(generator=generator).item())  # RandomSampler.__iter__
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def epoch_batches(
    n: int, size: int, shuffle: bool | str, generator: torch.Generator, device: torch.device
) -> list[Tensor | slice]:
    """One epoch's mini-batches of ``size`` (the last may be smaller): index tensors when shuffled, else slices."""
    if not shuffle:
        return [slice(start, start + size) for start in range(0, n, size)]
    draw = dataloader_order if shuffle == "dataloader" else torch.randperm
    return list(draw(n, generator=generator).to(device).split(size))


def checked_order(order: object, n: int) -> Tensor:
    """A saved part-epoch's order of ``n`` samples as int64, or ValueError saying how it is damaged."""
    if not (isinstance(order, Tensor) and order.dim() == 1 and order.numel() == n
            and not order.is_floating_point() and not order.is_complex()):  # fmt: skip
        raise ValueError("the saved part-epoch's batch order is damaged")
    order = order.to(torch.int64)
    if not torch.equal(torch.sort(order).values, torch.arange(n)):
        raise ValueError("the saved part-epoch's batch order is not a shuffle of the training samples")
    return order


def restored_partial(saved: Mapping[str, Any], batches: list[Tensor | slice], device: torch.device) -> dict[str, Any]:
    """The running sums of a part-epoch saved in a checkpoint (``Trainer.trainer_state()["partial"]``) for the
    trainer to finish it, with its ``batches``; ValueError saying what is damaged."""
    done, total, tallies, seconds = (saved.get(k) for k in ("next", "total", "tallies", "seconds"))
    if isinstance(done, bool) or not isinstance(done, int) or not 0 <= done <= len(batches):
        raise ValueError(f"the saved part-epoch's position is damaged ({done!r})")
    if not (isinstance(total, Tensor) and total.dim() == 0 and total.is_floating_point()):
        raise ValueError("the saved part-epoch's loss sum is damaged")
    if not (isinstance(tallies, Mapping) and all(isinstance(k, str) and isinstance(v, Tensor)
                                                 for k, v in tallies.items())):  # fmt: skip
        raise ValueError("the saved part-epoch's running metrics are damaged")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < math.inf:
        raise ValueError("the saved part-epoch's time is damaged")
    batch_sum = saved.get("batch_sum")  # None in checkpoints saved before it was kept: no loss_sum that epoch
    if batch_sum is not None and not (isinstance(batch_sum, Tensor) and batch_sum.dim() == 0
                                      and batch_sum.is_floating_point()):  # fmt: skip
        raise ValueError("the saved part-epoch's sum of batch losses is damaged")
    lr_start = saved.get("lr_start")  # the epoch's rate at its start (None in older checkpoints)
    if lr_start is not None and (isinstance(lr_start, bool) or not isinstance(lr_start, (int, float))
                                 or not math.isfinite(lr_start)):  # fmt: skip
        raise ValueError("the saved part-epoch's learning rate is damaged")
    return {"batches": batches, "next": done, "seconds": float(seconds),
            "tallies": {k: v.to(device) for k, v in tallies.items()}, "total": total.to(device),
            "batch_sum": None if batch_sum is None else batch_sum.to(device), "lr_start": lr_start}  # fmt: skip
