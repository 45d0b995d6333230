"""``python -m lstm_viz record CKPT INPUT --out rec.parquet``: every gate and state for one input, as a table."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from lstm_viz.cli.common import ExitError, answer_value, load_model, parse_input

__all__ = ["add_parser", "run"]

_TABLE_SUFFIXES = (".csv", ".parquet")


def add_parser(sub: argparse._SubParsersAction) -> None:
    record = sub.add_parser("record", help="record every gate and state for one input", description="Record.")
    record.add_argument("checkpoint", help="a .pt checkpoint (an LSTM records f, i, g, o, c, m, h; a GRU r, z, n, h)")
    record.add_argument("input", help="e.g. '123 - 61' or '0, 0.5, 0.25, 1'")
    record.add_argument("--out", required=True, help="a .csv or .parquet file")
    record.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in _TABLE_SUFFIXES:
        raise ExitError(f"--out must end in .csv or .parquet (got {out.name!r}), e.g. --out recording.parquet")
    model = load_model(args.checkpoint)
    x = parse_input(model, args.input)
    recording = model.record(x)
    frame = recording.to_frame(batch=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if out.suffix.lower() == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    summary = {
        "out": str(out),
        "rows": len(frame),
        "columns": list(frame.columns),
        "tensors": sorted(frame["tensor"].astype(str).unique().tolist()),
        "layers": recording.num_layers,
        "directions": recording.num_directions,
        "steps": recording.seq_len,
        "answer": answer_value(model, x),
    }
    print(json.dumps(summary), flush=True)
    return 0
