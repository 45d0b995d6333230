"""ModelConfig: the dataclass that rebuilds any lstm-viz model, saved with its weights in every checkpoint.

``kind`` names the task the model belongs to (``lstm_viz.tasks.registry.task_for(config)``); the task says which
fields it fixes and what its defaults are. The checks here are the ones every model shares.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from torch import nn

from lstm_viz.tasks.registry import kinds, task_for

__all__ = ["CELLS", "ModelConfig", "count_parameters"]

CELLS: tuple[str, ...] = ("lstm", "gru")


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model; saved with its weights in every checkpoint.

    ``input_size`` is what the recurrent layer reads per step (an embedding's width for a text model) and
    ``output_size`` what the head writes (a text model's vocabulary).
    """

    kind: str = "subtraction"
    input_size: int = 2
    hidden_size: int = 32
    num_layers: int = 1
    proj_size: int = 0
    bidirectional: bool = False
    cell: str = "lstm"
    output_size: int = 1
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def default(cls, kind: str, **overrides: Any) -> ModelConfig:
        """The task's own configuration for ``kind`` (e.g. ``default("subtraction", proj_size=8)``)."""
        task = task_for(kind)
        return cls(**{**_defaults_of(kind), **overrides, "kind": task.kind})

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def real_hidden_size(self) -> int:
        """Size of h (and of the recurrent output per direction): proj_size for an LSTMP, else hidden_size."""
        return self.proj_size if self.proj_size > 0 else self.hidden_size

    @property
    def recordable(self) -> bool:
        return self.cell == "lstm"

    def label(self) -> str:
        """A short human name, e.g. ``subtraction LSTMP(2→32→8)`` or ``StatQuest LSTM by hand``."""
        return task_for(self).label(self)

    def cell_label(self) -> str:
        """``GRU(2→32)``, ``LSTMP(2→32→8, 2 layers)``: the recurrent layer in words."""
        cell = "GRU" if self.cell == "gru" else ("LSTMP" if self.proj_size else "LSTM")
        inner = f"{self.input_size}→{self.hidden_size}" + (f"→{self.proj_size}" if self.proj_size else "")
        extra = (f", {self.num_layers} layers" if self.num_layers > 1 else "") + (
            ", bidirectional" if self.bidirectional else ""
        )
        return f"{cell}({inner}{extra})"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ModelConfig:
        """Rebuild from ``to_dict()`` output (missing fields take the kind's defaults); raises ValueError
        naming any unknown or bad field."""
        if not isinstance(data, dict):
            raise ValueError(f"a model config must be a dict, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in data if k not in names)
        if unknown:
            raise ValueError(f"unknown model config field(s): {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        if "kind" not in data:
            raise ValueError(f"model config has no 'kind'; one of {', '.join(kinds())}")
        task_for(data["kind"])  # a clear error for an unknown kind
        return cls(**{**_defaults_of(data["kind"]), **data})  # missing fields: the kind's defaults

    def validate(self) -> None:
        """Raise ValueError with a clear message if the fields do not describe a buildable model."""
        task = task_for(self.kind)
        if self.cell not in CELLS:
            raise ValueError(f"cell must be 'lstm' or 'gru', got {self.cell!r}")
        for name in ("input_size", "hidden_size", "num_layers", "output_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.proj_size, bool) or not isinstance(self.proj_size, int) or self.proj_size < 0:
            raise ValueError(f"proj_size must be a non-negative integer (0 = no projection), got {self.proj_size!r}")
        if self.proj_size >= self.hidden_size:
            raise ValueError(
                f"proj_size ({self.proj_size}) must be smaller than hidden_size ({self.hidden_size}); "
                "use 0 for no projection"
            )
        if self.proj_size and self.cell == "gru":
            raise ValueError("proj_size is an LSTM option (LSTMP); a GRU has no projection — use proj_size=0")
        for name in ("bidirectional", "bias"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)):
            raise ValueError(f"dropout must be a number in [0, 1), got {self.dropout!r}")
        if not (0.0 <= float(self.dropout) < 1.0) or math.isnan(self.dropout):
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.dropout > 0 and self.num_layers == 1:
            raise ValueError("dropout acts only between stacked layers: use num_layers ≥ 2 or dropout 0")
        self.dropout = float(self.dropout)
        for name, value in task.fixed.items():
            if getattr(self, name) != value:
                raise ValueError(
                    f"a {self.kind!r} model needs {name}={value!r} (got {getattr(self, name)!r}); "
                    f"see ModelConfig.default({self.kind!r})"
                )


def _defaults_of(kind: str) -> dict[str, Any]:
    task = task_for(kind)
    base = {f.name: f.default for f in dataclasses.fields(ModelConfig)}
    return {**base, **task.fixed, **task.defaults}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
