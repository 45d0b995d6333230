"""Where the explorer's model and input come from: shipped checkpoints, random RecordingLSTMs, uploads, and the
typed / random / CSV inputs — including every kind of bad file and bad text."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

from lstm_viz.app import sources
from lstm_viz.app.inputs import csv_input, example_for, random_input, typed_input
from lstm_viz.app.sources import RandomSpec, SourceError, load_shipped, load_upload, random_model
from lstm_viz.parsing import MAX_STEPS, InputError
from lstm_viz.paths import MODELS_DIR
from lstm_viz.tasks import SEQUENCE, STATQUEST, SUBTRACTION, TOY_LSTM, ModelConfig, build_model, task_for
from lstm_viz.tasks.subtraction import bit_table
from lstm_viz.training.checkpoints import save_checkpoint


def saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------- shipped
def test_shipped_listing_puts_the_subtraction_lstm_first(tmp_path: Path):
    torch.manual_seed(0)
    for name, config in [
        ("toy_lstm.pt", ModelConfig.default("toy_lstm")),
        ("subtraction_gru.pt", ModelConfig.default("subtraction", cell="gru")),
        ("subtraction_lstm.pt", ModelConfig.default("subtraction")),
        ("zz_extra.pt", ModelConfig.default("toy_lstm")),
    ]:
        save_checkpoint(tmp_path / name, build_model(config))
    (tmp_path / "notes.txt").write_text("not a model")
    names = [p.name for p in sources.shipped_checkpoints(tmp_path)]
    assert names == ["subtraction_lstm.pt", "toy_lstm.pt", "subtraction_gru.pt", "zz_extra.pt"]
    assert sources.default_checkpoint(tmp_path).name == "subtraction_lstm.pt"
    assert sources.shipped_checkpoints(tmp_path / "missing") == []
    assert sources.default_checkpoint(tmp_path / "missing") is None


def test_load_shipped_gives_a_recordable_model_with_label_and_key(tmp_path: Path):
    torch.manual_seed(1)
    model = build_model(ModelConfig.default("subtraction", proj_size=8))
    path = save_checkpoint(tmp_path / "subtraction_lstmp.pt", model, history=[{"epoch": 3, "test_exact_match": 1.0}])
    loaded = load_shipped(path)
    assert loaded.origin == "shipped" and loaded.config.proj_size == 8
    assert "subtraction_lstmp.pt" in loaded.label and loaded.key.startswith("shipped:subtraction_lstmp.pt:")
    assert loaded.info["metrics"]["test_exact_match"] == 1.0
    x = torch.rand(2, 8, 2).round()
    device = loaded.model.device  # compared there: a GPU's kernels round unlike the CPU's (cuDNN's TF32)
    torch.testing.assert_close(loaded.model(x.to(device)), model.to(device)(x.to(device)))
    assert loaded.model.record(x).h.shape[-1] == 8
    with pytest.raises(SourceError, match="does not exist"):
        load_shipped(tmp_path / "nope.pt")


def test_repository_default_model_is_a_shipped_subtraction_lstm_when_present():
    path = sources.default_checkpoint()
    if path is None:
        pytest.skip("models/ has no shipped checkpoints yet")
    loaded = load_shipped(path)
    assert loaded.config.kind == "subtraction" and loaded.model.recordable


# --------------------------------------------------------------------------------------------- random
def test_random_model_is_reproducible_and_honours_every_option():
    spec = RandomSpec(input_size=3, hidden_size=10, num_layers=2, bidirectional=True, proj_size=4, bias=False, seed=7)
    a, b = random_model(spec), random_model(spec)
    for (name, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values(), strict=True):
        torch.testing.assert_close(p, q, msg=name)
    lstm = a.model.lstm
    assert (lstm.input_size, lstm.hidden_size, lstm.num_layers, lstm.bidirectional, lstm.proj_size, lstm.bias) == (
        3, 10, 2, True, 4, False,
    )  # fmt: skip
    other = random_model(RandomSpec(3, 10, 2, True, 4, False, seed=8))
    assert not torch.equal(a.model.lstm.weight_ih_l0, other.model.lstm.weight_ih_l0)
    assert a.key == b.key != other.key
    rec = a.model.record(torch.randn(1, 5, 3))
    assert rec.f.shape == (2, 2, 1, 5, 10) and rec.h.shape == (2, 2, 1, 5, 4)
    # the global RNG is untouched by building a model
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    random_model(RandomSpec(seed=99))
    assert torch.equal(torch.rand(1), expected)


@pytest.mark.parametrize(
    "spec, message",
    [
        (RandomSpec(hidden_size=8, proj_size=8), "proj_size must be 0"),
        (RandomSpec(hidden_size=0), "hidden size must be a whole number from 1"),
        (RandomSpec(num_layers=9), "layers must be a whole number from 1 to 4"),
        (RandomSpec(input_size=2.5), "input size"),  # type: ignore[arg-type]
        (RandomSpec(seed=-1), "seed"),
    ],
)
def test_random_model_refuses_bad_options(spec, message):
    with pytest.raises(SourceError, match=message):
        random_model(spec)


# --------------------------------------------------------------------------------------------- upload
def test_upload_of_a_plain_nn_lstm_state_dict_matches_nn_lstm():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 6, num_layers=2, bidirectional=True, batch_first=True)
    loaded = load_upload(saved(lstm.state_dict()), "my_lstm.pt")
    assert loaded.origin == "upload" and loaded.key.startswith("upload:") and "my_lstm.pt" in loaded.label
    x = torch.randn(2, 5, 3).to(loaded.model.device)  # compared there: a GPU rounds unlike the CPU (cuDNN's TF32)
    rec = loaded.model.record(x)
    torch.testing.assert_close(rec.output, lstm.to(x.device)(x)[0])


def test_upload_of_a_project_checkpoint_and_of_a_gru():
    torch.manual_seed(0)
    model = build_model(ModelConfig.default("subtraction"))
    buffer = io.BytesIO()
    from lstm_viz.training.checkpoints import checkpoint_bytes

    buffer.write(checkpoint_bytes(model))
    loaded = load_upload(buffer.getvalue(), "sub.pt")
    assert loaded.config.kind == "subtraction" and loaded.model.recordable
    gru = load_upload(saved(torch.nn.GRU(2, 4).state_dict()), "gru.pt")
    assert gru.model.recordable and gru.model.record(torch.zeros(1, 3, 2)).tensor_names == ("r", "z", "n", "h")


def test_upload_of_a_bigger_model_names_its_recurrent_modules_and_loads_the_one_chosen():
    """The sidebar offers a seq2seq's LSTM and GRU one at a time (ModuleNeeded carries them); each choice is its
    own model (its own key, so its recordings are cached apart)."""
    model = torch.nn.Module()
    model.encoder, model.decoder, model.head = torch.nn.LSTM(3, 4), torch.nn.GRU(4, 5), torch.nn.Linear(5, 2)
    data = saved(model.state_dict())
    with pytest.raises(sources.ModuleNeeded, match="s2s.pt holds 2 recurrent modules") as caught:
        load_upload(data, "s2s.pt")
    assert caught.value.options == {"encoder": "LSTM(3→4, 1 layer)", "decoder": "GRU(4→5, 1 layer)"}
    encoder, decoder = load_upload(data, "s2s.pt", "encoder"), load_upload(data, "s2s.pt", "decoder")
    assert encoder.key != decoder.key and encoder.key.endswith(":encoder")
    assert "s2s.pt — encoder alone (the file's 6 other tensors left out)" in encoder.label
    assert decoder.config.cell == "gru" and encoder.model.record(torch.zeros(1, 3, 3)).c.shape == (1, 1, 1, 3, 4)


class _Evil:
    def __reduce__(self):
        return (Path.write_text, (Path("/tmp/lstm_viz_pwned_by_upload"), "pwned"))


def test_upload_never_runs_code_and_bad_files_get_clear_messages():
    marker = Path("/tmp/lstm_viz_pwned_by_upload")
    marker.unlink(missing_ok=True)
    with pytest.raises(SourceError, match="evil.pt contains Python objects"):
        load_upload(saved({"model": _Evil()}), "evil.pt")
    assert not marker.exists()
    with pytest.raises(SourceError, match="empty"):
        load_upload(b"", "empty.pt")
    truncated = saved(torch.nn.LSTM(3, 8).state_dict())[:400]
    with pytest.raises(SourceError, match="truncated or corrupt"):
        load_upload(truncated, "cut.pt")
    with pytest.raises(SourceError, match="not an LSTM's|not model weights"):
        load_upload(saved({"a": torch.zeros(3)}), "foreign.pt")
    bad = torch.nn.LSTM(3, 8).state_dict()
    bad["weight_hh_l0"] = torch.zeros(32, 7)
    with pytest.raises(SourceError, match="weight"):
        load_upload(saved(bad), "bad_shapes.pt")
    nan = torch.nn.LSTM(2, 3).state_dict()
    nan["bias_ih_l0"][0] = float("nan")
    with pytest.raises(SourceError, match="NaN"):
        load_upload(saved(nan), "nan.pt")


# --------------------------------------------------------------------------------------------- inputs
def test_each_model_gets_its_own_input_format():
    toy_cfg, sub_cfg = ModelConfig.default("toy_lstm"), ModelConfig.default("subtraction")
    vec_cfg = ModelConfig.default("sequence", input_size=3, hidden_size=4)
    assert [task_for(c) for c in (toy_cfg, sub_cfg, vec_cfg)] == [TOY_LSTM, SUBTRACTION, SEQUENCE]
    assert task_for(ModelConfig.default("statquest")) is STATQUEST
    toy_in = typed_input(example_for(toy_cfg), toy_cfg)
    assert toy_in.x.shape == (1, 4, 1) and toy_in.target == 0.0
    assert typed_input("1, 0.5, 0.25, 1", toy_cfg).target == 1.0
    assert typed_input("0.3", toy_cfg).target is None
    sub = typed_input("123 - 61", sub_cfg)
    assert sub.operands == (123, 61) and sub.x.shape == (1, 8, 2)
    assert sub.x[0, :, 0].tolist() == [1, 1, 0, 1, 1, 1, 1, 0]  # 123 LSB first
    table = bit_table(123, 61)
    assert table.loc["a − b = 62"].tolist() == [0, 1, 1, 1, 1, 1, 0, 0]
    vec = typed_input(example_for(vec_cfg), vec_cfg)
    assert vec.x.shape[2] == 3 and vec.feature_names == ("x0", "x1", "x2")
    # how a typed input is named ("Still showing the last valid input: …"): its values, cut when long
    assert typed_input("0.5, 1, 2\n0, 0.25, 1", vec_cfg).text == "2 steps: 0.5, 1, 2; 0, 0.25, 1"
    long = typed_input("\n".join(["0.123456, 1, 2"] * 300), vec_cfg).text
    assert long.startswith("300 steps: 0.1235, 1, 2; ") and long.endswith("…") and len(long) < 70
    assert sub.key() != typed_input("123 - 60", sub_cfg).key() and sub.key() == typed_input("123-61", sub_cfg).key()


@pytest.mark.parametrize(
    "text, kind, message",
    [
        ("0, abc, 1", "toy_lstm", "'abc' is not a number"),
        ("", "toy_lstm", "empty"),
        ("0, nan", "toy_lstm", "not a finite number"),
        ("1, inf", "toy_lstm", "not a finite number"),
        ("300 - 1", "subtraction", "does not fit in 8 bits"),
        ("5 - 9", "subtraction", "larger than a"),
        ("five - one", "subtraction", "Example: 123 - 61"),
        ("1, 2; 3", "sequence", "expects 3 per step"),
        (", ".join(["0.5"] * (MAX_STEPS + 1)), "toy_lstm", f"at most {MAX_STEPS:,}"),
    ],
)
def test_bad_typed_input_says_what_and_shows_an_example(text, kind, message):
    config = (
        ModelConfig.default(kind) if kind != "sequence" else ModelConfig.default(kind, input_size=3, hidden_size=2)
    )
    with pytest.raises(InputError, match=message) as err:
        typed_input(text, config)
    assert "xample" in str(err.value)


def test_random_inputs_are_reproducible_and_bounded():
    vec_cfg = ModelConfig.default("sequence", input_size=2, hidden_size=4)
    a, b = random_input(vec_cfg, 64, 3), random_input(vec_cfg, 64, 3)
    assert a.x.shape == (1, 64, 2) and torch.equal(a.x, b.x)
    assert not torch.equal(a.x, random_input(vec_cfg, 64, 4).x)
    sub = random_input(ModelConfig.default("subtraction"), 100, 5)
    a_, b_ = sub.operands
    assert sub.x.shape == (1, 8, 2) and 0 <= b_ <= a_ <= 255
    toy_x = random_input(ModelConfig.default("statquest"), 10, 0).x
    assert toy_x.shape == (1, 10, 1) and float(toy_x.min()) >= 0 and float(toy_x.max()) <= 1
    with pytest.raises(InputError, match="length"):
        random_input(vec_cfg, MAX_STEPS + 1, 0)
    with pytest.raises(InputError, match="seed"):
        random_input(vec_cfg, 4, -2)


def test_csv_input_with_header_and_the_errors():
    cfg = ModelConfig.default("sequence", input_size=2, hidden_size=4)
    inp = csv_input(b"price,volume\n0.5,1\n-1,2e-1\n", cfg, "data.csv")
    assert inp.feature_names == ("price", "volume")
    torch.testing.assert_close(inp.x, torch.tensor([[[0.5, 1.0], [-1.0, 0.2]]]))
    assert csv_input("0.5,1\n3,4\n", cfg).feature_names == ("x0", "x1")
    for spreadsheet in (b"price;volume\n0.5;1\n-1;2e-1\n", b"price\tvolume\n0.5\t1\n-1\t2e-1\n"):  # ; or tab
        assert torch.equal(csv_input(spreadsheet, cfg).x, inp.x) and csv_input(spreadsheet, cfg).feature_names[1] == \
            "volume"  # fmt: skip
    toy = csv_input(b"x\n0\n0.5\n0.25\n1\n", ModelConfig.default("toy_lstm"))
    assert toy.target == 0.0
    for data, message in [
        (b"1,2,3\n4,5,6\n", "has 3 columns but this model reads 2"),
        (b"\xff\xfe\x00garbage", "not a UTF-8 text file"),
        (b"a,b\n", "header but no rows"),
        (b"", "empty"),
        (b"1,x\n2,3\n", "'x' is not a number"),
        (b"1,nan\n", "not a finite number"),
        (b"1,5;2,5\n", "decimal comma \\('1,5'\\); save it with decimal points"),
    ]:
        with pytest.raises(InputError, match=message):
            csv_input(data, cfg, "data.csv")


@pytest.mark.parametrize(
    "key, value, text",
    [
        ("test_exact_match", 1.0, "test exact match 100 %"),
        ("train_bit_acc", 0.9987, "training bit accuracy 99.9 %"),
        ("val_bpc", 1.4087, "validation 1.409 bits per character"),
        ("chars", 15_585_280, "15.6 M characters trained on"),
        ("step", 7610, "step 7,610"),
        ("train_loss", 0.0123, "training loss 0.0123"),
        ("some_new_metric", 3.14159, "some new metric 3.142"),
        ("note", "text", "note text"),
    ],
)
def test_the_sidebar_says_checkpoint_metrics_in_words(key, value, text):
    from lstm_viz.app.ui import metric_text

    assert metric_text(key, value) == text


def test_messages_show_the_users_text_as_typed_and_start_as_sentences():
    """A regular expression "#.*" in a message lost its "*" to Markdown italics ("#." marks comments, it read), and
    "**This mark cannot be used.** the regular expression …" ran on in lower case."""
    from lstm_viz.app.ui import _sentence, plain_text

    assert plain_text("'#.*' and _x_ cost $5 [a](b) ~y~ `z` \\d") == (
        "'#.\\*' and \\_x\\_ cost \\$5 \\[a\\](b) \\~y\\~ \\`z\\` \\\\d"
    )
    assert _sentence("the regular expression") == "The regular expression"
    assert _sentence("weight_ih_l0 has shape") == "weight_ih_l0 has shape"  # a name keeps its case
    assert _sentence("--lr: learning rate") == "--lr: learning rate" and _sentence("") == ""


def test_the_sidebar_names_a_text_models_validation_score_among_its_first_metrics():
    from lstm_viz.app.ui import shown_metrics

    metrics = load_shipped(MODELS_DIR / "charlm_python.pt").info["metrics"]
    shown = [k for k, _ in shown_metrics(metrics)]
    assert shown[0] == "val_bpc" and "lr" not in shown and len(shown) == 5
    assert [k for k, _ in shown_metrics({"loss": 1, "test_exact_match": 1.0, "lr": 0.1, "test_loss": 2})] == [
        "test_exact_match", "test_loss", "loss"]
