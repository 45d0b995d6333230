"""Speed of recording vs the fused kernel: nn.LSTM forward, RecordingLSTM.forward, RecordingLSTM.record and the
seed 003 hand-written per-step loop (tile + bmm), median of several runs each, all measured in this one run.

    python benchmarks/bench_recording.py [--repeats N] [--quick]

Goals (issue #2): record within 1.5x of nn.LSTM forward and forward within 1.1x at the large shapes.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from lstm_viz import RecordingLSTM, describe_device, pick_device
from lstm_viz.core.allocator import keep_freed_memory

# (label, batch, T, input, hidden, layers, bidirectional)
CASES = [
    ("seed 004 (1, 8, 2, 32)", 1, 8, 2, 32, 1, False),
    ("(32, 256, 64, 256)", 32, 256, 64, 256, 1, False),
    ("(1, 1000, 32, 512)", 1, 1000, 32, 512, 1, False),
    ("2-layer bi (16, 128, 64, 128)", 16, 128, 64, 128, 2, True),
]
LARGE = {"(32, 256, 64, 256)", "(1, 1000, 32, 512)", "2-layer bi (16, 128, 64, 128)"}


def seed_lstm_forward(x, initial_states, w_ih, w_hh, b_ih, b_hh):
    """Seed 003's hand-written lstm_forward (batch-first, tile + bmm per step), as written in the post."""
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
            w_times_x[:, h_size : 2 * h_size] + w_times_h_prev[:, h_size : 2 * h_size]
            + b_ih[h_size : 2 * h_size] + b_hh[h_size : 2 * h_size]
        )
        g_t = torch.tanh(
            w_times_x[:, 2 * h_size : 3 * h_size] + w_times_h_prev[:, 2 * h_size : 3 * h_size]
            + b_ih[2 * h_size : 3 * h_size] + b_hh[2 * h_size : 3 * h_size]
        )
        o_t = torch.sigmoid(
            w_times_x[:, 3 * h_size :] + w_times_h_prev[:, 3 * h_size :] + b_ih[3 * h_size :] + b_hh[3 * h_size :]
        )
        prev_c = f_t * prev_c + i_t * g_t
        prev_h = o_t * torch.tanh(prev_c)
        output[:, t, :] = prev_h
    return output, (prev_h, prev_c)


def interleaved_medians(fns: dict, repeats: int) -> dict[str, float]:
    """Median seconds of each function, run in turn (a, b, c, a, b, c, …) so machine noise hits all alike."""
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 repeats, skip the slow seed loop at large shapes")
    parser.add_argument(
        "--default-allocator",
        action="store_true",
        help="leave glibc's malloc as it is (the app and CLI call lstm_viz.allocator.keep_freed_memory)",
    )
    args = parser.parse_args()
    kept = False if args.default_allocator else keep_freed_memory()
    repeats = 3 if args.quick else args.repeats
    device = pick_device()
    print(f"device: {describe_device(device)}; torch {torch.__version__}; median of {repeats} runs (ms)")
    print(
        "allocator: "
        + (
            "freed memory kept for reuse, as the app and CLI run (keep_freed_memory)"
            if kept
            else "glibc defaults: big blocks are unmapped on free and page-fault when reused"
        )
    )
    header = (
        f"{'case':30} {'nn.LSTM':>8} {'forward':>8} {'record':>8} {'(replay':>8} {'loop)':>8} {'seed loop':>10}"
        f" {'fwd/ref':>8} {'rec/ref':>8}  auto picks"
    )
    print(header)
    print("-" * len(header))
    verdicts = []
    torch.manual_seed(0)
    for label, B, T, I, H, L, bi in CASES:
        ref = nn.LSTM(I, H, L, batch_first=True, bidirectional=bi).to(device).eval()
        rec = RecordingLSTM.from_lstm(ref)
        x = torch.randn(B, T, I, device=device)
        fns = {
            "ref": lambda: ref(x),  # noqa: B023
            "fwd": lambda: rec(x),  # noqa: B023
            "rec": lambda: rec.record(x),  # noqa: B023
            "replay": lambda: rec.record(x, strategy="replay"),  # noqa: B023
            "loop": lambda: rec.record(x, strategy="loop"),  # noqa: B023
        }
        if L == 1 and not bi and device.type == "cpu" and not (args.quick and label in LARGE):
            zeros = torch.zeros(B, H)
            w = (ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0)
            fns["seed"] = lambda: seed_lstm_forward(x, (zeros, zeros), *w)  # noqa: B023
        with torch.no_grad():
            t = interleaved_medians(fns, repeats)
        t_ref, t_fwd, t_rec, t_seed = t["ref"], t["fwd"], t["rec"], t.get("seed", float("nan"))
        r_fwd, r_rec = t_fwd / t_ref, t_rec / t_ref
        seed_txt = f"{t_seed * 1e3:10.1f}" if t_seed == t_seed else f"{'-':>10}"
        print(
            f"{label:30} {t_ref * 1e3:8.2f} {t_fwd * 1e3:8.2f} {t_rec * 1e3:8.2f} {t['replay'] * 1e3:8.2f} "
            f"{t['loop'] * 1e3:8.2f} {seed_txt} {r_fwd:7.2f}x {r_rec:7.2f}x  {rec._pick_strategy(B)}"
            + (f"   (seed loop {t_seed / t_ref:.1f}x)" if t_seed == t_seed else "")
        )
        if label in LARGE:
            verdicts.append((label, r_fwd <= 1.1, r_rec <= 1.5))
    print()
    for label, fwd_ok, rec_ok in verdicts:
        print(f"{label}: forward ≤ 1.1x {'MET' if fwd_ok else 'MISSED'}; record ≤ 1.5x {'MET' if rec_ok else 'MISSED'}")


if __name__ == "__main__":
    main()
