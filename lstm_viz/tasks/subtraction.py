"""Post 4's task: 8-bit binary subtraction a − b, bits least-significant first (data, model, inputs, answers).

Two data sets:

- ``seed``: the post's generator reproduced exactly — ``SEED = 822``, ``a = randint(2, 255)``,
  ``b = randint(1, a)``, kept only when the *decimal* digit-wise subtraction needs a borrow, 10,000 samples,
  then the post's 90/10 ``random_split`` (same torch seed state, hence the same test samples).
- ``all``: every pair 0 ≤ b ≤ a ≤ 255 (32,896 pairs) split 90/10 — what a model must master to answer any
  question a user types.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lstm_viz.core.interventions import Intervention
from lstm_viz.parsing import SUBTRACTION_EXAMPLE, InputError, parse_subtraction
from lstm_viz.tasks.base import Answer, LSTMVizModel, PlainWeights, Task, TaskData, TaskInput, make_rnn
from lstm_viz.tasks.config import ModelConfig

__all__ = [
    "BITS",
    "DATA_LABELS",
    "DATA_SOURCES",
    "MAX_INT",
    "N_SAMPLES",
    "SEED",
    "SUBTRACTION",
    "BitSubtractor",
    "SubtractionData",
    "SubtractionTask",
    "all_pairs",
    "bit_table",
    "bits_named",
    "bits_right",
    "dataset_preview",
    "decode",
    "decode_batch",
    "encode",
    "encode_batch",
    "evaluate",
    "evaluate_all_pairs",
    "load_data",
    "model_config",
    "predict",
    "predict_many",
    "requires_borrow",
    "seed_pairs",
    "seed_split_indices",
]

SEED = 822
N_SAMPLES = 10_000
BITS = 8
MAX_INT = 2**BITS - 1  # 255
TRAIN_FRACTION = 0.9
DATA_SOURCES: tuple[str, ...] = ("seed", "all")
DATA_LABELS = {"seed": "post 4's 10,000 samples", "all": "every pair 0 ≤ b ≤ a ≤ 255"}  # each source in words
_WEIGHTS = 2 ** torch.arange(BITS)  # bit k (LSB first) is worth 2**k


def requires_borrow(a: int, b: int) -> bool:
    """True when the *decimal* digit-wise subtraction a − b borrows somewhere (the post's filter)."""
    a_str = str(a)[::-1]  # lowest digit first
    b_str = str(b)[::-1]
    for k in range(len(b_str)):
        a_digit = int(a_str[k]) if k < len(a_str) else 0
        if a_digit < int(b_str[k]):
            return True
    return False


@functools.cache
def seed_pairs(seed: int = SEED, n: int = N_SAMPLES) -> tuple[tuple[int, int], ...]:
    """The post's ``n`` (a, b) pairs, in order: the same ``np.random`` call sequence after ``seed(822)``."""
    rng = np.random.RandomState(seed)  # the legacy global generator np.random.seed() seeds
    pairs: list[tuple[int, int]] = []
    while len(pairs) < n:
        a = int(rng.randint(2, MAX_INT))  # 2..254
        b = int(rng.randint(1, a))  # 1..a-1
        if requires_borrow(a, b):
            pairs.append((a, b))
    return tuple(pairs)


def seed_split_indices(n: int = N_SAMPLES, seed: int = SEED) -> tuple[list[int], list[int]]:
    """Train and test indices of the post's ``random_split(dataset, [0.9 n, 0.1 n])`` right after
    ``torch.manual_seed(822)`` (a fresh generator with that seed draws the same permutation)."""
    train_size = int(TRAIN_FRACTION * n)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return perm[:train_size], perm[train_size:]


@functools.cache
def all_pairs() -> Tensor:
    """Every ``(a, b)`` with 0 ≤ b ≤ a ≤ 255, shape ``(32896, 2)``, int64, ordered by a then b."""
    a, b = torch.tril_indices(MAX_INT + 1, MAX_INT + 1)
    return torch.stack([a, b], dim=1)


def _check_operands(a: Tensor, b: Tensor) -> None:
    if ((a < 0) | (a > MAX_INT) | (b < 0) | (b > a)).any():
        bad = int(torch.nonzero((a < 0) | (a > MAX_INT) | (b < 0) | (b > a))[0, 0])
        raise InputError(
            f"{int(a.view(-1)[bad])} - {int(b.view(-1)[bad])} is out of range: need 0 ≤ b ≤ a ≤ {MAX_INT}. "
            "Example: 123 - 61"
        )


def bits(n: Tensor) -> Tensor:
    """Integers ``(N,)`` → their 8 bits LSB first ``(N, 8)``, float32."""
    return ((n.long().unsqueeze(-1) >> torch.arange(BITS, device=n.device)) & 1).float()


def encode_batch(a: Tensor | Sequence[int], b: Tensor | Sequence[int]) -> Tensor:
    """``(N,)`` operands → model input ``(N, 8, 2)``: step t holds (bit t of a, bit t of b), LSB first."""
    a_t, b_t = torch.as_tensor(a).long().view(-1), torch.as_tensor(b).long().view(-1)
    if a_t.shape != b_t.shape:
        raise ValueError(f"a and b must have the same length, got {tuple(a_t.shape)} and {tuple(b_t.shape)}")
    _check_operands(a_t, b_t)
    return torch.stack([bits(a_t), bits(b_t)], dim=-1)


def encode(a: int, b: int) -> Tensor:
    """``(a, b)`` → ``(8, 2)`` float tensor of bit pairs, LSB first (the post's ``x``)."""
    return encode_batch([a], [b])[0]


def targets(a: Tensor | Sequence[int], b: Tensor | Sequence[int]) -> Tensor:
    """``(N,)`` operands → the bits of ``a − b``, ``(N, 8)`` LSB first (the post's ``y``)."""
    a_t, b_t = torch.as_tensor(a).long().view(-1), torch.as_tensor(b).long().view(-1)
    _check_operands(a_t, b_t)
    return bits(a_t - b_t)


def decode_batch(bits_or_probs: Tensor) -> Tensor:
    """``(N, 8)`` bits or probabilities, LSB first → ``(N,)`` int64 (a probability ≥ 0.5 counts as 1)."""
    if bits_or_probs.dim() != 2 or bits_or_probs.shape[-1] != BITS:
        raise ValueError(f"expected shape (N, {BITS}) of bits LSB first, got {tuple(bits_or_probs.shape)}")
    hard = (bits_or_probs >= 0.5).long()
    return (hard * _WEIGHTS.to(hard.device)).sum(-1)


def decode(bits_or_probs: Tensor | Sequence[float]) -> int:
    """8 bits or bit probabilities, LSB first → the integer (``[0, 1, 1, 1, 1, 1, 0, 0]`` → 62)."""
    t = torch.as_tensor(bits_or_probs, dtype=torch.float32).detach()
    if t.dim() == 2 and t.shape[-1] == 1:
        t = t.view(-1)
    if t.dim() != 1 or t.numel() != BITS:
        raise ValueError(f"expected {BITS} bits (LSB first), got shape {tuple(t.shape)}")
    return int(decode_batch(t.view(1, BITS))[0])


@dataclass
class SubtractionData:
    """Train/test tensors of one data source, all on one device.

    ``x_*``: ``(N, 8, 2)`` float32 bit pairs; ``y_*``: ``(N, 8)`` float32 bits of a − b; ``pairs_*``: ``(N, 2)``
    int64 ``(a, b)``. ``source`` is ``"seed"`` or ``"all"``.
    """

    source: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    pairs_train: Tensor
    pairs_test: Tensor

    def to(self, device: torch.device | str) -> SubtractionData:
        moved = {k: getattr(self, k).to(device) for k in self.__dataclass_fields__ if k != "source"}
        return SubtractionData(source=self.source, **moved)

    def __len__(self) -> int:
        return len(self.x_train) + len(self.x_test)


def _from_pairs(source: str, train: Tensor, test: Tensor) -> SubtractionData:
    return SubtractionData(
        source=source,
        x_train=encode_batch(train[:, 0], train[:, 1]),
        y_train=targets(train[:, 0], train[:, 1]),
        x_test=encode_batch(test[:, 0], test[:, 1]),
        y_test=targets(test[:, 0], test[:, 1]),
        pairs_train=train.clone(),
        pairs_test=test.clone(),
    )


@functools.cache
def _cached_data(source: str, split_seed: int) -> SubtractionData:
    if source == "seed":
        pairs = torch.tensor(seed_pairs(), dtype=torch.long)
        train_idx, test_idx = seed_split_indices(len(pairs), split_seed)
        return _from_pairs("seed", pairs[train_idx], pairs[test_idx])
    pairs = all_pairs()
    perm = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(split_seed))
    n_train = int(TRAIN_FRACTION * len(pairs))
    return _from_pairs("all", pairs[perm[:n_train]], pairs[perm[n_train:]])


