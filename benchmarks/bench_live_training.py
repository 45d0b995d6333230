"""Does the live page slow training down? Throughput of LiveRun + the page's per-tick redraw vs the headless engine.

Same recipe, same epochs, same seed, one process,
measured interleaved (see ``compare``). "Live" is what a training page does: ``LiveRun.tick`` with its time budget
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
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a checkout without the package installed

# Plotly and lstm_viz (PyTorch) are imported where they are used, once the arguments are read.


def send_like_streamlit(figures: dict) -> int:
    """What st.plotly_chart does with each figure on the server; returns the bytes that would be sent."""
    import plotly.io

    sent = 0
    for fig in figures.values():
        spec = plotly.io.to_json(fig.to_dict(), validate=False)
        hashlib.md5(spec.encode()).hexdigest()
        sent += len(spec)
    return sent


def compare(
    task: str, epochs: int, draw, details_every: float, probe=None, max_chunk=None, **options
) -> tuple[float, float, dict]:
    """Headless and live throughput (epochs/s) of the same recipe, measured interleaved.

    The machine's load drifts (other processes share the CPU), so the two are not run one after the other: the
    live run does one tick + redraw, then the headless trainer catches up on the same epochs, and so on. Each
    side's time is only its own work. Live time holds what the page does: every tick, train and redraw the
    curves (``draw(run, previous, "main")``); every ``details_every`` seconds (the page's), the detail figures too.
    """
    from lstm_viz.training.engine import make_trainer
    from lstm_viz.training.live import TICK_SECONDS, TRAIN_SHARE, LiveRun

    # Pay the process's one-time costs (first kernels, Plotly's validators) outside the measurement: a server
    # has paid them after its first page view, and otherwise whichever side runs first would pay them here.
    warm = LiveRun(lambda: make_trainer(task, **options), epochs=1, probe=probe)
    warm.start()
    warm.tick()
    for which in ("main", "details"):
        send_like_streamlit(draw(warm, {}, which))
    headless = make_trainer(task, **options)
    run = LiveRun(lambda: make_trainer(task, **options), epochs=epochs, probe=probe, max_chunk=max_chunk)
    run.start()
    figures: dict = {}
    live_seconds = headless_seconds = 0.0
    next_details = 0.0
    ticks: list[float] = []
    redraws: list[float] = []
    details: list[float] = []
    sent = 0
    while run.running or headless.epoch < epochs:
        if run.running:
            t0 = time.perf_counter()
            run.tick(TICK_SECONDS * TRAIN_SHARE)
            t1 = time.perf_counter()
            with run.threads():  # as live_fragment does
                figures.update(draw(run, figures, "main"))
            sent = send_like_streamlit({"curves": figures["curves"]})
            t2 = time.perf_counter()
            if live_seconds >= next_details:
                with run.threads():
                    new = draw(run, figures, "details")
                figures.update(new)
                sent += send_like_streamlit(new)
                next_details += details_every
                details.append(time.perf_counter() - t2)
            live_seconds += time.perf_counter() - t0
            ticks.append(t2 - t0)
            redraws.append(t2 - t1)
        behind = min(run.epoch, epochs) - headless.epoch
        if behind > 0 or not run.running:
            n = max(1, behind) if run.running else epochs - headless.epoch
            t0 = time.perf_counter()
            headless.train_epochs(n)
            headless_seconds += time.perf_counter() - t0
    stats = {
        "ticks": len(ticks),
        "median_tick_s": statistics.median(ticks),
        "max_tick_s": max(ticks),
        "median_redraw_ms": 1000 * statistics.median(redraws),
        "median_details_ms": 1000 * statistics.median(details),
        "bytes_per_redraw": sent,
        "train_share": run.train_seconds / live_seconds,
        "same_loss": abs(headless.history[-1]["loss"] - run.history[-1]["loss"]) < 1e-6,
    }
    return epochs / headless_seconds, epochs / live_seconds, stats


def toy_probe(trainer) -> dict:
    named = getattr(trainer.model, "named_weights", None)
    return named() if named else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs (a rougher ratio)")
    args = parser.parse_args()  # before PyTorch's import (lstm_viz's): --help answers at once

    from lstm_viz.live.figures import gate_saturation, subtraction_live_figures, toy_live_figures
    from lstm_viz.tasks import subtraction
    from lstm_viz.training.live import DETAIL_SECONDS_SUBTRACTION, DETAIL_SECONDS_TOY

    results = {}

    toy_epochs = 2000 if args.quick else 5000
    options = dict(preset="seed", lr=0.001, seed=0)

    def toy_draw(run, previous, which):
        parts = ("curves",) if which == "main" else ("gates", "weights")
        return toy_live_figures(run.history, run.probes, run.model, previous, parts=parts)

    rate_headless, rate_live, stats = compare(
        "toy-statquest", toy_epochs, toy_draw, DETAIL_SECONDS_TOY, probe=toy_probe, **options
    )
    results["toy-statquest"] = (rate_headless, rate_live, stats)

    sub_epochs = 8 if args.quick else 30
    data = subtraction.load_data("seed")
    probe_x = data.x_test[:256]

    def sub_probe(trainer) -> dict:
        return {"saturation": gate_saturation(trainer.model.record(probe_x))}

    def sub_draw(run, previous, which):
        parts = ("curves",) if which == "main" else ("errors", "saturation")
        return subtraction_live_figures(
            run.history, run.probes, run.model, data.x_test, data.pairs_test, previous, parts=parts
        )

    options = dict(preset="seed", lr=0.01, seed=subtraction.SEED)
    rate_headless, rate_live, stats = compare(
        "subtraction", sub_epochs, sub_draw, DETAIL_SECONDS_SUBTRACTION, probe=sub_probe, max_chunk=1, **options
    )
    results["subtraction"] = (rate_headless, rate_live, stats)

    head = f"{'recipe':<15} {'headless ep/s':>14} {'live ep/s':>10} {'ratio':>6}"
    print(f"{head}  redraw/tick  details/redraw  ticks")
    for name, (h, lv, s) in results.items():
        print(
            f"{name:<15} {h:>14.1f} {lv:>10.1f} {lv / h:>6.2f}  {s['median_redraw_ms']:8.1f} ms  "
            f"{s['median_details_ms']:9.1f} ms  "
            f"{s['ticks']} × {s['median_tick_s']:.2f} s (max {s['max_tick_s']:.2f} s), "
            f"training {s['train_share']:.0%} of live time, same final loss: {s['same_loss']}"
        )
    print(f"(details redrawn every {DETAIL_SECONDS_TOY:g} s on the toy page, {DETAIL_SECONDS_SUBTRACTION:g} s on the "
          "subtraction page)")  # fmt: skip
    print(json.dumps({name: round(lv / h, 3) for name, (h, lv, _) in results.items()}))


if __name__ == "__main__":
    main()
