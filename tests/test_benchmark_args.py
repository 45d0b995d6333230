"""The scripts in benchmarks/ refuse a bad command-line value the way argparse does: exit status 2 and one line naming
the option, what was wrong and what to give — never a traceback, nor a benchmark that runs on a value it cannot use.
Every script also answers --help. Nothing is benchmarked here: argparse refuses a value before any work starts, and
most scripts read their arguments before they import PyTorch (bench_explorer, bench_text, gpu_check and count_gpu_calls
import it first, a second or two)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
NOT_SCRIPTS = {"cli_args.py", "gpu_check_failures.py"}  # the shared argparse types; gpu_check's pytest plugin
SCRIPTS = sorted(path.name for path in BENCHMARKS.glob("*.py") if path.name not in NOT_SCRIPTS)

# (script, arguments, the option the message names, a piece of what it says)
REFUSED = [
    ("bench_corpus.py", ["--chars", "-5"], "--chars", "at least 1, got -5"),
    ("bench_corpus.py", ["--chars", "0"], "--chars", "at least 1, got 0"),
    ("bench_corpus.py", ["--chars", "1e6"], "--chars", "write 1000000 for 1e6"),
    ("bench_corpus.py", ["--max-file-chars", "0"], "--max-file-chars", "at least 1"),
    ("bench_corpus.py", ["--also-chars", "abc"], "--also-chars", "a whole number"),
    ("bench_corpus.py", ["--threads", "0"], "--threads", "from 1 to 256"),
    ("bench_corpus.py", ["--model", "nothere.pt"], "--model", "'nothere.pt' not found"),
    ("bench_corpus.py", ["--model", "models"], "--model", "is a folder, not a file"),
    ("bench_corpus.py", ["--model", "models/subtraction_lstm.pt"], "--model", "not a character model"),
    ("bench_corpus.py", ["--work", "README.md"], "--work", "is a file, not a folder"),
    ("bench_corpus_schema.py", ["--long-chars", "0", "models"], "--long-chars", "at least 1"),
    ("bench_corpus_schema.py", ["nothere"], "corpus", "'nothere' not found"),
    ("bench_corpus_schema.py", ["README.md"], "corpus", "not a folder"),
    ("bench_corpus_schema.py", ["models"], "corpus", "no manifest.json"),
    ("bench_corpus_schema.py", [], "corpus", "required"),
    ("bench_explorer.py", ["--quik"], "", "unrecognized arguments: --quik"),
    ("bench_gradients.py", ["--repeats", "3"], "", "unrecognized arguments"),
    ("bench_gru.py", ["--repeats", "-1"], "--repeats", "from 1 to 1,000, got -1"),
    ("bench_gru.py", ["--repeats", "100000"], "--repeats", "more would run for hours"),
    ("bench_gru.py", ["--threads", "nan"], "--threads", "a whole number"),
    ("bench_interventions.py", ["--repeats", "0"], "--repeats", "from 1 to 100"),
    ("bench_interventions.py", ["--tensors", "zz"], "--tensors", "'zz' is not one of f, i, g, o, c, h"),
    ("bench_interventions.py", ["--tensors", "c,c"], "--tensors", "given twice"),
    ("bench_interventions.py", ["--tensors", ","], "--tensors", "give some of"),
    ("bench_live_browser.py", ["--rounds", "0"], "--rounds", "from 1 to 100"),
    ("bench_live_browser.py", ["--seconds", "nan"], "--seconds", "not a finite number"),
    ("bench_live_browser.py", ["--seconds", "-1"], "--seconds", "above 0"),
    ("bench_live_browser.py", ["--seconds", "0"], "--seconds", "above 0"),
    ("bench_live_browser.py", ["--seconds", "inf"], "--seconds", "not a finite number"),
    ("bench_live_browser.py", ["--seconds", "1e300"], "--seconds", "at most 3,600"),
    ("bench_live_browser.py", ["--page", "all"], "--page", "invalid choice"),
    ("bench_live_training.py", ["--quick", "3"], "", "unrecognized arguments: 3"),
    ("bench_lstmp.py", ["--sizes", "3"], "", "unrecognized arguments"),
    ("bench_recording.py", ["--repeats", "0"], "--repeats", "from 1 to 1,000, got 0"),
    ("bench_recording.py", ["--repeats", "-3"], "--repeats", "got -3"),
    ("bench_recording.py", ["--threads", "0"], "--threads", "from 1 to 256"),
    ("bench_recording.py", ["--threads", "1000000"], "--threads", "from 1 to 256"),
    ("bench_recording.py", ["--clock", "gpu"], "--clock", "invalid choice"),
    ("bench_text.py", ["--threads", "0"], "--threads", "from 1 to 256"),
    ("bench_text.py", ["--train-threads", "abc"], "--train-threads", "a whole number"),
    ("bench_text.py", ["--activation-l1", "-1"], "--activation-l1", "a number ≥ 0"),
    ("bench_text.py", ["--activation-l1", "nan"], "--activation-l1", "a number ≥ 0"),
    ("bench_training.py", ["--epochs", "0"], "--epochs", "from 1 to 1,000"),
    ("bench_training.py", ["--epochs", "1e3"], "--epochs", "write 1000 for 1e3"),
    ("bench_training.py", ["--statquest-seeds", "0"], "--statquest-seeds", "from 1 to 1,000"),
    ("bench_training.py", ["--statquest-seeds", "-1"], "--statquest-seeds", "from 1 to 1,000"),
    ("gpu_check.py", ["--epochs", "0"], "--epochs", "--skip-training"),
    ("gpu_check.py", ["--suite", "inf"], "--suite", "not a finite number"),
    ("gpu_check.py", ["--suite", "-1"], "--suite", "0 (no suite"),
    ("gpu_check.py", ["--device", "xyz"], "--device", "cuda, cuda:N"),
]


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def _assert_refused(done: subprocess.CompletedProcess, script: str, option: str, says: str) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith(f"{script}: error: "), done.stderr
    assert option in error and says in error, error
    assert done.stdout == "", done.stdout  # refused before anything ran


def test_the_scripts_are_found():
    assert {"gpu_check.py", "count_gpu_calls.py", "bench_recording.py"} <= set(SCRIPTS)
    assert {script for script, *_ in REFUSED} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_help(script):
    done = _run(script, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {script}"), done.stdout
    assert done.stderr == "", done.stderr
    # the description is the docstring's first paragraph, whole: its first line alone stopped mid-sentence
    description = done.stdout.split("\n\n")[1].strip() if "\n\n" in done.stdout else ""
    assert description.endswith((".", ")")), description


@pytest.mark.parametrize(
    ("script", "args", "option", "says"), REFUSED, ids=[f"{s} {' '.join(a)}" for s, a, *_ in REFUSED]
)
def test_a_bad_value_is_refused(script, args, option, says):
    _assert_refused(_run(script, *args), script, option, says)


def test_the_reason_for_an_upper_bound_follows_only_a_value_above_it():
    """ "more would run for hours" explained --repeats 0 too."""
    low, high = _run("bench_interventions.py", "--repeats", "0"), _run("bench_interventions.py", "--repeats", "101")
    assert "hours" not in low.stderr and "from 1 to 100, got 0" in low.stderr
    assert "got 101 (more would run for hours)" in high.stderr


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, Path]:
    """Three small record-corpus outputs — one without units 66 and 12 of layer0.fwd.c (a model of 8 units), one with
    them but left incomplete (stopped after its first shard), one whole — and a folder with another manifest.json."""
    import torch

    from lstm_viz.corpus import record_corpus, text_files
    from lstm_viz.tasks.charlm.model import CharLM, CharLMConfig

    folder = tmp_path_factory.mktemp("bench_corpora")
    text = folder / "a.txt"
    text.write_text("def f(x):\n    return [x, 'abc']  # note\n" * 10, encoding="utf-8")
    files, _ = text_files([text])
    out = {}
    for name, hidden, stop in (("small", 8, None), ("incomplete", 80, 1), ("whole", 80, None)):
        torch.manual_seed(0)
        model = CharLM(CharLMConfig(hidden_size=hidden, num_layers=1, embed_size=4))
        path = folder / f"{name}.pt"
        torch.save({"config": model.config.to_dict(), "state_dict": model.state_dict()}, path)
        out[name] = folder / name
        record_corpus(path, files, out[name], batch=1, chunk_len=64, chunks_per_shard=1, stop_after_shards=stop)
    out["not ours"] = folder / "not ours"
    out["not ours"].mkdir()
    (out["not ours"] / "manifest.json").write_text('{"format": "something else", "units": {}}')
    return out


@pytest.mark.parametrize(
    ("corpus", "says"),
    [
        ("small", "holds layer0.fwd.c (8 units)"),
        ("incomplete", "is incomplete (shard 1 of "),
        ("not ours", "is not the manifest"),
    ],
)
def test_a_corpus_the_schema_benchmark_cannot_read_is_refused(corpora, corpus, says):
    _assert_refused(_run("bench_corpus_schema.py", str(corpora[corpus])), "bench_corpus_schema.py", "corpus", says)


def test_a_whole_corpus_is_taken(corpora):
    """The corpus passes; the value after it is what is refused (nothing is benchmarked)."""
    done = _run("bench_corpus_schema.py", str(corpora["whole"]), "--long-chars", "0")
    _assert_refused(done, "bench_corpus_schema.py", "--long-chars", "at least 1, got 0")


@pytest.mark.parametrize(("script", "model"), [("bench_text.py", "charlm_python.pt"),
                                               ("bench_interventions.py", "subtraction_lstm.pt")])  # fmt: skip
def test_a_missing_shipped_model_is_named_not_a_traceback(tmp_path, script, model):
    """A checkout without models/<name> (deleted by hand): one line says which file and how to bring it back."""
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "models").mkdir()
    for name in (script, "cli_args.py"):
        shutil.copy(BENCHMARKS / name, tmp_path / "benchmarks" / name)
    # lstm_viz from this checkout, before what PYTHONPATH already holds (where packages were installed with --target)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, str(tmp_path / "benchmarks" / script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=env)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"models/{model} is missing" in done.stderr and f"git checkout -- models/{model}" in done.stderr
