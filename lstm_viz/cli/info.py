"""``python -m lstm_viz info CKPT [--module NAME]``: what a checkpoint holds (config, parameters, last metrics, its
command); for a bigger model's state_dict, its recurrent modules (``modules``: name → what it is), one of which
``--module`` picks."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

import torch

from lstm_viz.cli.common import add_module, json_safe
from lstm_viz.tasks import count_parameters, task_for
from lstm_viz.training.checkpoints import ModuleChoice, load_checkpoint

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    info = sub.add_parser("info", help="describe a checkpoint", description="Describe a checkpoint.")
    info.add_argument("checkpoint")
    add_module(info)
    info.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    try:
        ckpt = load_checkpoint(args.checkpoint, device="cpu", module=args.module)
    except ModuleChoice as err:  # a bigger model's state_dict: what it holds is the answer (--module picks one)
        print(json.dumps({
            "description": "the state_dict of a model lstm-viz does not know as a whole; each recurrent module of it "
            "can be shown alone: give --module NAME (to this and to record, predict, parity)",
            "modules": err.options, "unreadable": err.unreadable,
        }), flush=True)  # fmt: skip
        return 0
    info = {
        "description": ckpt.description,
        "config": ckpt.config.to_dict(),
        "parameters": count_parameters(ckpt.model),
        "epochs": len(ckpt.history),
        "last": json_safe(ckpt.history[-1]) if ckpt.history else None,
        "command": ckpt.meta.get("command"),
    }
    # how it was made and its final metrics (a converted research model), the train command's last line ("final":
    # its evaluation after the run)
    for key in ("how", "metrics", "final"):
        if isinstance(ckpt.meta.get(key), (str, dict)):
            info[key] = json_safe(ckpt.meta[key]) if isinstance(ckpt.meta[key], dict) else ckpt.meta[key]
    trainer = ckpt.meta.get("trainer")
    partial = trainer.get("partial") if isinstance(trainer, dict) else None
    if isinstance(partial, dict):  # saved part-way through an epoch (a Ctrl-C, a page's Pause): --resume finishes it
        size, n = partial.get("batch_size"), partial.get("n_train")
        epoch = trainer.get("epoch")
        info["partial_epoch"] = {
            "epoch": (epoch if isinstance(epoch, int) else len(ckpt.history)) + 1,
            "batches_done": partial.get("next"),
            "batches": -(-n // size) if isinstance(size, int) and isinstance(n, int) and size > 0 else None,
        }
    manifest = ckpt.meta.get("manifest")
    if isinstance(manifest, dict):
        info["corpus"] = {k: manifest.get(k) for k in ("python_version", "digest", "counts")}
    weights = task_for(ckpt.config).describe_weights(ckpt.model)
    if weights is not None:
        info["weights"] = weights
    print(json.dumps(json_safe(info), default=_plain), flush=True)
    return 0


def _plain(value: object) -> object:
    """What JSON cannot hold, as it can: a tensor's values (a scalar as a number), anything else as text."""
    if isinstance(value, torch.Tensor):
        return json_safe(value.item() if value.numel() == 1 else value.tolist()) if value.numel() <= 16 else (
            f"a tensor of shape {tuple(value.shape)}")
    return str(value)
