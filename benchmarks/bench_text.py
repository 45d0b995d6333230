"""Text-model speed, measured in one run (not a timed test), on the shipped model (2 layers × 384, embedding 64).

1. A 2,000-character text coloured by a unit: input → figures ready on the server (the text read, the model
   recorded, the five likeliest next characters after every step, the ranked list of units, the coloured text, all
   serialised to the JSON Streamlit sends). Goal: < 300 ms. Also the rest of what the page builds on load (the
   answer and the six heatmaps), for context. Each repeat is a different 2,000-character piece of validation text.
2. Every unit (2 layers × 6 tensors × 384 = 4,608) ranked against all nine built-in features over 100,000
   characters drawn from every validation file (as the app ranks them): recording and ranking timed apart and
   together. Goal: < 5 s. Also the same scan keeping every unit's top places for the contexts view.
3. Training throughput in characters per second: the engine (``Trainer`` driving the charlm TBPTT loop) against a
   plain ``nn.Embedding → nn.LSTM → nn.Linear`` loop with the same AdamW, clipping and carried state, same model
   and batch, alternating blocks of steps in one process. Goal: the engine within 1.1× of the plain loop. By default
   both train the shipped recipe, with its L1 penalty on every layer's h (``--activation-l1 0`` for none); the
   plain loop then runs one ``nn.LSTM`` per layer, as the engine does.

The load average of the machine (shared with other work) is printed before and after; numbers move with it.
Run: ``python benchmarks/bench_text.py`` (``--quick`` for fewer repeats, ``--threads N`` for the CPU threads of
parts 1–2; part 3 uses ``--train-threads``, default 1, as the shipped model was trained).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from cli_args import number, shipped_model, thread_count

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import plotly.io as pio
import torch
from torch import nn
from torch.nn import functional as F

from lstm_viz.tasks import TaskData
from lstm_viz.tasks.charlm.data import VOCAB, encode
from lstm_viz.tasks.charlm.stdlib import validation_paths, validation_sample, validation_text
from lstm_viz.tasks.charlm.task import CHARLM, SHIPPED_L1, next_char_table
from lstm_viz.tasks.charlm.tbptt import make_streams
from lstm_viz.text.figures import coloured_text, units_figure
from lstm_viz.text.finder import FEATURES, scan_validation
from lstm_viz.training.checkpoints import load_checkpoint
from lstm_viz.training.engine import Trainer
from lstm_viz.viz.answer import answer_figure, model_answer
from lstm_viz.viz.gates import gate_heatmaps, panels_of


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def sent(fig) -> int:
    return len(pio.to_json(fig, validate=False))


def activity(rec) -> object:
    import pandas as pd

    rows = []
    for name in rec.names():
        if name.rsplit(".", 1)[1] in ("c", "h"):
            std = rec[name][0].float().std(0).numpy()
            rows.append(pd.DataFrame({"name": name, "unit": np.arange(len(std)), "score": std, "sign": 1}))
    return pd.concat(rows).sort_values("score", ascending=False)


def coloured(model, text: str) -> tuple[float, float, int]:
    """(ms to the coloured text's figures ready, ms for the answer and heatmaps besides, bytes sent)."""
    started = time.perf_counter()
    inp = CHARLM.parse(text, model.config)
    with torch.no_grad():
        rec = model.record(inp.x)
        ids, probs = next_char_table(model.head(rec.h[-1, 0, 0]), 5)
    chars = np.asarray(VOCAB, dtype=object)[ids]
    table = activity(rec)
    name, unit = table.iloc[0]["name"], int(table.iloc[0]["unit"])
    figs = [units_figure(table, "score", "most active"),
            coloured_text(inp.source_text, rec[name][0, :, unit].numpy(), tensor=name[-1], title=f"{name}[{unit}]",
                          top_chars=chars, top_probs=probs, lines=(0, 60))]  # fmt: skip
    size = sum(sent(f) for f in figs)
    text_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    more = [answer_figure(model_answer(model, inp)),
            gate_heatmaps(rec, panels_of(rec), feature_names=inp.feature_names, step_labels=list(inp.step_labels))]
    size += sum(sent(f) for f in more)
    return text_ms, (time.perf_counter() - started) * 1000, size


def part1(model, repeats: int) -> None:
    text, _ = validation_text(200_000)
    pieces = [text[k * 2000 : (k + 1) * 2000] for k in range(repeats + 1)]
    coloured(model, pieces[0])  # warm-up
    results = [coloured(model, piece) for piece in pieces[1:]]
    text_ms = statistics.median(r[0] for r in results)
    rest_ms = statistics.median(r[1] for r in results)
    print(f"1. 2,000 characters coloured by a unit, input → figures ready: median {text_ms:.0f} ms over {repeats} "
          f"texts (min {min(r[0] for r in results):.0f}, max {max(r[0] for r in results):.0f}) — goal < 300 ms: "
          f"{'met' if text_ms < 300 else 'NOT met'}")  # fmt: skip
    print(f"   the answer and the six heatmaps besides: median {rest_ms:.0f} ms; "
          f"all figures {results[0][2] / 1e6:.1f} MB")


def part2(model, repeats: int) -> None:
    started = time.perf_counter()
    validation_sample(100_000)  # every validation file read and labelled whole, once per process (as in the app)
    sample_s = time.perf_counter() - started
    scan_validation(model, 20_000, top_k=0)  # warm-up: kernels ready
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        scan = scan_validation(model, 100_000, top_k=0)
        total = time.perf_counter() - started
        runs.append((scan.ranking.record_seconds, scan.ranking.score_seconds, total))
    best = min(runs, key=lambda r: r[2])
    median = statistics.median(r[2] for r in runs)
    print(f"2. 4,608 units × {len(FEATURES)} features over 100,000 characters: recording {best[0]:.2f} s + ranking "
          f"{best[1]:.2f} s = {best[2]:.2f} s with set-up (best of {repeats}; median total {median:.2f} s) — goal "
          f"< 5 s: {'met' if best[2] < 5 else 'NOT met'}")  # fmt: skip
    print(f"   (the sample — a share of each of the {len(validation_paths())} validation files — read and labelled "
          f"once beforehand: {sample_s:.2f} s)")
    started = time.perf_counter()
    scan = scan_validation(model, 100_000, top_k=30)
    print(f"   the same keeping every unit's 30 top and bottom places (the contexts view): "
          f"{time.perf_counter() - started:.2f} s (recording {scan.ranking.record_seconds:.2f} s)")


def part3(model, threads: int, blocks: int, steps: int, l1: float) -> None:
    torch.set_num_threads(threads)
    text, _ = validation_text(600_000)
    ids = torch.from_numpy(encode(text).astype(np.uint8))
    B, T = 16, 128
    data = TaskData(CHARLM, ids, ids, source="bench")
    engine_model = CHARLM.build(model.config)
    trainer = Trainer(engine_model, data, lr=2e-3, batch_size=B, options={"seq_len": T, "max_chars": 10**12,
                      "log_every": steps, "warmup_steps": 100, "activation_l1": l1}, num_threads=threads)  # fmt: skip

    c = model.config
    embed, fc = nn.Embedding(c.output_size, c.input_size), nn.Linear(c.hidden_size, c.output_size)
    # with the penalty, one nn.LSTM per layer (the penalty reads each layer's h), as a plain PyTorch loop would do it
    layers = ([nn.LSTM(c.input_size if k == 0 else c.hidden_size, c.hidden_size, batch_first=True)
               for k in range(c.num_layers)] if l1 else
              [nn.LSTM(c.input_size, c.hidden_size, c.num_layers, batch_first=True)])  # fmt: skip
    params = [*embed.parameters(), *(q for lstm in layers for q in lstm.parameters()), *fc.parameters()]
    optimizer = torch.optim.AdamW(params, lr=2e-3, fused=True)
    streams = make_streams(ids.long(), B)
    position, state = 0, None

    def plain_block() -> float:
        nonlocal position, state
        started = time.perf_counter()
        for _ in range(steps):
            if position + T + 1 >= streams.shape[1]:
                position, state = 0, None
            x, y = streams[:, position : position + T], streams[:, position + 1 : position + T + 1]
            out, carried, penalty = embed(x), [], 0.0
            for k, lstm in enumerate(layers):
                out, (h, cc) = lstm(out, None if state is None else state[k])
                carried.append((h.detach(), cc.detach()))
                if l1:
                    penalty = penalty + out.abs().mean()
            state = carried
            loss = F.cross_entropy(fc(out).reshape(-1, c.output_size), y.reshape(-1)) + l1 * penalty
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0, foreach=True)
            optimizer.step()
            loss.item()
            position += T
        return B * T * steps / (time.perf_counter() - started)

    def engine_block() -> float:
        started = time.perf_counter()
        trainer.step_epoch()
        return B * T * steps / (time.perf_counter() - started)

    engine_block(), plain_block()  # warm-up
    pairs = []
    for k in range(blocks):
        if k % 2:
            e, p = engine_block(), plain_block()
        else:
            p, e = plain_block(), engine_block()
        pairs.append((e, p))
    ratios = [p / e for e, p in pairs]
    recipe = f"activation L1 {l1:g} (one nn.LSTM per layer in the plain loop)" if l1 else "no activation penalty"
    print(f"3. training, 2×384, batch {B}, {T} characters, {recipe}, {threads} thread(s), {blocks} alternating "
          f"blocks of {steps} steps: engine {statistics.median(e for e, _ in pairs):,.0f} chars/s, plain nn.LSTM loop "
          f"{statistics.median(p for _, p in pairs):,.0f} chars/s; time ratio engine/plain median "
          f"{statistics.median(ratios):.3f} (blocks {min(ratios):.2f}–{max(ratios):.2f}) — goal ≤ 1.1: "
          f"{'met' if statistics.median(ratios) <= 1.1 else 'NOT met'}")  # fmt: skip


