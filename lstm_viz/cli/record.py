"""``python -m lstm_viz record CKPT INPUT --out rec.parquet``: every gate and state for one input, as a table.

A text model records a file instead: ``record CKPT --text-file F [--layers 0,1] [--tensors c,h] --out rec.parquet``.
One step per character of F — the first included, no newline translation — so ``t`` is the 0-based character
position in F, and the table has a ``char`` column (the character at ``t``). Long files are recorded in chunks with
the state carried, which is the same as one pass, and each chunk's rows go to the file before the next chunk is
recorded, so memory stays bounded however long F is (progress on stderr); an INPUT's recording is written a layer
and tensor at a time, with the input at each step (``x0``, ``x1``, … as the app's export; a text model's typed INPUT
has the ``char`` column instead). The table is big — one row per step, unit and tensor: 5,376 rows a character for
the shipped text model — so a table that would not fit on the disk is refused before anything is written.
``--layers``/``--tensors`` keep it small (they work for any model).
"""

from __future__ import annotations

import argparse
import glob
import os
import secrets
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from lstm_viz.cli.common import (
    ExitError,
    add_module,
    add_threads,
    answer_value,
    check_out,
    layer_number,
    load_model,
    not_an_input,
    parsed_input,
    print_json,
    use_threads,
)
from lstm_viz.cli.textfile import read_text_file, require_text_model
from lstm_viz.core.recording import CELLS, DIRECTIONS
from lstm_viz.explorer.export import CSV_INPUT_BYTES, CSV_LINE_END, char_column, export_rows, input_frame
from lstm_viz.parsing import quote
from lstm_viz.tasks import task_for
from lstm_viz.tasks.charlm.data import encode

__all__ = ["add_parser", "run"]

_TABLE_SUFFIXES = (".csv", ".parquet")
CHUNK = 256  # characters recorded at a time (the state is carried from chunk to chunk): rows of a chunk ~0.3 GB
# Bytes a row takes in the file, rounded up from recordings of the shipped text model (Parquet: 6.5; CSV: 38).
ROW_BYTES = {".parquet": 8, ".csv": 45}
PROGRESS_SECONDS = 5.0  # a long recording says how far it is on stderr this often


def add_parser(sub: argparse._SubParsersAction) -> None:
    record = sub.add_parser("record", help="record every gate and state for one input", description="Record.")
    record.add_argument("checkpoint", help="a .pt checkpoint (an LSTM records f, i, g, o, c, m, h; a GRU r, z, n, h)")
    record.add_argument("input", nargs="?", help="e.g. '123 - 61' or '0, 0.5, 0.25, 1'; a text model's typed text is "
                        "read as the app reads it (a CRLF is one newline; --text-file keeps every character)")
    record.add_argument("--text-file", help="a text model: record this file (UTF-8, ≤ 1 MB), one step per character "
                        "as written — a CRLF is two, \\r and \\n; a UTF-8 byte-order mark is not a character")
    record.add_argument("--layers", help="only these layers, e.g. 0 or 0,1 (default: all)")
    record.add_argument("--tensors", help="only these tensors, e.g. c,h (default: all)")
    record.add_argument("--out", required=True, help="a .csv or .parquet file")
    add_module(record)
    add_threads(record)
    record.set_defaults(func=run)


