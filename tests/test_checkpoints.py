"""Checkpoints: round trip, atomic save, safe loading, clear rejection of foreign/corrupt files, plain
state_dicts recognised."""

import io
import os
import re
import tempfile
from pathlib import Path

import pytest
import torch
from torch import nn

from lstm_viz.tasks import STATQUEST_NAMES, ModelConfig, build_model, subtraction, toy
from lstm_viz.training.checkpoints import FORMAT, CheckpointError, checkpoint_bytes, load_checkpoint, save_checkpoint
from lstm_viz.training.engine import make_trainer


def saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_round_trip_keeps_everything(tmp_path):
    trainer = make_trainer("subtraction", seed=0, proj_size=8, device="cpu")
    trainer.train_epochs(1)
    path = trainer.save(tmp_path / "sub.pt", meta={"command": "python -m lstm_viz train subtraction"})
    ckpt = load_checkpoint(path)
    assert ckpt.source == "lstm-viz" and "LSTMP(2→32→8)" in ckpt.description
    assert ckpt.config == trainer.model.config and ckpt.config.proj_size == 8
    assert same_weights(ckpt.model, trainer.model)
    assert not ckpt.model.training
    assert ckpt.history == trainer.history
    assert ckpt.meta["command"].startswith("python -m lstm_viz")
    assert ckpt.meta["trainer"]["epoch"] == 1
    assert ckpt.optimizer_state["state"].keys() == trainer.optimizer.state_dict()["state"].keys()
    x = torch.randint(0, 2, (5, 8, 2)).float()
    trainer.model.eval()
    assert torch.equal(ckpt.model(x), trainer.model(x))
    # the same from bytes and from a file object
    assert same_weights(load_checkpoint(path.read_bytes()).model, trainer.model)
    with open(path, "rb") as handle:
        assert same_weights(load_checkpoint(handle).model, trainer.model)


@pytest.mark.parametrize("kind", ["statquest", "toy_lstm", "regressor", "subtraction", "sequence"])
def test_every_kind_round_trips(kind, tmp_path):
    model = build_model(ModelConfig.default(kind))
    ckpt = load_checkpoint(save_checkpoint(tmp_path / "m.pt", model))
    assert ckpt.config == model.config and same_weights(ckpt.model, model)
    assert ckpt.optimizer_state is None and ckpt.history == []


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    first = build_model(ModelConfig.default("toy_lstm"))
    save_checkpoint(path, first)
    before = path.read_bytes()

    def crash(_fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)  # paths.write_atomically: the one writer
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, build_model(ModelConfig.default("toy_lstm")))
    assert path.read_bytes() == before  # the previous file survives
    assert os.listdir(tmp_path) == ["model.pt"]  # no temp file left behind
    assert same_weights(load_checkpoint(path).model, first)


def test_save_creates_folders_and_bytes_match(tmp_path):
    model = build_model(ModelConfig.default("toy_lstm"))
    path = save_checkpoint(tmp_path / "a" / "b" / "m.pt", model, history=[{"epoch": 1, "loss": 0.5}])
    assert path.exists()
    assert load_checkpoint(checkpoint_bytes(model)).config == model.config
    with pytest.raises(TypeError, match="ModelConfig"):
        save_checkpoint(tmp_path / "x.pt", nn.LSTM(1, 1))
    with pytest.raises(TypeError, match="only numbers"):
        save_checkpoint(tmp_path / "x.pt", model, meta={"bad": object()})


class Custom:
    pass


def lstm_viz_payload(**changes):
    model = build_model(ModelConfig.default("toy_lstm"))
    payload = {"format": FORMAT, "version": 1, "config": model.config.to_dict(), "state_dict": model.state_dict()}
    payload.update(changes)
    return saved(payload)


