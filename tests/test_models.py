"""Models: the StatQuest LSTM equals nn.LSTM(1, 1) with mapped weights, configs round-trip and validate, and
every LSTM model records what its forward computes."""

import itertools
import warnings

import pytest
import torch
from torch import nn

from lstm_viz import RecordingGRU
from lstm_viz.core.lstm import RecordingLSTM
from lstm_viz.core.recording import Recording
from lstm_viz.tasks import (
    KINDS,
    STATQUEST_NAMES,
    BitSubtractor,
    ModelConfig,
    Regressor,
    SequenceModel,
    StatQuestLSTM,
    ToyLSTM,
    build_model,
    count_parameters,
)
from tests.seed004 import LSTMSubtractor


def statquest_by_hand(p: dict, seq: list[float]) -> float:
    """Post 0's lstm_unit, written out with Python floats."""
    import math

    def s(v):
        return 1 / (1 + math.exp(-v))

    long, short = 0.0, 0.0
    for x in seq:
        f = s(short * p["wlr1"] + x * p["wlr2"] + p["blr1"])
        i = s(short * p["wpr1"] + x * p["wpr2"] + p["bpr1"])
        g = math.tanh(short * p["wp1"] + x * p["wp2"] + p["bp1"])
        long = long * f + g * i
        o = s(short * p["wo1"] + x * p["wo2"] + p["bo1"])
        short = math.tanh(long) * o
    return short


def random_statquest(seed: int) -> StatQuestLSTM:
    torch.manual_seed(seed)
    model = StatQuestLSTM()
    model.set_weights({n: float(torch.randn(())) for n in STATQUEST_NAMES})  # biases non-zero too
    return model


def test_statquest_init_matches_the_post():
    torch.manual_seed(7)
    model = StatQuestLSTM()
    torch.manual_seed(7)
    mean, std = torch.tensor(0.0), torch.tensor(1.0)
    expected = {}
    for name in STATQUEST_NAMES:  # the post's __init__ order
        expected[name] = 0.0 if name.startswith("b") else float(torch.normal(mean=mean, std=std))
    assert model.named_weights() == pytest.approx(expected)
    assert list(model.named_weights()) == list(STATQUEST_NAMES)
    assert count_parameters(model) == 12
    assert {n for n, _ in model.named_parameters()} == set(STATQUEST_NAMES)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_statquest_equals_nn_lstm_with_mapped_weights(seed):
    model = random_statquest(seed)
    lstm = nn.LSTM(1, 1, batch_first=True)
    lstm.load_state_dict(model.lstm_state_dict(), strict=True)
    x = torch.randn(5, 7, 1)
    ours = model(x)
    out, (_, c_n) = lstm(x)
    assert ours.shape == (5,)
    assert torch.allclose(ours, out[:, -1, 0], atol=1e-6)
    h, c = model.unroll(x)
    assert torch.allclose(h, out[..., 0], atol=1e-6)
    assert torch.allclose(c[:, -1], c_n[0, :, 0], atol=1e-6)
    # and the post's own scalar equations
    seq = [0.0, 0.5, 0.25, 1.0]
    by_hand = statquest_by_hand(model.named_weights(), seq)
    assert float(model(torch.tensor(seq).view(1, 4, 1)).detach()) == pytest.approx(by_hand, abs=1e-6)


def test_statquest_mapping_is_in_storage_order():
    model = StatQuestLSTM()
    model.set_weights({n: float(k + 1) for k, n in enumerate(STATQUEST_NAMES)})
    sd = model.lstm_state_dict()
    w = model.named_weights()
    # i, f, g, o: input gate = wpr*, forget = wlr*, candidate = wp*, output = wo*
    assert sd["weight_ih_l0"].view(-1).tolist() == [w["wpr2"], w["wlr2"], w["wp2"], w["wo2"]]
    assert sd["weight_hh_l0"].view(-1).tolist() == [w["wpr1"], w["wlr1"], w["wp1"], w["wo1"]]
    assert sd["bias_ih_l0"].tolist() == [w["bpr1"], w["blr1"], w["bp1"], w["bo1"]]
    assert sd["bias_hh_l0"].tolist() == [0, 0, 0, 0]


