"""What a checkpoint saved for ``make_trainer(resume=…)``, checked before it is trusted: the trainer's state (each
field of the type ``Trainer.trainer_state`` writes) and Adam's per-parameter state. A damaged or hand-edited file is
named with the field, as a ``CheckpointError``, instead of failing deep inside torch."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from lstm_viz.parsing import InputError, parse_lr
from lstm_viz.training.checkpoints import Checkpoint, CheckpointError
from lstm_viz.training.order import SHUFFLES

__all__ = ["check_optimizer_state", "saved_trainer_state"]

_TRAINER_STATE_TYPES: dict[str, tuple[type, ...]] = {
    "epoch": (int,), "seed": (int,), "lr": (int, float), "batch_size": (int, type(None)), "shuffle": (bool, str),
    "source": (str,), "task": (str, type(None)), "options": (dict,), "loop": (dict,), "generator_state": (Tensor,),
    "betas": (list, tuple), "preset": (str, type(None)), "partial": (dict,),
}  # fmt: skip


def _usable_lr(value: Any) -> bool:
    """A learning rate training takes (:func:`lstm_viz.parsing.parse_lr`: a number in (0, MAX_LR])."""
    try:
        parse_lr(value, typed=False)
    except InputError:
        return False
    return True


def _in_range(key: str, value: Any) -> bool:
    """A saved value of the right type that training can use (the type is checked before)."""
    if key == "lr":
        return _usable_lr(value)
    if key == "batch_size":
        return value is None or value >= 1
    if key in ("epoch", "seed"):
        return 0 <= value < 2**63
    if key == "shuffle":  # True/False, or "dataloader": the order a post's DataLoader draws (order.dataloader_order)
        return value in SHUFFLES
    if key == "options":  # the task's recipe settings: plain values by name (a saved lr as a usable one)
        plain = all(isinstance(k, str) and isinstance(v, (int, float, str, bool, type(None))) for k, v in value.items())
        return plain and ("lr" not in value or _usable_lr(value["lr"]))
    return True


def saved_trainer_state(ckpt: Checkpoint, name: str) -> dict[str, Any]:
    """``meta["trainer"]`` of a checkpoint to resume, each field of the type :meth:`Trainer.trainer_state` writes;
    CheckpointError naming the file and the field otherwise (a damaged or hand-edited file)."""
    state = ckpt.meta.get("trainer") or {}
    if not isinstance(state, dict):
        raise CheckpointError(f"{name}: its saved training state is not a dict; resume from another checkpoint or "
                              "train afresh")  # fmt: skip
    for key, types in _TRAINER_STATE_TYPES.items():
        if key not in state:  # an older file's state lacks fields added since: the recipe's values are used
            continue
        value = state[key]
        bad = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        if not bad and key == "betas":
            bad = len(value) != 2 or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in value)
        if not bad and key == "generator_state":
            bad = value.dtype != torch.uint8 or value.numel() != torch.Generator().get_state().numel()
        if not bad:
            bad = not _in_range(key, value)
        if bad:
            raise CheckpointError(f"{name}: its saved training state is damaged ({key}: {str(value)[:60]!r}); "
                                  "resume from another checkpoint or train afresh")  # fmt: skip
    if "epoch" not in state and ckpt.history and not isinstance(ckpt.history[-1].get("epoch"), int):
        raise CheckpointError(f"{name}: its history has no epoch numbers; resume from another checkpoint or train "
                              "afresh")  # fmt: skip
    return state


def check_optimizer_state(optimizer_state: Any, model: nn.Module, name: str) -> None:
    """Adam's saved per-parameter state: exp_avg and exp_avg_sq tensors of one shape, the shape of a parameter of
    ``model`` (the state's indices follow the optimizer's groups, so the shape is looked for among all)."""
    if optimizer_state is None:
        return
    shapes = {tuple(p.shape) for p in model.parameters()}
    entries = optimizer_state.get("state") if isinstance(optimizer_state, dict) else None
    if not isinstance(entries, dict):
        raise CheckpointError(f"{name}: its saved optimizer state is damaged; resume from another checkpoint, or "
                              "train afresh")  # fmt: skip
    for index, entry in entries.items():
        ok = isinstance(entry, dict) and all(isinstance(entry.get(k), Tensor) for k in ("exp_avg", "exp_avg_sq"))
        if ok:
            ok = tuple(entry["exp_avg"].shape) == tuple(entry["exp_avg_sq"].shape) in shapes
        if not ok:
            raise CheckpointError(f"{name}: its saved optimizer state is damaged (parameter {index}); resume from "
                                  "another checkpoint, or train afresh")  # fmt: skip