CORRUPT = [  # (the file's bytes, what the message must say)
    (b"", "empty (0 bytes)"),
    (b"this is not a checkpoint", "not a PyTorch file"),
    ("truncated", "truncated or corrupt"),
    (saved({"model": Custom()}), "Python objects besides tensors"),
    (saved(nn.Linear(2, 2)), "Python objects besides tensors"),
    (saved(torch.zeros(3)), "holds a Tensor"),
    (saved([1, 2, 3]), "holds a list"),
    (saved({"epoch": 3, "name": "x"}), "holds a dict (keys 'epoch', 'name'), not model weights"),
    (saved({}), "holds an empty dict, not model weights"),
    (saved({"w": torch.zeros(3)}), "not an LSTM's"),
    (saved({"format": "other-tool"}), "unknown format"),
    (lstm_viz_payload(version=99), "newer lstm-viz"),
    (lstm_viz_payload(version=None), "damaged: an lstm-viz checkpoint without a valid format version"),
    (lstm_viz_payload(config={"kind": "sequence", "hidden_size": 10**9, "input_size": 1}), "too large to build"),
    (saved({**nn.LSTM(2, 3).state_dict(), "weight_ih_l0": torch.zeros(12, 2).to_sparse()}), "sparse_coo tensor"),
    (saved({k: v.to("meta") for k, v in nn.LSTM(2, 3).state_dict().items()}), "on the meta device"),
    (lstm_viz_payload(config={"kind": "toy_lstm", "hidden_size": 3}), "config is invalid"),
    (lstm_viz_payload(config={"kind": "sequence", "hidden_size": 3, "input_size": 1}), "do not match"),
    (lstm_viz_payload(state_dict=None), "no weights"),
    (lstm_viz_payload(optimizer=[1]), "optimizer state is malformed"),
    (lstm_viz_payload(history="abc"), "history must be a list"),
    (saved({"weight_ih_l0": torch.full((4, 1), float("nan")), "weight_hh_l0": torch.zeros(4, 1)}), "NaN"),
    (saved({"weight_ih_l0": torch.zeros(5, 1), "weight_hh_l0": torch.zeros(5, 1)}), "are not an LSTM's or a GRU's"),
    (saved({**nn.LSTM(2, 3).state_dict(), "fc.weight": torch.zeros(1, 3), "x.bias": torch.zeros(1)}), "Linear"),
]


# ids name the message, not the bytes (pickled bytes differ between processes, and pytest-xdist's workers must agree)
@pytest.mark.parametrize("data, fragment", CORRUPT, ids=[f"{n}-{fragment}" for n, (_, fragment) in enumerate(CORRUPT)])
def test_foreign_or_corrupt_files_are_rejected_clearly(data, fragment, tmp_path):
    if data == "truncated":
        good = checkpoint_bytes(build_model(ModelConfig.default("subtraction")))
        data = good[: len(good) // 2]
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(data)
    message = str(err.value)
    assert fragment in message
    assert "\n" not in message  # one line, fit for an error box or the CLI


def test_missing_paths(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="is a folder"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="binary mode"):
        load_checkpoint(io.StringIO("text"))
    with pytest.raises(CheckpointError, match="cannot load a checkpoint from a int"):
        load_checkpoint(3)


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)


@pytest.mark.parametrize(
    "module, kind, cell",
    [
        (nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2), "sequence", "lstm"),
        (nn.LSTM(4, 6, bias=False), "sequence", "lstm"),
        (nn.GRU(3, 4), "sequence", "gru"),
        (nn.LSTM(1, 1), "toy_lstm", "lstm"),
    ],
)
def test_plain_rnn_state_dicts(module, kind, cell):
    ckpt = load_checkpoint(saved(module.state_dict()))
    assert ckpt.source == "state_dict" and ckpt.config.kind == kind and ckpt.config.cell == cell
    module.batch_first = True
    x = torch.randn(2, 5, module.input_size)
    expected = module(x)[0]
    if kind == "toy_lstm":
        assert torch.allclose(ckpt.model(x), expected[:, -1, 0])
    else:
        assert torch.allclose(ckpt.model(x), expected, atol=1e-6)
    if cell == "lstm":
        assert ckpt.model.record(x).f.shape[:3] == (module.num_layers, 1 + module.bidirectional, 2)


def test_a_state_dict_with_an_extra_plain_key_is_refused_by_name():
    state = {**nn.LSTM(2, 4).state_dict(), "step": torch.tensor(100)}  # a counter saved beside the weights
    with pytest.raises(CheckpointError, match="the file holds step; lstm-viz understands an LSTM alone"):
        load_checkpoint(saved(state))


