"""Speed of the which-units-matter sweep: every single-unit ablation of the shipped subtraction LSTM over all 32,896
pairs, measured in this one run, against the same number of plain forward passes (the fused kernel).

    python benchmarks/bench_interventions.py [--tensors c,h] [--repeats 3]

Goal (the interventions issue): the whole single-unit sweep — every unit of c and h — in under 10 s on this CPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from cli_args import names, shipped_model, whole

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a checkout without the package installed

# What an ablation can replace in an LSTM (lstm_viz.core.interventions.replaceable_sizes): the shipped model is one.
TENSORS = ("f", "i", "g", "o", "c", "h")
MAX_REPEATS = 100  # each repeat is a whole sweep and as many plain forwards: 10 s or more


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tensors",
        type=names(TENSORS, example="c,h"),
        default="c,h",
        help=f"the tensors whose units are ablated, some of {', '.join(TENSORS)} (default: c,h)",
    )
    parser.add_argument("--repeats", type=whole(1, MAX_REPEATS, above="more would run for hours"), default=3)
    args = parser.parse_args()  # before PyTorch's import: a bad value is refused at once
    checkpoint = shipped_model(parser, "subtraction_lstm.pt")

    import torch

    from lstm_viz.core.device import describe_device, small_model_threads, torch_threads
    from lstm_viz.interventions.ablation import ablate_units
    from lstm_viz.tasks.subtraction import all_pairs, encode_batch
    from lstm_viz.training.checkpoints import load_checkpoint

    tensors = tuple(t for t in args.tensors.split(",") if t)
    model = load_checkpoint(checkpoint, device="cpu").model.eval()
    pairs = all_pairs()
    x = encode_batch(pairs[:, 0], pairs[:, 1])
    sweeps, plain = [], []
    result = None
    for _ in range(args.repeats):
        started = time.perf_counter()
        result = ablate_units(model, tensors)
        sweeps.append(time.perf_counter() - started)
        started = time.perf_counter()
        with torch.no_grad(), torch_threads(small_model_threads(model)):
            for _ in range(len(result.table)):  # one plain forward over every pair per ablation
                model(x)
        plain.append(time.perf_counter() - started)
    sweep, forward = statistics.median(sweeps), statistics.median(plain)
    print(f"device: {describe_device()}, torch {torch.__version__}, {torch.get_num_threads()} threads available")
    print(f"{len(result.table)} single-unit ablations of {', '.join(tensors)} × {result.inputs:,} pairs "
          f"(median of {args.repeats})")
    print(f"  sweep                               {sweep:7.2f} s   (goal < 10 s: {'met' if sweep < 10 else 'NOT met'})")
    print(f"  the same number of plain forwards   {forward:7.2f} s   sweep / plain = {sweep / forward:.2f}×")
    top = result.table.iloc[0]
    print(f"  top unit: {top['name']} {int(top['unit'])} changes {top['effect']:.1%} of all answers, "
          f"{top['effect borrow']:.1%} of pairs that borrow, {top['effect no borrow']:.1%} of the others")


if __name__ == "__main__":
    main()
