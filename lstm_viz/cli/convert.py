"""``python -m lstm_viz convert RESEARCH.pt --out MODEL.pt``: a character model saved by the research script
(``python -m lstm_viz.tasks.charlm.train --out``, format ``lstm-viz/charlm-checkpoint-v0``) as an lstm-viz
checkpoint that the app, the CLI and ``--resume`` read.

The weights are copied as they are (the module names are the same); the research file's corpus manifest, recipe,
command and final metrics go into the checkpoint's ``meta``, with a sentence on how the model was trained. The file
is read with ``torch.load(weights_only=True)`` (its ``torch_version`` string is the only non-plain value allowed).
The optimizer state is not in research files, so resuming a converted model starts a new schedule from its weights.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.torch_version import TorchVersion

from lstm_viz.cli.common import ExitError, check_checkpoint_out, print_json
from lstm_viz.tasks import ModelConfig, get_task
from lstm_viz.training.checkpoints import CheckpointError, build_checked, read_torch_file, save_checkpoint

__all__ = ["add_parser", "run"]

RESEARCH_FORMAT = "lstm-viz/charlm-checkpoint-v0"


def add_parser(sub: argparse._SubParsersAction) -> None:
    convert = sub.add_parser("convert", help="turn a research charlm checkpoint into an lstm-viz checkpoint",
                             description="Convert a checkpoint of python -m lstm_viz.tasks.charlm.train.")  # fmt: skip
    convert.add_argument("research", help="a .pt written by python -m lstm_viz.tasks.charlm.train --out")
    convert.add_argument("--out", required=True, help="the lstm-viz checkpoint to write, e.g. models/charlm_python.pt")
    convert.add_argument("--note", default="", help="a sentence on how the model was made, kept in its meta")
    convert.set_defaults(func=run)


def _load(path: Path) -> dict:
    try:  # checked as every checkpoint is: a damaged zip, code in the pickle, crafted tensors (in words, one line)
        data, _ = read_torch_file(path, safe_globals=[TorchVersion])
    except CheckpointError as err:
        why = str(err).split(" save one with ")[0].rstrip(" ;—")  # how to save an lstm-viz model is no help here
        raise ExitError(f"cannot convert: {why}; give a file of python -m lstm_viz.tasks.charlm.train --out") from None
    if not isinstance(data, dict) or data.get("format") != RESEARCH_FORMAT:
        raise ExitError(f"{path} is not a research charlm checkpoint (format {RESEARCH_FORMAT!r}); lstm-viz "
                        "checkpoints need no conversion")  # fmt: skip
    return data


def _whole(research: dict, key: str) -> int:
    """``research[key]`` as a whole number (2.7 layers is no model: it was read as 2)."""
    value = research[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValueError(f"{key} must be a whole number, got {value!r}")
    return int(value)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    src, out = Path(args.research), check_checkpoint_out(args.out, "charlm_python.pt")
    if out.exists() and src.exists() and out.samefile(src):
        raise ExitError(f"--out {args.out} is the research file itself; write the converted model beside it, e.g. "
                        f"--out {src.with_name(src.stem + '_lstm_viz.pt')}")  # fmt: skip
    data = _load(src)
    research = data.get("config") or {}
    try:
        size = {key: _whole(research, key) for key in ("embed_size", "hidden_size", "num_layers", "vocab_size")}
        config = ModelConfig.default(
            get_task("charlm").kind, input_size=size["embed_size"], hidden_size=size["hidden_size"],
            num_layers=size["num_layers"], proj_size=_whole({"proj_size": 0, **research}, "proj_size"),
            dropout=float(research.get("dropout", 0.0)), output_size=size["vocab_size"],
        )  # fmt: skip
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ExitError(f"{src}: its model config cannot be read ({err})") from None
    weights = data.get("state_dict")
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise ExitError(f"{src}: it holds no weights (state_dict); the file is damaged")
    try:  # shapes checked against the config before anything is allocated, and every weight finite
        model = build_checked(config, weights, str(src))
    except CheckpointError as err:
        raise ExitError(str(err)) from None
    metrics = data.get("metrics") or {}
    units = metrics.get("units") or {} if isinstance(metrics, dict) else {}
    if not isinstance(metrics, dict) or not isinstance(units, dict) or not all(
        isinstance(u, dict) for u in units.values()
    ):
        raise ExitError(f"{src}: its metrics are not what the research script writes (a dict of dicts); the file is "
                        "damaged or was written by something else")  # fmt: skip
    final = metrics.get("train") or {}
    if not isinstance(final, dict) or not all(isinstance(v, (int, float, str, type(None))) for v in final.values()):
        raise ExitError(f"{src}: its training metrics are not what the research script writes (numbers by name); the "
                        "file is damaged or was written by something else")  # fmt: skip
    shown = {k: final[k] for k in ("val_bpc", "loss_bpc", "step", "chars") if k in final}  # what the sidebar shows
    if "loss_bpc" in shown:
        shown["train_bpc"] = shown.pop("loss_bpc")
    training = {k: final[k] for k in ("seconds", "chars_per_s", "epoch", "lr") if k in final}
    try:
        recipe = json.dumps(data.get("recipe"))
    except (TypeError, ValueError):  # a tensor, a tuple key: not what the research script writes
        raise ExitError(f"{src}: its recipe is not plain data (numbers and text by name); the file is damaged or was "
                        "written by something else") from None  # fmt: skip
    how = args.note or (
        f"Trained by the research script (lstm_viz/tasks/charlm/train.py), not by python -m lstm_viz train: "
        f"{data.get('command', '?')}. Recipe: {recipe}."
    )
    meta = {
        "command": data.get("command"),
        "how": how,
        "converted": {
            "command": "python -m lstm_viz " + shlex.join(argv),
            "from": src.name,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "torch_version": str(data.get("torch_version", "")),
        },
        "manifest": data.get("manifest"),
        "recipe": data.get("recipe"),
        "research_config": research,
        "metrics": shown,
        "training": training,
        "units": {f: {k: v for k, v in u.items() if k != "screen_top"} for f, u in units.items()},
    }
    try:
        save_checkpoint(out, model, config, meta=meta)  # every value of the summary is checked plain above
    except TypeError as err:  # save_checkpoint refuses meta that is not plain data (a tensor in the manifest…)
        raise ExitError(f"{src}: what it says of its training is not plain data ({err}); the file is damaged or was "
                        "written by something else") from None  # fmt: skip
    print_json({"out": str(out), "model": config.label(), "bytes": out.stat().st_size, **shown, **training})
    return 0
