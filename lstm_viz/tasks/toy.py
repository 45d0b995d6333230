"""Post 000's toy task (StatQuest): two companies' four-day prices, predict day 5 (A → 0, B → 1).

Two tasks share the data, the inputs and the answer: ``STATQUEST``, the one-unit LSTM written by hand with twelve
named scalars, and ``TOY_LSTM``, the same task with ``nn.LSTM(1, 1)`` (prediction = the last output).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from lstm_viz.core.device import seeded
from lstm_viz.core.interventions import Intervention, LayerPlan, plan, run_lstm_layer
from lstm_viz.core.lstm import RecordingLSTM
from lstm_viz.core.recording import Recording
from lstm_viz.parsing import TOY_EXAMPLE, InputError, fixed, parse_toy_sequence
from lstm_viz.tasks.base import Answer, LSTMVizModel, PlainWeights, Task, TaskData, TaskInput, make_rnn
from lstm_viz.tasks.config import ModelConfig

__all__ = [
    "COMPANY_A",
    "COMPANY_B",
    "LABELS",
    "STATQUEST",
    "STATQUEST_NAMES",
    "TOLERANCE",
    "TOY_LSTM",
    "StatQuestLSTM",
    "ToyLSTM",
    "ToyTask",
    "build_statquest",
    "build_toy_lstm",
    "dataset",
    "is_converged",
    "predict",
    "predict_companies",
    "to_input",
]

# The twelve scalars of post 0, grouped per gate as (weight on h, weight on x, bias).
STATQUEST_NAMES: tuple[str, ...] = (
    "wlr1", "wlr2", "blr1",  # forget gate f   ("long-term remember %")
    "wpr1", "wpr2", "bpr1",  # input gate i    ("potential remember %")
    "wp1", "wp2", "bp1",     # candidate g     ("potential memory", tanh)
    "wo1", "wo2", "bo1",     # output gate o   ("output %")
)  # fmt: skip
# The same scalars in PyTorch's storage order i, f, g, o: (weight on h, weight on x, bias) per gate.
_STATQUEST_IFGO: tuple[tuple[str, str, str], ...] = (
    ("wpr1", "wpr2", "bpr1"),
    ("wlr1", "wlr2", "blr1"),
    ("wp1", "wp2", "bp1"),
    ("wo1", "wo2", "bo1"),
)

COMPANY_A: tuple[float, ...] = (0.0, 0.5, 0.25, 1.0)  # observed day 5: 0
COMPANY_B: tuple[float, ...] = (1.0, 0.5, 0.25, 1.0)  # observed day 5: 1
LABELS: tuple[float, float] = (0.0, 1.0)  # label of A, label of B
TOLERANCE = 0.05  # "trained": |pred(A) - 0| < 0.05 and |pred(B) - 1| < 0.05


def dataset(device: torch.device | str | None = None) -> tuple[Tensor, Tensor]:
    """``x`` ``(2, 4, 1)`` (A then B, batch first) and ``y`` ``(2,)`` = ``[0, 1]``."""
    x = torch.tensor([COMPANY_A, COMPANY_B], dtype=torch.float32, device=device).unsqueeze(-1)
    y = torch.tensor(LABELS, dtype=torch.float32, device=device)
    return x, y


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


# ----------------------------------------------------------------------------------------------------------- models
class StatQuestLSTM(LSTMVizModel):
    """Post 0's LSTM by hand: one unit, twelve named scalars, c and h start at 0.

    The gates, exactly as in the post (h = short memory, c = long memory)::

        f = σ(h·wlr1 + x·wlr2 + blr1)      i = σ(h·wpr1 + x·wpr2 + bpr1)
        g = tanh(h·wp1 + x·wp2 + bp1)      o = σ(h·wo1 + x·wo2 + bo1)
        c = f·c + i·g                      h = o·tanh(c)

    Weights are drawn from N(0, 1) in the post's order, biases start at 0. The model equals an
    ``nn.LSTM(1, 1)`` with ``weight_ih = [wpr2, wlr2, wp2, wo2]``, ``weight_hh = [wpr1, wlr1, wp1, wo1]``,
    ``bias_ih = [bpr1, blr1, bp1, bo1]`` and ``bias_hh = 0`` (i, f, g, o order): see :meth:`lstm_state_dict`
    and :meth:`to_lstm`.
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__(config or STATQUEST.default_config())
        mean, std = torch.tensor(0.0), torch.tensor(1.0)
        for name in STATQUEST_NAMES:  # same draw order as the post: wlr1, wlr2, wpr1, wpr2, wp1, wp2, wo1, wo2
            value = torch.tensor(0.0) if name.startswith("b") else torch.normal(mean=mean, std=std)
            setattr(self, name, nn.Parameter(value))

    def named_weights(self) -> dict[str, float]:
        """The twelve scalars by name, in the post's order (forget, input, candidate, output)."""
        return {name: float(getattr(self, name).detach()) for name in STATQUEST_NAMES}

    def set_weights(self, values: dict[str, float]) -> None:
        """Overwrite some or all of the twelve scalars, e.g. ``set_weights({"wlr1": 2.7})``."""
        unknown = sorted(set(values) - set(STATQUEST_NAMES))
        if unknown:
            raise ValueError(f"unknown StatQuest parameter(s) {unknown}; the names are {', '.join(STATQUEST_NAMES)}")
        with torch.no_grad():
            for name, value in values.items():
                value = float(value)
                if not math.isfinite(value):
                    raise ValueError(f"{name} must be a finite number, got {value}")
                getattr(self, name).fill_(value)

    def _stacked(self) -> tuple[Tensor, Tensor, Tensor]:
        """(w_x, w_h, b), each (4,) in storage order i, f, g, o; differentiable w.r.t. the twelve scalars."""
        w_h, w_x, b = (torch.stack([getattr(self, gate[k]) for gate in _STATQUEST_IFGO]) for k in range(3))
        return w_x, w_h, b

    def lstm_state_dict(self) -> dict[str, Tensor]:
        """The twelve scalars as an ``nn.LSTM(1, 1)`` state_dict (detached copies)."""
        w_x, w_h, b = (t.detach().clone() for t in self._stacked())
        return {
            "weight_ih_l0": w_x.view(4, 1),
            "weight_hh_l0": w_h.view(4, 1),
            "bias_ih_l0": b,
            "bias_hh_l0": torch.zeros_like(b),
        }

    def to_lstm(self) -> RecordingLSTM:
        """A RecordingLSTM(1, 1, batch_first=True) holding the twelve values; same outputs as this model."""
        lstm = RecordingLSTM(1, 1, batch_first=True).to(self.device)
        lstm.load_state_dict(self.lstm_state_dict())
        return lstm.eval()

    def unroll(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """All h and c over time, ``(B, T)`` each, computed with the post's equations."""
        x = self.check_input(x)
        w_x, w_h, b = self._stacked()
        B, T, _ = x.shape
        c = x.new_zeros(B, 1)  # long memory
        h = x.new_zeros(B, 1)  # short memory
        hs, cs = [], []
        for t in range(T):
            pre = x[:, t] * w_x + h * w_h + b  # (B, 4): i, f, g, o pre-activations
            i, f, o = torch.sigmoid(pre[:, 0:1]), torch.sigmoid(pre[:, 1:2]), torch.sigmoid(pre[:, 3:4])
            g = torch.tanh(pre[:, 2:3])
            c = f * c + i * g
            h = o * torch.tanh(c)
            hs.append(h)
            cs.append(c)
        return torch.cat(hs, 1), torch.cat(cs, 1)

    def forward(self, x: Tensor, interventions: Sequence[Intervention] | None = None) -> Tensor:
        """``(B, T, 1)`` → the last short memory h, ``(B,)`` — the prediction.

        Computes exactly :meth:`unroll`'s equations, with the twelve scalars stacked into nn.LSTM's weight
        layout and run through PyTorch's fused LSTM kernel (about twice as fast to train; tested equal). Under
        ``interventions`` the equations run step by step with the replacements, still differentiable w.r.t. the
        twelve scalars.
        """
        x = self.check_input(x)
        w_x, w_h, b = self._stacked()
        if interventions:
            steps = run_lstm_layer(x.transpose(0, 1), x.new_zeros(x.shape[0], 1), x.new_zeros(x.shape[0], 1),
                                   w_x.view(4, 1), w_h.view(4, 1), b, torch.zeros_like(b), None,
                                   _statquest_plan(interventions, x))  # fmt: skip
            return steps["h"][-1, :, 0]
        zeros = x.new_zeros(1, x.shape[0], 1)  # c and h start at 0
        # One buffer laid out as nn.LSTM's flattened weights (W_ih, W_hh, b_ih, b_hh, one after another): cuDNN then
        # takes it as it is, instead of warning once per process that the weights are not one contiguous chunk.
        flat = torch.cat([w_x, w_h, b, torch.zeros_like(b)])
        weights = [flat[0:4].view(4, 1), flat[4:8].view(4, 1), flat[8:12], flat[12:16]]
        out, _, _ = torch._VF.lstm(x, (zeros, zeros), weights, True, 1, 0.0, self.training, False, True)
        return out[:, -1, 0]

    def rnn(self) -> RecordingLSTM:
        """The equivalent RecordingLSTM(1, 1, batch_first=True), holding copies of the twelve values."""
        return self.to_lstm()

    def head(self, rnn_out: Tensor) -> Tensor:
        """``(B, T, 1)`` → ``(B,)``: the last short memory h is the prediction."""
        return rnn_out[:, -1, 0]

    def record(self, x: Tensor, interventions: Sequence[Intervention] | None = None) -> Recording:
        """Record f, i, g, o, c, h through the equivalent RecordingLSTM(1, 1) (under ``interventions``)."""
        x = self.check_input(x).to(self.device)
        return self.to_lstm().record(x, interventions=interventions)


class ToyLSTM(LSTMVizModel):
    """Post 0's ``nn.LSTM(input_size=1, hidden_size=1)``; the prediction is the last output."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__(config or TOY_LSTM.default_config())
        self.lstm = make_rnn(self.config)

    def forward(self, x: Tensor, interventions: Sequence[Intervention] | None = None) -> Tensor:
        """``(B, T, 1)`` → last output ``(B,)`` (under ``interventions``)."""
        return self.head(self.rnn_output(x, interventions))

    def head(self, rnn_out: Tensor) -> Tensor:
        """``(B, T, 1)`` → ``(B,)``: the last output is the prediction."""
        return rnn_out[:, -1, 0]

# ----------------------------------------------------------------------------------------------------------- tasks
_SECOND_EXAMPLE = "1, 0.5, 0.25, 1"  # Company B: one price apart from A


class ToyTask(Task):
    """Post 000's task for either toy model: the companies, their prices as input, the last h as the prediction."""

    post: ClassVar[str] = "post 0: the StatQuest LSTM, by hand and with nn.LSTM"
    default_random_length: ClassVar[int] = 4
    progress_keys: ClassVar[tuple[str, ...]] = ("out_0", "out_1")

    def make_data(self, source: str = "seed", seed: int = 0) -> TaskData:
        x, y = dataset()
        return TaskData(self, x, y, source="seed")

    def evaluate(self, model: nn.Module, data: TaskData, splits: tuple[str, ...] = ("train", "test")) -> dict:
        out = model(data.x_train)
        return {f"out_{int(label)}": float(out[k]) for k, label in enumerate(data.y_train.tolist())}

    # ---- inputs
    def feature_names(self, config: ModelConfig) -> tuple[str, ...]:
        return ("x",)

    def example(self, config: ModelConfig) -> str:
        return TOY_EXAMPLE

    def input_label(self, config: ModelConfig) -> str:
        return "A sequence of prices, e.g. Company A `0, 0.5, 0.25, 1`"

    def multiline(self, config: ModelConfig) -> bool:
        return False

    def second_example(self, config: ModelConfig, first: TaskInput) -> str:
        return _SECOND_EXAMPLE

    def parse(self, text: str, config: ModelConfig) -> TaskInput:
        values = parse_toy_sequence(text)  # (T,)
        shown = ", ".join(f"{v:g}" for v in values.tolist()[:12]) + (" …" if len(values) > 12 else "")
        return TaskInput(x=values.view(1, -1, 1), text=shown, feature_names=("x",), target=_known_target(values))

    def random_input(self, config: ModelConfig, length: int, generator: torch.Generator, seed: int) -> TaskInput:
        x = torch.rand(1, length, 1, generator=generator)  # prices in [0, 1]
        return TaskInput(x=x, text=f"random: {length} steps, seed {seed}", feature_names=("x",))

    def from_values(self, x: Tensor, config: ModelConfig, text: str, names: tuple[str, ...]) -> TaskInput:
        return TaskInput(x=x.unsqueeze(0), text=text, feature_names=names, target=_known_target(x))

    def csv_example(self, config: ModelConfig) -> str:
        return "x\n0\n0.5\n0.25\n1"

    def encode_text(self, text: str, model: nn.Module) -> Tensor:
        return to_input(text, next(model.parameters()).device)

    # ---- answers
    def answer(self, model: nn.Module, inp: TaskInput, interventions: Sequence[Intervention] | None = None) -> Answer:
        pred = float(self.run(model, inp.x, interventions).view(-1)[0])
        if inp.target is None:
            return Answer(self.kind, f"Prediction {fixed(pred)} (no known answer for this sequence)", None, pred,
                          form="trace", value=pred)  # fmt: skip
        ok = abs(pred - inp.target) < TOLERANCE
        name = "Company A" if inp.target == LABELS[0] else "Company B"
        verdict = f"{name} → {fixed(pred)} (target {inp.target:g}): {'right' if ok else 'wrong'}"
        return Answer(
            self.kind,
            f"Prediction {fixed(pred)} for {name} (target {inp.target:g}): {'right' if ok else 'wrong'} "
            f"({'within' if ok else 'outside'} ±{TOLERANCE:g})",
            ok, pred, inp.target, form="trace", value=pred, headline=verdict,
        )  # fmt: skip

    ablation_measure: ClassVar[str] = "|change of the prediction|"
    ablation_data: ClassVar[str] = "the two companies' four days"

    def ablation_inputs(self, config: ModelConfig, source: str = "probe") -> tuple[Tensor, dict[str, Tensor]]:
        x, _ = dataset()
        return x, {"Company A": torch.tensor([True, False]), "Company B": torch.tensor([False, True])}

    def probe_batch(self, config: ModelConfig, n: int = 256, seed: int = 0, length: int = 32) -> Tensor:
        return dataset()[0]  # the two companies


class StatQuestTask(ToyTask):
    kind: ClassVar[str] = "statquest"
    title: ClassVar[str] = "StatQuest LSTM by hand"
    model_class: ClassVar[type[LSTMVizModel]] = StatQuestLSTM
    fixed: ClassVar[dict[str, Any]] = dict(
        input_size=1, hidden_size=1, num_layers=1, proj_size=0, bidirectional=False, cell="lstm", output_size=1,
        dropout=0.0, bias=True,
    )  # fmt: skip
    training_names: ClassVar[dict[str, dict[str, Any]]] = {"toy-statquest": {}}
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        "toy-statquest": {
            "seed": dict(lr=0.001, batch_size=1, shuffle=False, epochs=5000),  # Lightning, Adam(), batch 1
            # Full batch, Adam lr 0.1 with betas (0.9, 0.9): every one of 32 init seeds tried converges within 216
            # epochs (median ~100) and stays converged; the default betas needed up to 1,342.
            "fast": dict(lr=0.1, batch_size=None, shuffle=False, epochs=500, betas=(0.9, 0.9)),
        }
    }

    def label(self, config: ModelConfig) -> str:
        return "StatQuest LSTM by hand"

    def training_config(
        self, name: str, *, hidden_size: int | None, proj_size: int, num_layers: int, bidirectional: bool
    ) -> ModelConfig:
        if proj_size or (hidden_size not in (None, 1)) or num_layers != 1 or bidirectional:
            raise InputError("the StatQuest LSTM has one unit and twelve fixed parameters; it takes no size options")
        return self.default_config()

    def recognise(self, weights: PlainWeights) -> tuple[ModelConfig, dict[str, Tensor], str] | None:
        if weights.keys != frozenset(STATQUEST_NAMES):
            return None
        if any(v.numel() != 1 for v in weights.state_dict.values()):
            raise ValueError("the StatQuest parameters must be twelve scalars")
        sd = {k: v.reshape(()) for k, v in weights.state_dict.items()}
        return self.default_config(), sd, "the twelve StatQuest scalars (post 0's LSTM by hand)"

    def describe_weights(self, model: nn.Module) -> dict[str, float] | None:
        return model.named_weights()


