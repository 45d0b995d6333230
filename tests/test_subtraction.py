"""Subtraction task (post 4): the post's data reproduced exactly, encode/decode, metrics, all pairs."""


import pytest
import torch

from lstm_viz.parsing import InputError
from lstm_viz.tasks import build_model
from lstm_viz.tasks import subtraction as S
from tests.seed004 import post_splits


def test_seed_data_is_the_posts_exactly():
    train_set, test_set = post_splits()
    data = S.load_data("seed")
    assert data.x_train.shape == (9000, 8, 2) and data.x_test.shape == (1000, 8, 2)
    assert torch.equal(data.x_train, torch.stack([x for x, _ in train_set]))
    assert torch.equal(data.y_train, torch.stack([y for _, y in train_set]))
    assert torch.equal(data.x_test, torch.stack([x for x, _ in test_set]))
    assert torch.equal(data.y_test, torch.stack([y for _, y in test_set]))


def test_post_examples_are_in_the_test_split():
    # the post prints test_set[j] for j % 200 == 0
    data = S.load_data("seed")
    shown = [tuple(data.pairs_test[j].tolist()) for j in range(0, 1000, 200)]
    assert shown == [(123, 61), (118, 94), (250, 134), (204, 67), (245, 60)]


def test_seed_pairs_all_borrow_and_stay_in_range():
    pairs = S.seed_pairs()
    assert len(pairs) == 10_000
    assert all(2 <= a <= 254 and 1 <= b < a and S.requires_borrow(a, b) for a, b in pairs)
    assert S.requires_borrow(123, 61) and not S.requires_borrow(99, 11) and S.requires_borrow(100, 1)


def test_encode_decode():
    x = S.encode(123, 61)
    assert x.shape == (8, 2) and x.dtype == torch.float32
    assert x[:, 0].tolist() == [1, 1, 0, 1, 1, 1, 1, 0]  # 123 = 0b01111011, LSB first
    assert x[:, 1].tolist() == [1, 0, 1, 1, 1, 1, 0, 0]  # 61 = 0b00111101
    assert S.decode([0, 1, 1, 1, 1, 1, 0, 0]) == 62
    assert S.decode(torch.tensor([0.2, 0.9, 0.6, 0.51, 0.7, 0.8, 0.1, 0.49])) == 62
    assert S.decode(torch.ones(8, 1)) == 255
    every = S.all_pairs()
    assert len(every) == 256 * 257 // 2
    a, b = every[:, 0], every[:, 1]
    assert torch.equal(S.decode_batch(S.targets(a, b)), a - b)
    assert torch.equal(S.decode_batch(S.encode_batch(a, b)[..., 0]), a)
    assert torch.equal(S.decode_batch(S.encode_batch(a, b)[..., 1]), b)
    with pytest.raises(InputError, match="0 ≤ b ≤ a ≤ 255"):
        S.encode(3, 5)
    with pytest.raises(InputError):
        S.encode(256, 0)
    with pytest.raises(ValueError, match="8 bits"):
        S.decode([1, 0, 1])


def test_all_data_split_covers_every_pair_once():
    data = S.load_data("all")
    assert len(data.x_train) == 29_606 and len(data.x_test) == 3_290
    pairs = torch.cat([data.pairs_train, data.pairs_test])
    assert len({tuple(p) for p in pairs.tolist()}) == 32_896
    with pytest.raises(ValueError, match="'seed'"):
        S.load_data("some")


class Oracle(torch.nn.Module):
    """Answers by reading the bits (test double that is right, or wrong on chosen pairs)."""

    def __init__(self, wrong=()):
        super().__init__()
        self.p = torch.nn.Parameter(torch.zeros(()))
        self.wrong = set(wrong)

    def forward(self, x):
        a = S.decode_batch(x[..., 0])
        b = S.decode_batch(x[..., 1])
        c = a - b
        for k in range(len(a)):
            if (int(a[k]), int(b[k])) in self.wrong:
                c[k] = (c[k] + 1) % 256
        return S.bits(c)


def test_evaluate_and_exhaustive_check():
    data = S.load_data("seed")
    assert S.evaluate(Oracle(), data.x_test, data.y_test) == {"bit_acc": 1.0, "exact_match": 1.0}
    first = tuple(data.pairs_test[0].tolist())
    metrics = S.evaluate(Oracle(wrong=[first]), data.x_test, data.y_test)
    assert metrics["exact_match"] == pytest.approx(0.999)
    assert 0.999 < metrics["bit_acc"] < 1.0
    result = S.evaluate_all_pairs(Oracle(wrong=[(200, 100), (5, 5)]))
    assert result["n"] == 32_896 and result["exact_match"] == pytest.approx(1 - 2 / 32_896)
    assert sorted(result["wrong"]) == [(5, 5, 1), (200, 100, 101)]


def test_predict_on_an_untrained_model():
    torch.manual_seed(0)
    model = build_model(S.model_config())
    answer = S.predict(model, "123 - 61")
    assert 0 <= answer <= 255 and answer == S.predict(model, 123, 61)
    assert S.predict_many(model, [(123, 61), (1, 0)])[0] == answer
    assert model.training
    with pytest.raises(InputError):
        S.predict(model, "61 - 123")
    assert S.model_config(proj_size=8).proj_size == 8 and S.model_config(cell="gru").cell == "gru"
