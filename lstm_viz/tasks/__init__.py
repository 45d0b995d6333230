"""Tasks: one object per task (data, model config and factory, parsing, answer, loss and metrics, presets),
looked up by ``task_for(config)`` or ``get_task(name)``. Everything task-specific lives here.

The registry below lists the tasks in order. Adding a task is one new module here (a ``Task`` subclass and its
model) plus one line in ``register(...)``.
"""

from lstm_viz.tasks.base import Answer, LSTMVizModel, Task, TaskData, TaskInput, make_rnn
from lstm_viz.tasks.charlm.task import CHARLM
from lstm_viz.tasks.config import CELLS, ModelConfig, count_parameters
from lstm_viz.tasks.registry import get_task, kinds, register, registered, task_for, training_names
from lstm_viz.tasks.regressor import REGRESSOR, Regressor
from lstm_viz.tasks.sequence import SEQUENCE, SequenceModel
from lstm_viz.tasks.subtraction import SUBTRACTION, BitSubtractor
from lstm_viz.tasks.toy import STATQUEST, STATQUEST_NAMES, TOY_LSTM, StatQuestLSTM, ToyLSTM

# The registry, in order (the CLI lists training names in this order; plain state_dicts are recognised by the
# first task that claims them, so the most specific come first).
register(STATQUEST, TOY_LSTM, SUBTRACTION, REGRESSOR, SEQUENCE, CHARLM)

KINDS: tuple[str, ...] = kinds()


def build_model(config: ModelConfig, device=None) -> LSTMVizModel:
    """A freshly initialised model for ``config`` on ``device`` (seed torch first for a reproducible init)."""
    if not isinstance(config, ModelConfig):
        raise TypeError(f"build_model expects a ModelConfig, got {type(config).__name__}")
    config.validate()
    model = task_for(config).build(config)
    return model.to(device) if device is not None else model


__all__ = [
    "CELLS",
    "KINDS",
    "REGRESSOR",
    "SEQUENCE",
    "STATQUEST",
    "STATQUEST_NAMES",
    "SUBTRACTION",
    "TOY_LSTM",
    "Answer",
    "BitSubtractor",
    "LSTMVizModel",
    "ModelConfig",
    "Regressor",
    "SequenceModel",
    "StatQuestLSTM",
    "Task",
    "TaskData",
    "TaskInput",
    "ToyLSTM",
    "build_model",
    "count_parameters",
    "get_task",
    "make_rnn",
    "register",
    "registered",
    "task_for",
    "training_names",
]
