"""Corpus scale: record-corpus's shards against the recording in memory, the DuckDB queries against brute force,
resuming an interrupted run, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from lstm_viz.cli import main
from lstm_viz.corpus import CorpusError, open_corpus, record_corpus, text_dir_files, text_files
from lstm_viz.corpus import record as record_module
from lstm_viz.corpus.plan import plan_chunks
from lstm_viz.corpus.schema import (
    files_path,
    on_column,
    on_words,
    parse_unit_column,
    shard_name,
    shards_dir,
    unit_column,
)
from lstm_viz.corpus.stats import saturation_bounds
from lstm_viz.tasks.charlm.data import encode
from lstm_viz.tasks.charlm.model import CharLM, CharLMConfig
from tests.cli_output import last_json

REPO = Path(__file__).resolve().parents[1]
NAMES = ["layer0.fwd.c", "layer0.fwd.h", "layer1.fwd.c", "layer1.fwd.h"]
SETTINGS = dict(batch=3, chunk_len=32, chunks_per_shard=2, on_thresholds=(0.0, 0.3))  # lanes, padding, shards


def _text(seed: int, n: int) -> str:
    rng = np.random.default_rng(seed)
    words = ["def ", "return ", "(x)", "[1, 2]", "'abc'", "# note\n", "    ", "\n", "if x:\n", "é", "\t", "{}"]
    return "".join(rng.choice(words, size=n))[: n * 3]


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> Path:
    """Six files: shorter than one chunk, a few chunks, one long; a non-ASCII character; CRLF line ends."""
    folder = tmp_path_factory.mktemp("texts")
    for k, n in enumerate([5, 40, 120, 9, 300, 60]):
        (folder / f"f{k}.txt").write_text(_text(k, n), encoding="utf-8", newline="\r\n" if k == 2 else "\n")
    return folder


def _save_model(path: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    model = CharLM(CharLMConfig(hidden_size=16, num_layers=2, embed_size=8))
    torch.save({"config": model.config.to_dict(), "state_dict": model.state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("models")
    return _save_model(folder / "a.pt", 0), _save_model(folder / "b.pt", 1)


def _record_collecting(monkeypatch, model, files, out, **kw) -> list[pa.Table]:
    """record_corpus, keeping every table it hands to the Parquet writer (the recording in memory)."""
    tables = []
    run = record_module._Lanes.table

    def spy(self, chunk, schema):
        table = run(self, chunk, schema)
        tables.append(table)
        return table

    monkeypatch.setattr(record_module._Lanes, "table", spy)
    record_corpus(model, files, out, **{**SETTINGS, **kw})
    monkeypatch.undo()
    return tables


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, texts, models):
    """The corpus recorded in float32 and float16, with the tables each run held in memory."""
    out = tmp_path_factory.mktemp("corpora")
    files, _ = text_dir_files(texts)
    mp = pytest.MonkeyPatch()
    result = {}
    for dtype in ("float32", "float16"):
        result[dtype] = (out / dtype, _record_collecting(mp, models[0], files, out / dtype, dtype=dtype))
    return files, result


def _shard_table(root: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in sorted(shards_dir(root).glob("*.parquet")))


def _by_file(table: pa.Table, names=NAMES) -> dict[str, dict[int, np.ndarray]]:
    """{name: {file_id: (T, units) float32}} from rows in any order."""
    frame = table.select(["file_id", "t"]).to_pandas()
    order = np.lexsort((frame["t"], frame["file_id"]))
    file_id = frame["file_id"].to_numpy()[order]
    out = {}
    for name in names:
        cols = [c for c in table.column_names if (parse_unit_column(c) or ("",))[0] == name]  # not the on-bits
        cols.sort(key=lambda c: parse_unit_column(c)[1])
        values = np.stack([table[c].to_numpy().astype(np.float32) for c in cols], 1)[order]
        out[name] = {int(f): values[file_id == f] for f in np.unique(file_id)}
    return out


# ------------------------------------------------------------------------------------------------ the plan
def test_plan_reads_every_character_once_in_order():
    chars = [5, 40, 120, 9, 300, 60, 0, 1]
    seen = {f: [] for f in range(len(chars))}
    for chunk in plan_chunks(chars, lanes=3, chunk_len=32):
        assert len({s.lane for s in chunk.segments}) == len(chunk.segments) <= 3
        assert [s.file_id for s in chunk.segments] == sorted(s.file_id for s in chunk.segments)
        for s in chunk.segments:
            seen[s.file_id].append((s.start, s.stop))
    for f, n in enumerate(chars):
        starts = [a for a, _ in seen[f]]
        assert starts == sorted(starts) and sum(b - a for a, b in seen[f]) == n
        assert all(b == a2 for (_, b), (a2, _) in zip(seen[f], seen[f][1:], strict=False))


# ------------------------------------------------------------------------------------------------ round trip
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_shards_round_trip_exactly(recorded, dtype):
    _, result = recorded
    root, tables = result[dtype]
    shards = sorted(shards_dir(root).glob("*.parquet"))
    assert len(shards) > 2
    on_disk = _shard_table(root)
    in_memory = pa.concat_tables(tables)
    assert on_disk.column_names == in_memory.column_names
    assert on_disk["ch"].to_pylist() == in_memory["ch"].to_pylist()
    for name in on_disk.column_names:
        if name != "ch":
            assert np.array_equal(on_disk[name].to_numpy(), in_memory[name].to_numpy()), name
    meta = pq.ParquetFile(shards[0]).metadata
    assert meta.num_row_groups == SETTINGS["chunks_per_shard"]  # one row group per chunk
    assert meta.row_group(0).column(3).compression == "ZSTD"
    expected_type = pa.float16() if dtype == "float16" else pa.float32()
    assert on_disk.schema.field(unit_column("layer1.fwd.h", 15)).type == expected_type


def test_float16_shards_are_the_float32_recording_rounded(recorded):
    _, result = recorded
    full = _shard_table(result["float32"][0])
    half = _shard_table(result["float16"][0])
    for name in filter(parse_unit_column, full.column_names):  # the on-bits are equal: test_on_bits
        rounded = full[name].to_numpy().astype(np.float16)
        assert np.array_equal(half[name].to_numpy().view(np.uint16), rounded.view(np.uint16)), name


def test_recording_equals_each_file_recorded_alone(recorded, texts, models):
    """Lanes, padding and the state carried across chunks give what one pass over each whole file gives."""
    files, result = recorded
    model = torch.load(models[0], weights_only=False)
    charlm = CharLM(CharLMConfig.from_dict(model["config"]))
    charlm.load_state_dict(model["state_dict"])
    stored = _by_file(_shard_table(result["float32"][0]))
    root = result["float32"][0]
    text_table = pq.read_table(root / "files.parquet").to_pandas()
    for file_id, source in enumerate(files):
        text = (texts / source.name).read_text(encoding="utf-8").replace("\r\n", "\n")
        assert text_table["text"][file_id] == text and source.chars == len(text)
        rec = charlm.record(torch.as_tensor(encode(text))[None])
        for name in NAMES:
            np.testing.assert_allclose(stored[name][file_id], rec[name][0].numpy(), atol=2e-6, rtol=0)


# ------------------------------------------------------------------------------------------------ queries
def _brute_top(values: dict[int, np.ndarray], unit: int, k: int, lowest: bool) -> list[tuple[int, int, float]]:
    rows = [(f, t, float(v[t, unit])) for f, v in values.items() for t in range(len(v))]
    rows.sort(key=lambda r: (r[2] if lowest else -r[2], r[0], r[1]))
    return rows[:k]


def _context(text: str, start: int, stop: int) -> str:
    span = text[start:stop]
    if len(span) > 200:
        span = span[:100] + "…" + span[-99:]
    return text[max(0, start - 40) : start] + span + text[stop : stop + 40]


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("source", ["scan", "stats", "auto"])
def test_top_contexts_equal_brute_force(recorded, dtype, source):
    files, result = recorded
    root, tables = result[dtype]
    corpus = open_corpus(root)
    memory = _by_file(pa.concat_tables(tables))
    for name, unit, lowest, k in [("layer0.fwd.c", 3, False, 5), ("layer1.fwd.h", 15, True, 20),
                                  ("layer0.fwd.h", 0, False, 1)]:  # fmt: skip
        frame = corpus.top_contexts(name, unit, k=k, lowest=lowest, source=source)
        expected = _brute_top(memory[name], unit, k, lowest)
        assert list(zip(frame["file_id"], frame["t"], frame["value"], strict=True)) == expected
        assert list(frame["file"]) == [files[f].name for f, _, _ in expected]
        assert list(frame["context"]) == [_context(corpus.text(f), t, t + 1) for f, t, _ in expected]


def test_top_contexts_scan_beyond_the_stored_k(recorded):
    _, result = recorded
    root, tables = result["float16"]
    frame = open_corpus(root).top_contexts("layer1.fwd.c", 7, k=50)
    assert len(frame) == 50
    expected = _brute_top(_by_file(pa.concat_tables(tables))["layer1.fwd.c"], 7, 50, False)
    assert list(zip(frame["file_id"], frame["t"], frame["value"], strict=True)) == expected


def _brute_match(memory, units, threshold, min_length, max_others=None):
    names = list(dict.fromkeys(n for n, _ in units))
    spans = []
    for f in memory[names[0]]:
        on = np.all([memory[n][f][:, u].astype(np.float64) > threshold for n, u in units], axis=0)
        t = 0
        while t < len(on):
            if not on[t]:
                t += 1
                continue
            start = t
            while t < len(on) and on[t]:
                t += 1
            if t - start >= min_length:
                others = sum(
                    int(np.all(memory[n][f][start:t, u].astype(np.float64) > threshold))
                    for n in names
                    for u in range(memory[n][f].shape[1])
                    if (n, u) not in units
                )
                if max_others is None or others <= max_others:
                    spans.append((others, -(t - start), f, start))
    spans.sort()
    return [(f, s, s - neg, o) for o, neg, f, s in spans]


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_match_equals_brute_force(recorded, dtype):
    _, result = recorded
    root, tables = result[dtype]
    corpus = open_corpus(root)
    memory = _by_file(pa.concat_tables(tables))

    def often_on(name, threshold, n):  # units on most often, so that spans exist
        values = np.concatenate(list(memory[name].values()))
        return [(name, int(u)) for u in np.argsort(-(values > threshold).mean(0), kind="stable")[:n]]

    cases = [  # (units, threshold, min_length, max_others, how the others are counted)
        (often_on("layer0.fwd.h", 0.0, 2), 0.0, 2, None, "on-bits"),
        (often_on("layer1.fwd.c", 0.05, 1), 0.05, 3, None, "scan"),
        (often_on("layer0.fwd.c", -0.05, 1) + often_on("layer1.fwd.h", -0.05, 1), -0.05, 1, 12, "scan"),  # 2 tensors
        (often_on("layer0.fwd.c", 0.0, 1) + often_on("layer1.fwd.h", 0.0, 1), 0.0, 1, None, "on-bits"),
    ]
    for units, threshold, min_length, max_others, path in cases:
        expected = _brute_match(memory, units, threshold, min_length, max_others)
        assert expected, "the case should find spans"
        frame = corpus.match(units, threshold, min_length, k=10_000, max_others=max_others)
        assert corpus.last_match_path == path
        got = list(zip(frame["file_id"], frame["start"], frame["end"], frame["others"], strict=True))
        assert got == expected
        assert frame.attrs["total"] == len(expected)
        assert list(frame["length"]) == [e - s for _, s, e, _ in expected]
        first = frame.iloc[0]
        assert first["context"] == _context(corpus.text(first["file_id"]), first["start"], first["end"])
        top = corpus.match(units, threshold, min_length, k=3, max_others=max_others)
        assert list(zip(top["file_id"], top["start"], strict=True)) == [(f, s) for f, s, _, _ in expected[:3]]


@pytest.mark.parametrize(
    "units, threshold, words",
    [
        ([], 0.0, "give at least one NAME:UNIT"),  # recursed until RecursionError
        ([("layer0.fwd.c", 1), ("layer0.fwd.c", 1)], 0.0, "is given twice"),  # counted one "other" too few
        ([("layer0.fwd.c", 1, 2)], 0.0, "(name, unit) pairs"),
        (5, 0.0, "(name, unit) pairs"),
        ([("layer0.fwd.c", 1)], "abc", "--threshold must be a number, got 'abc'"),  # a raw ValueError
        ([("layer0.fwd.c", 1)], None, "--threshold must be a number, got None"),
    ],
)
def test_match_from_python_checks_what_the_command_line_checks(recorded, units, threshold, words):
    _, result = recorded
    corpus = open_corpus(result["float32"][0])
    with pytest.raises(CorpusError, match=re.escape(words)):
        corpus.match(units, threshold)


def test_unit_stats_equal_numpy(recorded):
    _, result = recorded
    root, tables = result["float16"]
    stats = open_corpus(root).unit_stats()
    memory = _by_file(pa.concat_tables(tables))
    assert len(stats) == 4 * 16
    for name in NAMES:
        values = np.concatenate([memory[name][f] for f in sorted(memory[name])])
        low, high = saturation_bounds(name[-1])
        rows = stats[stats["name"] == name].sort_values("unit")
        np.testing.assert_allclose(rows["mean"], values.mean(0, dtype=np.float64), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(rows["std"], values.std(0, dtype=np.float64), rtol=1e-7, atol=1e-9)
        np.testing.assert_array_equal(rows["max"], values.max(0))
        np.testing.assert_array_equal(rows["frac_high"], (values > high).mean(0))
        np.testing.assert_array_equal(rows["frac_low"], (values < low).mean(0))
        for unit in (0, 9):
            row = rows.iloc[unit]
            best = _brute_top(memory[name], unit, 20, False)
            assert list(zip(row["top_file_id"], row["top_t"], row["top_value"], strict=True)) == best


@pytest.mark.parametrize("document", ["docs/corpus.md", "README.md"])
def test_the_sql_of_docs_corpus_md(recorded, document):
    """The engine-neutral SQL of docs/corpus.md and of the README, run as written (DuckDB views, paths put in) on a
    fresh connection."""
    import duckdb

    _, result = recorded
    root, tables = result["float16"]
    blocks = [b.split("```")[0] for b in (REPO / document).read_text(encoding="utf-8").split("```sql\n")[1:]]
    views, spark_views, top_sql = blocks[:3]
    assert "USING parquet" in spark_views  # the cluster engine's views sit beside DuckDB's
    con = duckdb.connect()
    con.execute(views.replace("'corpus/", f"'{root}/"))
    top = con.execute(top_sql).df()
    memory = _by_file(pa.concat_tables(tables))
    expected = _brute_top(memory["layer0.fwd.c"], 3, 5, False)
    corpus = open_corpus(root)
    assert list(zip(top["t"], top["value"], strict=True)) == [(t, v) for _, t, v in expected]
    assert list(top["name"]) == [corpus.files["name"][f] for f, _, _ in expected]
    assert list(top["context"]) == [corpus.context(f, t, t + 1) for f, t, _ in expected]
    if len(blocks) < 4:
        return
    spans_sql = blocks[3]
    spans_sql = spans_sql.replace("layer0_fwd_c_66", "layer0_fwd_h_1").replace("layer0_fwd_c_12", "layer0_fwd_h_2")
    spans = con.execute(spans_sql.replace("> 0.3", "> -0.1")).df()
    units = [("layer0.fwd.h", 1), ("layer0.fwd.h", 2)]
    matched = corpus.match(units, threshold=-0.1, min_length=3, k=100_000)
    assert len(spans) == matched.attrs["total"] > 0
    assert set(zip(spans["file_id"], spans["start"], spans["end_"], strict=True)) == set(
        zip(matched["file_id"], matched["start"], matched["end"], strict=True)
    )


# ------------------------------------------------------------------------------------------------ resume
def test_resume_after_an_interrupted_run(tmp_path, texts, models, recorded, monkeypatch, capsys):
    _, result = recorded
    reference = _shard_table(result["float16"][0])
    out = tmp_path / "c"
    calls = {"n": 0}
    run = record_module._Lanes.table

    def interrupted(self, chunk, schema):
        calls["n"] += 1
        if calls["n"] == 6:  # inside the third shard
            raise KeyboardInterrupt
        return run(self, chunk, schema)

    monkeypatch.setattr(record_module._Lanes, "table", interrupted)
    argv = ["record-corpus", str(models[0]), "--text-dir", str(texts), "--out", str(out), "--batch", "3",
            "--chunk-len", "32", "--chunks-per-shard", "2", "--on-thresholds", "0,0.3", "--quiet"]  # fmt: skip
    assert main(argv) == 130
    assert capsys.readouterr().err.strip() == (f"error: interrupted; 2 of 15 shards are kept in {out}: the same "
                                               "command goes on from there")  # fmt: skip
    assert sorted(p.name for p in shards_dir(out).iterdir()) == [shard_name(0), shard_name(1)]  # no partial file
    with pytest.raises(CorpusError, match="incomplete"):
        open_corpus(out)
    monkeypatch.setattr(record_module._Lanes, "table", run)
    written = []
    monkeypatch.setattr(record_module, "_write_shard", _spy(record_module._write_shard, written))
    assert main(argv) == 0
    summary = last_json(capsys.readouterr().out)
    assert summary["shards_reused"] == 2 and summary["shards_written"] == summary["shards"] - 2
    assert min(written) == 2  # shards 0 and 1 were not redone
    resumed = _shard_table(out)
    assert resumed.equals(reference)
    assert (out / "unit_stats.parquet").read_bytes() == (result["float16"][0] / "unit_stats.parquet").read_bytes()
    assert main(argv) == 0  # a third run finds everything done
    assert last_json(capsys.readouterr().out)["shards_written"] == 0


def _spy(function, indices):
    def wrapper(out, index, *args, **kw):
        indices.append(index)
        return function(out, index, *args, **kw)

    return wrapper


def test_record_corpus_refuses_another_recording(tmp_path, texts, models, recorded):
    files, result = recorded
    root = tmp_path / "c"
    shutil.copytree(result["float16"][0], root)
    with pytest.raises(CorpusError, match="another model"):
        record_corpus(models[1], files, root, **SETTINGS)
    with pytest.raises(CorpusError, match="another corpus"):
        record_corpus(models[0], files[:3], root, **SETTINGS)
    with pytest.raises(CorpusError, match=r"other settings \(batch=3 there, 2 now\)"):  # both values, not one
        record_corpus(models[0], files, root, **{**SETTINGS, "batch": 2})
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["plan_digest"] = "0" * 16
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorpusError, match="these settings, but its manifest was edited"):  # said "other settings ()"
        record_corpus(models[0], files, root, **SETTINGS)


# ------------------------------------------------------------------------------------------------ the CLI
def test_cli_record_query_and_json_contracts(tmp_path, texts, models, capsys):
    out = tmp_path / "c"
    code = main(["record-corpus", str(models[0]), "--text-file", str(texts / "f4.txt"), str(texts / "f1.txt"),
                 "--max-chars", "250", "--tensors", "c", "--layers", "1", "--dtype", "float32", "--out", str(out),
                 "--threads", "1"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = last_json(captured.out)
    assert summary["chars"] == 250 and summary["names"] == ["layer1.fwd.c"] and summary["dtype"] == "float32"
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["chars"] for f in manifest["files"]] == [250] and manifest["files"][0]["total"] > 250

    assert main(["top-contexts", str(out), "--name", "layer1.fwd.c", "--unit", "4", "--k", "3", "--json"]) == 0
    payload = last_json(capsys.readouterr().out)
    assert list(payload) == ["contexts"] and len(payload["contexts"]) == 3
    assert all(list(row) == ["file", "t", "value", "context"] for row in payload["contexts"])
    values = [row["value"] for row in payload["contexts"]]
    assert values == sorted(values, reverse=True)
    assert main(["top-contexts", str(out), "--name", "layer1.fwd.c", "--unit", "4", "--lowest", "--k", "2"]) == 0
    assert "lowest" in capsys.readouterr().out

    assert main(["match", str(out), "--units", "layer1.fwd.c:1,layer1.fwd.c:2", "--threshold", "-0.5",
                 "--min-length", "2", "--k", "4", "--json"]) == 0  # fmt: skip
    payload = last_json(capsys.readouterr().out)
    assert set(payload) == {"matches", "total", "units", "threshold", "min_length"}
    assert all(list(row) == ["file", "start", "end", "length", "others", "context"] for row in payload["matches"])
    assert main(["match", str(out), "--units", "layer1.fwd.c:1", "--threshold", "-0.5"]) == 0
    assert " span where layer1.fwd.c:1 is on" in capsys.readouterr().out


@pytest.fixture
def damaged(tmp_path, recorded, models, texts):
    """Copies of the float16 corpus: one with a shard of another model, one with a truncated shard."""
    files, result = recorded
    root = result["float16"][0]
    other = tmp_path / "other"
    record_corpus(models[1], files, other, **SETTINGS)
    foreign, corrupt = tmp_path / "foreign", tmp_path / "corrupt"
    shutil.copytree(root, foreign)
    shutil.copytree(root, corrupt)
    shutil.copy(shards_dir(other) / shard_name(1), shards_dir(foreign) / shard_name(1))
    data = (shards_dir(corrupt) / shard_name(2)).read_bytes()
    (shards_dir(corrupt) / shard_name(2)).write_bytes(data[: len(data) // 2])
    return foreign, corrupt


@pytest.mark.parametrize(
    "case, fragment",
    [
        ("missing_dir", "not found"),
        ("empty_dir_name", "the corpus folder is empty; give the folder record-corpus wrote"),  # it read "."
        ("not_a_corpus", "is not a recorded corpus"),
        ("foreign_shard", "was recorded with another model"),
        ("corrupt_shard", "is damaged"),
        ("unknown_name", "unknown name 'layer7.fwd.c'"),
        ("unit_out_of_range", "unit 16 is out of range for layer0.fwd.c (0..15)"),
        ("bad_units", "is not NAME:UNIT"),
        ("match_unknown_name", "unknown name 'layer0.bwd.c'"),
        ("empty_text_file", "is empty"),
        ("binary_text_file", "is a binary file"),
        ("not_utf8", "is not UTF-8 text"),
        ("utf16", "is UTF-16 text; record-corpus reads UTF-8"),  # it was called "a binary file"
        ("missing_text_file", "not found"),
        ("missing_model", "not found"),
        ("not_a_model", "it is not a PyTorch file"),
        ("no_source", "one of the arguments --stdlib --text-file --text-dir is required"),
        ("bad_tensor", "--tensors"),
        ("out_is_busy", "other files in it"),
        ("same_file_twice", "is given twice"),
        ("out_empty", "--out is empty; give a folder name"),
        ("out_not_utf8", "is not a UTF-8 name"),  # a codec error, and a half-made folder left behind
        ("threshold_past_float32", "within float32's range"),
        ("out_cannot_be_made", "cannot write in the folder"),
    ],
)  # fmt: skip
def test_errors_are_one_line(case, fragment, tmp_path, recorded, models, texts, damaged, capsys):
    root = recorded[1]["float16"][0]
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blob.bin").write_bytes(b"PK\x03\x04\x00\x00binary\x00")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "u16.txt").write_bytes("x = 1\n".encode("utf-16"))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    model, text = str(models[0]), str(texts / "f1.txt")
    record = ["record-corpus", model, "--out", str(tmp_path / "new")]
    argv = {
        "missing_dir": ["top-contexts", str(tmp_path / "nope"), "--name", "layer0.fwd.c", "--unit", "0"],
        "empty_dir_name": ["match", " ", "--units", "layer0.fwd.c:0"],
        "not_a_corpus": ["match", str(texts), "--units", "layer0.fwd.c:0"],
        "foreign_shard": ["top-contexts", str(damaged[0]), "--name", "layer0.fwd.c", "--unit", "0"],
        "corrupt_shard": ["match", str(damaged[1]), "--units", "layer0.fwd.c:0"],
        "unknown_name": ["top-contexts", str(root), "--name", "layer7.fwd.c", "--unit", "0"],
        "unit_out_of_range": ["top-contexts", str(root), "--name", "layer0.fwd.c", "--unit", "16", "--json"],
        "bad_units": ["match", str(root), "--units", "layer0.fwd.c"],
        "match_unknown_name": ["match", str(root), "--units", "layer0.fwd.c:1,layer0.bwd.c:2"],
        "empty_text_file": [*record, "--text-file", text, str(tmp_path / "empty.txt")],
        "binary_text_file": [*record, "--text-file", str(tmp_path / "blob.bin")],
        "not_utf8": [*record, "--text-file", str(tmp_path / "latin1.txt")],
        "utf16": [*record, "--text-file", str(tmp_path / "u16.txt")],
        "missing_text_file": [*record, "--text-file", str(tmp_path / "gone.txt")],
        "missing_model": ["record-corpus", str(tmp_path / "gone.pt"), "--text-file", text, "--out", str(tmp_path)],
        "not_a_model": ["record-corpus", str(tmp_path / "junk.pt"), "--text-file", text, "--out", str(tmp_path)],
        "no_source": [*record],
        "bad_tensor": [*record, "--text-file", text, "--tensors", "c,q"],
        "out_is_busy": ["record-corpus", model, "--text-file", text, "--out", str(tmp_path / "busy")],
        "same_file_twice": ["record-corpus", model, "--text-file", text, f"{texts}/./f1.txt",
                            "--out", str(tmp_path / "twice")],
        "out_empty": ["record-corpus", model, "--text-file", text, "--out", ""],
        "out_not_utf8": ["record-corpus", model, "--text-file", text, "--out", str(tmp_path / "new\udcff")],
        "threshold_past_float32": [*record, "--text-file", text, "--on-thresholds", "1e300"],
        "out_cannot_be_made": ["record-corpus", model, "--text-file", text, "--out",
                               str(tmp_path / "empty.txt" / "corpus")],  # under a file
    }[case]
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert fragment in err, err
    # a refused record-corpus leaves nothing: no folder made for it, no lock file in a folder it refused
    assert not (tmp_path / "new").exists() and not (tmp_path / "twice").exists()
    assert not os.path.lexists(os.fsencode(tmp_path) + b"/new\xff")
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["x"]


def test_text_dir_skips_what_is_not_text(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_bytes(b"\x00\x01")
    (tmp_path / "c.py").write_text("")
    (tmp_path / ".hidden.py").write_text("y = 2\n")
    (tmp_path / "d.txt").write_text("not matched")
    files, skipped = text_dir_files(tmp_path, "*.py")
    assert [f.name for f in files] == ["a.py"]
    assert set(skipped) == {"b.py", "c.py"} and "binary" in skipped["b.py"]
    with pytest.raises(CorpusError, match="no text files"):
        text_dir_files(tmp_path, "*.rs")
    with pytest.raises(CorpusError, match="given twice"):
        text_files([tmp_path / "a.py", tmp_path / "a.py"])


def test_python_dash_m_error_has_no_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "lstm_viz", "match", str(tmp_path / "nowhere"), "--units", "layer0.fwd.c:1"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: corpus folder '{tmp_path / 'nowhere'}' not found"]


def test_corpus_frames_for_the_app(recorded):
    corpus = open_corpus(recorded[1]["float16"][0])
    assert isinstance(corpus.unit_stats(), pd.DataFrame)
    assert list(corpus.top_contexts("layer0.fwd.c", 1, k=2).columns[:4]) == ["file", "t", "value", "context"]
    frame = corpus.match("layer0.fwd.h:1", threshold=0.0, min_length=1, k=2)
    assert list(frame.columns[:6]) == ["file", "start", "end", "length", "others", "context"]


def _section(corpus_dir: str, name: str | None = None, unit: int | None = None) -> None:
    from lstm_viz.corpus.ui import corpus_section

    corpus_section(corpus_dir, name, unit)


def test_the_streamlit_section_draws_both_queries(recorded, tmp_path):
    AppTest = pytest.importorskip("streamlit.testing.v1", reason="the app's requirements are not installed").AppTest

    root = str(recorded[1]["float16"][0])
    at = AppTest.from_function(_section, args=(root, "layer1.fwd.h", 3), default_timeout=60).run()
    assert not at.exception and not at.error
    top = at.dataframe[0].value
    expected = open_corpus(root).top_contexts("layer1.fwd.h", 3, k=20)
    assert list(top["t"]) == list(expected["t"]) and all("⟦" in c for c in top["context"])
    at.text_input(key="corpus_units").set_value("layer1.fwd.h:3,layer1.fwd.h:4")
    at.number_input(key="corpus_threshold").set_value(-0.5)
    at.button(key="corpus_find").click().run()
    assert not at.exception and not at.error
    assert len(at.dataframe) == 3 and list(at.dataframe[1].value.columns[:5]) == [
        "file",
        "start",
        "end",
        "length",
        "others",
    ]
    at.text_input(key="corpus_units").set_value("layer1.fwd.h:99")
    at.button(key="corpus_find").click().run()
    assert not at.exception and "out of range" in at.error[0].value
    missing = AppTest.from_function(_section, args=(str(tmp_path / "nope"),), default_timeout=60).run()
    assert not missing.exception and "not found" in missing.error[0].value


def test_marked_context_puts_the_step_in_brackets():
    from lstm_viz.corpus.query import marked

    assert marked("ab\ncd", 2) == "ab⟦⏎⟧cd"
    assert marked("x" * 40 + "yz" + "w" * 40, 100, 2) == "x" * 40 + "⟦yz⟧" + "w" * 40


def test_on_bits(recorded):
    """The stored on-bits are exactly ``value > threshold`` (compared as doubles) for every unit and row."""
    _, result = recorded
    table = _shard_table(result["float32"][0])
    for name in NAMES:
        cols = sorted((c for c in table.column_names if (parse_unit_column(c) or ("",))[0] == name),
                      key=lambda c: parse_unit_column(c)[1])  # fmt: skip
        values = np.stack([table[c].to_numpy() for c in cols])  # (units, rows) float32
        for threshold in SETTINGS["on_thresholds"]:
            words = np.stack([table[on_column(name, threshold, w)].to_numpy() for w in range(-(-len(cols) // 64))])
            bits = np.unpackbits(words.T.copy().view(np.uint8), axis=1, bitorder="little").T[: len(cols)]
            np.testing.assert_array_equal(bits.astype(bool), values.astype(np.float64) > threshold)


def test_on_words_compare_exactly_at_the_edge():
    """A threshold between two float32 values: on means strictly above it, as the double comparison says."""
    edge = 0.3  # not a float32: float32(0.3) is a little above 0.3
    v = np.array([[np.float32(0.3), np.nextafter(np.float32(0.3), np.float32(0)), np.float32(0.31), -1.0]], np.float32)
    bits = np.unpackbits(on_words(v, edge).T.copy().view(np.uint8), axis=1, bitorder="little")[:, :1].T
    assert bits[0].tolist() == [int(x > edge) for x in v[0].astype(np.float64)]


def test_the_shipped_model_records_a_corpus(tmp_path):
    """The project's checkpoint (models/charlm_python.pt) is read as the research model it was converted from."""
    from lstm_viz.corpus import load_text_model
    from lstm_viz.training.checkpoints import load_checkpoint

    shipped = REPO / "models" / "charlm_python.pt"
    model = load_text_model(shipped)
    project = load_checkpoint(shipped).model
    ids = torch.as_tensor(encode("def f(x):\n    return 'a' + x  # done\n"))[None]
    for name in ("layer0.fwd.h", "layer1.fwd.c"):
        np.testing.assert_array_equal(model.record(ids)[name].numpy(), project.record(ids)[name].numpy())
    (tmp_path / "a.py").write_text("x = (1, 2)\n# comment\n")
    assert main(["record-corpus", str(shipped), "--text-dir", str(tmp_path), "--out", str(tmp_path / "out"),
                 "--quiet"]) == 0  # fmt: skip
    frame = open_corpus(tmp_path / "out").top_contexts("layer0.fwd.c", 0, k=3)
    assert len(frame) == 3