class ToyLSTMTask(ToyTask):
    kind: ClassVar[str] = "toy_lstm"
    title: ClassVar[str] = "toy nn.LSTM(1, 1)"
    model_class: ClassVar[type[LSTMVizModel]] = ToyLSTM
    fixed: ClassVar[dict[str, Any]] = dict(
        input_size=1, hidden_size=1, proj_size=0, bidirectional=False, cell="lstm", output_size=1
    )
    training_names: ClassVar[dict[str, dict[str, Any]]] = {"toy-lstm": {}}
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        "toy-lstm": {
            "seed": dict(lr=0.1, batch_size=1, shuffle=False, epochs=300),
            "fast": dict(lr=0.1, batch_size=None, shuffle=False, epochs=300),
        }
    }

    def label(self, config: ModelConfig) -> str:
        return f"toy {config.cell_label()}"

    def training_config(
        self, name: str, *, hidden_size: int | None, proj_size: int, num_layers: int, bidirectional: bool
    ) -> ModelConfig:
        if proj_size or (hidden_size not in (None, 1)) or bidirectional:
            raise InputError("the toy LSTM is nn.LSTM(1, 1); only --num-layers can change")
        return self.default_config(num_layers=num_layers)

    def recognise(self, weights: PlainWeights) -> tuple[ModelConfig, dict[str, Tensor], str] | None:
        o = weights.options
        if weights.head or o["cell"] != "lstm" or o["input_size"] != 1 or (o["proj_size"] or o["hidden_size"]) != 1:
            return None
        if o["bidirectional"] or not o["bias"]:
            return None
        config = self.default_config(num_layers=o["num_layers"])
        renamed = {f"lstm.{k}": v for k, v in weights.rnn.items()}
        what = f"a plain {weights.name}{weights.where}, read as post 0's toy LSTM (prediction = last output)"
        return config, renamed, what


