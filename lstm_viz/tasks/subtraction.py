"""Seed 004's task: 8-bit binary subtraction a − b, bits least-significant first (data, encode/decode, metrics).

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

import numpy as np
import torch
from torch import Tensor, nn

from lstm_viz.parsing import InputError, parse_subtraction
from lstm_viz.tasks.models import ModelConfig

__all__ = [
    "BITS",
    "DATA_SOURCES",
    "MAX_INT",
    "N_SAMPLES",
    "SEED",
    "SubtractionData",
    "all_pairs",
    "bits_right",
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
    return ModelConfig.default(
        "subtraction",
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
    return {"bit_acc": float(right.float().mean()), "exact_match": float(right.all(-1).float().mean())}


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
