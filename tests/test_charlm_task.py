"""The character model as a Task: the LSTMVizModel (same weights as the research CharLM, forward/record/step,
interventions, ablation), its answer and generation, its inputs (typed text, files, limits, bad input), checkpoints
with the corpus manifest, the manifest note, and the shipped model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from lstm_viz import Intervention
from lstm_viz.app.sources import load_shipped
from lstm_viz.interventions.ablation import ablate_units
from lstm_viz.parsing import InputError
from lstm_viz.paths import MODELS_DIR
from lstm_viz.tasks import ModelConfig, TaskData, build_model, get_task, task_for
from lstm_viz.tasks.charlm.data import VOCAB, VOCAB_SIZE, build_manifest, encode, label_text
from lstm_viz.tasks.charlm.inputs import MAX_FILE_BYTES, MAX_TEXT_CHARS, decode_file, text_input
from lstm_viz.tasks.charlm.loop import research_view
from lstm_viz.tasks.charlm.model import CharLM, CharLMConfig
from lstm_viz.tasks.charlm.stdlib import (
    manifest_note,
    read_validation_file,
    validation_paths,
    validation_sample,
)
from lstm_viz.tasks.charlm.task import CHARLM, SHIPPED_CHARS, SHIPPED_L1, generate
from lstm_viz.training.checkpoints import checkpoint_bytes, infer_config, load_checkpoint
from lstm_viz.training.engine import Trainer


def small(seed: int = 0, **options) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(ModelConfig.default("charlm", **{"hidden_size": 16, "input_size": 8, **options})).eval()


def ids_of(text: str) -> torch.Tensor:
    return torch.from_numpy(encode(text)).unsqueeze(0)


# --------------------------------------------------------------------------------------------------- the model
def test_config_and_registry():
    config = CHARLM.default_config()
    assert (config.kind, config.output_size, config.input_size, config.hidden_size, config.num_layers) == (
        "charlm", VOCAB_SIZE, 64, 384, 2)
    assert get_task("charlm") is CHARLM and task_for(config) is CHARLM and CHARLM.reads_text
    with pytest.raises(ValueError, match="output_size"):
        ModelConfig.default("charlm", output_size=10)
    with pytest.raises(ValueError, match="bidirectional"):
        ModelConfig.default("charlm", bidirectional=True)


def test_same_weights_and_keys_as_the_research_charlm_for_a_seed():
    torch.manual_seed(3)
    research = CharLM(CharLMConfig(embed_size=8, hidden_size=16, num_layers=2))
    model = small(seed=3)
    assert list(model.state_dict()) == list(research.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), research.state_dict().values(),
                                                 strict=True))


def test_forward_step_record_and_embedded_input_agree():
    model = small()
    x = ids_of("def f(x):\n    return x\n")
    logits = model(x)
    assert logits.shape == (1, x.shape[1], VOCAB_SIZE)
    step_logits, _ = model.step(x)
    torch.testing.assert_close(logits, step_logits)
    torch.testing.assert_close(model(model.rnn_input(x)), logits)  # embeddings in, same logits
    rec = model.record(x)
    torch.testing.assert_close(model.head(rec.h[-1, 0]), logits, atol=1e-5, rtol=1e-5)
    # the state carried across two halves is one pass
    first, second = x[:, :10], x[:, 10:]
    rec1 = model.record(first)
    rec2 = model.record(second, hx=(rec1.h_n, rec1.c_n))
    torch.testing.assert_close(rec2.c[:, :, :, -1], rec.c[:, :, :, -1], atol=1e-5, rtol=1e-5)
    view_logits, _ = research_view(model)(x)
    torch.testing.assert_close(view_logits, logits)


@pytest.mark.parametrize("bad, fragment", [
    (torch.zeros(5, dtype=torch.long), "x.unsqueeze(0)"),
    (torch.zeros(1, 5), "token ids"),
    (torch.full((1, 3), 500), "token ids must be in 0..97"),
])  # fmt: skip
def test_bad_model_input_is_a_clear_error(bad, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        small()(bad)


def test_interventions_and_the_ablation_sweep_work_on_text():
    model = small()
    x = ids_of('x = "a string" + (1, 2)\n')
    rec = model.record(x, interventions=[Intervention("layer0.fwd.c", 0.0, units=[3])])
    assert torch.all(rec["layer0.fwd.c"][0, :, 3] == 0)
    changed = model(x, interventions=[Intervention("layer1.fwd.h", 0.0)])
    assert not torch.allclose(changed, model(x))
    answer = CHARLM.answer(model, CHARLM.parse('x = "a"\n', model.config), [Intervention("layer1.fwd.h", 0.0)])
    assert answer.form == "next_chars"
    result = ablate_units(model, ["c"], source="probe")
    assert len(result.table) == 2 * 16 and result.measure.startswith("share of next-character")
    assert result.table["effect"].between(0, 1).all()


def test_answer_scores_the_text_and_names_the_next_characters():
    model = small()
    inp = CHARLM.parse("def main():\n    pass\n", model.config)
    answer = CHARLM.answer(model, inp)
    assert answer.form == "next_chars" and len(answer.labels) == 10 and len(answer.probs) == 10
    assert answer.value["bits_per_char"] > 0 and 0 <= answer.value["top1"] <= 1
    assert [n["char"] for n in answer.value["next"]] == answer.labels[:5]
    assert "bits per character" in answer.summary and "expects" in answer.summary


@pytest.mark.parametrize("bpc, words", [(0.52, "as unsure as a fair pick among 1.4 characters"),
                                        (2.48, "as unsure as a fair pick among 5.6 characters"),
                                        (5.0, "as unsure as a fair pick among 32 characters"),
                                        (6.69, "worse than a fair pick among all 98 characters it knows")])  # fmt: skip
def test_bits_per_character_in_words(bpc, words):
    """0.52 bits read "a fair pick among 1 characters", and a model worse than guessing "among 103 characters"."""
    from lstm_viz.tasks.charlm.task import _as_unsure_as

    assert _as_unsure_as(bpc) == words


def test_generation_is_reproducible_and_greedy_at_zero():
    model = small()
    assert generate(model, "def ", 50, 0.8, seed=1) == generate(model, "def ", 50, 0.8, seed=1)
    assert generate(model, "def ", 50, 0.8, seed=1) != generate(model, "def ", 50, 0.8, seed=2)
    greedy = generate(model, "def ", 20, 0.0)
    last = model(ids_of("def "))[0, -1].detach()
    last[0] = -float("inf")  # never <unk>
    assert greedy[0] == VOCAB[int(last.argmax())]
    assert greedy == generate(model, "def ", 20, 0.0, seed=5)  # no randomness at temperature 0
    for tiny in (1e-40, 5e-324):  # allowed (0 to 10) and as greedy as 0, not inf/inf = NaN probabilities
        assert generate(model, "def ", 20, tiny, seed=3) == greedy
    assert len(generate(model, "", 10)) == 10
    with pytest.raises(InputError, match="temperature"):
        generate(model, "x", 10, -1.0)
    with pytest.raises(InputError, match="number of characters"):
        generate(model, "x", 10**7)


# --------------------------------------------------------------------------------------------------- inputs
def test_text_input_cut_at_a_line_end_with_a_note_and_unknown_characters():
    long = "x = 1  # a comment\n" * 1000  # 19,000 characters
    inp = text_input(long)
    assert inp.steps <= MAX_TEXT_CHARS and inp.source_text.endswith("\n") and "19,000" in inp.note
    assert inp.x.dtype == torch.int64 and inp.step_labels[0] == "x"
    crlf = text_input("a = 'é'\r\nb = 2\r\n")
    assert "\r" not in crlf.source_text and "1 character outside" in crlf.note
    assert text_input("short").note == ""


@pytest.mark.parametrize("text", ["", "   \n\t  "])
def test_empty_text_is_refused(text):
    with pytest.raises(InputError, match="The text is empty"):
        text_input(text)


@pytest.mark.parametrize("data, name, fragment", [
    (b"", "a.py", "is empty"),
    (b"\x00\x01\x02binary\x00" * 10, "a.txt", "binary"),
    (b"x = 1\n" * 2000 + b"\x00", "late.py", "binary"),  # a NUL past the first 8 KB, as record-corpus judges it
    (b"x" * (5 * 1024 * 1024), "big.py", "files up to 1 MB"),
    ("café = 1\n".encode("latin-1"), "a.txt", "not UTF-8"),
    ("x = 1\n# note\n".encode("utf-16"), "a.py", "is UTF-16 text; .* Save it as UTF-8"),  # not "binary"
    ("x = 1\n# note\n".encode("utf-16-be"), "a.txt", "is UTF-16 text"),  # no byte-order mark
    ("x = 1\n# note\n".encode("utf-32-le"), "a.txt", "is UTF-32 text"),
])  # fmt: skip
def test_bad_files_are_refused_with_a_reason(data, name, fragment):
    with pytest.raises(InputError, match=fragment):
        decode_file(data, name)


def test_a_py_file_may_declare_its_encoding():
    data = "# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1")
    assert "café" in decode_file(data, "old.py")
    assert decode_file("x = 1\n".encode("utf-8-sig"), "bom.py") == "x = 1\n"
    assert len(b"x") < MAX_FILE_BYTES


# --------------------------------------------------------------------------------------------------- checkpoints
def _tiny_data(tmp_path):
    root = tmp_path / "lib"
    root.mkdir()
    (root / "a.py").write_text("def a(x):\n    return [x, (x, x)]\n" * 200)
    (root / "b.py").write_text("B = {'k': \"v\"}  # comment\n" * 200)
    manifest = build_manifest(root, val_percent=50)
    ids = torch.from_numpy(encode((root / "a.py").read_text() + (root / "b.py").read_text()))
    return TaskData(CHARLM, ids, ids, ids[:2000], ids[:2000], source="stdlib", meta={"manifest": manifest}), manifest


def test_checkpoint_round_trip_keeps_the_manifest(tmp_path):
    data, manifest = _tiny_data(tmp_path)
    trainer = Trainer(small(), data, lr=3e-3, batch_size=4, options={"seq_len": 16, "max_chars": 2000,
                                                                      "log_every": 5}, num_threads=1)  # fmt: skip
    trainer.train_epochs(2)
    path = trainer.save(tmp_path / "c.pt")
    ckpt = load_checkpoint(path, device=trainer.device)  # where the trainer's model is: compared on one device
    assert ckpt.config.kind == "charlm" and ckpt.meta["manifest"]["digest"] == manifest["digest"]
    assert ckpt.meta["trainer"]["loop"]["step"] == 10
    assert task_for(ckpt.config).data_note(ckpt.meta, manifest) == ""
    changed = {**manifest, "files": {**manifest["files"]}}
    first = sorted(changed["files"])[0]
    changed["files"][first] = {**changed["files"][first], "sha256": "0" * 16}
    note = task_for(ckpt.config).data_note({"manifest": changed}, manifest)
    assert "differs" in note and first in note
    torch.testing.assert_close(ckpt.model(ids_of("abc")), trainer.model.eval()(ids_of("abc")))


def test_manifest_note_against_the_running_stdlib():
    ckpt = load_checkpoint(MODELS_DIR / "charlm_python.pt")
    stored = ckpt.meta["manifest"]
    note = manifest_note(stored)
    import sys

    if stored["python_version"] == ".".join(map(str, sys.version_info[:3])):
        assert note == ""
    other = {**stored, "python_version": "3.99.0"}
    assert "this server runs Python" in manifest_note(other) and "never" not in manifest_note({})


def test_a_plain_state_dict_of_a_charlm_is_recognised():
    model = small()
    config, _, description = infer_config(model.state_dict())
    assert config.kind == "charlm" and (config.input_size, config.hidden_size) == (8, 16)
    assert "charlm" in description
    loaded = load_checkpoint(checkpoint_bytes(model))
    torch.testing.assert_close(loaded.model(ids_of("x = 1")), model(ids_of("x = 1")))


def test_the_shipped_model_is_small_and_says_how_it_was_made():
    path = MODELS_DIR / "charlm_python.pt"
    assert path.stat().st_size <= 10 * 1024 * 1024
    ckpt = load_checkpoint(path)
    assert ckpt.config.label() == "charlm LSTM(2×384, embedding 64)"
    assert ckpt.meta["manifest"]["counts"]["val"] > 0
    # the file is the command's own output (models/README.md's command, but for --out)
    assert ckpt.meta["command"].startswith("python -m lstm_viz train charlm --preset shipped --seed 0 --threads 1 ")
    final = ckpt.meta["final"]  # the command's last line: its evaluation over all validation files
    assert final["val_bpc"] < 1.5 and final["chars"] >= SHIPPED_CHARS and final["val_chars"] > 1_000_000
    assert final["preset"] == "shipped" and ckpt.meta["trainer"]["options"]["activation_l1"] == SHIPPED_L1
    assert ckpt.optimizer_state is None and len(ckpt.history) > 900  # a block of 25 steps per entry
    metrics = load_shipped(path).info["metrics"]  # what the sidebar says, the final evaluation among the first
    assert metrics["val_bpc"] == final["val_bpc"] and "val_chars" not in metrics
    text = "def add(a, b):\n    return a + b\n"
    answer = CHARLM.answer(ckpt.model, CHARLM.parse(text, ckpt.config))
    assert answer.value["bits_per_char"] < 4
    assert np.isfinite(answer.probs).all()


def test_the_validation_sample_takes_a_share_of_every_file():
    """The text the app ranks units on and finds top contexts in: every validation file, an equal share of each,
    the exact number of characters asked for, labels as the whole file has them, line numbers of the file."""
    sample = validation_sample(30_000)
    paths = [rel for rel in validation_paths() if read_validation_file(rel)]
    assert len(sample.text) == 30_000 and [rel for rel, _, _ in sample.spans] == paths  # every file, path order
    sizes = [end - start for _, start, end in sample.spans]
    assert sample.spans[0][1] == 0 and all(a[2] == b[1] for a, b in itertools.pairwise(sample.spans))
    share = 30_000 // len(paths)
    long_files = [len(read_validation_file(rel)) > 2 * share for rel, _, _ in sample.spans]
    longer = [size for size, long in zip(sizes, long_files, strict=True) if long]
    assert longer and min(longer) > share // 3 and max(sizes) < 4 * share  # no file takes over the sample
    for (rel, start, end), first in zip(sample.spans, sample.first_lines, strict=True):
        whole = read_validation_file(rel)
        whole = whole if whole.endswith("\n") else whole + "\n"
        piece = sample.text[start:end]
        at = whole.index(piece) if first == 1 else len("".join(whole.splitlines(True)[: first - 1]))
        assert whole[at : at + len(piece)] == piece and (at == 0 or whole[at - 1] == "\n")  # starts a line
        expected = label_text(whole)
        for name, values in sample.labels.items():
            assert np.array_equal(values[start:end], expected[name][at : at + len(piece)]), (rel, name)
    with pytest.raises(ValueError, match="positive whole number"):
        validation_sample(0)