def load_data(
    source: str = "seed", device: torch.device | str | None = None, split_seed: int = SEED
) -> SubtractionData:
    """The ``seed`` data (the post's 9,000/1,000 split) or ``all`` pairs (29,606/3,290), on ``device``."""
    if source not in DATA_SOURCES:
        raise ValueError(f"unknown subtraction data {source!r}; choose 'seed' (the post's) or 'all' (every pair)")
    data = _cached_data(source, split_seed)
    return data.to(device) if device is not None else data


def model_config(
    hidden_size: int = 32,
    proj_size: int = 0,
    cell: str = "lstm",
    num_layers: int = 1,
    bidirectional: bool = False,
) -> ModelConfig:
    """The post's ``LSTM(2, 32) → Linear(32, 1) → sigmoid`` (``proj_size`` > 0: LSTMP; ``cell="gru"``: GRU)."""
    return SUBTRACTION.default_config(
        hidden_size=hidden_size,
        proj_size=proj_size,
        cell=cell,
        num_layers=num_layers,
        bidirectional=bidirectional,
    )


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def predict_probs(model: nn.Module, x: Tensor) -> Tensor:
    """Bit probabilities ``(N, 8)`` for inputs ``(N, 8, 2)``, in eval mode (the mode is restored after), without
    building an autograd graph."""
    was_training = model.training
    model.eval()
    try:
        return model(x.to(_device_of(model)))
    finally:
        model.train(was_training)


