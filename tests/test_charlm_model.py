"""Tests of the charlm model, its TBPTT training loop and the unit scoring."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm_viz import Recording, RecordingLSTM
from lstm_viz.tasks.charlm.data import VOCAB_SIZE, encode, label_text
from lstm_viz.tasks.charlm.evaluate import rank_units, record_chunks, unit_values
from lstm_viz.tasks.charlm.model import CharLM, CharLMConfig
from lstm_viz.tasks.charlm.scoring import UnitScorer, best_units, exact_auroc, pearson, score_recording
from lstm_viz.tasks.charlm.tbptt import TrainConfig, evaluate_bpc, make_streams, step_loss, train_charlm


# ------------------------------------------------------------------------------------------------ scoring
def test_exact_auroc_and_pearson_on_known_cases():
    assert exact_auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert exact_auroc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert exact_auroc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]) == 0.5  # ties count one half
    assert exact_auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # tensors as a model hands them over: with grad (and, on a GPU, on the device) — NumPy refuses both directly
    values = torch.tensor([0.1, 0.4, 0.35, 0.8], requires_grad=True)
    assert exact_auroc(values, torch.tensor([0, 0, 1, 1])) == 0.75
    assert pearson(values * 2, torch.tensor([0.2, 0.8, 0.7, 1.6])) == pytest.approx(1.0)


def test_streaming_scorer_matches_exact_scores():
    rng = np.random.default_rng(0)
    n, units = 30_000, 6
    a = rng.random(n) < 0.3
    b = rng.random(n) < 0.05
    col = rng.integers(0, 80, n)
    x = rng.normal(size=(n, units)).astype(np.float32)
    x[:, 0] += 1.5 * a  # tracks a
    x[:, 1] -= 2.0 * b  # low where b
    x[:, 2] = 0.05 * col + rng.normal(size=n) + 40  # tracks col, far from 0
    x[:, 3] = np.tanh(x[:, 3] + 3 * a)  # saturating
    scorer = UnitScorer(["a", "b"], ["col"])
    for start in range(0, n, 7_000):  # several chunks, uneven last one
        part = slice(start, start + 7_000)
        scorer.update("layer0.fwd.c", torch.from_numpy(x[part]), {"a": a[part], "b": b[part], "col": col[part]})
    table = scorer.table()
    assert list(table.columns[:5]) == ["name", "layer", "direction", "tensor", "unit"]
    for u in range(units):
        assert table.loc[u, "a"] == pytest.approx(exact_auroc(x[:, u], a), abs=0.01)
        assert table.loc[u, "b"] == pytest.approx(exact_auroc(x[:, u], b), abs=0.01)
        assert table.loc[u, "col"] == pytest.approx(pearson(x[:, u], col), abs=1e-5)
    assert table.loc[0, "a"] > 0.8 and table.loc[1, "b"] < 0.2
    assert best_units(table, "a", 1)["unit"].item() in (0, 3)
    assert best_units(table, "b", 1)["unit"].item() == 1  # low AUROC is strong too
    assert best_units(table, "col", 1)["unit"].item() == 2


def test_score_recording_covers_every_unit_of_every_tensor():
    lstm = RecordingLSTM(3, 4, num_layers=2, batch_first=True)
    rec = lstm.record(torch.randn(2, 50, 3))
    labels = {"s": np.random.default_rng(1).random((2, 50)) < 0.5, "d": np.arange(100).reshape(2, 50) % 7}
    table = score_recording(rec, labels, ["s"], ["d"])
    assert len(table) == 2 * 6 * 4  # layers × tensors (f, i, g, o, c, h) × units
    assert set(table["tensor"]) == {"f", "i", "g", "o", "c", "h"}
    # the time-major flattening lines up with the labels: check one unit exactly
    row = table[(table["name"] == "layer1.fwd.c") & (table["unit"] == 2)].iloc[0]
    values = rec["layer1.fwd.c"][..., 2].numpy()
    assert row["d"] == pytest.approx(pearson(values, labels["d"]), abs=1e-5)


# ------------------------------------------------------------------------------------------------ model
def test_charlm_shapes_state_and_recording():
    model = CharLM(CharLMConfig(embed_size=8, hidden_size=16, num_layers=2))
    assert isinstance(model.lstm, RecordingLSTM) and model.lstm.batch_first
    x = torch.randint(0, VOCAB_SIZE, (3, 20))
    logits, (h, c) = model(x)
    assert logits.shape == (3, 20, VOCAB_SIZE) and h.shape == (2, 3, 16) and c.shape == (2, 3, 16)
    # the state carries: two halves with the state passed on equal one whole pass
    first, state = model(x[:, :10])
    second, _ = model(x[:, 10:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), logits)
    rec = model.record(x)
    assert isinstance(rec, Recording) and rec.c.shape == (2, 1, 3, 20, 16)
    torch.testing.assert_close(model.fc(rec.output), logits, atol=1e-5, rtol=1e-5)
    rebuilt = CharLM(CharLMConfig.from_dict(model.config.to_dict()))
    rebuilt.load_state_dict(model.state_dict(), strict=True)


def test_record_chunks_carry_the_state_and_positions_index_the_text():
    model = CharLM(CharLMConfig(embed_size=8, hidden_size=16, num_layers=1))
    ids = encode("def f(x):\n    return (x + 1)  # ok\n" * 20)
    chunks = list(record_chunks(model, ids, batch_size=2, chunk=50))
    positions = np.concatenate([p for _, p in chunks], axis=1)
    length = len(ids) // 2
    assert positions.tolist() == [list(range(length)), list(range(length, 2 * length))]
    whole = model.record(torch.as_tensor(ids[: 2 * length].reshape(2, length)))
    pieces = torch.cat([rec.c for rec, _ in chunks], dim=3)
    torch.testing.assert_close(pieces, whole.c, atol=1e-5, rtol=1e-5)
    values, where = unit_values(model, ids, [("layer0.fwd.c", 3)], batch_size=2, chunk=50)
    assert values.shape == (2 * length, 1) and sorted(where.tolist()) == list(range(2 * length))


# ------------------------------------------------------------------------------------------------ training
def test_make_streams_cuts_contiguous_streams():
    streams = make_streams(np.arange(103), 4)
    assert streams.shape == (4, 25) and streams[1, 0] == 25 and streams[3, -1] == 99


def test_tbptt_training_lowers_the_loss_and_reports_metrics():
    torch.manual_seed(0)
    text = "def add(a, b):\n    return (a + b)  # sum\n\n" * 200
    ids = encode(text)
    model = CharLM(CharLMConfig(embed_size=16, hidden_size=48, num_layers=1))
    before = evaluate_bpc(model, ids[:2000], batch_size=4, seq_len=100)
    config = TrainConfig(batch_size=8, seq_len=32, lr=1e-2, max_chars=60_000, log_every=10, warmup_steps=5)
    metrics = list(train_charlm(model, ids, config, val_ids=ids[:2000]))
    kinds = [m["kind"] for m in metrics]
    assert kinds[-1] == "done" and kinds.count("train") >= 10
    assert metrics[-1]["chars"] >= 60_000 and metrics[-1]["epoch"] >= 1  # wrapped around the text
    assert metrics[-1]["val_bpc"] < before - 2.0 and metrics[-1]["val_bpc"] < 1.0
    assert all(m["lr"] <= 1e-2 + 1e-12 for m in metrics)


@pytest.mark.parametrize("proj_size", [0, 6])
def test_forward_layers_is_forward_one_layer_at_a_time(proj_size):
    """The per-layer pass the activation penalty needs: the same logits, state and gradients as the stacked call
    (bit for bit on the CPU), and each layer's output h."""
    torch.manual_seed(0)
    model = CharLM(CharLMConfig(embed_size=8, hidden_size=12, num_layers=3, proj_size=proj_size))
    x = torch.randint(0, VOCAB_SIZE, (3, 17))
    state = tuple(torch.randn(3, 3, n) for n in (proj_size or 12, 12))
    for hx in (None, state):
        logits, (h, c) = model(x, hx)
        logits.square().mean().backward()
        grads = [p.grad.clone() for p in model.parameters()]
        model.zero_grad()
        logits2, (h2, c2), outputs = model.forward_layers(x, hx)
        logits2.square().mean().backward()
        assert torch.equal(logits, logits2) and torch.equal(h, h2) and torch.equal(c, c2)
        assert all(torch.equal(a, p.grad) for a, p in zip(grads, model.parameters(), strict=True))
        assert [tuple(o.shape) for o in outputs] == [(3, 17, proj_size or 12)] * 3
        assert torch.equal(outputs[-1][:, -1], h[-1])  # the top layer's output is what the head reads
        model.zero_grad()


