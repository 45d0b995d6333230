"""``python -m lstm_viz ablate CKPT [--data all] [--tensors c,h] [--value zero|mean] [--per-step] [--top K] [--json]``:
which units matter — ablate each unit in turn and rank them by how much the model's answers change.

Progress on stderr; a table of the top units on stdout, or with ``--json`` one line
``{"measure": …, "value": …, "inputs": N, "groups": {…}, "seconds": s, "units": [{"name", "unit", "step",
"effect", "effect <group>"…}, …]}``, most effective first. ``step`` is the one time step ablated with
``--per-step``, and -1 where the unit was ablated at every step (a number either way, for scripts that sort by it).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

from lstm_viz.cli.common import ExitError, flag_first, load_model, print_json
from lstm_viz.interventions.ablation import VALUES, ablate_units, describe_unit

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    ablate = sub.add_parser("ablate", help="rank the units by what ablating each one does to the answers",
                            description="Ablate each unit in turn and rank the units by the effect.")  # fmt: skip
    ablate.add_argument("checkpoint", help="a .pt checkpoint")
    ablate.add_argument("--data", choices=("all", "probe"), default="all",
                        help="the inputs: 'all' (default) — subtraction: every pair 0 ≤ b ≤ a ≤ 255, a text model: "
                             "24 windows of 128 characters of validation files; 'probe' — a smaller set (256 "
                             "random pairs; 8 windows of 64 characters)")  # fmt: skip
    ablate.add_argument("--tensors", default=None,
                        help="which tensors to ablate, comma-separated, e.g. f,i,g,o,c,h (an LSTMP's m too; default: "
                             "c,h for an LSTM, h for a GRU)")  # fmt: skip
    ablate.add_argument("--value", choices=VALUES, default="zero", help="set each unit to 0 or to its mean")
    ablate.add_argument("--per-step", action="store_true", help="one ablation per unit and step (slower)")
    ablate.add_argument("--top", type=int, default=10, help="how many units to list (default 10; 0 = all)")
    ablate.add_argument("--json", action="store_true", help="one JSON object on the last stdout line")
    ablate.add_argument("--quiet", action="store_true", help="no progress bar")
    ablate.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from tqdm import tqdm

    if args.top < 0:
        raise ExitError(f"--top must be ≥ 0, got {args.top}")
    model = load_model(args.checkpoint, command="ablate")
    given = args.tensors if args.tensors is not None else ("h" if model.config.cell == "gru" else "c,h")
    tensors = list(dict.fromkeys(t.strip() for t in given.split(",") if t.strip()))  # each once, in the order given
    bars = []  # the progress bar starts with the first progress report: bad arguments are refused before it shows

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(desc="ablating (each input once per tensor, layer and direction)", unit="input",
                             file=sys.stderr, disable=args.quiet, leave=False))  # fmt: skip
        bars[0].total = total
        bars[0].update(done - bars[0].n)  # redrawn at most every 0.1 s (tqdm's mininterval), not at every batch

    try:
        result = ablate_units(model, tensors, source=args.data, value=args.value, per_step=args.per_step,
                              progress=progress)  # fmt: skip
    except ValueError as err:
        named = flag_first(err, [("tensors must", "--tensors")])
        if named is None:
            raise
        raise named from None
    finally:
        for bar in bars:
            bar.close()
    table = result.table if args.top == 0 else result.table.head(args.top)
    if args.json:
        units = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                 for row in table.drop(columns=["tensor", "layer", "direction"]).to_dict("records")]  # fmt: skip
        print_json({"measure": result.measure, "value": result.value, "inputs": result.inputs, "groups": result.groups,
                    "seconds": round(result.seconds, 3), "units": units})  # fmt: skip
        return 0
    print(f"{result.inputs:,} inputs, {len(result.table):,} ablations in {result.seconds:.1f} s; "
          f"effect = {result.measure}")  # fmt: skip
    for k in range(len(table)):
        print(describe_unit(result, table.iloc[k]))
    return 0
