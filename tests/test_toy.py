"""Toy task (post 0): the companies' data, predictions from text/lists/tensors, the convergence check."""

import pytest
import torch

from lstm_viz.parsing import InputError
from lstm_viz.tasks import StatQuestLSTM, ToyLSTM, toy

# StatQuest's published values after training: A → ≈0, B → ≈1.
TRAINED = dict(
    wlr1=2.70, wlr2=1.63, blr1=1.62, wpr1=2.00, wpr2=1.65, bpr1=0.62,
    wp1=1.41, wp2=0.94, bp1=-0.32, wo1=4.38, wo2=-0.19, bo1=0.59,
)  # fmt: skip


def test_dataset_is_the_posts():
    x, y = toy.dataset()
    assert x.shape == (2, 4, 1) and y.tolist() == [0.0, 1.0]
    assert x[0, :, 0].tolist() == [0, 0.5, 0.25, 1] == list(toy.COMPANY_A)
    assert x[1, :, 0].tolist() == [1, 0.5, 0.25, 1] == list(toy.COMPANY_B)


def test_builders_are_seeded():
    a, b = toy.build_statquest(seed=5), toy.build_statquest(seed=5)
    assert isinstance(a, StatQuestLSTM) and a.named_weights() == b.named_weights()
    assert a.named_weights() != toy.build_statquest(seed=6).named_weights()
    c, d = toy.build_toy_lstm(seed=5), toy.build_toy_lstm(seed=5)
    assert isinstance(c, ToyLSTM)
    assert all(torch.equal(p, q) for p, q in zip(c.parameters(), d.parameters(), strict=True))


def test_predict_accepts_text_list_and_tensor():
    model = toy.build_statquest(seed=0)
    model.set_weights(TRAINED)
    from_text = toy.predict(model, "0, 0.5, 0.25, 1")
    assert from_text == pytest.approx(toy.predict(model, [0, 0.5, 0.25, 1]))
    assert from_text == pytest.approx(toy.predict(model, torch.tensor(toy.COMPANY_A)))
    out = toy.predict_companies(model)
    assert out["out_0"] == pytest.approx(from_text)
    assert abs(out["out_0"]) < 0.05 and abs(out["out_1"] - 1) < 0.05
    assert toy.is_converged(model)
    assert toy.predict(model, "1") != toy.predict(model, "1, 1")  # any length works


def test_untrained_model_is_not_converged():
    model = toy.build_statquest(seed=0)
    assert not toy.is_converged(model)


def test_bad_sequences():
    model = toy.build_toy_lstm(seed=0)
    for bad in ["", "a, b", "1, inf"]:
        with pytest.raises(InputError, match="0, 0.5, 0.25, 1"):
            toy.predict(model, bad)
    with pytest.raises(InputError, match="NaN or inf"):
        toy.predict(model, [0.0, float("nan")])
    with pytest.raises(InputError, match="list of numbers"):
        toy.predict(model, torch.zeros(2, 2))
    with pytest.raises(InputError, match="list of numbers"):
        toy.predict(model, [])
