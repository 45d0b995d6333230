"""``python -m lstm_viz lstmp-sweep --out models/proj_sweep.json``: train the LSTM vs LSTMP proj_size sweep.

Options: ``[--hidden-size 32] [--proj-sizes 1,2,4,8,16,24] [--epochs 3] [--seeds 0,1,2] [--lr 0.01]``. One line
per run goes to stderr; the JSON is written atomically; the last line of stdout is the path written.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from typing import Any

from lstm_viz.cli.common import ExitError, check_out, stopped_how
from lstm_viz.lstmp.sweep import SWEEP_DEFAULTS, plan_sweep, run_sweep, sweep_document
from lstm_viz.paths import write_atomically

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    sweep = sub.add_parser("lstmp-sweep", help="train the LSTM vs LSTMP proj_size sweep and write it as JSON",
                           description="Train the proj_size sweep of the LSTM vs LSTMP page.")  # fmt: skip
    d = SWEEP_DEFAULTS
    sweep.add_argument("--hidden-size", default=str(d["hidden_size"]),
                       help=f"hidden size H of every model (default {d['hidden_size']})")  # fmt: skip
    sweep.add_argument("--proj-sizes", default=",".join(map(str, d["proj_sizes"])),
                       help="projection sizes P < H to train besides the plain LSTM, comma-separated "
                            f"(default {','.join(map(str, d['proj_sizes']))})")  # fmt: skip
    sweep.add_argument("--epochs", default=str(d["epochs"]), help=f"epochs per run (default {d['epochs']})")
    sweep.add_argument("--seeds", default=",".join(map(str, d["seeds"])),
                       help=f"random seeds, one run each per size (default {','.join(map(str, d['seeds']))})")
    sweep.add_argument("--lr", type=float, default=d["lr"], help=f"Adam's learning rate (default {d['lr']:g})")
    sweep.add_argument("--out", required=True, help="where to write the JSON, e.g. models/proj_sweep.json")
    sweep.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    out = check_out(args.out, "proj_sweep.json", suffixes=(".json",))  # before the runs, not after them
    try:
        plan = plan_sweep(args.hidden_size, args.proj_sizes, args.epochs, args.seeds, args.lr)
    except ValueError as err:  # the page's words name its fields; here they are flags
        message = str(err)
        for field in ("hidden_size", "proj_sizes", "epochs", "seeds"):
            if message.startswith(field):
                message = f"--{field.replace('_', '-')}{message[len(field):]}"
        if message.startswith("learning rate"):
            message = f"--lr: {message}"
        raise ExitError(message) from None

    def report(done: int, total: int, row: dict[str, Any]) -> None:
        print(
            f"[{done}/{total}] proj_size {row['proj_size']:>3} seed {row['seed']}: {row['parameters']:,} params, "
            f"test exact match {row['test_exact_match']:.3f}, {row['seconds']:.1f} s",
            file=sys.stderr,
            flush=True,
        )

    try:
        results = run_sweep(plan, on_point=report)
    except KeyboardInterrupt as err:  # Ctrl-C or SIGTERM (cli.Terminated): the runs so far are not a sweep
        how, code = stopped_how(err)
        kept = f"{out} was left as it was" if out.exists() else f"{out} was not written"
        raise ExitError(f"{how} during the sweep: nothing was written ({kept}); run it again", code=code) from None
    document = sweep_document(plan, results, command="python -m lstm_viz " + shlex.join(argv))
    write_atomically(out, (json.dumps(document, indent=1) + "\n").encode())  # nothing half-written is left
    print(out, flush=True)
    return 0