def _choice(text: str | None, flag: str, allowed: Sequence, cast=str) -> list | None:
    if text is None:
        return None
    try:
        chosen = [cast(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        chosen = []
    if not chosen or any(c not in allowed for c in chosen):
        raise ExitError(f"{flag} {quote(text)}: choose from {', '.join(map(str, allowed))}, comma-separated")
    return list(dict.fromkeys(chosen))


class _TableWriter:
    """Writes a table a chunk of rows at a time into a temporary file beside ``out``, moved into place by
    ``finish`` (an interrupted or refused recording leaves no partial file behind)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        # a temporary file of its own (two runs writing one --out must not write into one file), made on first write;
        # those a killed run left (its process is gone) are removed
        self.tmp = out.with_name(f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        for stale in out.parent.glob(f".{glob.escape(out.name)}.*.tmp"):
            pid = stale.name[len(out.name) + 2 :].split(".")[0]
            if pid.isdigit() and not _alive(int(pid)):
                stale.unlink(missing_ok=True)
        self.rows = 0
        self.columns: list[str] = []
        self._parquet: pq.ParquetWriter | None = None

    def write(self, frame: pd.DataFrame) -> None:
        if self.rows == 0:
            self.out.parent.mkdir(parents=True, exist_ok=True)
        if self.out.suffix.lower() == ".csv":
            frame.to_csv(
                self.tmp, mode="a" if self.rows else "w", header=not self.rows, index=False, lineterminator=CSV_LINE_END
            )
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.tmp, table.schema)
            self._parquet.write_table(table)
        self.rows += len(frame)
        self.columns = list(frame.columns)

    def finish(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        self.tmp.replace(self.out)

    def discard(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        self.tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (on this machine). Elsewhere than POSIX, where ``os.kill`` would end the
    process, every process is taken to exist."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # someone else's process, or no way to tell: leave its file alone
        return True
    return True


BIG_TABLE_BYTES = 1e9  # a table this big is announced before it is written


def _check_room(out: Path, rows: int, what: str, extra_columns: int = 0) -> None:
    """Refuse, before writing, a table of ``rows`` rows that would not fit on the disk that holds ``out``, and say
    how big it will be when it is big; ``extra_columns`` of input values (x0 …) cost ``CSV_INPUT_BYTES`` a row each
    as CSV."""
    per_input = CSV_INPUT_BYTES if out.suffix.lower() == ".csv" else 0
    need = rows * (ROW_BYTES[out.suffix.lower()] + per_input * extra_columns)
    folder = next((p for p in (out.parent, *out.parent.parents) if p.exists()), Path("."))
    free = shutil.disk_usage(folder).free
    if need > 0.9 * free:
        raise ExitError(f"recording {what} makes about {rows:,} rows, ~{need / 1e9:,.1f} GB as {out.suffix}, and "
                        f"{folder} has {free / 1e9:,.1f} GB free; record less with --layers and --tensors (e.g. "
                        "--layers 0 --tensors c), or a shorter input")  # fmt: skip
    if need > BIG_TABLE_BYTES:  # said before a long job starts, so that it can be stopped and narrowed at once
        print(f"note: recording {what} makes about {rows:,} rows, ~{need / 1e9:,.1f} GB as {out.suffix} (Ctrl-C "
              "stops it and leaves no file); --layers and --tensors record less, e.g. --layers 0 --tensors c",
              file=sys.stderr, flush=True)  # fmt: skip


def _fixed_categories(part: pd.DataFrame, directions: int, tensors: Sequence[str]) -> pd.DataFrame:
    """The same categories in every piece written, so that every piece's table has one schema."""
    part["direction"] = pd.Categorical(part["direction"].astype(str), DIRECTIONS[:directions])
    part["tensor"] = pd.Categorical(part["tensor"].astype(str), list(tensors))
    return part


def _write_recording(recording, layers, tensors, writer: _TableWriter, what: str, chars=None) -> None:
    """One recording written a tensor and layer at a time (each piece ~ steps × units rows), after checking the
    whole fits on the disk, with the step's input: ``x0``, ``x1``, … (as the app's export), or with ``chars`` (a
    typed text, one character a step) a ``char`` column, as ``--text-file`` writes."""
    tensors = tensors or list(recording.recorded_tensors)
    layers = list(range(recording.num_layers)) if layers is None else layers
    inputs = None if chars is not None else input_frame(recording, batch=0).drop(columns="batch")
    rows = export_rows(recording, tensors, layers=layers)
    _check_room(writer.out, rows, what, extra_columns=0 if inputs is None else inputs.shape[1] - 1)
    chars = pd.Categorical(list(chars)) if chars is not None else None
    for q in tensors:  # the row order of Recording.to_frame: tensor, then layer, then direction
        for k in layers:
            part = _fixed_categories(recording.to_frame(batch=0, layers=[k], tensors=[q]), recording.num_directions,
                                     tensors)  # fmt: skip
            if chars is not None:
                part["char"] = char_column(chars, part["t"].to_numpy())
            else:
                part = part.merge(inputs.astype({"t": part["t"].dtype}), on="t", how="left", sort=False)
            writer.write(part)


@torch.no_grad()
def _record_text(model, text: str, layers, tensors, writer: _TableWriter, what: str):
    """The text recorded a chunk at a time with the state carried, each chunk's rows written before the next is
    recorded: t = character position, a ``char`` column. Returns the last chunk's recording."""
    ids = torch.from_numpy(encode(text)).unsqueeze(0)
    chars = pd.Categorical(list(text))  # one category per distinct character, the same in every chunk
    state, rec = None, None
    started = last_said = time.perf_counter()
    for start in range(0, ids.shape[1], CHUNK):
        rec = model.record(ids[:, start : start + CHUNK], hx=state)
        state = (rec.h_n, rec.c_n)
        part = rec.to_frame(layers=layers, tensors=tensors, batch=0)
        if start == 0:
            _check_room(writer.out, len(part) * len(text) // rec.seq_len, what)
        part["t"] += start
        part = _fixed_categories(part, rec.num_directions, tensors or rec.recorded_tensors)
        part["char"] = char_column(chars, part["t"].to_numpy())
        writer.write(part)
        done = start + rec.seq_len
        now = time.perf_counter()
        if now - last_said >= PROGRESS_SECONDS and done < len(text):
            left = (now - started) / done * (len(text) - done)
            print(f"record: {done:,} of {len(text):,} characters, {writer.rows:,} rows written, ~{left:.0f} s left",
                  file=sys.stderr, flush=True)  # fmt: skip
            last_said = now
    return rec


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    use_threads(args.threads)
    out = check_out(args.out, "recording.parquet", suffixes=_TABLE_SUFFIXES)
    not_an_input(out, {"the --text-file": args.text_file, "the checkpoint": args.checkpoint})
    if args.input is not None and args.text_file is not None:
        raise ExitError("give one input to record, INPUT or --text-file F, not both")
    model = load_model(args.checkpoint, args.module).eval()
    config = model.config
    if args.input is None and args.text_file is None:
        task = task_for(config)
        if task.reads_text:
            raise ExitError("give one input to record: --text-file F (a .py or .txt file) or the text itself, e.g. "
                            "'x = \"hi\"  # a comment'")  # fmt: skip
        example = task.example(config).replace("\n", "; ")
        if len(example) > 120:  # a wide input: its example would be cut mid-number; say its shape instead
            raise ExitError(f"give one input to record: {config.input_size} numbers a step, commas between them and "
                            f"';' (or a new line) between steps, for this {config.label()}")  # fmt: skip
        raise ExitError(f"give one input to record, e.g. {example!r} for this {config.label()}")
    layers = _choice(args.layers, "--layers", list(range(config.num_layers)), layer_number)
    tensors = _choice(args.tensors, "--tensors", list(CELLS[config.cell]))
    if args.text_file is not None:
        require_text_model(model, args.checkpoint, "record --text-file")
        text = read_text_file(args.text_file)
    writer = _TableWriter(out)
    try:
        if args.text_file is not None:
            recording = _record_text(model, text, layers, tensors, writer, args.text_file)
            steps, answer = len(text), None
        else:
            inp = parsed_input(model, args.input, instead="; record --text-file FILE records a file of up to 1 MB")
            x = inp.x.to(next(model.parameters()).device)
            recording = model.record(x)
            chars = inp.step_labels if task_for(config).reads_text else None  # a typed text: one character a step
            _write_recording(recording, layers, tensors, writer, "this input", chars)
            steps, answer = recording.seq_len, answer_value(model, x)
        writer.finish()
    except BaseException:  # refused, interrupted (Ctrl-C) or failed: no partial file is left
        writer.discard()
        raise
    summary = {
        "out": str(out),
        "rows": writer.rows,
        "columns": writer.columns,
        "tensors": [n for n in recording.recorded_tensors if n in (tensors or recording.recorded_tensors)],
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
    print_json(summary)
    return 0