def test_complex_weights_are_refused_not_silently_made_real():
    state = {k: v.to(torch.complex64) for k, v in nn.LSTM(2, 4).state_dict().items()}
    with pytest.raises(CheckpointError, match=r"holds complex numbers \(complex64\)"):
        load_checkpoint(saved(state))


def test_a_linear_head_of_the_wrong_shape_is_named_with_its_shapes():
    state = {**{f"lstm.{k}": v for k, v in nn.LSTM(2, 4).state_dict().items()}, "fc.weight": torch.tensor(1.0),
             "fc.bias": torch.tensor(0.0)}  # fmt: skip
    with pytest.raises(CheckpointError, match=r"fc\.bias of shape \(\), fc\.weight of shape \(\); .*a 2-D weight"):
        load_checkpoint(saved(state))


def test_seed_state_dicts_are_recognised():
    class LSTMSubtractor(nn.Module):  # post 4
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(2, 32, batch_first=True)
            self.fc = nn.Linear(32, 1)
            self.sigmoid = nn.Sigmoid()

    class LSTMModel(nn.Module):  # post 2
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(10, 50, 2, batch_first=True)
            self.fc = nn.Linear(50, 1)

    sub = LSTMSubtractor()
    ckpt = load_checkpoint(saved(sub.state_dict()))
    assert ckpt.config.kind == "subtraction" and "post 4" in ckpt.description
    x = torch.randint(0, 2, (3, 8, 2)).float()
    assert torch.allclose(ckpt.model(x), sub.sigmoid(sub.fc(sub.lstm(x)[0])).squeeze(-1))

    reg = LSTMModel()
    ckpt = load_checkpoint(saved(reg.state_dict()))
    assert ckpt.config.kind == "regressor" and ckpt.config.num_layers == 2
    x = torch.randn(4, 5, 10)
    assert torch.allclose(ckpt.model(x), reg.fc(reg.lstm(x)[0][:, -1, :]), atol=1e-6)

    statquest = {name: torch.tensor(float(k)) for k, name in enumerate(STATQUEST_NAMES)}
    ckpt = load_checkpoint(saved(statquest))
    assert ckpt.config.kind == "statquest"
    assert ckpt.model.named_weights() == {name: float(k) for k, name in enumerate(STATQUEST_NAMES)}

    lightning = {"epoch": 4999, "global_step": 9998, "pytorch-lightning_version": "2.5.0",
                 "state_dict": {f"lstm.{k}": v for k, v in nn.LSTM(1, 1).state_dict().items()}}  # fmt: skip
    ckpt = load_checkpoint(saved(lightning))
    assert ckpt.source == "lightning" and ckpt.config.kind == "toy_lstm"


def test_device_argument():
    model = build_model(ModelConfig.default("toy_lstm"))
    ckpt = load_checkpoint(checkpoint_bytes(model), device="cpu")
    assert next(ckpt.model.parameters()).device.type == "cpu"