def _parts(text: str) -> set[int]:
    """``--parts``: numbers from 1, 2, 3, separated by commas."""
    try:
        parts = {int(p) for p in text.split(",")}
    except ValueError:
        message = f"{text!r}: give part numbers 1, 2 or 3, separated by commas (e.g. 1,3)"
        raise argparse.ArgumentTypeError(message) from None
    if not parts <= {1, 2, 3}:
        raise argparse.ArgumentTypeError(f"{text!r}: the parts are 1, 2 and 3")
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=thread_count, default=torch.get_num_threads())
    parser.add_argument("--train-threads", type=thread_count, default=1)
    parser.add_argument("--activation-l1", type=number(0.0, low_ok=True, what="a number ≥ 0 (0: no penalty)"),
                        default=SHIPPED_L1, help=f"part 3's activation penalty (default {SHIPPED_L1}, the shipped "
                        "recipe's; 0: none)")  # fmt: skip
    parser.add_argument(
        "--parts",
        default="1,2,3",
        type=_parts,
        help="which parts to run, e.g. 1,3: 1 text coloured by a unit, 2 ranking units, 3 training (default: all)",
    )
    args = parser.parse_args()
    parts = args.parts
    model = load_checkpoint(shipped_model(parser, "charlm_python.pt")).model.eval()
    print(f"bench_text: {load()}; torch {torch.__version__}, {args.threads} thread(s) for parts 1–2")
    torch.set_num_threads(args.threads)
    if 1 in parts:
        part1(model, 5 if args.quick else 15)
    if 2 in parts:
        part2(model, 1 if args.quick else 3)
    if 3 in parts:
        part3(model, args.train_threads, 4 if args.quick else 8, 5 if args.quick else 10, args.activation_l1)
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
