"""Speed of recording vs the fused kernel — nn.LSTM forward, RecordingLSTM.forward, RecordingLSTM.record (and its
replay and loop strategies) and post 3's hand-written per-step loop — median of several runs each.

    python benchmarks/bench_recording.py [--repeats N] [--quick] [--threads N] [--clock wall|cpu]

Each column runs in a fresh Python process that this script starts (so one column's memory state cannot help
another): the headline, "library", imports lstm_viz and calls nothing else — what `from lstm_viz import
RecordingLSTM` in a notebook gets; "app" first calls lstm_viz.core.allocator.keep_freed_memory(), as app.py and
`python -m lstm_viz` do. Ratios are taken within a process, both columns in this one run.

Goals: record ≤ 1.25× nn.LSTM forward at the three issue shapes in the library column, ≤ 1.15× at the two large
one-layer shapes in the app column; forward ≤ 1.1×.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cli_args import thread_count, whole

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # a checkout without the package installed
    sys.path.insert(0, str(ROOT))

# (label, batch, T, input, hidden, layers, bidirectional)
CASES = [
    ("post 4 (1, 8, 2, 32)", 1, 8, 2, 32, 1, False),
    ("(32, 256, 64, 256)", 32, 256, 64, 256, 1, False),
    ("(1, 1000, 32, 512)", 1, 1000, 32, 512, 1, False),
    ("2-layer bi (16, 200, 32, 128)", 16, 200, 32, 128, 2, True),
    ("2-layer bi (16, 128, 64, 128)", 16, 128, 64, 128, 2, True),
]
RECORD_GOAL = {  # column → (goal, the shapes it is for)
    "library": (1.25, ("(32, 256, 64, 256)", "(1, 1000, 32, 512)", "2-layer bi (16, 200, 32, 128)")),
    "app": (1.15, ("(32, 256, 64, 256)", "(1, 1000, 32, 512)")),
}
FORWARD_GOAL = 1.1
COLUMNS = ("library", "app")
MAX_REPEATS = 1000  # each repeat runs every case in both columns: about a second or more


def seed_lstm_forward(x, initial_states, w_ih, w_hh, b_ih, b_hh):
    """Post 3's hand-written lstm_forward (batch-first, tile + bmm per step), as written in the post."""
    import torch

    h0, c0 = initial_states
    bs, T, _ = x.shape
    h_size = w_ih.shape[0] // 4
    prev_h, prev_c = h0, c0
    batch_w_ih = w_ih.unsqueeze(0).tile(bs, 1, 1)
    batch_w_hh = w_hh.unsqueeze(0).tile(bs, 1, 1)
    output = torch.zeros(bs, T, h_size)
    for t in range(T):
        x_t = x[:, t, :]
        w_times_x = torch.bmm(batch_w_ih, x_t.unsqueeze(-1)).squeeze(-1)
        w_times_h_prev = torch.bmm(batch_w_hh, prev_h.unsqueeze(-1)).squeeze(-1)
        i_t = torch.sigmoid(w_times_x[:, :h_size] + w_times_h_prev[:, :h_size] + b_ih[:h_size] + b_hh[:h_size])
        f_t = torch.sigmoid(
            w_times_x[:, h_size : 2 * h_size]
            + w_times_h_prev[:, h_size : 2 * h_size]
            + b_ih[h_size : 2 * h_size]
            + b_hh[h_size : 2 * h_size]
        )
        g_t = torch.tanh(
            w_times_x[:, 2 * h_size : 3 * h_size]
            + w_times_h_prev[:, 2 * h_size : 3 * h_size]
            + b_ih[2 * h_size : 3 * h_size]
            + b_hh[2 * h_size : 3 * h_size]
        )
        o_t = torch.sigmoid(
            w_times_x[:, 3 * h_size :] + w_times_h_prev[:, 3 * h_size :] + b_ih[3 * h_size :] + b_hh[3 * h_size :]
        )
        prev_c = f_t * prev_c + i_t * g_t
        prev_h = o_t * torch.tanh(prev_c)
        output[:, t, :] = prev_h
    return output, (prev_h, prev_c)


