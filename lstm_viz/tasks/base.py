"""The Task protocol: what every task owns (data, model factory, inputs, answers, loss and metrics, presets).

A task is one object (``SUBTRACTION``, ``STATQUEST``, …) registered in ``lstm_viz/tasks/__init__.py``. The engine,
the CLI, the explorer and the live pages look a task up once — ``task_for(config)`` or ``get_task(name)`` — and
ask it; they never compare task names. This base class is a complete task for a model that reads rows of
numbers (a bare LSTM, post 2's regressor); the other tasks override what differs.

Also here: ``LSTMVizModel`` (the base of every task's model: a config, a batch-first input check and ``record``),
``TaskInput`` (one input ready for a model), ``Answer`` (what a model said about it), ``TaskData`` (what the
engine trains on) and ``TrainingOption`` (a recipe setting a task adds to ``python -m lstm_viz train``). A task
that trains in its own way (the character model's truncated back-propagation through time) returns a loop from
``training_loop``; the engine then drives that loop one block of steps per "epoch".
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lstm_viz.core.gru import RecordingGRU
from lstm_viz.core.interventions import Intervention, intervened_forward
from lstm_viz.core.lstm import RecordingLSTM
from lstm_viz.core.recording import CellRecording
from lstm_viz.parsing import MAX_STEPS, InputError, parse_vectors
from lstm_viz.tasks.config import ModelConfig

__all__ = [
    "Answer",
    "LSTMVizModel",
    "PlainWeights",
    "Task",
    "TaskData",
    "TaskInput",
    "TrainingLoop",
    "TrainingOption",
    "make_rnn",
]


# --------------------------------------------------------------------------------------------------------- models
def make_rnn(config: ModelConfig) -> nn.Module:
    """The recurrent layer a config describes, batch first: a RecordingLSTM or a RecordingGRU."""
    if config.cell == "gru":
        return RecordingGRU(
            config.input_size, config.hidden_size, num_layers=config.num_layers, bias=config.bias,
            batch_first=True, dropout=config.dropout, bidirectional=config.bidirectional,
        )  # fmt: skip
    return RecordingLSTM(
        config.input_size, config.hidden_size, num_layers=config.num_layers, bias=config.bias,
        batch_first=True, dropout=config.dropout, bidirectional=config.bidirectional,
        proj_size=config.proj_size,
    )  # fmt: skip


class LSTMVizModel(nn.Module):
    """Base of every lstm-viz model: a config, a batch-first input check, and ``record`` for LSTM cells."""

    config: ModelConfig

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config

    @property
    def recordable(self) -> bool:
        """True: every model records (an LSTM its f, i, g, o, c, h; a GRU its r, z, n, h)."""
        return True

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def rnn(self) -> nn.Module:
        """The recurrent module (a RecordingLSTM, or a RecordingGRU)."""
        return self.gru if self.config.cell == "gru" else self.lstm

    def head(self, rnn_out: Tensor) -> Tensor:
        """What the model does with the recurrent layer's output ``(B, T, D * size of h)``: its answer. Here none:
        the output itself. ``forward(x) == head(rnn_output(x))`` for every model."""
        return rnn_out

    def rnn_input(self, x: Tensor) -> Tensor:
        """What the recurrent layer reads for model input ``x``: ``x`` itself here (a text model: its embedding)."""
        return x

    def rnn_output(self, x: Tensor, interventions: Sequence[Intervention] | None = None) -> Tensor:
        """The recurrent module's output on batch-first ``x`` ``(B, T, D * size of h)``, under ``interventions``
        (differentiable either way)."""
        return intervened_forward(self.rnn(), self.check_input(x), None, interventions)[0]

    def check_input(self, x: Any) -> Tensor:
        """``x`` if it is a batch-first ``(B, T, input_size)`` float tensor, else a clear ValueError."""
        size = self.config.input_size
        if not isinstance(x, Tensor):
            raise ValueError(f"input must be a torch.Tensor of shape (batch, time, {size}), got {type(x).__name__}")
        if x.dim() != 3 or x.shape[-1] != size:
            raise ValueError(
                f"input must have shape (batch, time, {size}), batch first; got {tuple(x.shape)}"
                + (" — add a batch dimension with x.unsqueeze(0)" if x.dim() == 2 and x.shape[-1] == size else "")
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"input has an empty batch or no time steps: shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"input must be a floating-point tensor, got dtype {x.dtype}; use x.float()")
        return x

    def record(self, x: Tensor, interventions: Sequence[Intervention] | None = None) -> CellRecording:
        """Every gate and state of the recurrent layer on batch-first ``x`` ``(B, T, input_size)``, optionally under
        ``interventions`` (see :class:`lstm_viz.Intervention`)."""
        x = self.check_input(x).to(self.device)
        return self.rnn().record(x, interventions=interventions)


# --------------------------------------------------------------------------------------------------------- values
@dataclass(frozen=True)
class TaskInput:
    """One input sequence ready for ``model.record``: ``x`` is ``(1, T, input_size)`` float32 on the CPU — or, for a
    text model, ``(1, T)`` int64 token ids, one per character, with the characters in ``step_labels``."""

    x: Tensor
    text: str  # how to say it: "123 - 61", "0, 0.5, 0.25, 1", "random: 64 steps, seed 0"
    feature_names: tuple[str, ...]
    operands: tuple[int, int] | None = None  # subtraction: (a, b)
    target: float | None = None  # toy: the known answer for Company A (0) or B (1)
    step_labels: tuple[str, ...] | None = None  # one per step: a text's characters (figures label time with them)
    note: str = ""  # what a page should say about the input, e.g. that a long text was cut
    cut: bool = False  # a text that is the first part of a longer one (cut at the length limit)

    @property
    def steps(self) -> int:
        return int(self.x.shape[1])

    @property
    def source_text(self) -> str | None:
        """The text itself when the input is one (one character per step), else None."""
        return None if self.step_labels is None else "".join(self.step_labels)

    def key(self) -> str:
        """A digest of the values, for caches keyed on the input."""
        data = self.x.detach().cpu().contiguous().numpy()
        return hashlib.sha1(data.tobytes() + str(data.shape).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Answer:
    """What the model said, what was true (when known) and a one-line verdict.

    ``form`` says how to draw it: ``"bits"`` (a probability per step, with the true bits when known),
    ``"trace"`` (a prediction read off h at the last step), ``"vector"`` (an output vector), ``"next_chars"`` (the
    likeliest next characters, ``labels`` with their ``probs``) or ``"none"``.
    ``value`` is the answer as plain JSON (what ``python -m lstm_viz predict`` prints).
    """

    task: str  # the task's kind
    summary: str
    correct: bool | None = None
    prediction: float | int | None = None
    truth: float | int | None = None
    probs: list[float] = field(default_factory=list)  # bits: P(bit t = 1), LSB first
    truth_bits: list[int] = field(default_factory=list)
    outputs: list[float] = field(default_factory=list)  # vector: the output vector
    form: str = "none"
    value: Any = None
    labels: list[str] = field(default_factory=list)  # next_chars: the characters in probs; vector: the outputs' names
    headline: str = ""  # the summary without its details, short enough for a half-width chart's title ("" = summary)


@dataclass
class TaskData:
    """What a Trainer trains on: tensors (batch first), the task that scores them, and which data set it is."""

    task: Task
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor | None = None
    y_test: Tensor | None = None
    source: str = "seed"
    meta: dict[str, Any] = field(default_factory=dict)  # saved in the checkpoint's meta (e.g. a corpus manifest)

    def __post_init__(self) -> None:
        if not isinstance(self.task, Task):
            raise ValueError(f"TaskData needs a Task object (e.g. get_task('subtraction')), got {self.task!r}")
        if len(self.x_train) != len(self.y_train) or len(self.x_train) == 0:
            raise ValueError(
                f"x_train and y_train must hold the same, non-zero number of samples; "
                f"got {len(self.x_train)} and {len(self.y_train)}"
            )
        if (self.x_test is None) != (self.y_test is None):
            raise ValueError("give both x_test and y_test, or neither")

    def to(self, device: torch.device | str) -> TaskData:
        def move(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device)

        return dataclasses.replace(
            self, x_train=move(self.x_train), y_train=move(self.y_train), x_test=move(self.x_test),
            y_test=move(self.y_test),
        )  # fmt: skip

    @property
    def n_train(self) -> int:
        return len(self.x_train)


@dataclass(frozen=True)
class PlainWeights:
    """A plain state_dict as ``lstm_viz.training.state_dicts`` reads it, for the tasks to recognise.

    ``rnn`` holds the recurrent weights renamed without their prefix (``weight_ih_l0`` …), ``head`` the rest
    (``fc.weight`` …), ``options`` the recurrent layer's ModelConfig fields, ``name`` it in words.
    """

    keys: frozenset[str]
    rnn: dict[str, Tensor]
    head: dict[str, Tensor]
    options: dict[str, Any]
    name: str
    where: str  # " (under 'lstm')" or ""
    state_dict: dict[str, Tensor]

    def linear_head(self) -> tuple[str, Tensor, Tensor] | None:
        """(name, weight, bias) of the one Linear layer after the recurrent one, or None when there is none."""
        if not all("." in k for k in self.head):  # e.g. a step counter saved beside the weights
            return None
        names = {k.rsplit(".", 1)[0] for k in self.head}
        if len(names) != 1 or {k.rsplit(".", 1)[1] for k in self.head} != {"weight", "bias"}:
            return None
        name = names.pop()
        weight = self.head[f"{name}.weight"]
        return (name, weight, self.head[f"{name}.bias"]) if weight.dim() == 2 else None


@dataclass(frozen=True)
class TrainingOption:
    """A recipe setting a task adds to ``python -m lstm_viz train`` (one flag each): ``name`` is the key in the
    options dict the task's ``configure``/``training_loop`` read, ``flags`` the command line's spellings (the first
    is the main one), ``type`` reads the text (``int``, ``float``), ``default`` None means "not set"."""

    name: str
    flags: tuple[str, ...]
    type: Any
    default: Any
    help: str


class TrainingLoop:
    """What the engine needs of a task's own training loop (see ``Task.training_loop``): an optimizer (its state
    is saved and restored), ``run_block(stop)`` → one "epoch"'s metrics (``loss``, ``lr`` and more), ``finished`` when
    the loop's budget is spent, ``progress()`` → (done, total, unit) for progress bars, ``evaluate()`` → the final
    metrics, ``set_base_lr``, and ``state_dict()`` (plain values and tensors) that ``training_loop(state=…)``
    resumes from exactly."""

    optimizer: torch.optim.Optimizer
    options: dict[str, Any]
    notes: tuple[str, ...] = ()  # what to tell the user about the recipe (e.g. warm-up longer than the run)

    @property
    def finished(self) -> bool:
        raise NotImplementedError

    def run_block(self, stop: Callable[[], bool] | None = None) -> dict[str, float] | None:
        """One block's metrics; ends early, after a whole step, once ``stop()`` is true (None if before any step)."""
        raise NotImplementedError

    def progress(self) -> tuple[float, float, str]:
        raise NotImplementedError

    def evaluate(self) -> dict[str, float]:
        return {}

    def set_base_lr(self, lr: float) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError


# --------------------------------------------------------------------------------------------------------- task
def _steps_text(x: Tensor, most: int = 48) -> str:
    """How to say typed rows of vectors: ``"3 steps: 0.5, 1; 0, 0.25; 1, 1"``, cut with … after ``most`` characters."""
    rows = "; ".join(", ".join(f"{v:.4g}" for v in row) for row in x[:64].tolist())
    shown = rows if len(rows) <= most and len(x) <= 64 else rows[: most - 1].rstrip(",; ") + "…"
    return f"{len(x)} step{'s' if len(x) != 1 else ''}: {shown}"


def _starting_vectors(width: int) -> str:
    """Three time steps of ``width`` numbers, one a line: a valid input for any width (the boxes start with it)."""
    rng = np.random.default_rng(0)
    rows = rng.choice([-1.0, -0.5, 0.0, 0.25, 0.5, 1.0], size=(3, width))
    return "\n".join(", ".join(f"{v:g}" for v in row) for row in rows)


class Task:
    """One task: everything task-specific, asked by the engine, the CLI, the explorer and the pages.

    Class attributes a task sets: ``kind`` (``ModelConfig.kind``, saved in checkpoints), ``title`` and ``post``
    (the tutorial post it comes from, in words), ``model_class``, ``fixed`` and ``defaults`` (config fields),
    ``training_names`` (name → config overrides; empty when the task cannot be trained), ``presets`` (name → recipe
    dict per ``"seed"`` = the post's recipe as written and ``"fast"`` = the quicker default), ``data_sources``.
    """

    kind: ClassVar[str] = ""
    title: ClassVar[str] = ""
    post: ClassVar[str] = ""
    model_class: ClassVar[type[LSTMVizModel]]
    fixed: ClassVar[Mapping[str, Any]] = {}
    defaults: ClassVar[Mapping[str, Any]] = {}
    training_names: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    presets: ClassVar[Mapping[str, Mapping[str, Mapping[str, Any]]]] = {}
    data_sources: ClassVar[tuple[str, ...]] = ("seed",)
    fixed_steps: ClassVar[int | None] = None  # inputs always have this many steps (subtraction: 8 bits)
    default_random_length: ClassVar[int] = 64
    progress_keys: ClassVar[tuple[str, ...]] = ()  # metrics shown beside the loss in progress bars
    reads_text: ClassVar[bool] = False  # inputs are text, one step per character: pages offer the text views
    max_input_steps: ClassVar[int] = MAX_STEPS  # the longest input a page records
    training_options: ClassVar[tuple[TrainingOption, ...]] = ()  # recipe settings beyond lr, batch size, sizes

    def __repr__(self) -> str:
        return f"<task {self.kind}>"

    # ------------------------------------------------------------------------------------------------ model
    def default_config(self, **overrides: Any) -> ModelConfig:
        return ModelConfig.default(self.kind, **overrides)

    def label(self, config: ModelConfig) -> str:
        """A short human name for a model of this task, e.g. ``subtraction LSTMP(2→32→8)``."""
        return f"{self.kind} {config.cell_label()}"

    def build(self, config: ModelConfig) -> LSTMVizModel:
        """A freshly initialised model (seed torch first for a reproducible init)."""
        return self.model_class(dataclasses.replace(config))

    @property
    def trainable(self) -> bool:
        return bool(self.training_names)

    def training_name(self, config: ModelConfig) -> str:
        """The name a model of this config trains under; ValueError when the task has no training."""
        for name, overrides in self.training_names.items():
            if all(getattr(config, k) == v for k, v in overrides.items()):
                return name
        raise ValueError(f"a {config.kind!r} model has no training task; lstm-viz trains other tasks")

    def training_config(
        self, name: str, *, hidden_size: int | None, proj_size: int, num_layers: int, bidirectional: bool
    ) -> ModelConfig:
        """The model a training run of ``name`` starts from, with the size options of the CLI and the pages."""
        overrides = dict(self.training_names[name])
        options: dict[str, Any] = {"proj_size": proj_size, "num_layers": num_layers, "bidirectional": bidirectional}
        if hidden_size is not None:
            options["hidden_size"] = hidden_size
        try:
            return self.default_config(**{**options, **overrides})
        except ValueError as err:
            raise InputError(str(err)) from None

    def recipe(self, name: str, preset: str) -> dict[str, Any]:
        """The preset's training recipe (lr, batch_size, shuffle, epochs, optional betas)."""
        try:
            return dict(self.presets[name][preset])
        except KeyError:
            raise InputError(f"unknown preset {preset!r}; choose 'fast' or 'seed' (the post's recipe)") from None

    def configure(self, config: ModelConfig, options: Mapping[str, Any]) -> ModelConfig:
        """The model a training run starts from, with the task's own ``training_options`` applied (here: as is)."""
        return config

    def init_model(self, model: nn.Module, options: Mapping[str, Any]) -> None:
        """Change a freshly built model's initial weights as the options say (e.g. a forget-gate bias); here none."""

    def training_loop(
        self,
        model: nn.Module,
        data: TaskData,
        *,
        lr: float,
        batch_size: int | None,
        seed: int,
        options: Mapping[str, Any],
        state: Mapping[str, Any] | None = None,
    ) -> TrainingLoop | None:
        """The task's own training loop, or None: the engine's epochs of shuffled mini-batches (``loss``).

        ``state`` is a previous loop's ``state_dict()`` to resume from."""
        return None

    def recognise(self, weights: PlainWeights) -> tuple[ModelConfig, dict[str, Tensor], str] | None:
        """A plain state_dict of this task's model → (config, state_dict for ``build``, description), or None."""
        return None

    def describe_weights(self, model: nn.Module) -> dict[str, float] | None:
        """Named scalar weights worth printing (``python -m lstm_viz info``); None for most tasks."""
        return None

    # ------------------------------------------------------------------------------------------------- data
    def make_data(self, source: str = "seed", seed: int = 0) -> TaskData:
        raise ValueError(f"the {self.kind!r} task has no training data")

    def seed_init(self, seed: int) -> None:
        """Seed torch before the model is built, so ``seed`` gives a reproducible initialisation."""
        torch.manual_seed(seed)

    # ------------------------------------------------------------------------------------- loss and metrics
    def loss(self, model: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor | None]:
        """The batch's loss and, when the task keeps running train metrics, its predictions (detached)."""
        return F.mse_loss(model(x), y), None

    def tally(self, tallies: dict[str, Tensor], predictions: Tensor, y: Tensor) -> None:
        """Add one batch's predictions to the running train metrics (device tensors, no sync)."""

    def epoch_metrics(self, model: nn.Module, data: TaskData, tallies: dict[str, Tensor]) -> dict[str, float]:
        """The metrics of an epoch besides its loss: the running train tallies and the end-of-epoch evaluation."""
        return self.evaluate(model, data)

    def evaluate(self, model: nn.Module, data: TaskData, splits: tuple[str, ...] = ("train", "test")) -> dict:
        """The task's metrics for the current weights (called under no_grad, in eval mode)."""
        if data.x_test is not None and "test" in splits:
            return {"test_loss": float(F.mse_loss(model(data.x_test), data.y_test))}
        return {}

    def final_report(self, model: nn.Module) -> dict[str, Any]:
        """Extra checks for the CLI's final JSON line (subtraction: every pair)."""
        return {}

    # ------------------------------------------------------------------------------------------------ inputs
    def feature_names(self, config: ModelConfig) -> tuple[str, ...]:
        return ("x",) if config.input_size == 1 else tuple(f"x{k}" for k in range(config.input_size))

    def example(self, config: ModelConfig) -> str:
        """A valid input for this model, to pre-fill the text box and to quote in error messages (three steps; a
        wide input's lines are long: :func:`lstm_viz.parsing.shorten` them in a message)."""
        return _starting_vectors(config.input_size)

    def input_label(self, config: ModelConfig) -> str:
        return f"One time step per line, {config.input_size} numbers per line (or `;` between steps)"

    def multiline(self, config: ModelConfig) -> bool:
        """Whether the input box is a text area (rows of vectors) rather than one line."""
        return True

    def second_example(self, config: ModelConfig, first: TaskInput) -> str:
        """A sensible second input B for the two-input comparison: A with its middle step moved by +0.5."""
        x = first.x[0].clone()
        if x.shape[0] > 200:
            return ""
        x[x.shape[0] // 2] += 0.5
        return "\n".join(", ".join(f"{v:.4g}" for v in row) for row in x.tolist())

    def parse(self, text: str, config: ModelConfig) -> TaskInput:
        """What the user typed, read the way this model needs it (InputError with an example otherwise)."""
        x = parse_vectors(text, config.input_size)  # (T, I)
        return TaskInput(x=x.unsqueeze(0), text=_steps_text(x), feature_names=self.feature_names(config))

    def random_input(self, config: ModelConfig, length: int, generator: torch.Generator, seed: int) -> TaskInput:
        """A reproducible random input of ``length`` steps: N(0, 1) vectors here."""
        x = torch.randn(1, length, config.input_size, generator=generator)
        return TaskInput(x=x, text=f"random: {length} steps, seed {seed}", feature_names=self.feature_names(config))

    def from_values(self, x: Tensor, config: ModelConfig, text: str, names: tuple[str, ...]) -> TaskInput:
        """An input given as values (a CSV file's rows), ``x`` ``(T, input_size)``."""
        return TaskInput(x=x.unsqueeze(0), text=text, feature_names=names)

    def csv_example(self, config: ModelConfig) -> str:
        width = min(config.input_size, 6)
        more = ",…" if config.input_size > width else ""
        header = ",".join(self.feature_names(config)[:width]) + more
        rows = [",".join(f"{v:g}" for v in np.linspace(-1, 1, width) * s) + more for s in (1, 0.5)]
        return "\n".join([header, *rows])

    def input_modes(self, config: ModelConfig) -> dict[str, str]:
        """The explorer's ways to give an input, key → label: type it, a random one, a file (``csv`` or ``file``)."""
        return {"type": "Type it", "random": "Random sequence", "csv": "CSV file"}

    file_types: ClassVar[tuple[str, ...]] = ("csv", "txt")  # what the explorer's file uploader accepts

    def read_file(self, data: bytes, name: str, config: ModelConfig) -> TaskInput:
        """An uploaded file as an input (a task whose ``input_modes`` has ``"file"``); InputError when it cannot be."""
        raise InputError(f"a {self.kind!r} model reads CSV files (one row per time step)")

    def data_note(self, meta: Mapping[str, Any], current: Mapping[str, Any] | None = None) -> str:
        """What differs between the data a checkpoint was trained on (its ``meta``) and the data at hand ("" when
        nothing does, or the task cannot tell)."""
        return ""

    def input_table(self, inp: TaskInput) -> tuple[Any, str] | None:
        """How the model reads ``inp``, as a small table (a DataFrame) and a caption, when that helps; else None."""
        return None

    def encode_text(self, text: str, model: nn.Module) -> Tensor:
        """One typed input → the model's batch-first input ``(1, T, input_size)`` on the model's device."""
        return self.parse(text, model.config).x.to(next(model.parameters()).device)

    # ----------------------------------------------------------------------------------------------- answers
    @torch.no_grad()
    def run(self, model: nn.Module, x: Tensor, interventions: Sequence[Intervention] | None = None) -> Tensor:
        """``model(x)`` in eval mode (restored after), under ``interventions`` if any, on the CPU as float32."""
        was_training = model.training
        model.eval()
        try:
            x = x.to(next(model.parameters()).device)
            out = model(x, interventions=interventions) if interventions else model(x)
            return out.detach().to("cpu").float()
        finally:
            model.train(was_training)

    def answer(self, model: nn.Module, inp: TaskInput, interventions: Sequence[Intervention] | None = None) -> Answer:
        """Run ``model`` on ``inp`` (under ``interventions`` if any) and judge the answer when the truth is known. A
        bare recurrent model (an LSTM or a GRU with no task): its output at the last step, drawn as a vector."""
        out = self.run(model, inp.x, interventions)  # (1, T, D*P)
        last = [float(v) for v in out[0, -1]]
        config = getattr(model, "config", None)
        cell = config.cell_label() if isinstance(config, ModelConfig) else "model"
        summary = (f"A bare recurrent model ({cell}) has no task, so there is no answer to judge. Its output at the "
                   f"last step (t = {out.shape[1] - 1}, {len(last)} values) is drawn below.")  # fmt: skip
        labels: list[str] = []
        if isinstance(config, ModelConfig) and config.bidirectional and len(last) % 2 == 0:
            half = len(last) // 2
            labels = [f"fwd h{k}" for k in range(half)] + [f"bwd h{k}" for k in range(half)]
            summary += (" The backward direction reads the input from its end, so its half (bwd) is its state after "
                        "the last input alone; its state after the whole input is at t = 0.")  # fmt: skip
        return Answer(self.kind, summary, outputs=last, form="vector", value=last, labels=labels)

    # ------------------------------------------------------------------------------------- which units matter
    ablation_measure: ClassVar[str] = "mean |change of the output|"
    ablation_data: ClassVar[str] = "256 random sequences of 32 steps, each value drawn from N(0, 1)"  # in words

    def ablation_inputs(self, config: ModelConfig, source: str = "probe") -> tuple[Tensor, dict[str, Tensor]]:
        """Inputs for a which-units-matter sweep ``(N, T, I)`` and named groups of them (``(N,)`` bool masks)."""
        return self.probe_batch(config), {}

    def answer_change(self, before: Tensor, after: Tensor) -> Tensor:
        """How far each input's answer moved under an ablation, ``(N,)``: here the mean |change| of the output."""
        return (after - before).abs().reshape(len(before), -1).mean(1)

    # ------------------------------------------------------------------------------------------------ probes
    def probe_batch(self, config: ModelConfig, n: int = 256, seed: int = 0, length: int = 32) -> Tensor:
        """A batch of task samples to measure gate saturation on, ``(n', T, input_size)``: N(0, 1) sequences."""
        gen = torch.Generator().manual_seed(seed)
        return torch.randn(n, length, config.input_size, generator=gen)

    def check_length(self, length: object) -> int:
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= MAX_STEPS:
            raise InputError(f"The length must be a whole number from 1 to {MAX_STEPS:,}, got {length!r}. Example: 64")
        return length