def test_statquest_record_gives_the_named_gates():
    model = random_statquest(3)
    x = torch.tensor([[0.0, 0.5, 0.25, 1.0], [1.0, 0.5, 0.25, 1.0]]).unsqueeze(-1)
    rec = model.record(x)
    assert isinstance(rec, Recording)
    assert rec.f.shape == (1, 1, 2, 4, 1)
    w = model.named_weights()
    # step 0 of company B: h = c = 0, x = 1 → f = σ(wlr2 + blr1), i = σ(wpr2 + bpr1), …
    sig = torch.sigmoid
    assert float(rec.f[0, 0, 1, 0, 0]) == pytest.approx(float(sig(torch.tensor(w["wlr2"] + w["blr1"]))), abs=1e-6)
    assert float(rec.i[0, 0, 1, 0, 0]) == pytest.approx(float(sig(torch.tensor(w["wpr2"] + w["bpr1"]))), abs=1e-6)
    assert float(rec.g[0, 0, 1, 0, 0]) == pytest.approx(float(torch.tanh(torch.tensor(w["wp2"] + w["bp1"]))), abs=1e-6)
    assert float(rec.o[0, 0, 1, 0, 0]) == pytest.approx(float(sig(torch.tensor(w["wo2"] + w["bo1"]))), abs=1e-6)
    h, c = model.unroll(x)
    assert torch.allclose(rec.h[0, 0, :, :, 0], h.detach(), atol=1e-6)
    assert torch.allclose(rec.c[0, 0, :, :, 0], c.detach(), atol=1e-6)