def bits_right(probs: Tensor, y: Tensor) -> Tensor:
    """``(N, 8)`` booleans: where the predicted bit (probability ≥ 0.5) equals the target bit. The one rule for
    "right" — evaluation, the exhaustive check and the engine's running train metrics all use it."""
    return (probs >= 0.5) == (y.to(probs.device) >= 0.5)


def evaluate(model: nn.Module, x: Tensor, y: Tensor) -> dict[str, float]:
    """``{"bit_acc", "exact_match"}`` in [0, 1]: share of right bits, share of samples with all 8 bits right."""
    right = bits_right(predict_probs(model, x), y)
    # counted, then divided in Python: a float32 mean on a GPU multiplies by 1/N and can give 0.99999994 for "all"
    return {"bit_acc": int(right.sum()) / right.numel(), "exact_match": int(right.all(-1).sum()) / len(right)}


def evaluate_all_pairs(model: nn.Module, batch_size: int = 8192) -> dict[str, object]:
    """Exhaustive check over every 0 ≤ b ≤ a ≤ 255: ``{"exact_match", "bit_acc", "n", "wrong"}``,
    ``wrong`` listing up to 20 ``(a, b, predicted)`` mistakes."""
    pairs = all_pairs()
    device = _device_of(model)
    right_bits = 0
    wrong: list[tuple[int, int, int]] = []
    n_wrong = 0
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        probs = predict_probs(model, encode_batch(chunk[:, 0], chunk[:, 1]).to(device)).cpu()
        truth = targets(chunk[:, 0], chunk[:, 1])
        right = bits_right(probs, truth)
        right_bits += int(right.sum())
        bad = (~right.all(-1)).nonzero().view(-1)
        n_wrong += len(bad)
        predicted = decode_batch(probs)
        for k in bad[: max(0, 20 - len(wrong))].tolist():
            wrong.append((int(chunk[k, 0]), int(chunk[k, 1]), int(predicted[k])))
    n = len(pairs)
    return {"exact_match": 1 - n_wrong / n, "bit_acc": right_bits / (n * BITS), "n": n, "wrong": wrong}


