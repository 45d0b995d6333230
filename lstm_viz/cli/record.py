"""``python -m lstm_viz record CKPT INPUT --out rec.parquet``: every gate and state for one input, as a table.

A text model records a file instead: ``record CKPT --text-file F [--layers 0,1] [--tensors c,h] --out rec.parquet``.
One step per character of F — the first included, no newline translation — so ``t`` is the 0-based character
position in F, and the table has a ``char`` column (the character at ``t``). Long files are recorded in chunks with
the state carried, which is the same as one pass. ``--layers``/``--tensors`` keep the table small (they work for
any model).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

from lstm_viz.cli.common import ExitError, answer_value, load_model, parse_input
from lstm_viz.cli.textfile import read_text_file, require_text_model
from lstm_viz.core.recording import CELLS
from lstm_viz.explorer.export import char_column
from lstm_viz.tasks.charlm.data import encode

__all__ = ["add_parser", "run"]

_TABLE_SUFFIXES = (".csv", ".parquet")
CHUNK = 2048  # characters recorded at a time (the state is carried from chunk to chunk)


def add_parser(sub: argparse._SubParsersAction) -> None:
    record = sub.add_parser("record", help="record every gate and state for one input", description="Record.")
    record.add_argument("checkpoint", help="a .pt checkpoint (an LSTM records f, i, g, o, c, m, h; a GRU r, z, n, h)")
    record.add_argument("input", nargs="?", help="e.g. '123 - 61' or '0, 0.5, 0.25, 1' (or use --text-file)")
    record.add_argument("--text-file", help="a text model: record this file, one step per character")
    record.add_argument("--layers", help="only these layers, e.g. 0 or 0,1 (default: all)")
    record.add_argument("--tensors", help="only these tensors, e.g. c,h (default: all)")
    record.add_argument("--out", required=True, help="a .csv or .parquet file")
    record.set_defaults(func=run)


def _choice(text: str | None, flag: str, allowed: Sequence, cast=str) -> list | None:
    if text is None:
        return None
    try:
        chosen = [cast(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        chosen = []
    if not chosen or any(c not in allowed for c in chosen):
        raise ExitError(f"{flag} {text!r}: choose from {', '.join(map(str, allowed))}, comma-separated")
    return list(dict.fromkeys(chosen))


def _write(frame: pd.DataFrame, out: Path) -> None:
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


@torch.no_grad()
def _record_text(model, text: str, layers, tensors) -> tuple[pd.DataFrame, object]:
    """The text recorded in chunks with the state carried; one frame with t = character position and ``char``."""
    ids = torch.from_numpy(encode(text)).unsqueeze(0)
    frames, state, rec = [], None, None
    for start in range(0, ids.shape[1], CHUNK):
        rec = model.record(ids[:, start : start + CHUNK], hx=state)
        state = (rec.h_n, rec.c_n)
        part = rec.to_frame(layers=layers, tensors=tensors, batch=0)
        part["t"] += start
        frames.append(part)
    frame = pd.concat(frames, ignore_index=True)
    for column in ("direction", "tensor"):
        frame[column] = frame[column].astype("category")
    frame["char"] = char_column(text, frame["t"].to_numpy())
    return frame, rec


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in _TABLE_SUFFIXES:
        raise ExitError(f"--out must end in .csv or .parquet (got {out.name!r}), e.g. --out recording.parquet")
    if (args.input is None) == (args.text_file is None):
        raise ExitError("give one input to record: INPUT (e.g. '123 - 61') or --text-file F (a text model)")
    model = load_model(args.checkpoint).eval()
    config = model.config
    layers = _choice(args.layers, "--layers", list(range(config.num_layers)), int)
    tensors = _choice(args.tensors, "--tensors", list(CELLS[config.cell]))
    if args.text_file is not None:
        require_text_model(model, args.checkpoint, "record --text-file")
        text = read_text_file(args.text_file)
        frame, recording = _record_text(model, text, layers, tensors)
        steps, answer = len(text), None
    else:
        x = parse_input(model, args.input)
        recording = model.record(x)
        frame = recording.to_frame(batch=0, layers=layers, tensors=tensors)
        steps, answer = recording.seq_len, answer_value(model, x)
    _write(frame, out)
    summary = {
        "out": str(out),
        "rows": len(frame),
        "columns": list(frame.columns),
        "tensors": sorted(frame["tensor"].astype(str).unique().tolist()),
        "layers": recording.num_layers,
        "directions": recording.num_directions,
        "steps": steps,
    }
    if layers is not None:
        summary["layers_recorded"] = layers
    if answer is not None:
        summary["answer"] = answer
    else:
        summary["text_file"] = args.text_file
    print(json.dumps(summary), flush=True)
    return 0

