"""Exports of the explorer: a recording as CSV or Parquet (long format). (Its figures as standalone HTML files:
:mod:`lstm_viz.viz.download`.)

Long format: one row per (layer, direction, batch, t, unit, tensor) with its ``value`` — the columns of
``Recording.to_frame`` — plus ``input`` columns ``x0…`` holding the input at that step, or for a text the ``char``
read at that step (as ``python -m lstm_viz record --text-file`` writes it), so a file says what went in as well as
what came out.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd

from lstm_viz.core.recording import Recording

__all__ = [
    "CSV_INPUT_BYTES",
    "MAX_CSV_BYTES",
    "MAX_EXPORT_CELLS",
    "char_column",
    "csv_bytes",
    "export_columns",
    "export_refusals",
    "export_rows",
    "input_frame",
    "recording_csv",
    "recording_frame",
    "recording_parquet",
]

# How big a file the app builds in its own memory, for every visitor's sake (a process out of memory ends every
# session). The frame holds ~8 bytes a value (column × row) while it is built, and every row repeats the step's
# input (x0 …): a cap on rows alone let a model with 512 inputs ask for ~30 GB. CSV costs more again: about 40 bytes
# a row plus 20 an input column (values written exactly: 194 bytes a row with 8 inputs, measured), against ~7 bytes
# a row of Parquet. Longer recordings: a few tensors at a time, Parquet, or `python -m lstm_viz record`, which
# streams its table to disk.
MAX_EXPORT_CELLS = 100_000_000  # values in the frame: ~0.8 GB
MAX_CSV_BYTES = 300_000_000  # ~300 MB of CSV, built in under a minute
CSV_INPUT_BYTES = 20  # a CSV row's bytes for each input column (x0 …): an exact float64's text and its comma


def csv_bytes(rows: int, columns: int) -> int:
    """About how big the CSV of ``rows`` × ``columns`` is (see above)."""
    return rows * (40 + CSV_INPUT_BYTES * max(0, columns - 7))


# CSV lines end in CRLF (RFC 4180): a field holding "\r" — a character of a CRLF text — is then quoted and reads back
# as itself; with "\n" line ends pandas leaves a lone "\r" unquoted and readers see an empty field.
CSV_LINE_END = "\r\n"


def export_rows(
    rec: Recording,
    tensors: Sequence[str] | None = None,
    batch: int | None = 0,
    layers: Sequence[int] | None = None,
) -> int:
    """How many rows :func:`recording_frame` (``Recording.to_frame``) makes of ``rec``: ``tensors`` and ``layers``
    all recorded ones when None."""
    chosen = rec.recorded_tensors if tensors is None else tensors
    batches = rec.batch_size if batch is None else 1
    n_layers = rec.num_layers if layers is None else len(layers)
    return n_layers * rec.num_directions * batches * rec.seq_len * sum(getattr(rec, q).shape[-1] for q in chosen)


def export_columns(rec: Recording, step_labels: Sequence[str] | None = None) -> int:
    """How many columns :func:`recording_frame` has: layer, direction, batch, t, unit, tensor, value, and the input
    (``x0 …``, one a feature) or a text's ``char``."""
    return 7 + (1 if step_labels is not None else rec.x.shape[-1])


def export_refusals(rows: int, columns: int) -> tuple[str | None, str | None]:
    """Why the app builds no file of ``rows`` × ``columns`` (None: it does), and why no CSV (None: it does): each
    says what to do instead."""
    instead = ("Export fewer tensors above, or a shorter input; `python -m lstm_viz record` writes any length to disk "
               "(`--text-file` for a text).")  # fmt: skip
    cells = rows * columns
    if cells > MAX_EXPORT_CELLS:
        return (f"{rows:,} rows × {columns:,} columns ({cells:,} values) is more than the app builds into one file "
                f"({MAX_EXPORT_CELLS:,} values). {instead}"), None  # fmt: skip
    size = csv_bytes(rows, columns)
    if size > MAX_CSV_BYTES:
        return None, (f"CSV: {rows:,} rows would be ~{size / 1e6:,.0f} MB and take minutes to build; the app writes "
                      f"CSV up to ~{MAX_CSV_BYTES / 1e6:,.0f} MB. Parquet holds them in ~{max(1, rows * 7 // 10**6):,} "
                      "MB (pandas, DuckDB and Polars read it). " + instead)  # fmt: skip
    return None, None


