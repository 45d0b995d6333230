"""``python -m lstm_viz lstmp-sweep --out models/proj_sweep.json``: train the LSTM vs LSTMP proj_size sweep.

Options: ``[--hidden-size 32] [--proj-sizes 1,2,4,8,16,24] [--epochs 3] [--seeds 0,1,2] [--lr 0.01]``. One line
per run goes to stderr; the JSON is written atomically; the last line of stdout is the path written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lstm_viz.lstmp.sweep import SWEEP_DEFAULTS, plan_sweep, run_sweep, sweep_document

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    sweep = sub.add_parser("lstmp-sweep", help="train the LSTM vs LSTMP proj_size sweep and write it as JSON",
                           description="Train the proj_size sweep of the LSTM vs LSTMP page.")  # fmt: skip
    sweep.add_argument("--hidden-size", default=str(SWEEP_DEFAULTS["hidden_size"]))
    sweep.add_argument("--proj-sizes", default=",".join(map(str, SWEEP_DEFAULTS["proj_sizes"])))
    sweep.add_argument("--epochs", default=str(SWEEP_DEFAULTS["epochs"]))
    sweep.add_argument("--seeds", default=",".join(map(str, SWEEP_DEFAULTS["seeds"])))
    sweep.add_argument("--lr", type=float, default=SWEEP_DEFAULTS["lr"])
    sweep.add_argument("--out", required=True, help="where to write the JSON, e.g. models/proj_sweep.json")
    sweep.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    plan = plan_sweep(args.hidden_size, args.proj_sizes, args.epochs, args.seeds, args.lr)

    def report(done: int, total: int, row: dict[str, Any]) -> None:
        print(
            f"[{done}/{total}] proj_size {row['proj_size']:>3} seed {row['seed']}: {row['parameters']:,} params, "
            f"test exact match {row['test_exact_match']:.3f}, {row['seconds']:.1f} s",
            file=sys.stderr,
            flush=True,
        )

    results = run_sweep(plan, on_point=report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(sweep_document(plan, results), indent=1) + "\n", encoding="utf-8")
    tmp.replace(out)
    print(out, flush=True)
    return 0