def test_the_activation_penalty_adds_l1_of_every_layers_h_and_reports_the_cross_entropy_alone():
    torch.manual_seed(0)
    model = CharLM(CharLMConfig(embed_size=8, hidden_size=12, num_layers=2))
    ids = torch.randint(0, VOCAB_SIZE, (2, 11))
    x, y = ids[:, :-1], ids[:, 1:]
    plain, ce, _ = step_loss(model, x, y, None, 0.0)
    objective, ce2, _ = step_loss(model, x, y, None, 0.3)
    outputs = model.forward_layers(x)[2]
    assert torch.equal(plain, ce) and torch.allclose(ce, ce2)
    assert torch.allclose(objective, ce + 0.3 * (outputs[0].abs().mean() + outputs[1].abs().mean()))
    with pytest.raises(ValueError, match="--activation-l1 must be ≥ 0"):
        TrainConfig(max_chars=10, activation_l1=-0.1)
    with pytest.raises(ValueError, match="--activation-l1"):
        TrainConfig(max_chars=10, activation_l1=float("nan"))


def test_training_needs_a_budget():
    model = CharLM(CharLMConfig(embed_size=4, hidden_size=8, num_layers=1))
    with pytest.raises(ValueError, match="max_chars or max_seconds"):
        next(train_charlm(model, encode("x = 1\n" * 50), TrainConfig()))


def test_rank_units_finds_a_planted_comment_unit():
    text = "x = 1  # note\ny = (2, 3)\n" * 60
    ids = encode(text)
    labels = label_text(text)
    model = CharLM(CharLMConfig(embed_size=len("#\n") + 2, hidden_size=4, num_layers=1))
    with torch.no_grad():  # unit 0's cell: +1 at '#', forgets at newline
        for p in model.parameters():
            p.zero_()
        model.embed.weight[encode("#")[0], 0] = 1.0
        model.embed.weight[encode("\n")[0], 1] = 1.0
        w_ih, b = model.lstm.weight_ih_l0, model.lstm.bias_ih_l0
        H = 4
        b[0:H] = -10.0  # i: closed unless '#'
        w_ih[0, 0] = 20.0
        b[H : 2 * H] = 10.0  # f: open unless newline
        w_ih[H + 0, 1] = -20.0
        b[2 * H : 3 * H] = 10.0  # g = 1
        b[3 * H : 4 * H] = 10.0  # o open
    table = rank_units(model, ids, labels, ["in_comment"], ["column"], batch_size=2, chunk=100)
    best = best_units(table, "in_comment", 1).iloc[0]
    assert best["unit"] == 0 and best["tensor"] in ("c", "h") and best["strength"] > 0.95
