"""Is the gradient-flow page fast enough for long sequences? Scaling in T, the probe trick, one thread vs two.

Three ratios, each measured in this one run (medians of a few repeats):

1. time(T = 500) / time(T = 100) for all three nets (RNN, GRU, LSTM) with random weights. The probes give every
   ‖∂L/∂h_t‖ from ONE backward pass, so the cost should grow linearly: goal ≤ 7 (5 is linear).
2. The alternative without probes: one ``torch.autograd.grad`` call per step t, each backpropagating from L to
   h_t (what ``retain_grad`` cannot give for the total derivative without re-running). Ratio naive / probes at
   T = 100; goal ≥ 10, i.e. the probes are what makes T = 500 interactive.
3. Training speed on one thread vs torch's default thread count (what ``train_weights`` does on purpose), 30 Adam
   steps of the LSTM; on a shared 2-core machine one thread is usually much faster for these small matrices.

    python benchmarks/bench_gradients.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a checkout without the package installed

if TYPE_CHECKING:  # PyTorch and lstm_viz are imported once the arguments are read (--help answers at once)
    from lstm_viz.gradients.flow import FlowSettings


def timed(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def naive_grad_h(settings: FlowSettings) -> None:
    """‖∂L/∂h_t‖ for every t without probes: re-run the unroll and ask autograd for one h_t at a time."""
    import torch

    from lstm_viz.gradients.flow import build_net, make_task, unroll_loss

    CPU = torch.device("cpu")
    net = build_net("lstm", settings, CPU)
    x, y = make_task(1, settings.length, settings.input_size, settings.seed + 1, CPU, torch.float64)
    H = settings.hidden_size
    for t in range(settings.length):
        probe = [torch.zeros(1, H, dtype=torch.float64, requires_grad=(s == t)) for s in range(settings.length)]
        loss, _ = unroll_loss(net, x, y, dh=probe)
        torch.autograd.grad(loss, probe[t])


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()  # no options: --help, or refuse any

    import torch

    from lstm_viz.gradients.flow import FlowSettings, build_net, compare_gradient_flow, train_net

    CPU = torch.device("cpu")
    short, long = FlowSettings(length=100), FlowSettings(length=500)
    t_short = timed(lambda: compare_gradient_flow(short, CPU))
    t_long = timed(lambda: compare_gradient_flow(long, CPU))
    print(f"1. all three nets, random weights: T=100 {t_short:.3f} s, T=500 {t_long:.3f} s, "
          f"ratio {t_long / t_short:.2f} (linear = 5, goal ≤ 7)")  # fmt: skip

    probe_lstm = timed(lambda: compare_gradient_flow(short, CPU).flows["lstm"])
    naive = timed(lambda: naive_grad_h(short), repeats=1)
    print(f"2. T=100: one pass with probes {probe_lstm:.3f} s (all three nets) vs one backward per step "
          f"{naive:.3f} s (LSTM only): ratio {naive / probe_lstm:.1f} (goal ≥ 10)")  # fmt: skip

    settings = FlowSettings(weights="trained", train_steps=30, train_length=10)
    threads = torch.get_num_threads()

    def train_once(n: int) -> None:
        torch.set_num_threads(n)
        train_net(build_net("lstm", settings, CPU), settings)

    one = timed(lambda: train_once(1))
    many = timed(lambda: train_once(threads))
    torch.set_num_threads(threads)
    print(f"3. 30 LSTM training steps: 1 thread {one:.3f} s, {threads} threads {many:.3f} s, "
          f"ratio {many / one:.2f} (> 1: one thread is faster)")  # fmt: skip


if __name__ == "__main__":
    main()
