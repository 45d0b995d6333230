"""A bare recurrent model with no task (a plain ``nn.LSTM``/``nn.GRU`` state_dict, or a random RecordingLSTM):
rows in, h out."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

from torch import Tensor

from lstm_viz.core.interventions import Intervention
from lstm_viz.tasks.base import LSTMVizModel, PlainWeights, Task, make_rnn
from lstm_viz.tasks.config import ModelConfig

__all__ = ["SEQUENCE", "SequenceModel", "SequenceTask"]


class SequenceModel(LSTMVizModel):
    """A bare LSTM (e.g. a plain ``nn.LSTM`` state_dict someone uploaded): ``forward`` returns its output."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__(config or SEQUENCE.default_config())
        setattr(self, self.config.cell, make_rnn(self.config))

    def forward(self, x: Tensor, interventions: Sequence[Intervention] | None = None) -> Tensor:
        """``(B, T, input_size)`` → ``(B, T, num_directions × size of h)`` (under ``interventions``)."""
        return self.rnn_output(x, interventions)


class SequenceTask(Task):
    """No task: the model reads rows of numbers and its answer is its output at the last step. Not trainable."""

    kind: ClassVar[str] = "sequence"
    title: ClassVar[str] = "bare LSTM"
    model_class: ClassVar[type[LSTMVizModel]] = SequenceModel

    def label(self, config: ModelConfig) -> str:
        return f"sequence {config.cell_label()}"

    def default_config(self, **overrides: Any) -> ModelConfig:
        """The configuration, its ``output_size`` what the model answers: num_directions × the size of h a step (it
        said 1, while ``predict`` answered with that many numbers)."""
        config = super().default_config(**overrides)
        return dataclasses.replace(config, output_size=config.num_directions * config.real_hidden_size)

    def recognise(self, weights: PlainWeights) -> tuple[ModelConfig, dict[str, Tensor], str] | None:
        if weights.head:
            return None
        config = self.default_config(**weights.options)
        renamed = {f"{config.cell}.{k}": v for k, v in weights.rnn.items()}
        cell = "GRU" if config.cell == "gru" else "LSTM"
        what = f"a plain {weights.name}{weights.where}, shown as a bare sequence model (output = the {cell}'s outputs)"
        return config, renamed, what


SEQUENCE = SequenceTask()