def predict_many(model: nn.Module, pairs: Sequence[tuple[int, int]]) -> list[int]:
    """Decoded ``a − b`` for each ``(a, b)``, in one batch."""
    if not pairs:
        return []
    a, b = zip(*pairs, strict=True)
    return decode_batch(predict_probs(model, encode_batch(list(a), list(b)))).tolist()


def predict(model: nn.Module, a: int | str, b: int | None = None) -> int:
    """The model's answer to ``a − b``; ``predict(model, "123 - 61")`` parses the text first."""
    if isinstance(a, str):
        if b is not None:
            raise TypeError("pass either the text 'a - b' or two integers, not both")
        a, b = parse_subtraction(a)
    if b is None:
        raise TypeError("predict needs both a and b (or a text like '123 - 61')")
    return predict_many(model, [(int(a), int(b))])[0]


# ----------------------------------------------------------------------------------------------------------- model
class BitSubtractor(LSTMVizModel):
    """Post 4's ``LSTMSubtractor``: recurrent layer → ``Linear(·, 1)`` → sigmoid, one probability per bit.

    Same attribute names as the post (``lstm``, ``fc``), so the post's saved state_dict loads as is.
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__(config or SUBTRACTION.default_config())
        c = self.config
        setattr(self, c.cell, make_rnn(c))
        self.fc = nn.Linear(c.num_directions * c.real_hidden_size, 1)

    def logits(self, x: Tensor, interventions: Sequence[Intervention] | None = None) -> Tensor:
        """``(B, T, 2)`` bit pairs (LSB first) → ``(B, T)`` logits of the difference's bits."""
        return self.fc(self.rnn_output(x, interventions)).squeeze(-1)  # (B, T, D*P) → (B, T)

    def forward(self, x: Tensor, interventions: Sequence[Intervention] | None = None) -> Tensor:
        """``(B, T, 2)`` → ``(B, T)`` probability that each bit of ``a - b`` is 1 (under ``interventions``)."""
        return self.head(self.rnn_output(x, interventions))

    def head(self, rnn_out: Tensor) -> Tensor:
        """``(B, T, D*P)`` → ``(B, T)`` bit probabilities: Linear, then sigmoid."""
        return torch.sigmoid(self.fc(rnn_out).squeeze(-1))


def bit_table(a: int, b: int) -> pd.DataFrame:
    """``a``, ``b`` and ``a − b`` as their 8 bits, LSB first (columns t0 … t7 = the time steps the model reads)."""
    rows = {
        f"a = {a}": bits(torch.tensor([a]))[0],
        f"b = {b}": bits(torch.tensor([b]))[0],
        f"a − b = {a - b}": bits(torch.tensor([a - b]))[0],
    }
    frame = pd.DataFrame({k: v.int().tolist() for k, v in rows.items()}).T
    frame.columns = [f"t{t} (2^{t})" for t in range(BITS)]
    return frame


