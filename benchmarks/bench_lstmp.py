"""LSTM vs LSTMP, measured in one run: parameters, multiply-adds, forward latency and training time per epoch.

    python benchmarks/bench_lstmp.py            # a few sizes, about a minute on a CPU
    python benchmarks/bench_lstmp.py --quick    # one size

Prints, per (hidden_size, proj_size, batch, T), the LSTMP/LSTM ratios of parameters, multiply-adds per step and
median forward latency (both models timed interleaved, run by run, on the current device), and the ratio of
seconds per training epoch on post 4's subtraction task (the page's paired run). A ratio below 1 means the
LSTMP is cheaper. On a CPU, PyTorch runs the plain LSTM in oneDNN's fused kernel and the LSTMP in its
step-by-step fallback, so fewer multiply-adds need not mean less time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = [(32, 8, 1, 64), (32, 8, 128, 8), (256, 64, 1, 64), (256, 64, 32, 64), (1024, 256, 8, 64)]


def forward_row(hidden: int, proj: int, batch: int, steps: int, runs: int) -> str:
    from lstm_viz import lstmp as lstmp_api
    from lstm_viz.tasks import count_parameters

    spec = lstmp_api.validate_pair(2 if hidden <= 32 else 64, hidden, proj)
    lstm, lstmp = lstmp_api.build_pair(spec)
    params = count_parameters(lstmp) / count_parameters(lstm)
    macs = lstmp_api.multiply_adds_per_step(lstmp)["total"] / lstmp_api.multiply_adds_per_step(lstm)["total"]
    a, b = lstmp_api.measure_latency((lstm, lstmp), batch, steps, runs=runs, max_seconds=20)
    return (
        f"H {hidden:>4} P {proj:>3} batch {batch:>3} T {steps:>3} | params {params:.3f} | MACs {macs:.3f} | "
        f"latency {a.median_ms:8.3f} ms → {b.median_ms:8.3f} ms = {b.median_ms / a.median_ms:.2f}× "
        f"({a.where}, {len(a.samples_ms)} runs)"
    )


def training_row(hidden: int, proj: int, epochs: int) -> str:
    from lstm_viz import lstmp as lstmp_api

    settings = lstmp_api.TrainSettings(hidden, proj, epochs=epochs, seed=822)
    seconds = {}
    for name in lstmp_api.MODEL_NAMES:
        trainer = lstmp_api.make_pair_trainer(settings, name)
        history = trainer.train_epochs(epochs)
        seconds[name] = statistics.median(float(r["seconds"]) for r in history)
    ratio = seconds["LSTMP"] / seconds["LSTM"]
    return (
        f"subtraction H {hidden} P {proj}: seconds/epoch LSTM {seconds['LSTM']:.3f}, LSTMP {seconds['LSTMP']:.3f} "
        f"= {ratio:.2f}× (median of {epochs} epochs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one size, fewer runs")
    args = parser.parse_args()  # before PyTorch's import (lstm_viz's): --help answers at once

    from lstm_viz.core.device import describe_device

    print(f"device: {describe_device()}")
    sizes = SIZES[:1] if args.quick else SIZES
    for hidden, proj, batch, steps in sizes:
        print(forward_row(hidden, proj, batch, steps, runs=10 if args.quick else 30), flush=True)
    print(training_row(32, 8, epochs=2 if args.quick else 3), flush=True)


if __name__ == "__main__":
    main()