MODELS = Path(__file__).resolve().parents[1] / "models"
SHIPPED = ["toy_statquest", "toy_lstm", "subtraction_lstm", "subtraction_lstmp", "subtraction_gru"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoints(name):
    path = MODELS / f"{name}.pt"
    assert path.stat().st_size < 200_000  # kilobytes, not megabytes
    ckpt = load_checkpoint(path)
    assert ckpt.source == "lstm-viz" and ckpt.history and ckpt.optimizer_state is not None
    assert ckpt.meta["command"].startswith("python -m lstm_viz train ")
    assert f"--out models/{name}.pt" in ckpt.meta["command"]
    assert ckpt.meta["command"] in (MODELS / "README.md").read_text()  # documented
    if name.startswith("toy"):
        out = toy.predict_companies(ckpt.model)
        assert abs(out["out_0"]) < 0.05 and abs(out["out_1"] - 1) < 0.05
        assert ckpt.config.kind == ("statquest" if name == "toy_statquest" else "toy_lstm")
    else:
        # every a - b with 0 ≤ b ≤ a ≤ 255, not only the post's test split
        result = subtraction.evaluate_all_pairs(ckpt.model)
        assert result["n"] == 32_896
        assert result["exact_match"] == 1.0, f"wrong answers: {result['wrong']}"
        assert ckpt.config.cell == ("gru" if name == "subtraction_gru" else "lstm")
        assert ckpt.config.proj_size == (8 if name == "subtraction_lstmp" else 0)
        assert ckpt.history[-1]["test_exact_match"] == 1.0


@pytest.mark.parametrize("name", [*SHIPPED, "regressor"])
def test_shipped_checkpoints_resume(name):
    """`train --resume models/<file>.pt` goes on from a shipped file: they were saved before the trainer state had
    betas, preset and options, and a field a file lacks takes the recipe's value."""
    path = MODELS / f"{name}.pt"
    saved = load_checkpoint(path).meta["trainer"]
    trainer = make_trainer(saved["task"], resume=str(path), device="cpu")
    assert trainer.epoch == saved["epoch"] > 0 and trainer.optimizer.state


def test_shipped_regressor_is_reproducible():
    """Post 2's regressor: documented, selectable as a task, and its command gives the same loss again."""
    path = MODELS / "regressor.pt"
    ckpt = load_checkpoint(path)
    command = ckpt.meta["command"]
    assert command == "python -m lstm_viz train regressor --seed 0 --out models/regressor.pt --quiet"
    assert command in (MODELS / "README.md").read_text()
    assert ckpt.config.kind == "regressor" and ckpt.config.input_size == 10 and ckpt.config.num_layers == 2
    again = make_trainer("regressor", seed=0, device="cpu")
    history = again.train_epochs(len(ckpt.history))
    # rel 1e-3: another CPU's kernels round differently (1.1e-4 apart after training, seen with PyTorch 2.11)
    assert history[-1]["loss"] == pytest.approx(ckpt.history[-1]["loss"], rel=1e-3)
    assert history[-1]["loss"] < history[0]["loss"] / 10



def test_a_new_file_is_never_written_over_an_existing_one(tmp_path, monkeypatch):
    from lstm_viz import paths

    path = tmp_path / "x.pt"
    paths.write_atomically(path, b"first", new=True)
    with pytest.raises(FileExistsError):
        paths.write_atomically(path, b"second", new=True)
    assert path.read_bytes() == b"first" and sorted(tmp_path.iterdir()) == [path]  # no temporary file left

    def no_links(src, dst):
        raise PermissionError("this folder holds no hard links")

    monkeypatch.setattr(os, "link", no_links)  # the fallback: claim the name with an exclusive create
    other = tmp_path / "y.pt"
    paths.write_atomically(other, b"mine", new=True)
    with pytest.raises(FileExistsError):
        paths.write_atomically(other, b"theirs", new=True)
    assert other.read_bytes() == b"mine" and sorted(tmp_path.iterdir()) == [path, other]


def test_files_written_atomically_keep_their_mode():
    """One writer for checkpoints, corpus files and the sweep (a crash mid-write: test_save_is_atomic): a new file
    gets 0644, a rewritten one keeps its mode (mkstemp's temporary file is 0600)."""
    from lstm_viz.paths import write_atomically

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "deep" / "x.bin"
        write_atomically(path, b"one")
        assert path.read_bytes() == b"one" and (path.stat().st_mode & 0o777) == 0o644
        os.chmod(path, 0o600)
        write_atomically(path, b"two")
        assert path.read_bytes() == b"two" and (path.stat().st_mode & 0o777) == 0o600


def _saved(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def test_a_changed_byte_in_a_weight_is_refused_not_loaded_as_another_weight():
    """torch.load does not check the zip's checksums: one flipped bit in a weight made `predict` answer -0.046 for
    -9e-07, exit 0. The parts are checked first."""
    model = build_model(ModelConfig.default("toy_lstm"))
    data = bytearray(_saved(model.state_dict()))
    weight = model.state_dict()["lstm.weight_ih_l0"].numpy().tobytes()
    at = bytes(data).index(weight)
    data[at + 1] ^= 0x40
    with pytest.raises(CheckpointError, match=r"is damaged: its part 'archive/data/\d+' does not match its checksum"):
        load_checkpoint(bytes(data))
    load_checkpoint(_saved(model.state_dict()))  # the same file unchanged loads


@pytest.mark.parametrize("where", ["plain", "checkpoint", "optimizer"])
def test_a_tiny_file_of_expanded_tensors_is_refused_before_anything_is_allocated(where):
    """A 3 KB torch.save of stride-0 expand()ed tensors claimed an LSTM of 800,000 units: loading it asked for
    640 GB (or took 6.5 GB before failing). Tensors must store the values they claim."""
    bomb = torch.zeros(1).expand(800_000, 2)
    weights = {"lstm.weight_ih_l0": bomb, "lstm.weight_hh_l0": torch.zeros(1).expand(800_000, 200_000)}
    obj = {
        "plain": weights,
        "checkpoint": {"state_dict": weights},
        "optimizer": {"format": FORMAT, "version": 1, "config": ModelConfig.default("subtraction").to_dict(),
                      "state_dict": build_model(ModelConfig.default("subtraction")).state_dict(),
                      "optimizer": {"state": {0: {"exp_avg": bomb}}, "param_groups": []}},
    }[where]
    data = _saved(obj)
    assert len(data) < 30_000  # kilobytes, whatever they claim
    with pytest.raises(CheckpointError, match=r"claims 1,600,000 values of shape \(800000, 2\) but the file stores 1 "):
        load_checkpoint(data)


class _Seq2Seq(nn.Module):
    """A model lstm-viz does not know as a whole: an embedding, an LSTMP encoder (bidirectional) and a GRU decoder."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 6)
        self.encoder = nn.Module()
        self.encoder.lstm = nn.LSTM(6, 8, 2, batch_first=True, bidirectional=True, proj_size=3)
        self.decoder = nn.GRU(6, 5, batch_first=True)
        self.out = nn.Linear(5, 50)


def test_a_bigger_models_state_dict_offers_its_recurrent_modules_one_at_a_time():
    """A seq2seq's state_dict was refused ("lstm-viz shows one LSTM at a time"); its LSTMs and GRUs are now named
    and each loads alone, equal to the module itself."""
    from lstm_viz.training.checkpoints import ModuleChoice

    torch.manual_seed(0)
    model = _Seq2Seq()
    data = saved(model.state_dict())
    with pytest.raises(ModuleChoice, match="holds 2 recurrent modules .*--module encoder.lstm") as caught:
        load_checkpoint(data)
    assert caught.value.options == {"encoder.lstm": "LSTMP(6→8→3, 2 layers, bidirectional)",
                                    "decoder": "GRU(6→5, 1 layer)"}  # fmt: skip
    x = torch.randn(2, 4, 6)
    encoder = load_checkpoint(data, module="encoder.lstm")
    left = "encoder.lstm alone (the file's 7 other tensors left out): a plain LSTMP"  # emb 1, decoder 4, out 2
    assert encoder.description.startswith(left)
    torch.testing.assert_close(encoder.model(x), model.encoder.lstm(x)[0])
    assert encoder.model.record(x).c.shape == (2, 2, 2, 4, 8)  # every gate and state of the encoder
    decoder = load_checkpoint(data, module="decoder")
    assert decoder.config.cell == "gru"
    torch.testing.assert_close(decoder.model(x), model.decoder(x)[0])
    with pytest.raises(CheckpointError, match=r"has no recurrent module 'encoder'; it holds encoder\.lstm: LSTMP"):
        load_checkpoint(data, module="encoder")
    lstm_viz_file = checkpoint_bytes(build_model(ModelConfig(kind="sequence", input_size=2, hidden_size=3)))
    with pytest.raises(CheckpointError, match="an lstm-viz checkpoint, one model: module= chooses"):
        load_checkpoint(lstm_viz_file, module="lstm")


def test_a_language_models_lstm_is_offered_alone_and_a_stray_key_still_refused():
    """Embedding → LSTM → Linear over a vocabulary: not a model lstm-viz knows, but its LSTM is shown alone."""
    from lstm_viz.training.checkpoints import ModuleChoice

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed, self.lstm, self.fc = nn.Embedding(100, 8), nn.LSTM(8, 16), nn.Linear(16, 100)

    with pytest.raises(ModuleChoice, match=r"embed\.weight of shape \(100, 8\).*can be shown alone: choose it") as c:
        load_checkpoint(saved(LM().state_dict()))
    assert c.value.options == {"lstm": "LSTM(8→16, 1 layer)"}
    assert load_checkpoint(saved(LM().state_dict()), module="lstm").config.hidden_size == 16
    with pytest.raises(ModuleChoice, match=r"the file holds step; .* on the command line: --module ''") as top:
        load_checkpoint(saved({**nn.LSTM(2, 4).state_dict(), "step": torch.tensor(100)}))  # a top-level LSTM
    assert top.value.options == {"": "LSTM(2→4, 1 layer)"}


def test_unreadable_recurrent_modules_are_named_with_their_reason_never_offered_empty():
    """Two LSTMs without weight_hh_l0 gave an empty list (the app crashed on it) and "several recurrent modules ()";
    a broken module beside a good one was called missing; keys that only end like a recurrent weight
    (cell.fwd_weight_ih_l0) are no module's."""
    from lstm_viz.training.checkpoints import ModuleChoice

    lstm = nn.LSTM(2, 3).state_dict()
    no_hh = {k: v for k, v in lstm.items() if "hh" not in k}
    with pytest.raises(CheckpointError, match=r"cannot be read as an LSTM or a GRU \(a: the LSTM weights are "
                       r"incomplete: .*; b: the LSTM weights are incomplete") as both:  # fmt: skip
        load_checkpoint(saved({**{f"a.{k}": v for k, v in no_hh.items()}, **{f"b.{k}": v for k, v in no_hh.items()}}))
    assert not isinstance(both.value, ModuleChoice)
    mixed = saved({**{f"good.{k}": v for k, v in lstm.items()}, **{f"bad.{k}": v for k, v in no_hh.items()}})
    with pytest.raises(ModuleChoice, match=r"holds 2 recurrent modules \(good: LSTM\(2→3, 1 layer\)\); .*"
                       r"choose it by its name .*; not readable as an LSTM or a GRU: bad: the LSTM weights") as one:
        load_checkpoint(mixed)  # fmt: skip
    assert one.value.options == {"good": "LSTM(2→3, 1 layer)"}
    with pytest.raises(CheckpointError, match="the module 'bad' is not readable as an LSTM or a GRU: the LSTM"):
        load_checkpoint(mixed, module="bad")
    nodot = saved({**{f"cell.fwd_{k}": v for k, v in lstm.items()}, "emb.weight": torch.zeros(3, 2)})
    with pytest.raises(CheckpointError, match=r"besides the LSTM\(2→3, 1 layer\) \(under 'cell.fwd_'\)") as e:
        load_checkpoint(nodot)
    assert not isinstance(e.value, ModuleChoice)  # nothing to offer: no module's name
    double = {**{f"x..{k}": v for k, v in lstm.items()}, "emb.weight": torch.zeros(3, 2)}
    assert load_checkpoint(saved(double), module="x.").config.hidden_size == 3  # the name is the prefix less one dot


def _wrapped(how: str) -> nn.Module:
    """A model whose encoder LSTM (2 layers, bidirectional) keeps weights through weight_norm, pruning or
    spectral_norm, as torch.nn.utils leaves them in a state_dict."""
    import warnings

    from torch.nn.utils import parametrizations as P
    from torch.nn.utils import prune, spectral_norm, weight_norm

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed, self.enc = nn.Linear(3, 4), nn.LSTM(4, 6, 2, batch_first=True, bidirectional=True)

    torch.manual_seed(0)
    model = Model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.nn.utils.weight_norm is deprecated, still used
        if how == "weight_norm":
            P.weight_norm(model.enc, "weight_hh_l0")
            P.weight_norm(model.enc, "weight_ih_l1_reverse", dim=1)
        elif how == "legacy weight_norm":
            weight_norm(model.enc, "weight_hh_l0")
            weight_norm(model.enc, "weight_ih_l1", dim=None)
        elif how == "pruned":
            prune.l1_unstructured(model.enc, "weight_ih_l0", 0.4)
            prune.random_unstructured(model.enc, "bias_hh_l1_reverse", 0.5)
        elif how == "spectral_norm":
            spectral_norm(model.enc, "weight_hh_l1")
        else:
            P.orthogonal(model.enc, "weight_hh_l0")
    return model.eval()


@pytest.mark.parametrize("how", ["weight_norm", "legacy weight_norm", "pruned", "spectral_norm"])
def test_a_state_dict_with_weight_normed_pruned_or_spectral_normed_weights_loads(how):
    """Such a state_dict holds weight_hh_l0_g / _v, weight_ih_l0_orig / _mask or parametrizations.weight_hh_l0.original0
    / original1 instead of the weight: "the LSTM weights are incomplete", though all it takes was in the file. The
    module loads with the weights its forward uses."""
    model = _wrapped(how)
    x = torch.randn(2, 5, 4)
    with torch.no_grad():
        want = model.enc(x)[0]  # the forward runs the hooks and parametrizations: the weights as they are used
    state = model.state_dict()
    assert any(k.endswith(("_g", "_orig", "original0")) for k in state)  # the file really holds the wrapped form
    loaded = load_checkpoint(saved(state), module="enc")
    torch.testing.assert_close(loaded.model(x), want, rtol=1e-5, atol=1e-6)
    assert loaded.model.record(x).c.shape == (2, 2, 2, 5, 6)


def test_a_state_dict_with_a_parametrization_whose_function_is_not_in_it_says_how_to_save_one():
    """orthogonal (or any parametrization but weight_norm's g and v) keeps only its input: named, with the way out."""
    from lstm_viz.training.checkpoints import ModuleChoice

    state = _wrapped("orthogonal").state_dict()
    with pytest.raises(CheckpointError, match=r"the module 'enc' is not readable as an LSTM or a GRU: weight_hh_l0 "
                       r"is saved through a parametrization \(parametrizations\.weight_hh_l0\.original\), whose "
                       r"function a state_dict does not keep; .*remove_parametrizations\(module, 'weight_hh_l0'\) "
                       r"before torch\.save, or save RecordingLSTM\.from_lstm\(module\)\.state_dict\(\)"):  # fmt: skip
        load_checkpoint(saved(state), module="enc")
    with pytest.raises(CheckpointError, match=r"the module 'enc' is not readable .*: weight_hh_l0 is saved") as caught:
        load_checkpoint(saved(state))
    assert not isinstance(caught.value, ModuleChoice)  # nothing readable to offer


@pytest.mark.parametrize(
    "cut, says",
    [({"weight_hh_l0": (slice(None), slice(0, 3))}, "weight_hh_l0 has shape (28, 3): with 28 rows (4 gates × hidden "
      "size 7) it needs 7 columns"),
     ({"weight_ih_l0": (slice(0, 20),)}, "weight_ih_l0 has shape (20, 5): with weight_hh_l0 of shape (28, 7) (hidden "
      "size 7) it needs 28 rows")],
)  # fmt: skip
def test_a_cut_weight_is_named_with_the_shape_it_needs(cut, says):
    """A weight_hh_l0 cut to 3 columns was reported as "weight_ih_l0 has 28 rows for hidden size 3" — the sound
    tensor blamed, the hidden size read off the broken one."""
    state = nn.LSTM(5, 7).state_dict()
    for name, index in cut.items():
        state[name] = state[name][index]
    with pytest.raises(CheckpointError, match=re.escape(says)):
        load_checkpoint(saved(state))


def test_a_damaged_wrapped_weight_is_refused_not_computed():
    """weight_ih_l0_orig and a mask of another shape (a foreign or damaged file): refused in words, no arithmetic
    error from multiplying them."""
    state = nn.LSTM(3, 4).state_dict()
    state["weight_ih_l0_orig"], state["weight_ih_l0_mask"] = state.pop("weight_ih_l0"), torch.ones(3, 3)
    with pytest.raises(CheckpointError, match="the LSTM weights are incomplete"):
        load_checkpoint(saved(state))
    state["weight_ih_l0_mask"] = "not a tensor"
    with pytest.raises(CheckpointError):
        load_checkpoint(saved(state))