def test_statquest_gradients_reach_all_twelve():
    model = random_statquest(4)
    x = torch.tensor([[0.0, 0.5, 0.25, 1.0], [1.0, 0.5, 0.25, 1.0]]).unsqueeze(-1)
    ((model(x) - torch.tensor([0.0, 1.0])) ** 2).sum().backward()
    for name in STATQUEST_NAMES:
        assert getattr(model, name).grad is not None and getattr(model, name).grad != 0, name


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_statquest_on_cuda_no_weights_warning_and_the_cpus_numbers():
    # the twelve scalars go to cuDNN as one buffer in nn.LSTM's flattened layout: no "not part of single contiguous
    # chunk of memory" warning, the same prediction and gradients as on the CPU
    model = random_statquest(5)
    x = torch.tensor([[0.0, 0.5, 0.25, 1.0], [1.0, 0.5, 0.25, 1.0]]).unsqueeze(-1)
    on_cpu = model(x)
    on_cpu.sum().backward()
    cpu_grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    gpu = model.to("cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        on_gpu = gpu(x.cuda())
        on_gpu.sum().backward()
    assert torch.allclose(on_gpu.cpu(), on_cpu, atol=1e-6)
    for name, p in gpu.named_parameters():
        assert torch.allclose(p.grad.cpu(), cpu_grads[name], atol=1e-5), name


def test_statquest_set_weights_rejects_bad_names_and_values():
    model = StatQuestLSTM()
    with pytest.raises(ValueError, match="unknown StatQuest parameter"):
        model.set_weights({"w1": 1.0})
    with pytest.raises(ValueError, match="finite"):
        model.set_weights({"wlr1": float("nan")})


@pytest.mark.parametrize("kind", KINDS)
def test_config_round_trip(kind):
    config = ModelConfig.default(kind)
    assert ModelConfig.from_dict(config.to_dict()) == config
    model = build_model(config)
    assert model.config == config
    assert model.recordable


@pytest.mark.parametrize(
    "data, fragment",
    [
        ("nope", "must be a dict"),
        ({"kind": "transformer"}, "unknown model kind"),
        ({"input_size": 2}, "no 'kind'"),
        ({"kind": "subtraction", "colour": "red"}, "unknown model config field"),
        ({"kind": "subtraction", "hidden_size": 0}, "hidden_size must be a positive integer"),
        ({"kind": "subtraction", "hidden_size": 2.5}, "hidden_size must be a positive integer"),
        ({"kind": "subtraction", "proj_size": 32}, "proj_size (32) must be smaller than hidden_size"),
        ({"kind": "subtraction", "proj_size": -1}, "non-negative"),
        ({"kind": "subtraction", "cell": "gru", "proj_size": 4}, "a GRU has no projection"),
        ({"kind": "subtraction", "cell": "rnn"}, "cell must be"),
        ({"kind": "subtraction", "input_size": 3}, "needs input_size=2"),
        ({"kind": "statquest", "hidden_size": 2}, "needs hidden_size=1"),
        ({"kind": "regressor", "num_layers": 1, "dropout": 0.5}, "num_layers ≥ 2"),
        ({"kind": "regressor", "num_layers": 2, "dropout": 1.5}, "dropout must be in [0, 1)"),
        ({"kind": "regressor", "bidirectional": "yes"}, "bidirectional must be true or false"),
    ],
)
def test_config_validation(data, fragment):
    with pytest.raises(ValueError) as err:
        ModelConfig.from_dict(data)
    assert fragment in str(err.value)


def test_labels():
    assert ModelConfig.default("subtraction", proj_size=8).label() == "subtraction LSTMP(2→32→8)"
    assert ModelConfig.default("subtraction", cell="gru").label() == "subtraction GRU(2→32)"
    assert "StatQuest" in ModelConfig.default("statquest").label()


@pytest.mark.parametrize("num_layers, bidirectional, proj_size", list(itertools.product([1, 2], [False, True], [0, 4])))
def test_subtraction_variants_record_what_forward_computes(num_layers, bidirectional, proj_size):
    torch.manual_seed(0)
    config = ModelConfig.default(
        "subtraction", hidden_size=8, num_layers=num_layers, bidirectional=bidirectional, proj_size=proj_size
    )
    model = build_model(config).eval()
    assert isinstance(model, BitSubtractor) and isinstance(model.lstm, RecordingLSTM)
    x = torch.randint(0, 2, (3, 8, 2)).float()
    probs = model(x)
    assert probs.shape == (3, 8) and ((probs > 0) & (probs < 1)).all()
    rec = model.record(x)
    assert rec.f.shape == (num_layers, 2 if bidirectional else 1, 3, 8, 8)
    assert rec.h.shape[-1] == (proj_size or 8)
    assert torch.allclose(torch.sigmoid(model.fc(rec.output).squeeze(-1)), probs, atol=1e-6)
    assert torch.allclose(model.logits(x).sigmoid(), probs)


def test_post_4_state_dict_loads_into_bit_subtractor():  # the post's class: tests/seed004.py
    torch.manual_seed(1)
    theirs = LSTMSubtractor()
    ours = BitSubtractor()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randint(0, 2, (4, 8, 2)).float()
    assert torch.allclose(ours(x), theirs(x).squeeze(-1))


def test_toy_lstm_is_post_0_lstm():
    torch.manual_seed(0)
    model = build_model(ModelConfig.default("toy_lstm"))
    assert isinstance(model, ToyLSTM)
    reference = nn.LSTM(input_size=1, hidden_size=1)
    reference.load_state_dict(model.lstm.state_dict())
    seq = torch.tensor([0.0, 0.5, 0.25, 1.0])
    expected = reference(seq.view(len(seq), 1))[0][-1]  # the post's forward: view(len, 1), last output
    assert torch.allclose(model(seq.view(1, 4, 1)), expected)
    assert torch.allclose(model.record(seq.view(1, 4, 1)).h[0, 0, 0, -1], expected)


def test_regressor_is_post_2_model():
    torch.manual_seed(0)
    model = build_model(ModelConfig.default("regressor"))
    assert isinstance(model, Regressor)
    assert (model.lstm.input_size, model.lstm.hidden_size, model.lstm.num_layers) == (10, 50, 2)
    x = torch.randn(100, 5, 10)
    out = model(x)
    assert out.shape == (100, 1)
    lstm_out, _ = model.lstm(x)
    assert torch.allclose(out, model.fc(lstm_out[:, -1, :]))


def test_sequence_model_and_gru():
    seq = build_model(ModelConfig.default("sequence", input_size=3, hidden_size=5, proj_size=2, bidirectional=True))
    assert isinstance(seq, SequenceModel)
    assert seq(torch.randn(2, 4, 3)).shape == (2, 4, 4)
    gru = build_model(ModelConfig.default("subtraction", cell="gru"))
    assert isinstance(gru.gru, RecordingGRU) and gru.recordable  # a GRU records r, z, n, h (issue: any model)
    assert gru(torch.zeros(1, 8, 2)).shape == (1, 8)
    rec = gru.record(torch.zeros(1, 8, 2))
    assert rec.tensor_names == ("r", "z", "n", "h") and rec.z.shape == (1, 1, 1, 8, 32)
    assert torch.allclose(rec.output, gru.gru(torch.zeros(1, 8, 2))[0])


def test_input_checks_are_clear():
    model = build_model(ModelConfig.default("subtraction"))
    with pytest.raises(ValueError, match=r"add a batch dimension"):
        model(torch.zeros(8, 2))
    with pytest.raises(ValueError, match=r"shape \(batch, time, 2\)"):
        model(torch.zeros(1, 8, 3))
    with pytest.raises(ValueError, match="no time steps"):
        model(torch.zeros(1, 0, 2))
    with pytest.raises(ValueError, match="floating-point"):
        model(torch.zeros(1, 8, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="ModelConfig"):
        build_model({"kind": "subtraction"})