def dataset_preview(pairs: torch.Tensor, n: int = 8) -> pd.DataFrame:
    """The first ``n`` samples of a split as rows ``a - b = c`` with the bits the model reads (LSB first).

    ``pairs`` is ``(N, 2)`` integer ``(a, b)`` as ``SubtractionData.pairs_train`` holds.
    """
    def lsb_first(v: int) -> str:
        return " ".join(str((v >> t) & 1) for t in range(BITS))

    rows = []
    for a, b in pairs[:n].tolist():
        c = a - b
        rows.append({"sample": f"{a} - {b} = {c}", "a bits (t0…t7)": lsb_first(a), "b bits (t0…t7)": lsb_first(b),
                     "c bits (t0…t7)": lsb_first(c)})  # fmt: skip
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------------------- task
_SECOND_EXAMPLE = "123 - 60"  # one bit of b apart from the default "123 - 61"
_RECIPES = {
    "seed": dict(lr=0.01, batch_size=128, shuffle="dataloader", epochs=100),  # the post's DataLoader's batches
    "fast": dict(lr=0.01, batch_size=128, shuffle=True, epochs=20),
}


def operands_from_bits(x: Tensor) -> tuple[int, int] | None:
    """(a, b) when ``x`` ``(1, T, 2)`` is exactly 8 steps of 0/1 bit pairs with b ≤ a, else None."""
    if x.shape[1] != BITS or not bool(((x == 0) | (x == 1)).all()):
        return None
    a, b = (int((x[0, :, k].long() * _WEIGHTS).sum()) for k in (0, 1))
    return (a, b) if b <= a else None


def bit_pairs_input(a: int, b: int, text: str | None = None) -> TaskInput:
    """``a - b`` as the model reads it: ``(1, 8, 2)`` bit pairs, LSB first."""
    x = encode(a, b).unsqueeze(0).float()
    return TaskInput(x=x, text=text or f"{a} - {b}", feature_names=("a bit", "b bit"), operands=(a, b))


def bits_named(positions: Sequence[int]) -> str:
    """Bit positions (least significant first) in words: ``"bit 5"``, ``"bits 1, 2, 3"``."""
    return f"bit{'s' if len(positions) > 1 else ''} {', '.join(map(str, positions))}"


