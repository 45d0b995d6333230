"""LSTM vs LSTMP on the subtraction task: the shipped or fresh pair, the same input through both, m and W_hr."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lstm_viz.core.device import pick_device, small_model_threads, torch_threads
from lstm_viz.core.recording import DIRECTIONS, Recording
from lstm_viz.lstmp.anatomy import MODEL_NAMES, PairSpec, parse_size, quiet
from lstm_viz.parsing import parse_lr
from lstm_viz.tasks import SUBTRACTION, Answer, LSTMVizModel, ModelConfig, build_model, subtraction, task_for
from lstm_viz.training.checkpoints import load_checkpoint
from lstm_viz.training.live import validate_epochs

__all__ = [
    "MAX_TRAIN_HIDDEN",
    "MAX_TRAIN_LAYERS",
    "SHIPPED_FILES",
    "Side",
    "check_trainable",
    "fresh_task_pair",
    "parse_train_settings",
    "projection_arrays",
    "shipped_pair",
    "side_by_side",
    "task_model_config",
]

MAX_TRAIN_HIDDEN = 256  # live training on a page: bigger models take seconds per epoch on a CPU
MAX_TRAIN_LAYERS = 4


def parse_train_settings(epochs: object, lr: object, seed: object) -> dict[str, Any]:
    """Typed epochs, learning rate and seed for :class:`TrainSettings`, or a ValueError with an example."""
    return {
        "epochs": validate_epochs(epochs),
        "lr": parse_lr(lr),
        "seed": parse_size(seed, "random seed", minimum=0, maximum=2**31 - 1, example=822),
    }


def check_trainable(spec: PairSpec) -> None:
    """Refuse sizes too big to train live on this page, with the reason (the comparison itself allows them)."""
    if spec.hidden_size > MAX_TRAIN_HIDDEN or spec.num_layers > MAX_TRAIN_LAYERS:
        raise ValueError(
            f"live training here is capped at hidden_size {MAX_TRAIN_HIDDEN} and {MAX_TRAIN_LAYERS} layers "
            f"(got {spec.hidden_size} and {spec.num_layers}): an epoch would take too long to watch. "
            "Example: hidden_size 32, proj_size 8, 1 layer (post 4)."
        )


def task_model_config(spec: PairSpec, model: str) -> ModelConfig:
    """The subtraction model (post 4's head on this pair's sizes) for one side; input_size is the task's."""
    return subtraction.model_config(
        hidden_size=spec.hidden_size,
        proj_size=spec.proj_size if model == "LSTMP" else 0,
        num_layers=spec.num_layers,
        bidirectional=spec.bidirectional,
    )


def fresh_task_pair(spec: PairSpec, seed: int = 0) -> dict[str, LSTMVizModel]:
    """An untrained subtraction LSTM and LSTMP of ``spec``'s sizes, each built after ``torch.manual_seed(seed)``."""
    check_trainable(spec)
    models = {}
    for name in MODEL_NAMES:
        torch.manual_seed(seed)
        models[name] = build_model(task_model_config(spec, name)).eval()
    return models


SHIPPED_FILES = {"LSTM": "subtraction_lstm.pt", "LSTMP": "subtraction_lstmp.pt"}


def shipped_pair(models_dir: str | Path, device: torch.device | str | None = None) -> dict[str, LSTMVizModel]:
    """The shipped subtraction LSTM and LSTMP (``models/subtraction_lstm.pt``, ``subtraction_lstmp.pt``),
    trained to answer every 8-bit ``a - b``. ValueError (with the file and the reason) when one is unusable."""
    models = {}
    for name, file in SHIPPED_FILES.items():
        checkpoint = load_checkpoint(Path(models_dir) / file, device=device or pick_device())
        config = checkpoint.config
        if task_for(config) is not SUBTRACTION or config.cell != "lstm" or bool(config.proj_size) != (name == "LSTMP"):
            raise ValueError(f"{file} holds a {config.label()}, not the subtraction {name} this page expects")
        models[name] = checkpoint.model.eval()
    return models


@dataclass(frozen=True)
class Side:
    """One model's view of the typed input: its recording, its answer and how to label it."""

    recording: Recording
    answer: Answer
    feature_names: tuple[str, ...]
    describe: str


def side_by_side(models: dict[str, LSTMVizModel], text: str) -> dict[str, Side]:
    """Feed the same typed ``a - b`` to both models: recording (f, i, g, o, c, m, h) and answer of each.

    A bad text raises the parser's ValueError, whose message says what was wrong and gives an example.
    """
    sides = {}
    for name, model in models.items():
        task = task_for(model.config)
        inp = task.parse(text, model.config)
        with torch.no_grad(), torch_threads(small_model_threads(model)), quiet():
            rec = model.record(inp.x)
            answer = task.answer(model, inp)
        sides[name] = Side(rec, answer, inp.feature_names, model.config.label())
    return sides


def projection_arrays(
    model: LSTMVizModel, rec: Recording, layer: int = 0, direction: str = "fwd", batch: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """``(m (T, H), W_hr (P, H), h (T, P), step labels)`` of one layer/direction of an LSTMP recording."""
    if not rec.proj_size:
        raise ValueError("this recording has no projection (proj_size 0): m and h are the same")
    d = DIRECTIONS.index(direction)
    suffix = f"_l{layer}" + ("_reverse" if d else "")
    w_hr = getattr(model.rnn(), f"weight_hr{suffix}").detach().cpu().float().numpy()
    m = rec.m[layer, d, batch].detach().cpu().float().numpy()
    h = rec.h[layer, d, batch].detach().cpu().float().numpy()
    x = rec.x[batch].detach().cpu()
    labels = [f"t {t} · " + "".join(str(int(v)) for v in x[t].tolist()) for t in range(x.shape[0])]
    return m, w_hr, h, labels