STATQUEST = StatQuestTask()
TOY_LSTM = ToyLSTMTask()


def build_statquest(seed: int | None = None, device: torch.device | str | None = None) -> StatQuestLSTM:
    """The by-hand LSTM with the post's init (weights N(0, 1), biases 0); ``seed`` makes the draw reproducible."""
    with seeded(seed):
        model = StatQuestLSTM()
    return model.to(device) if device is not None else model


def build_toy_lstm(seed: int | None = None, device: torch.device | str | None = None) -> ToyLSTM:
    """``nn.LSTM(1, 1)`` with PyTorch's default init (prediction = last output)."""
    with seeded(seed):
        model = ToyLSTM()
    return model.to(device) if device is not None else model


def _statquest_plan(interventions: Sequence[Intervention], x: Tensor) -> LayerPlan | None:
    """The one-unit model's interventions as the plan of its only layer (checked like a RecordingLSTM(1, 1)'s)."""
    plans = plan(interventions, num_layers=1, num_directions=1, seq_len=x.shape[1], batch=x.shape[0],
                 sizes=dict.fromkeys(("f", "i", "g", "o", "c", "h"), 1), device=x.device, dtype=x.dtype)  # fmt: skip
    return plans.get((0, 0))


def _known_target(values: Tensor) -> float | None:
    """0 or 1 when the sequence is Company A's or B's four prices, else None."""
    seq = tuple(float(v) for v in values.view(-1))
    for company, label in zip((COMPANY_A, COMPANY_B), LABELS, strict=True):
        if len(seq) == len(company) and np.allclose(seq, company):
            return float(label)
    return None