class SubtractionTask(Task):
    """Post 4's task with its variants: the LSTM, an LSTMP (``proj_size``) and a GRU (``subtraction-gru``)."""

    kind: ClassVar[str] = "subtraction"
    title: ClassVar[str] = "8-bit binary subtraction"
    post: ClassVar[str] = "post 4: an LSTM learns 8-bit binary subtraction"
    model_class: ClassVar[type[LSTMVizModel]] = BitSubtractor
    fixed: ClassVar[dict[str, Any]] = dict(input_size=2, output_size=1)
    defaults: ClassVar[dict[str, Any]] = dict(hidden_size=32)
    training_names: ClassVar[dict[str, dict[str, Any]]] = {
        "subtraction": {"cell": "lstm"},
        "subtraction-gru": {"cell": "gru"},
    }
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {"subtraction": _RECIPES, "subtraction-gru": _RECIPES}
    data_sources: ClassVar[tuple[str, ...]] = DATA_SOURCES
    fixed_steps: ClassVar[int | None] = BITS
    progress_keys: ClassVar[tuple[str, ...]] = ("test_exact_match",)

    def label(self, config: ModelConfig) -> str:
        return f"subtraction {config.cell_label()}"

    def training_config(
        self, name: str, *, hidden_size: int | None, proj_size: int, num_layers: int, bidirectional: bool
    ) -> ModelConfig:
        cell = self.training_names[name]["cell"]
        if cell == "gru" and proj_size:
            raise InputError("a GRU has no projection: proj_size is an LSTM's (an LSTMP); set it to 0 for the GRU, or "
                             "train the LSTM 'subtraction' with it")  # fmt: skip
        try:
            hidden = 32 if hidden_size is None else hidden_size
            return model_config(hidden_size=hidden, proj_size=proj_size, cell=cell, num_layers=num_layers,
                                bidirectional=bidirectional)  # fmt: skip
        except ValueError as err:
            raise InputError(str(err)) from None

    def recognise(self, weights: PlainWeights) -> tuple[ModelConfig, dict[str, Tensor], str] | None:
        head = weights.linear_head()
        if head is None or weights.options["input_size"] != 2 or head[1].shape[0] != 1:
            return None
        config = self.default_config(**{**weights.options, "output_size": 1})
        renamed = {f"{config.cell}.{k}": v for k, v in weights.rnn.items()}
        renamed.update({"fc.weight": head[1], "fc.bias": head[2]})
        return config, renamed, f"{weights.name}{weights.where} + Linear → sigmoid, read as post 4's bit subtractor"

    # ---- data and training
    def make_data(self, source: str = "seed", seed: int = 0) -> TaskData:
        d = load_data(source)
        return TaskData(self, d.x_train, d.y_train, d.x_test, d.y_test, source=source)

    def seed_init(self, seed: int) -> None:
        # The post draws random_split's permutation right after torch.manual_seed(822), then builds the model;
        # draw it too, so that seed=822 starts from exactly the post's initial weights (whatever the data).
        torch.manual_seed(seed)
        torch.randperm(N_SAMPLES)

    def loss(self, model: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor | None]:
        logits = getattr(model, "logits", None)
        if logits is not None:  # the post's Sigmoid + BCELoss, fused: same loss, one op fewer each way
            z = logits(x)
            return F.binary_cross_entropy_with_logits(z, y), z.detach().sigmoid()
        probs = model(x)
        return F.binary_cross_entropy(probs, y), probs.detach()

    def tally(self, tallies: dict[str, Tensor], predictions: Tensor, y: Tensor) -> None:
        right = bits_right(predictions, y)  # running train metrics, from predictions made anyway (no sync)
        for key, value in (("bits", right.sum()), ("samples", right.all(-1).sum())):
            tallies[key] = tallies[key] + value if key in tallies else value

    def epoch_metrics(self, model: nn.Module, data: TaskData, tallies: dict[str, Tensor]) -> dict[str, float]:
        n = data.n_train
        metrics = {}
        if tallies:
            metrics["train_bit_acc"] = float(tallies["bits"]) / (n * data.y_train.shape[-1])
            metrics["train_exact_match"] = float(tallies["samples"]) / n
        metrics.update(self.evaluate(model, data, splits=("test",) if tallies else ("train", "test")))
        return metrics

    def evaluate(self, model: nn.Module, data: TaskData, splits: tuple[str, ...] = ("train", "test")) -> dict:
        metrics = {}
        chosen = [("train", data.x_train, data.y_train)] if "train" in splits else []
        if data.x_test is not None and "test" in splits:
            chosen.append(("test", data.x_test, data.y_test))
        for name, x, y in chosen:
            for key, value in evaluate(model, x, y).items():
                metrics[f"{name}_{key}"] = value
        return metrics

    def final_report(self, model: nn.Module) -> dict[str, Any]:
        check = evaluate_all_pairs(model)
        return {
            "all_pairs_exact_match": check["exact_match"],
            "all_pairs_wrong": [f"{a} - {b} = {c}" for a, b, c in check["wrong"][:5]],  # type: ignore[union-attr]
        }

    # ---- inputs
    def feature_names(self, config: ModelConfig) -> tuple[str, ...]:
        return ("a bit", "b bit")

    def example(self, config: ModelConfig) -> str:
        return SUBTRACTION_EXAMPLE

    def input_label(self, config: ModelConfig) -> str:
        return f"An 8-bit subtraction a − b with 0 ≤ b ≤ a ≤ {MAX_INT}"

    def multiline(self, config: ModelConfig) -> bool:
        return False

    def second_example(self, config: ModelConfig, first: TaskInput) -> str:
        return _SECOND_EXAMPLE

    def parse(self, text: str, config: ModelConfig) -> TaskInput:
        return bit_pairs_input(*parse_subtraction(text))

    def random_input(self, config: ModelConfig, length: int, generator: torch.Generator, seed: int) -> TaskInput:
        a = int(torch.randint(0, MAX_INT + 1, (1,), generator=generator))
        b = int(torch.randint(0, a + 1, (1,), generator=generator))
        return bit_pairs_input(a, b, f"{a} - {b} (random, seed {seed}; subtraction is always 8 bit steps)")

    def csv_example(self, config: ModelConfig) -> str:
        return "a bit,b bit\n1,1\n1,0\n0,1\n1,1\n1,1\n1,1\n1,0\n0,0   (123 - 61, LSB first)"

    def input_table(self, inp: TaskInput) -> tuple[pd.DataFrame, str] | None:
        if inp.operands is None:
            return None
        caption = "The model reads one column per step, least significant bit first: (a bit, b bit)."
        return bit_table(*inp.operands), caption

    # ---- answers
    def answer(self, model: nn.Module, inp: TaskInput, interventions: Sequence[Intervention] | None = None) -> Answer:
        probs = self.run(model, inp.x, interventions).view(-1).tolist()  # (T,)
        operands = inp.operands or operands_from_bits(inp.x)
        if len(probs) != BITS:
            return Answer(self.kind, f"{len(probs)} bit probabilities; decoding needs exactly 8 steps",
                          probs=probs, form="bits", value=probs)  # fmt: skip
        pred = decode(torch.tensor(probs))
        if operands is None:
            return Answer(self.kind, f"The model reads {pred} (the input is not an 8-bit a - b with b ≤ a)",
                          None, pred, probs=probs, form="bits", value=pred)  # fmt: skip
        a, b = operands
        truth = a - b
        truth_bits = bits(torch.tensor([truth]))[0].int().tolist()
        ok = pred == truth
        headline = summary = f"{a} − {b} = {truth}; the model says {pred}: {'right' if ok else 'wrong'}"
        if not ok:
            wrong = [t for t, (p, y) in enumerate(zip(probs, truth_bits, strict=True)) if (p >= 0.5) != bool(y)]
            summary += f" ({bits_named(wrong)} wrong)"
        return Answer(self.kind, summary, ok, pred, truth, probs=probs, truth_bits=truth_bits, form="bits",
                      value=pred, headline=headline)  # fmt: skip

    ablation_measure: ClassVar[str] = "share of answers that change"
    ablation_data: ClassVar[str] = "all 32,896 pairs 0 ≤ b ≤ a ≤ 255"

    def ablation_inputs(self, config: ModelConfig, source: str = "all") -> tuple[Tensor, dict[str, Tensor]]:
        """Every pair 0 ≤ b ≤ a ≤ 255 (``all``, 32,896) or 256 random ones (``probe``), grouped by whether the
        binary subtraction borrows (some bit of b is 1 where a's is 0)."""
        if source == "probe":
            x = self.probe_batch(config)
            a, b = ((x[:, :, k].long() * _WEIGHTS).sum(-1) for k in (0, 1))
        else:
            pairs = all_pairs()
            a, b = pairs[:, 0], pairs[:, 1]
            x = encode_batch(a, b)
        borrow = ((~a) & b & MAX_INT) != 0
        return x, {"borrow": borrow, "no borrow": ~borrow}

    def answer_change(self, before: Tensor, after: Tensor) -> Tensor:
        """1 where the decoded integer changes (for a model that answers every pair right: where it breaks)."""
        return (decode_batch(before) != decode_batch(after)).float()

    def probe_batch(self, config: ModelConfig, n: int = 256, seed: int = 0, length: int = 32) -> Tensor:
        """``n`` random ``a - b`` pairs (0 ≤ b ≤ a ≤ 255)."""
        gen = torch.Generator().manual_seed(seed)
        a = torch.randint(0, MAX_INT + 1, (n,), generator=gen)
        b = (torch.rand(n, generator=gen) * (a + 1).float()).long().clamp(max=a)
        return encode_batch(a, b).float()


SUBTRACTION = SubtractionTask()
