"""Seed 000's toy task: two companies' four-day prices, predict day 5 (A → 0, B → 1), for both toy models."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lstm_viz.parsing import InputError, parse_toy_sequence
from lstm_viz.tasks.models import ModelConfig, StatQuestLSTM, ToyLSTM, build_model

__all__ = [
    "COMPANY_A",
    "COMPANY_B",
    "LABELS",
    "TOLERANCE",
    "build_statquest",
    "build_toy_lstm",
    "dataset",
    "is_converged",
    "predict",
    "predict_companies",
    "to_input",
]

COMPANY_A: tuple[float, ...] = (0.0, 0.5, 0.25, 1.0)  # observed day 5: 0
COMPANY_B: tuple[float, ...] = (1.0, 0.5, 0.25, 1.0)  # observed day 5: 1
LABELS: tuple[float, float] = (0.0, 1.0)  # label of A, label of B
TOLERANCE = 0.05  # "trained": |pred(A) - 0| < 0.05 and |pred(B) - 1| < 0.05


def dataset(device: torch.device | str | None = None) -> tuple[Tensor, Tensor]:
    """``x`` ``(2, 4, 1)`` (A then B, batch first) and ``y`` ``(2,)`` = ``[0, 1]``."""
    x = torch.tensor([COMPANY_A, COMPANY_B], dtype=torch.float32, device=device).unsqueeze(-1)
    y = torch.tensor(LABELS, dtype=torch.float32, device=device)
    return x, y


def build_statquest(seed: int | None = None, device: torch.device | str | None = None) -> StatQuestLSTM:
    """The by-hand LSTM with the post's init (weights N(0, 1), biases 0); ``seed`` makes the draw reproducible."""
    if seed is not None:
        torch.manual_seed(seed)
    return build_model(ModelConfig.default("statquest"), device)  # type: ignore[return-value]


def build_toy_lstm(seed: int | None = None, device: torch.device | str | None = None) -> ToyLSTM:
    """``nn.LSTM(1, 1)`` with PyTorch's default init (prediction = last output)."""
    if seed is not None:
        torch.manual_seed(seed)
    return build_model(ModelConfig.default("toy_lstm"), device)  # type: ignore[return-value]


def to_input(sequence: str | Sequence[float] | Tensor, device: torch.device | str | None = None) -> Tensor:
    """A typed sequence (``"0, 0.5, 0.25, 1"``), a list of numbers or a 1-D tensor → model input ``(1, T, 1)``."""
    if isinstance(sequence, str):
        values = parse_toy_sequence(sequence)
    else:
        values = torch.as_tensor(sequence, dtype=torch.float32).detach()
        if values.dim() == 3 and values.shape[0] == 1 and values.shape[2] == 1:
            values = values.view(-1)
        if values.dim() != 1 or values.numel() == 0:
            raise InputError(f"a toy sequence is a list of numbers, got shape {tuple(values.shape)}; e.g. 0, 0.5, 1")
        if not torch.isfinite(values).all():
            raise InputError("the toy sequence contains NaN or inf; use finite numbers, e.g. 0, 0.5, 0.25, 1")
    return values.to(device).view(1, -1, 1)


@torch.no_grad()
def predict(model: nn.Module, sequence: str | Sequence[float] | Tensor) -> float:
    """The model's day-5 prediction for one sequence (text, list or tensor)."""
    device = next(model.parameters()).device
    return float(model(to_input(sequence, device))[0])


@torch.no_grad()
def predict_companies(model: nn.Module) -> dict[str, float]:
    """``{"out_0": prediction for A, "out_1": prediction for B}`` — the post's TensorBoard panels."""
    x, _ = dataset(next(model.parameters()).device)
    out = model(x)
    return {"out_0": float(out[0]), "out_1": float(out[1])}


def is_converged(model: nn.Module, tolerance: float = TOLERANCE) -> bool:
    """True when |pred(A) − 0| < tolerance and |pred(B) − 1| < tolerance."""
    out = predict_companies(model)
    return abs(out["out_0"] - LABELS[0]) < tolerance and abs(out["out_1"] - LABELS[1]) < tolerance
