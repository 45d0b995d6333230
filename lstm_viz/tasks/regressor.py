"""Post 2's regressor task: a (multi-layer) LSTM + Linear on the last step, fit to random data with MSE.

The post: ``nn.LSTM(10, 50, num_layers=2, batch_first=True)`` + ``Linear(50, 1)`` on the last time step, Adam lr
0.001, 100 epochs of MSE on ``x = randn(100, 5, 10)``, ``y = randn(100, 1)`` (no test split). In the explorer its
input is rows of 10 features, one row per time step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from lstm_viz.core.interventions import Intervention
from lstm_viz.parsing import fixed, parse_vectors
from lstm_viz.tasks.base import Answer, LSTMVizModel, PlainWeights, Task, TaskData, TaskInput, make_rnn
from lstm_viz.tasks.config import ModelConfig

__all__ = [
    "INPUT_SIZE",
    "N_SAMPLES",
    "OUTPUT_SIZE",
    "REGRESSOR",
    "SEQ_LEN",
    "RegressionData",
    "Regressor",
    "RegressorTask",
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
    return REGRESSOR.default_config(
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
    model = REGRESSOR.build(config or model_config())
    return model.to(device) if device is not None else model  # type: ignore[return-value]


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


# ----------------------------------------------------------------------------------------------------------- model
class Regressor(LSTMVizModel):
    """Post 2's regressor: LSTM (``num_layers`` deep, batch first) + ``Linear`` on the last time step."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__(config or REGRESSOR.default_config())
        c = self.config
        setattr(self, c.cell, make_rnn(c))
        self.fc = nn.Linear(c.num_directions * c.real_hidden_size, c.output_size)

    def forward(self, x: Tensor, interventions: Sequence[Intervention] | None = None) -> Tensor:
        """``(B, T, input_size)`` → ``(B, output_size)`` (under ``interventions``)."""
        return self.head(self.rnn_output(x, interventions))

    def head(self, rnn_out: Tensor) -> Tensor:
        """``(B, T, D*P)`` → ``(B, output_size)``: Linear on the last time step."""
        return self.fc(rnn_out[:, -1, :])


# ----------------------------------------------------------------------------------------------------------- task
_RECIPE = dict(lr=0.001, batch_size=None, shuffle=False, epochs=100)


class RegressorTask(Task):
    """Post 2's regressor: rows of ``input_size`` numbers in, one output vector from the last step out."""

    kind: ClassVar[str] = "regressor"
    title: ClassVar[str] = "LSTM regressor"
    post: ClassVar[str] = "post 2: an LSTM regressor on random data"
    model_class: ClassVar[type[LSTMVizModel]] = Regressor
    defaults: ClassVar[dict[str, Any]] = dict(input_size=INPUT_SIZE, hidden_size=HIDDEN_SIZE, num_layers=NUM_LAYERS)
    training_names: ClassVar[dict[str, dict[str, Any]]] = {"regressor": {}}
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {"regressor": {"seed": _RECIPE, "fast": _RECIPE}}
    default_random_length: ClassVar[int] = SEQ_LEN
    ablation_data: ClassVar[str] = f"256 random sequences of {SEQ_LEN} steps, each value drawn from N(0, 1)"

    def label(self, config: ModelConfig) -> str:
        return f"regressor {config.cell_label()}"

    def make_data(self, source: str = "seed", seed: int = 0) -> TaskData:
        r = random_data(generator=torch.Generator().manual_seed(seed))
        return TaskData(self, r.x_train, r.y_train, source=source)

    def recognise(self, weights: PlainWeights) -> tuple[ModelConfig, dict[str, Tensor], str] | None:
        head = weights.linear_head()
        if head is None:
            return None
        config = self.default_config(**{**weights.options, "output_size": head[1].shape[0]})
        renamed = {f"{config.cell}.{k}": v for k, v in weights.rnn.items()}
        renamed.update({"fc.weight": head[1], "fc.bias": head[2]})
        return config, renamed, f"{weights.name}{weights.where} + Linear on the last step, read as post 2's regressor"

    def example(self, config: ModelConfig) -> str:
        """``SEQ_LEN`` rows of ``input_size`` numbers: the post's input shape, one row per time step."""
        rng = np.random.default_rng(2)
        rows = rng.choice([-1.0, -0.5, 0.0, 0.25, 0.5, 1.0], size=(SEQ_LEN, config.input_size))
        return "\n".join(", ".join(f"{v:g}" for v in row) for row in rows)

    def answer(self, model: nn.Module, inp: TaskInput, interventions: Sequence[Intervention] | None = None) -> Answer:
        values = self.run(model, inp.x, interventions).view(-1).tolist()
        shown = ", ".join(fixed(v) for v in values[:8]) + (" …" if len(values) > 8 else "")
        return Answer(self.kind, f"The regressor outputs {shown} (from the last time step)", outputs=values,
                      form="vector", value=values, headline=f"Output {shown}")  # fmt: skip

    def probe_batch(self, config: ModelConfig, n: int = 256, seed: int = 0, length: int = SEQ_LEN) -> Tensor:
        gen = torch.Generator().manual_seed(seed)
        return torch.randn(n, length, config.input_size, generator=gen)


REGRESSOR = RegressorTask()
