"""Does the live page slow training down? Throughput of LiveRun + the page's per-tick redraw vs the headless engine.

Same recipe, same epochs, one process. "Live" is what a training page does: ``LiveRun.tick`` with its time budget
(and the page's per-chunk probe), then every tick the page's figures built (``toy_live_figures`` /
``subtraction_live_figures``) and serialised the way ``st.plotly_chart`` does (``to_dict`` + ``plotly.io.to_json``
+ an md5 of the spec for the element id). The websocket and the browser are not in the loop: they run in other
threads/processes. Goal: live/headless ≥ 0.9 while the page redraws at least twice a second.

    python benchmarks/bench_live_training.py            # both recipes, short
    python benchmarks/bench_live_training.py --quick    # fewer epochs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time

import plotly.io
import torch

from lstm_viz import subtraction
from lstm_viz.live import TICK_SECONDS, TRAIN_SHARE, LiveRun
from lstm_viz.training import make_trainer
from lstm_viz.training_figures import gate_saturation, subtraction_live_figures, toy_live_figures


def send_like_streamlit(figures: dict) -> int:
    """What st.plotly_chart does with each figure on the server; returns the bytes that would be sent."""
    sent = 0
    for fig in figures.values():
        spec = plotly.io.to_json(fig.to_dict(), validate=False)
        hashlib.md5(spec.encode()).hexdigest()
        sent += len(spec)
    return sent


def headless(task: str, epochs: int, **options) -> float:
    trainer = make_trainer(task, **options)
    t0 = time.perf_counter()
    trainer.train_epochs(epochs)
    return epochs / (time.perf_counter() - t0)


def live(task: str, epochs: int, draw, probe=None, max_chunk=None, **options) -> tuple[float, dict]:
    run = LiveRun(lambda: make_trainer(task, **options), epochs=epochs, probe=probe, max_chunk=max_chunk)
    run.start()
    ticks: list[float] = []
    draw_seconds: list[float] = []
    sent = 0
    t0 = time.perf_counter()
    while run.running:
        start = time.perf_counter()
        run.tick(TICK_SECONDS * TRAIN_SHARE)
        d0 = time.perf_counter()
        sent = send_like_streamlit(draw(run))
        end = time.perf_counter()
        draw_seconds.append(end - d0)
        ticks.append(end - start)
    wall = time.perf_counter() - t0
    stats = {
        "ticks": len(ticks),
        "median_tick_s": statistics.median(ticks),
        "max_tick_s": max(ticks),
        "median_redraw_ms": 1000 * statistics.median(draw_seconds),
        "bytes_per_redraw": sent,
    }
    return epochs / wall, stats


def toy_probe(trainer) -> dict:
    named = getattr(trainer.model, "named_weights", None)
    return named() if named else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs (a rougher ratio)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {}

    toy_epochs = 2000 if args.quick else 5000
    options = dict(lr=0.001, seed=0)
    rate_headless = headless("toy-statquest", toy_epochs, **options)
    rate_live, stats = live(
        "toy-statquest", toy_epochs, lambda run: toy_live_figures(run.history, run.probes, run.model),
        probe=toy_probe, **options,
    )  # fmt: skip
    results["toy-statquest"] = (rate_headless, rate_live, stats)

    sub_epochs = 4 if args.quick else 8
    data = subtraction.load_data("seed")
    probe_x = data.x_test[:256]

    def sub_probe(trainer) -> dict:
        return {"saturation": gate_saturation(trainer.model.record(probe_x))}

    def sub_draw(run):
        return subtraction_live_figures(run.history, run.probes, run.model, data.x_test, data.pairs_test)

    options = dict(lr=0.01, seed=subtraction.SEED)
    rate_headless = headless("subtraction", sub_epochs, **options)
    rate_live, stats = live("subtraction", sub_epochs, sub_draw, probe=sub_probe, max_chunk=1, **options)
    results["subtraction"] = (rate_headless, rate_live, stats)

    print(f"{'recipe':<15} {'headless ep/s':>14} {'live ep/s':>10} {'ratio':>6}  redraw   ticks")
    for name, (h, lv, s) in results.items():
        print(
            f"{name:<15} {h:>14.1f} {lv:>10.1f} {lv / h:>6.2f}  {s['median_redraw_ms']:5.1f} ms  "
            f"{s['ticks']} × {s['median_tick_s']:.2f} s (max {s['max_tick_s']:.2f} s), "
            f"{s['bytes_per_redraw'] / 1e3:.0f} kB/redraw"
        )
    print(json.dumps({name: round(lv / h, 3) for name, (h, lv, _) in results.items()}))


if __name__ == "__main__":
    main()