def char_column(chars: Sequence[str] | pd.Categorical, t: np.ndarray) -> pd.Categorical:
    """The character read at each row's step ``t``: a categorical column, one category per distinct character
    (``chars`` may already be a Categorical: the same categories for every piece of a long text)."""
    series = chars if isinstance(chars, pd.Categorical) else pd.Categorical(list(chars))
    return pd.Categorical.from_codes(series.codes[np.asarray(t)], series.categories)


def recording_frame(
    rec: Recording,
    batch: int | None = 0,
    step_labels: Sequence[str] | None = None,
    tensors: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The recording (``tensors`` of it; all when None) in long format with the input of each step joined as
    ``x0``, ``x1``, …; with ``step_labels`` (a text's characters, one per step) a ``char`` column instead (a text
    model's x is its embedding: 64 numbers a character that say less than the character does)."""
    frame = rec.to_frame(batch=batch, tensors=tensors)
    if step_labels is not None:
        if len(step_labels) != rec.seq_len:
            raise ValueError(f"{len(step_labels)} step labels for {rec.seq_len} steps")
        frame["char"] = char_column(step_labels, frame["t"].to_numpy())
        return frame
    inputs = input_frame(rec)
    inputs["batch"] = inputs["batch"].astype(frame["batch"].dtype)
    inputs["t"] = inputs["t"].astype(frame["t"].dtype)
    return frame.merge(inputs, on=["batch", "t"], how="left", sort=False)


def input_frame(rec: Recording, batch: int | None = None) -> pd.DataFrame:
    """The input at every step: ``batch``, ``t`` and ``x`` (one feature) or ``x0``, ``x1``, … — joined on
    (batch, t) to a long table so that it says what went in (only ``batch`` when given)."""
    x = rec.x.detach().to("cpu").double().numpy()  # (B, T, I)
    if batch is not None:
        x = x[batch : batch + 1]
    names = ["x"] if x.shape[-1] == 1 else [f"x{k}" for k in range(x.shape[-1])]
    first = 0 if batch is None else batch
    return pd.DataFrame(
        {
            "batch": [first + b for b in range(x.shape[0]) for _ in range(x.shape[1])],
            "t": [t for _ in range(x.shape[0]) for t in range(x.shape[1])],
            **{name: x[:, :, k].reshape(-1) for k, name in enumerate(names)},
        }
    )


def recording_csv(
    rec: Recording,
    batch: int | None = 0,
    step_labels: Sequence[str] | None = None,
    tensors: Sequence[str] | None = None,
) -> bytes:
    """UTF-8 CSV of :func:`recording_frame`, every value written so that it reads back exactly as the Parquet's
    (the shortest text of the float64 value, as ``python -m lstm_viz record`` writes it; 9 significant digits lost
    a float64 recording's last digits and read back as other float64s than the Parquet's). Python's ``float`` and
    pandas 3's ``read_csv`` read them back exactly; pandas before 3.0 reads some one bit off unless given
    ``float_precision="round_trip"``."""
    frame = recording_frame(rec, batch, step_labels, tensors)
    return frame.to_csv(index=False, lineterminator=CSV_LINE_END).encode("utf-8")


def recording_parquet(
    rec: Recording,
    batch: int | None = 0,
    step_labels: Sequence[str] | None = None,
    tensors: Sequence[str] | None = None,
) -> bytes:
    """Parquet (pyarrow) of :func:`recording_frame`."""
    buffer = io.BytesIO()
    recording_frame(rec, batch, step_labels, tensors).to_parquet(buffer, index=False)
    return buffer.getvalue()