def test_a_model_that_is_not_a_text_model_is_refused(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    with pytest.raises(CorpusError, match="not a character model"):
        from lstm_viz.corpus import load_text_model

        load_text_model(REPO / "models" / "subtraction_lstm.pt")


class _Payload:
    """Unpickling it would create the file ``marker``: what a hostile .pt does with a loader that runs pickles."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_pickle_that_runs_code_is_refused_unread(tmp_path):
    from lstm_viz.corpus import load_text_model
    from lstm_viz.tasks.charlm.model import load_charlm

    marker = tmp_path / "ran"
    hostile = tmp_path / "model.pt"
    torch.save({"config": {}, "state_dict": {}, "payload": _Payload(marker)}, hostile)
    with pytest.raises(CorpusError, match="objects besides tensors"):
        load_text_model(hostile)
    with pytest.raises(pickle.UnpicklingError):
        load_charlm(str(hostile))
    assert not marker.exists()


def test_minus_zero_and_zero_are_one_threshold_and_one_column_name():
    assert on_column("layer0.fwd.c", -0.0, 0) == on_column("layer0.fwd.c", 0.0, 0) == "layer0_fwd_c_on0p0_0"
    assert on_column("layer0.fwd.c", -0.25, 1) == "layer0_fwd_c_onm0p25_1"


def test_a_damaged_files_table_is_named_and_rewritten_by_the_same_command(tmp_path, recorded, models, capsys):
    files, result = recorded
    root = tmp_path / "copy"
    shutil.copytree(result["float16"][0], root)
    data = files_path(root).read_bytes()
    files_path(root).write_bytes(data[:100])
    assert main(["top-contexts", str(root), "--name", "layer0.fwd.c", "--unit", "0"]) == 2
    err = capsys.readouterr().err
    assert "files.parquet is damaged" in err and "record-corpus command again" in err and "unexpected" not in err
    summary = record_corpus(models[0], files, root, **{**SETTINGS, "dtype": "float16"})  # every shard reused
    assert summary["complete"] and files_path(root).read_bytes() == data
    assert main(["top-contexts", str(root), "--name", "layer0.fwd.c", "--unit", "0", "--k", "2"]) == 0


def test_a_shard_damaged_inside_is_named_when_a_query_fails(tmp_path, recorded, capsys):
    root = tmp_path / "copy"
    shutil.copytree(recorded[1]["float16"][0], root)
    shard = shards_dir(root) / shard_name(1)
    data = bytearray(shard.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little") + 8  # the footer (schema, our metadata) stays readable
    for i in range(8, len(data) - footer, 7):
        data[i] ^= 0x5A
    shard.write_bytes(bytes(data))
    code = main(["match", str(root), "--units", "layer0.fwd.c:0,layer0.fwd.c:1", "--threshold", "0.1"])
    err = capsys.readouterr().err
    assert code == 2 and f"{shard_name(1)} is damaged" in err and "delete it and run the same" in err, err


@pytest.mark.parametrize(
    "edit, says",
    [
        (lambda m: m.__setitem__("num_shards", 1), "num_shards 1, but shard_chars lists"),
        (lambda m: m.pop("units"), "'units' must give each recorded name"),
        (lambda m: m["units"].__setitem__("layer0.fwd.c", 500), "inconsistent with its shards"),
        (lambda m: m.__setitem__("files", m["files"][:1]), "the files"),
        (lambda m: m.__setitem__("total_chars", "x"), "must be whole numbers"),
        (lambda m: m["model"].pop("fingerprint"), "'model' has no fingerprint"),
        (lambda m: m.__setitem__("stats_top_k", 1000), "stats_top_k 1000"),
        (lambda m: m.__setitem__("on_thresholds", "0.3"), "'on_thresholds' must list numbers"),  # was a TypeError
        (lambda m: m["model"].__setitem__("path", 5), "'model' has a path that is not text"),  # the app's TypeError
        (lambda m: m["files"][0].pop("sha256"), "each file's name, chars and sha256"),  # a KeyError on resume
    ],
)
def test_a_hand_edited_manifest_is_refused_not_half_believed(edit, says, tmp_path, recorded):
    root = tmp_path / "copy"
    shutil.copytree(recorded[1]["float16"][0], root)
    path = root / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(CorpusError, match="inconsistent") as refused:
        open_corpus(root)
    assert says in str(refused.value) and "record the corpus again" in str(refused.value)


def test_a_manifest_python_cannot_read_is_unreadable_in_one_line(tmp_path, recorded):
    root = tmp_path / "copy"
    shutil.copytree(recorded[1]["float16"][0], root)
    for text in ('{"format": ' + "9" * 5000 + "}", "[" * 100_000 + "]" * 100_000):  # past int digits; nesting
        (root / "manifest.json").write_text(text)
        with pytest.raises(CorpusError, match=r"manifest.json is unreadable \((ValueError|RecursionError)\)"):
            open_corpus(root)


def test_a_shard_copied_over_another_of_the_same_recording_is_refused_and_rewritten(tmp_path, recorded, texts,
                                                                                     models):  # fmt: skip
    """Shard 0 copied over shard 1 passed every check (same model, same plan): top-contexts listed a place twice
    and match counted 435 spans for 550. Each shard says which it is."""
    files, result = recorded
    root = tmp_path / "copy"
    shutil.copytree(result["float32"][0], root)
    shard = root / "shards"
    shutil.copy(shard / shard_name(0), shard / shard_name(1))
    with pytest.raises(CorpusError, match=f"{shard_name(1)} holds shard 0 of this recording, not shard 1"):
        open_corpus(root)
    record_corpus(models[0], files, root, **SETTINGS, dtype="float32")  # the same command rewrites it
    assert open_corpus(root).top_contexts(NAMES[0], 3, k=5).equals(open_corpus(result["float32"][0]).top_contexts(
        NAMES[0], 3, k=5))


def test_a_manifest_edited_so_that_it_holds_together_is_rewritten_by_the_same_command(tmp_path, recorded, models):
    """10**15 added to a file's chars, total_chars and shard_chars[0]: the queries refused files.parquet and the same
    command, told to rewrite it, kept the edited manifest (the plan was the same) and said complete: a loop."""
    files, result = recorded
    root = tmp_path / "copy"
    shutil.copytree(result["float16"][0], root)
    path = root / "manifest.json"
    manifest = json.loads(path.read_text())
    real = manifest["total_chars"]
    manifest["files"][0]["chars"] += 10**15
    manifest["total_chars"] += 10**15
    manifest["shard_chars"][0] += 10**15
    path.write_text(json.dumps(manifest))
    with pytest.raises(CorpusError, match="one of the two was changed"):
        open_corpus(root)
    summary = record_corpus(models[0], files, root, **SETTINGS)
    assert summary["complete"] and open_corpus(root).total_chars == real
    assert json.loads(path.read_text())["shard_chars"][0] < 10**15


def test_a_state_file_of_another_recording_or_damaged_is_not_carried_on_from(tmp_path, recorded, models):
    """Shard 2 deleted and shard 1's state replaced by another recording's: the resume carried that state into
    shard 2 (its values then differed from an uninterrupted run's, and unit_stats no longer matched the shards)."""
    from lstm_viz.corpus.schema import state_path

    files, result = recorded
    other = tmp_path / "other"
    record_corpus(models[0], files[:3], other, **SETTINGS, dtype="float32")
    for replace in (lambda path: shutil.copy(state_path(other, 1), path), lambda path: path.write_bytes(b"junk")):
        root = tmp_path / f"copy{len(list(tmp_path.iterdir()))}"
        shutil.copytree(result["float32"][0], root)
        replace(state_path(root, 1))
        (root / "shards" / shard_name(2)).unlink()
        record_corpus(models[0], files, root, **SETTINGS, dtype="float32")
        for k in (1, 2):
            assert pq.read_table(root / "shards" / shard_name(k)).equals(
                pq.read_table(result["float32"][0] / "shards" / shard_name(k)))


def test_a_run_that_fails_before_its_first_shard_leaves_no_folder(tmp_path, texts, models, monkeypatch):
    """Out of memory (--batch 100000000) left manifest.json, files.parquet and an empty shards/ behind, and the
    same folder then refused a sensible --batch as "other settings": it had to be deleted by hand."""
    files, _ = text_dir_files(texts)
    out = tmp_path / "new" / "corpus"

    def fail(*_args, **_kwargs):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 307200000000 bytes.")

    with monkeypatch.context() as m:
        m.setattr(record_module._Lanes, "forward", fail)
        with pytest.raises(RuntimeError, match="can't allocate memory"):
            record_corpus(models[0], files, out, **SETTINGS)
    assert list(tmp_path.iterdir()) == []  # the folders it made went too
    assert record_corpus(models[0], files, out, **{**SETTINGS, "batch": 2})["complete"]


def test_the_apps_unit_statistics_say_what_is_damaged(tmp_path, recorded):
    AppTest = pytest.importorskip("streamlit.testing.v1", reason="the app's requirements are not installed").AppTest

    root = tmp_path / "copy"
    shutil.copytree(recorded[1]["float16"][0], root)
    (root / "unit_stats.parquet").write_bytes(b"not parquet")
    at = AppTest.from_function(_section, args=(str(root),), default_timeout=60).run()
    assert not at.exception and any("unit_stats.parquet" in e.value for e in at.error), at.exception


# ------------------------------------------------------------------------------------------------ review mends
def test_a_corpus_refuses_files_and_statistics_of_another_recording(tmp_path, recorded, texts, models):
    """files.parquet and unit_stats.parquet carry the recording's plan digest: another recording's copy in their
    place gave wrong files, positions and contexts with exit 0 (or "unexpected KeyError")."""
    files, result = recorded
    mine = tmp_path / "mine"
    shutil.copytree(result["float32"][0], mine)
    other = tmp_path / "other"
    record_corpus(models[0], files[:3], other, **SETTINGS)  # same model, other files: another plan
    shutil.copy(other / "unit_stats.parquet", mine / "unit_stats.parquet")
    with pytest.raises(CorpusError, match="unit_stats.parquet does not belong to this recording"):
        open_corpus(mine).top_contexts(NAMES[0], 3, k=2)
    shutil.copy(other / "files.parquet", mine / "files.parquet")
    with pytest.raises(CorpusError, match="files.parquet does not belong to this recording"):
        open_corpus(mine)
    record_corpus(models[0], files, mine, **SETTINGS, dtype="float32")  # the same command rewrites both
    assert len(open_corpus(mine).top_contexts(NAMES[0], 3, k=2)) == 2


def test_query_options_are_bounded_and_named(recorded):
    corpus = open_corpus(recorded[1]["float32"][0])
    with pytest.raises(CorpusError, match=r"--k must be a whole number from 1 to 1,000,000,000, got 10{22}"):
        corpus.top_contexts(NAMES[0], 0, k=10**22)  # it was "a shard may be damaged: record it again"
    with pytest.raises(CorpusError, match="--max-others must be a whole number from 0"):
        corpus.match([(NAMES[0], 0)], 0.3, 3, 5, max_others=-1)  # it returned nothing, silently
    with pytest.raises(CorpusError, match="--min-length must be"):
        corpus.match([(NAMES[0], 0)], 0.3, 10**12, 5)


def test_float16_overflow_is_refused_with_the_fix(tmp_path, texts, models, monkeypatch):
    monkeypatch.setattr(record_module, "FLOAT16_MAX", 1e-3)  # any cell state "overflows"
    files, _ = text_dir_files(texts)
    with pytest.raises(CorpusError, match=r"beyond float16's range.*--dtype float32"):
        record_corpus(models[0], files, tmp_path / "c", **SETTINGS)


def test_a_corpus_inside_the_text_folder_is_not_a_text_to_record(tmp_path, texts, models):
    """record-corpus --text-dir D --out D/corpus: the second run listed the corpus's own manifest.json as a source
    and refused to resume ("a recording of another corpus")."""
    source = tmp_path / "src"
    shutil.copytree(texts, source)
    first, _ = text_dir_files(source)
    record_corpus(models[0], first, source / "corpus", **SETTINGS)
    again, _ = text_dir_files(source)
    assert [f.name for f in again] == [f.name for f in first]
    assert record_corpus(models[0], again, source / "corpus", **SETTINGS)["complete"]


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_a_second_recording_into_a_folder_being_written_is_refused(tmp_path, texts, models):
    files, _ = text_dir_files(texts)
    with record_module._writing(tmp_path / "c"), pytest.raises(CorpusError, match="another record-corpus is writing"):
        record_corpus(models[0], files, tmp_path / "c", **SETTINGS)
    assert record_corpus(models[0], files, tmp_path / "c", **SETTINGS)["complete"]  # the lock was let go


def test_skipped_files_are_said_and_counted(tmp_path, texts, models, capsys):
    source = tmp_path / "src"
    shutil.copytree(texts, source)
    (source / "latin.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    code = main(["record-corpus", str(models[0]), "--text-dir", str(source), "--out", str(tmp_path / "c"),
                 "--batch", "3", "--chunk-len", "32", "--quiet"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0 and last_json(out)["skipped"] == 1
    assert "note: 1 file skipped: latin.txt (" in err and "manifest.json" in err
    assert main(["record-corpus", str(models[0]), "--stdlib", "--max-chars", "0", "--out", str(tmp_path / "d")]) == 2
    assert "--max-chars must be at least 1" in capsys.readouterr().err  # it said "no readable .py files"


def test_ctrl_c_says_how_many_shards_are_kept_and_that_the_command_resumes(tmp_path, texts, models, capsys,
                                                                          monkeypatch):
    import lstm_viz.cli.record_corpus as cli_record_corpus

    def stopped(*args, **kwargs):  # the first shard written, then Ctrl-C
        record_corpus(*args, **kwargs, stop_after_shards=1)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_record_corpus, "record_corpus", stopped)
    argv = ["record-corpus", str(models[0]), "--text-dir", str(texts), "--glob", "*.txt", "--chunk-len", "16",
            "--chunks-per-shard", "1", "--out", str(tmp_path / "c"), "--quiet"]  # fmt: skip
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert err.startswith("error: interrupted; 1 of ") and "shards are kept in" in err and "goes on from there" in err
    monkeypatch.undo()
    assert main(argv) == 0 and last_json(capsys.readouterr().out)["shards_reused"] == 1
