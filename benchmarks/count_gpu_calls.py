"""PyTorch calls of ``record`` as a GPU runs it, counted on any machine: the part of GPU time a CPU can measure.

    python benchmarks/count_gpu_calls.py [--verbose]

On a GPU, ``record`` (strategy "replay") at small and middle sizes is bound by how many PyTorch calls it makes, not by
arithmetic: each call costs a few microseconds of Python, dispatch and kernel launch whatever its size, while cuDNN's
whole forward is one call. This script runs replay on the CPU with the GPU's arrangement (``REPLAY_SCAN = True``: the
chunked c recurrence a GPU uses from 64 steps) under a ``TorchDispatchMode`` and prints, per shape of
``benchmarks/gpu_check.py``, the calls that launch work ("compute": every operator except the views, which launch
nothing) and the views, beside the one call of nn.LSTM's forward. The counts are exact and do not depend on the
machine; ``gpu_check.py`` times the same shapes on a GPU.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "benchmarks"):  # run from a checkout without installing the package
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from gpu_check import SPEED_SHAPES  # noqa: E402  the shapes gpu_check.py times on a GPU

from lstm_viz import RecordingLSTM  # noqa: E402
from lstm_viz.core import fused_cell  # noqa: E402

MAX_BATCH = 2  # the counts do not depend on the batch: cut it, so that the CPU runs the largest shape in seconds
# Operators that make a view of existing memory: no kernel is launched for them.
VIEWS = {
    "aten.view",
    "aten._unsafe_view",
    "aten.slice",
    "aten.select",
    "aten.unbind",
    "aten.t",
    "aten.transpose",
    "aten.unsqueeze",
    "aten.squeeze",
    "aten.unflatten",
    "aten.alias",
    "aten.expand",
    "aten.as_strided",
    "aten.permute",
    "aten.split",
    "aten.detach",
}


class CountCalls(TorchDispatchMode):
    """Counts every ATen operator call made inside the ``with`` block, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: collections.Counter[str] = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls[str(func.overloadpacket)] += 1
        return func(*args, **(kwargs or {}))


def count(
    batch: int, T: int, input_size: int, hidden: int, layers: int, bidirectional: bool, fused: bool
) -> collections.Counter:
    """The calls of one record. ``fused``: as on CUDA with Triton, where the elementwise half (nonlinearities, c, m)
    is one kernel launch — stood in for here by a counted call that computes nothing (the counts need no values)."""
    torch.manual_seed(0)
    model = RecordingLSTM(input_size, hidden, layers, bidirectional=bidirectional, batch_first=True)
    model.REPLAY_SCAN = True  # the GPU's arrangement
    model.REPLAY_FUSED = None if fused else False
    x = torch.randn(batch, T, input_size)
    launches = collections.Counter()

    def one_launch(gates, c0, c, m, *, interpreter=False) -> bool:
        launches["triton._lstm_cell_kernel"] += 1
        return True

    real = fused_cell.lstm_cell
    fused_cell.lstm_cell = one_launch  # called only where REPLAY_FUSED allows it
    try:
        with torch.no_grad():
            model.record(x, strategy="replay")  # warm: buffers allocated
            launches.clear()
            with CountCalls() as counter:
                model.record(x, strategy="replay")
    finally:
        fused_cell.lstm_cell = real
    return counter.calls + launches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="list the operators of each shape, most called first")
    args = parser.parse_args()
    print(
        "record (replay, as on a GPU): PyTorch calls per call of record; nn.LSTM's forward is 1 call. With the fused "
        "cell kernel (CUDA with Triton) and with replay's PyTorch calls (no Triton)"
    )
    print(f"  {'shape':<32}{'fused: compute':>15}{'views':>8}{'PyTorch calls: compute':>24}{'views':>8}")
    for label, batch, *shape in SPEED_SHAPES:
        row = []
        for fused in (True, False):
            calls = count(min(batch, MAX_BATCH), *shape, fused=fused)
            views = sum(n for name, n in calls.items() if name in VIEWS)
            row.append((sum(calls.values()) - views, views))
            if args.verbose:
                print(f"    {'fused' if fused else 'PyTorch calls'}: " + ", ".join(
                    f"{name.removeprefix('aten.')} {n}" for name, n in calls.most_common()))  # fmt: skip
        (fc, fv), (pc, pv) = row
        print(f"  {label:<32}{fc:>15}{fv:>8}{pc:>24}{pv:>8}")


if __name__ == "__main__":
    main()
