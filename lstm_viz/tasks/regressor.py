"""Seed 002's regressor task: a (multi-layer) LSTM + Linear on the last step, fit to random data with MSE."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from lstm_viz.parsing import parse_vectors
from lstm_viz.tasks.models import ModelConfig, Regressor, build_model

__all__ = [
    "INPUT_SIZE",
    "N_SAMPLES",
    "OUTPUT_SIZE",
    "SEQ_LEN",
    "RegressionData",
    "build_regressor",
    "model_config",
    "predict",
    "random_data",
]

INPUT_SIZE = 10  # the post's input_size
HIDDEN_SIZE = 50
NUM_LAYERS = 2
OUTPUT_SIZE = 1
N_SAMPLES = 100  # x_train = torch.randn(100, 5, 10)
SEQ_LEN = 5


@dataclass
class RegressionData:
    """``x_train`` ``(N, T, input_size)`` and ``y_train`` ``(N, output_size)``; no test split (as in the post)."""

    x_train: Tensor
    y_train: Tensor

    def to(self, device: torch.device | str) -> RegressionData:
        return RegressionData(self.x_train.to(device), self.y_train.to(device))


def model_config(
    input_size: int = INPUT_SIZE,
    hidden_size: int = HIDDEN_SIZE,
    num_layers: int = NUM_LAYERS,
    output_size: int = OUTPUT_SIZE,
    **options: object,
) -> ModelConfig:
    """The post's ``LSTM(10, 50, 2 layers, batch_first=True) + Linear(50, 1)``; options like ``proj_size``."""
    return ModelConfig.default(
        "regressor",
        input_size=input_size,
        hidden_size=hidden_size,
        num_layers=num_layers,
        output_size=output_size,
        **options,
    )


def random_data(
    n: int = N_SAMPLES,
    seq_len: int = SEQ_LEN,
    input_size: int = INPUT_SIZE,
    output_size: int = OUTPUT_SIZE,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> RegressionData:
    """The post's data: ``x = randn(n, seq_len, input_size)``, ``y = randn(n, output_size)`` (x drawn first)."""
    x = torch.randn(n, seq_len, input_size, generator=generator)
    y = torch.randn(n, output_size, generator=generator)
    data = RegressionData(x, y)
    return data.to(device) if device is not None else data


def build_regressor(
    config: ModelConfig | None = None, seed: int | None = None, device: torch.device | str | None = None
) -> Regressor:
    """A fresh regressor (the post's sizes by default); ``seed`` makes the init reproducible."""
    if seed is not None:
        torch.manual_seed(seed)
    return build_model(config or model_config(), device)  # type: ignore[return-value]


@torch.no_grad()
def predict(model: nn.Module, sequence: str | Tensor) -> Tensor:
    """One sequence (text rows like ``"0.1, …; …"`` or a ``(T, input_size)`` tensor) → ``(output_size,)``."""
    width = model.config.input_size  # type: ignore[union-attr]
    x = parse_vectors(sequence, width) if isinstance(sequence, str) else torch.as_tensor(sequence).float()
    was_training = model.training
    model.eval()
    try:
        return model(x.to(next(model.parameters()).device).unsqueeze(0))[0]
    finally:
        model.train(was_training)