def interleaved_medians(fns: dict, repeats: int, clock=time.perf_counter) -> dict[str, float]:
    """Median seconds of each function, run in turn (a, b, c, a, b, c, …) so machine noise hits all alike."""
    import torch

    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(repeats):
        for name, fn in fns.items():
            start = clock()
            fn()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            times[name].append(clock() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def worker(column: str, repeats: int, quick: bool, threads: int | None, clock: str) -> None:
    """One column, in this (fresh) process: prints one JSON line per case."""
    if column == "app":
        from lstm_viz.core.allocator import keep_freed_memory

        keep_freed_memory()
    import torch
    from torch import nn

    from lstm_viz import RecordingLSTM, pick_device

    if threads:
        torch.set_num_threads(threads)
    timer = time.process_time if clock == "cpu" else time.perf_counter
    device = pick_device()
    torch.manual_seed(0)
    for label, B, T, I, H, L, bi in CASES:
        ref = nn.LSTM(I, H, L, batch_first=True, bidirectional=bi).to(device).eval()
        rec = RecordingLSTM.from_lstm(ref)
        x = torch.randn(B, T, I, device=device)
        fns = {
            "ref": lambda: ref(x),  # noqa: B023
            "fwd": lambda: rec(x),  # noqa: B023
            "rec": lambda: rec.record(x),  # noqa: B023
        }
        if not quick:
            fns["replay"] = lambda: rec.record(x, strategy="replay")  # noqa: B023
            fns["loop"] = lambda: rec.record(x, strategy="loop")  # noqa: B023
            if L == 1 and not bi and device.type == "cpu" and B * T <= 8192:
                zeros = torch.zeros(B, H)
                w = (ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0)
                fns["seed"] = lambda: seed_lstm_forward(x, (zeros, zeros), *w)  # noqa: B023
        with torch.no_grad():
            t = interleaved_medians(fns, repeats, timer)
        print(json.dumps({"label": label, "strategy": rec._pick_strategy(B), **t}), flush=True)


def run_column(column: str, args: argparse.Namespace, repeats: int) -> dict[str, dict]:
    """The column's results from a fresh process (this script with --worker)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", column, "--repeats", str(repeats)]
    command += ["--clock", args.clock] + (["--threads", str(args.threads)] if args.threads else [])
    done = subprocess.run(command + (["--quick"] if args.quick else []), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"the {column} column failed:\n{done.stderr}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {row["label"]: row for row in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=whole(1, MAX_REPEATS, above="more would run for hours"), default=7)
    parser.add_argument("--quick", action="store_true", help="3 repeats; only nn.LSTM, forward and record")
    parser.add_argument("--threads", type=thread_count, help="torch threads in the workers (default: torch's own)")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="cpu: the process's CPU time, steadier than wall time on a machine shared with other work",
    )
    parser.add_argument("--worker", choices=COLUMNS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    if args.worker:
        worker(args.worker, repeats, args.quick, args.threads, args.clock)
        return

    import torch

    from lstm_viz import describe_device, pick_device

    load = f"; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs" if hasattr(os, "getloadavg") else ""
    threads = args.threads or torch.get_num_threads()
    print(
        f"device: {describe_device(pick_device())}; torch {torch.__version__}, {threads} threads{load}; median of "
        f"{repeats} runs ({args.clock} time, ms), each column in a fresh process"
    )
    print("  library: `import lstm_viz` and nothing else (glibc's malloc defaults) — the headline")
    print("  app:     keep_freed_memory() first, as app.py and `python -m lstm_viz` do")
    results = {column: run_column(column, args, repeats) for column in COLUMNS}
    header = (
        f"{'case':30} {'column':8} {'nn.LSTM':>8} {'forward':>8} {'record':>8} {'(replay':>8} {'loop)':>8}"
        f" {'seed loop':>10} {'fwd/ref':>8} {'rec/ref':>8}  auto picks"
    )
    print(header)
    print("-" * len(header))
    verdicts = []
    for label, *_ in CASES:
        for column in COLUMNS:
            t = results[column][label]
            r_fwd, r_rec = t["fwd"] / t["ref"], t["rec"] / t["ref"]

            def ms(key: str, width: int = 8, t: dict = t) -> str:
                return f"{t[key] * 1e3:{width}.2f}" if key in t else f"{'-':>{width}}"

            print(
                f"{label if column == 'library' else '':30} {column:8} {ms('ref')} {ms('fwd')} {ms('rec')} "
                f"{ms('replay')} {ms('loop')} {ms('seed', 10)} {r_fwd:7.2f}x {r_rec:7.2f}x  {t['strategy']}"
            )
            goal, shapes = RECORD_GOAL[column]
            if label in shapes:
                verdicts.append((label, column, r_rec, goal, r_fwd))
    print()
    for label, column, r_rec, goal, r_fwd in verdicts:
        print(
            f"{label} [{column}]: record {r_rec:.2f}x, ≤ {goal}x {'MET' if r_rec <= goal else 'MISSED'}; "
            f"forward {r_fwd:.2f}x, ≤ {FORWARD_GOAL}x {'MET' if r_fwd <= FORWARD_GOAL else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
