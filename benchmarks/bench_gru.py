"""Speed of GRU recording vs nn.GRU forward: nn.GRU forward (with and without autograd), RecordingGRU.forward and
RecordingGRU.record (auto, and each strategy), median of several interleaved runs each, all measured in this run.

    python benchmarks/bench_gru.py [--repeats N] [--quick] [--threads N]

The ratios divide by nn.GRU forward under ``torch.no_grad()`` — the faster of the two baselines (with autograd on,
PyTorch's CPU GRU also keeps every step's tensors for backward). Goal: record within 1.25x of it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from cli_args import thread_count, whole

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a checkout without the package installed

# (label, batch, T, input, hidden, layers, bidirectional)
CASES = [
    ("(32, 256, 64, 256)", 32, 256, 64, 256, 1, False),
    ("(1, 1000, 32, 512)", 1, 1000, 32, 512, 1, False),
    ("2-layer bi (16, 200, 32, 128)", 16, 200, 32, 128, 2, True),
]
GOAL = 1.25
MAX_REPEATS = 1000  # each repeat runs every case's six calls: about a second or more


def interleaved_medians(fns: dict, repeats: int) -> dict[str, float]:
    """Median seconds of each function, run in turn (a, b, c, a, b, c, …) so machine noise hits all alike."""
    import torch

    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=whole(1, MAX_REPEATS, above="more would run for hours"), default=9)
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    parser.add_argument(
        "--default-allocator",
        action="store_true",
        help="leave glibc's malloc as it is (the app and CLI call lstm_viz.core.allocator.keep_freed_memory)",
    )
    parser.add_argument(
        "--threads",
        type=thread_count,
        default=None,
        help="torch CPU threads (default: torch's); 1 is steadier on a busy box",
    )
    args = parser.parse_args()  # before PyTorch's import: a bad value is refused at once

    import torch
    from torch import nn

    from lstm_viz import RecordingGRU, describe_device, pick_device
    from lstm_viz.core.allocator import keep_freed_memory

    if args.threads:
        torch.set_num_threads(args.threads)
    kept = False if args.default_allocator else keep_freed_memory()
    repeats = 3 if args.quick else args.repeats
    device = pick_device()
    print(
        f"device: {describe_device(device)}; torch {torch.__version__}; {torch.get_num_threads()} CPU thread(s);"
        f" median of {repeats} interleaved runs (ms)"
    )
    print("allocator: " + ("freed memory kept for reuse (keep_freed_memory)" if kept else "glibc defaults"))
    header = (
        f"{'case':30} {'nn.GRU':>8} {'(grad)':>8} {'forward':>8} {'record':>8} {'(loop':>8} {'replay)':>8}"
        f" {'fwd/ref':>8} {'rec/ref':>8}  auto picks"
    )
    print(header)
    print("-" * len(header))
    verdicts = []
    torch.manual_seed(0)
    for label, B, T, I, H, L, bi in CASES:
        ref = nn.GRU(I, H, L, batch_first=True, bidirectional=bi).to(device).eval()
        rec = RecordingGRU.from_gru(ref)
        x = torch.randn(B, T, I, device=device)

        def no_grad(fn):
            def run():
                with torch.no_grad():
                    return fn()

            return run

        fns = {
            "ref": no_grad(lambda: ref(x)),  # noqa: B023
            "ref_grad": lambda: ref(x),  # noqa: B023
            "fwd": no_grad(lambda: rec(x)),  # noqa: B023
            "rec": lambda: rec.record(x),  # noqa: B023
            "loop": lambda: rec.record(x, strategy="loop"),  # noqa: B023
            "replay": lambda: rec.record(x, strategy="replay"),  # noqa: B023
        }
        ms = {k: v * 1e3 for k, v in interleaved_medians(fns, repeats).items()}
        picks = rec.record(x[:, :2]).extras["strategy"]
        fwd_ratio, rec_ratio = ms["fwd"] / ms["ref"], ms["rec"] / ms["ref"]
        print(
            f"{label:30} {ms['ref']:8.1f} {ms['ref_grad']:8.1f} {ms['fwd']:8.1f} {ms['rec']:8.1f} {ms['loop']:8.1f}"
            f" {ms['replay']:8.1f} {fwd_ratio:7.2f}x {rec_ratio:7.2f}x  {picks}"
        )
        verdicts.append((label, rec_ratio))
    print()
    for label, ratio in verdicts:
        status = "met" if ratio <= GOAL else "NOT met"
        print(f"record / nn.GRU forward at {label}: {ratio:.2f}x (goal <= {GOAL}x: {status})")


if __name__ == "__main__":
    main()
