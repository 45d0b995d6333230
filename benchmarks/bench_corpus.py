"""Corpus scale, measured in one run: record-corpus's throughput against the model's plain nn.LSTM forward over the
same characters, its peak memory, and the DuckDB queries over what it wrote.

    python benchmarks/bench_corpus.py [--model PATH] [--chars 1000000] [--threads 1] [--also-chars 10000000]

1. The corpus: the first ``--chars`` characters of the standard library's files of at most ``--max-file-chars``
   (60,000) characters, in path order — what ``record-corpus --stdlib --max-chars N --max-file-chars M`` takes.
2. Baseline, in this process: the model's embedding and a plain ``torch.nn.LSTM`` holding its weights, run over the
   same characters in the same batches (the same plan: lanes, chunks, state carried within a file), nothing kept.
3. ``python -m lstm_viz record-corpus … --tensors c,h`` in a child process: wall time (interpreter start, reading,
   recording, Parquet writing and unit statistics included) and its peak RSS (``os.wait4``'s ``ru_maxrss``).
4. Queries on the result, in this process: opening the corpus, ``top_contexts`` by a scan of the unit's column (and
   from the unit statistics), ``match`` for a pair of units; and the whole ``python -m lstm_viz top-contexts``
   command (with its interpreter and PyTorch import).

Goals: peak RSS ≤ 1.5 GB; record-corpus ≥ 0.5× the plain forward's characters per second; top-contexts ≤ 1 s and
match ≤ 3 s over 1,000,000 characters. The model is ``--model``, else ``models/charlm_python.pt`` if it is there,
else a CharLM of the shipped size (2 × 384, embedding 64) with random weights (same work, same bytes; said so).
``--threads`` (default 1) is used by both the baseline and record-corpus; the machine's load is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cli_args import existing_file, folder_to_write, positive_int, thread_count

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # a checkout without the package installed
    sys.path.insert(0, str(ROOT))

GOALS = {"rss_gb": 1.5, "ratio": 0.5, "top_contexts_s": 1.0, "match_s": 3.0}
MIN_LAYERS, MIN_HIDDEN = 2, 384  # the queries read up to layer1.fwd.h unit 383: the shipped model's size


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def _model_problem(path: str) -> str | None:
    """Why the checkpoint at ``path`` cannot be benchmarked (not a character model, or too small for the queries);
    None when it can."""
    from lstm_viz.corpus import CorpusError
    from lstm_viz.corpus.model import load_text_model

    try:
        lstm = load_text_model(path).lstm
    except CorpusError as err:
        return str(err)
    if lstm.num_layers < MIN_LAYERS or lstm.hidden_size < MIN_HIDDEN or lstm.proj_size:
        shape = f"{lstm.num_layers} x {lstm.hidden_size}" + (" with projections" if lstm.proj_size else "")
        return (f"{path} is a {shape} model; the queries read up to unit 383 of layer 1: give one of at least "
                f"{MIN_LAYERS} layers x {MIN_HIDDEN} units, without projections (the shipped size)")  # fmt: skip
    return None


def _model_path(args, work: Path) -> tuple[Path, str]:
    import torch

    from lstm_viz.tasks.charlm.model import CharLM, CharLMConfig

    if args.model:
        return Path(args.model), "given"
    shipped = ROOT / "models" / "charlm_python.pt"
    if shipped.is_file():
        return shipped, "shipped"
    torch.manual_seed(0)
    model = CharLM(CharLMConfig(hidden_size=384, num_layers=2, embed_size=64))
    path = work / "random_2x384.pt"
    torch.save({"config": model.config.to_dict(), "state_dict": model.state_dict()}, path)
    return path, "random weights, shipped size 2 x 384"


def baseline(model_path: Path, files, batch: int, chunk_len: int) -> tuple[float, float]:
    """Characters per second of embedding + plain nn.LSTM over the plan record-corpus follows (nothing kept), and
    the mean number of lanes busy per chunk."""
    import numpy as np
    import torch

    from lstm_viz.corpus.model import encode_text, load_text_model
    from lstm_viz.corpus.plan import plan_chunks
    from lstm_viz.corpus.sources import read_text

    model = load_text_model(model_path)
    lstm = torch.nn.LSTM(model.lstm.input_size, model.lstm.hidden_size, model.lstm.num_layers, batch_first=True)
    lstm.load_state_dict(model.lstm.state_dict())
    lstm.eval()
    ids = [torch.from_numpy(encode_text(model, read_text(f))) for f in files]
    chunks = list(plan_chunks([f.chars for f in files], batch, chunk_len))
    h = torch.zeros(lstm.num_layers, batch, lstm.hidden_size)
    c = torch.zeros(lstm.num_layers, batch, lstm.hidden_size)
    with torch.no_grad():
        lstm(model.embed(ids[0][None, :64]))  # warm the kernel up
        started = time.perf_counter()
        for chunk in chunks:
            lanes = torch.tensor([s.lane for s in chunk.segments])
            x = torch.zeros(len(chunk.segments), chunk.steps, dtype=torch.long)
            for b, s in enumerate(chunk.segments):
                x[b, : s.length] = ids[s.file_id][s.start : s.stop]
            fresh = torch.tensor([s.fresh for s in chunk.segments])
            h0, c0 = h[:, lanes], c[:, lanes]
            h0[:, fresh], c0[:, fresh] = 0.0, 0.0
            _, (hn, cn) = lstm(model.embed(x), (h0, c0))
            h[:, lanes], c[:, lanes] = hn, cn
        seconds = time.perf_counter() - started
    return sum(f.chars for f in files) / seconds, float(np.mean([len(c.segments) for c in chunks]))


def record_child(model_path: Path, chars: int, max_file_chars: int, threads: int, out: Path) -> dict:
    """Run record-corpus in a child process: its summary, wall seconds and peak RSS (from ``os.wait4``: the child
    is reaped here, so its rusage is its own)."""
    cmd = [sys.executable, "-m", "lstm_viz", "record-corpus", str(model_path), "--stdlib", "--max-chars",
           str(chars), "--max-file-chars", str(max_file_chars), "--threads", str(threads), "--quiet",
           "--out", str(out)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    log = out.parent / f"{out.name}.stdout"
    with open(log, "w") as stdout, open(out.parent / f"{out.name}.stderr", "w") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped: keep Popen from waiting again
        wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        err = (out.parent / f"{out.name}.stderr").read_text()[-500:]
        raise SystemExit(f"record-corpus failed ({os.waitstatus_to_exitcode(status)}): {err.strip()}")
    summary = json.loads(log.read_text().strip().splitlines()[-1])
    return {"summary": summary, "wall_s": wall, "rss_gb": usage.ru_maxrss * 1024 / 1e9}


def queries(out: Path) -> dict:
    from lstm_viz.corpus import open_corpus

    started = time.perf_counter()
    corpus = open_corpus(out)
    opened = time.perf_counter() - started
    stats = corpus.unit_stats()
    picks = [("layer0.fwd.c", 66), ("layer0.fwd.c", 12), ("layer1.fwd.c", 5), ("layer0.fwd.h", 200),
             ("layer1.fwd.h", 383)]  # fmt: skip
    scan, from_stats = [], []
    for name, unit in picks:
        for lowest in (False, True):
            t0 = time.perf_counter()
            by_scan = corpus.top_contexts(name, unit, k=20, lowest=lowest, source="scan")
            scan.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            by_stats = corpus.top_contexts(name, unit, k=20, lowest=lowest, source="stats")
            from_stats.append(time.perf_counter() - t0)
            assert by_scan.equals(by_stats), (name, unit, lowest)
    h1 = stats[stats["name"] == "layer1.fwd.h"].sort_values("mean", ascending=False)
    often = ",".join(f"layer1.fwd.h:{u}" for u in h1["unit"].head(2))  # two units that are on a lot: many spans
    matches = {}
    for spec in ("layer0.fwd.c:66,layer0.fwd.c:12", often):
        t0 = time.perf_counter()
        frame = corpus.match(spec, threshold=0.3, min_length=3, k=20)
        matches[spec] = {"seconds": time.perf_counter() - t0, "spans": frame.attrs["total"]}
    return {"open_s": opened, "top_scan_s": scan, "top_stats_s": from_stats, "match": matches}


def cli_top_contexts(out: Path) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lstm_viz", "top-contexts", str(out), "--name", "layer0.fwd.c",
                           "--unit", "66", "--json"], cwd=ROOT, env=env, capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"top-contexts failed: {done.stderr.strip()}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        type=existing_file,
        help="a character-model checkpoint (default: models/charlm_python.pt, else random)",
    )
    parser.add_argument("--chars", type=positive_int, default=1_000_000)
    parser.add_argument("--max-file-chars", type=positive_int, default=60_000)
    parser.add_argument(
        "--threads", type=thread_count, default=1, help="PyTorch threads for the baseline and record-corpus"
    )
    parser.add_argument("--also-chars", type=positive_int, help="also record this many characters, for peak RSS only")
    parser.add_argument(
        "--work", type=folder_to_write, help="folder for the recordings (default: a temporary one, removed after)"
    )
    args = parser.parse_args()

    import torch

    from lstm_viz.corpus import CorpusError
    from lstm_viz.corpus.record import record_corpus  # noqa: F401  (the package must import)
    from lstm_viz.corpus.sources import stdlib_files

    problem = args.model and _model_problem(args.model)
    if problem:
        parser.error(f"argument --model: {problem}")
    try:
        files, _ = stdlib_files(args.chars, max_file_chars=args.max_file_chars)
    except CorpusError as err:  # with --chars at least 1: when no file is that short (or no stdlib is found)
        parser.error(f"argument --max-file-chars: {err} of at most {args.max_file_chars:,} characters; give more "
                     "(the default is 60,000)")  # fmt: skip
    if args.work:
        try:
            Path(args.work).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            parser.error(f"argument --work: cannot make the folder {args.work!r} ({err.strerror or err})")
    torch.set_num_threads(args.threads)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench_corpus_"))
    work.mkdir(parents=True, exist_ok=True)
    model_path, model_kind = _model_path(args, work)
    chars = sum(f.chars for f in files)
    print(f"model: {model_path} ({model_kind}); corpus: {len(files)} stdlib files, {chars:,} characters; "
          f"{args.threads} thread(s); {_load()}", flush=True)  # fmt: skip
    out = work / "corpus"
    shutil.rmtree(out, ignore_errors=True)
    try:
        base_cps, lanes = baseline(model_path, files, 16, 512)
        print(f"plain nn.LSTM forward: {base_cps:,.0f} chars/s ({lanes:.1f} lanes busy per chunk); {_load()}",
              flush=True)  # fmt: skip
        rec = record_child(model_path, args.chars, args.max_file_chars, args.threads, out)
        rec_cps = chars / rec["wall_s"]
        print(f"record-corpus: {rec['wall_s']:.1f} s wall, {rec_cps:,.0f} chars/s "
              f"({rec['summary']['chars_per_second']:,.0f} inside the command), peak RSS {rec['rss_gb']:.2f} GB, "
              f"{rec['summary']['bytes'] / 1e9:.2f} GB on disk; {_load()}", flush=True)  # fmt: skip
        q = queries(out)
        cli = cli_top_contexts(out)
        also = None
        if args.also_chars:
            big = work / "corpus_big"
            shutil.rmtree(big, ignore_errors=True)
            also = record_child(model_path, args.also_chars, args.max_file_chars, args.threads, big)
            shutil.rmtree(big, ignore_errors=True)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)

    ratio = rec_cps / base_cps
    top = max(q["top_scan_s"])
    match = max(m["seconds"] for m in q["match"].values())
    rows = [
        ("record-corpus / plain forward, chars/s", f"{ratio:.2f}x ({rec_cps:,.0f} / {base_cps:,.0f})",
         f">= {GOALS['ratio']}x", ratio >= GOALS["ratio"]),
        (f"peak RSS, {chars:,} chars, c and h", f"{rec['rss_gb']:.2f} GB", f"<= {GOALS['rss_gb']} GB",
         rec["rss_gb"] <= GOALS["rss_gb"]),
        ("top-contexts (scan), slowest of 10", f"{top:.3f} s (median {statistics.median(q['top_scan_s']):.3f})",
         f"<= {GOALS['top_contexts_s']} s", top <= GOALS["top_contexts_s"]),
        ("top-contexts (unit statistics), slowest", f"{max(q['top_stats_s']):.4f} s", "", None),
        ("match, slowest of 2", f"{match:.2f} s " + str({k: f"{v['seconds']:.2f} s, {v['spans']} spans"
                                                       for k, v in q["match"].items()}),
         f"<= {GOALS['match_s']} s", match <= GOALS["match_s"]),
        ("open_corpus", f"{q['open_s']:.3f} s", "", None),
        ("python -m lstm_viz top-contexts … --json (whole command)", f"{cli:.2f} s", "", None),
    ]  # fmt: skip
    if also:
        rows.append((f"peak RSS, {also['summary']['chars']:,} chars", f"{also['rss_gb']:.2f} GB",
                     f"<= {GOALS['rss_gb']} GB", also["rss_gb"] <= GOALS["rss_gb"]))  # fmt: skip
    print()
    for what, measured, goal, met in rows:
        verdict = "" if met is None else ("met" if met else "NOT met")
        print(f"{what:58s} {measured:60s} {goal:10s} {verdict}")
    print(f"({_load()})")
    print(json.dumps({"chars": chars, "model": model_kind, "threads": args.threads, "ratio": ratio,
                      "record_cps": rec_cps, "forward_cps": base_cps, "rss_gb": rec["rss_gb"], "queries": q,
                      "cli_top_contexts_s": cli, "also": also and {"chars": also["summary"]["chars"],
                                                                   "rss_gb": also["rss_gb"]}}))  # fmt: skip


if __name__ == "__main__":
    main()
