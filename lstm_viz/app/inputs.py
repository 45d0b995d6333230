"""What the Gate Explorer feeds a model: typed text, a random sequence or a CSV file, as a (1, T, I) tensor.

The model's task reads the text (``0, 0.5, 0.25, 1`` for the toy models, ``123 - 61`` for subtraction, rows of
vectors for any other LSTM); this module adds what every input source shares: the random input's limits and the
CSV reader. Every failure is a ``lstm_viz.parsing.InputError`` whose message says what was wrong and gives a valid
example.
"""

from __future__ import annotations

import io
import re

import pandas as pd
import torch

from lstm_viz.parsing import MAX_STEPS, InputError, parse_vectors
from lstm_viz.tasks import ModelConfig, TaskInput, task_for

__all__ = [
    "MAX_CSV_BYTES",
    "ExplorerInput",
    "csv_input",
    "example_for",
    "file_input",
    "random_input",
    "typed_input",
]

ExplorerInput = TaskInput  # one input ready for ``model.record``
MAX_CSV_BYTES = 5_000_000


def example_for(config: ModelConfig) -> str:
    """A valid input for this model, to pre-fill the text box and to quote in error messages."""
    return task_for(config).example(config)


def typed_input(text: str, config: ModelConfig) -> ExplorerInput:
    """What the user typed, read the way this model's task needs it."""
    return task_for(config).parse(text, config)


def random_input(config: ModelConfig, length: int, seed: int) -> ExplorerInput:
    """A reproducible random input: prices in [0, 1] (toy), a random ``a - b`` (subtraction, always 8 steps),
    or N(0, 1) vectors."""
    task = task_for(config)
    task.check_length(length)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise InputError(f"The random seed must be a whole number from 0 to {2**32 - 1}, got {seed!r}. Example: 0")
    return task.random_input(config, length, torch.Generator().manual_seed(seed), seed)


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _is_non_finite(cells: list[str]) -> bool:
    return all(cell.lower().lstrip("+-") in ("nan", "inf", "infinity") for cell in cells)


def csv_input(data: bytes | str, config: ModelConfig, name: str = "the CSV file") -> ExplorerInput:
    """A CSV file with one row per time step and ``input_size`` columns (an optional header names them).

    For the subtraction model the columns are the bit pairs (a bit, b bit), LSB first.
    """
    task = task_for(config)
    example = task.csv_example(config)
    if isinstance(data, bytes):
        if len(data) > MAX_CSV_BYTES:
            raise InputError(
                f"{name} is {len(data) / 1e6:.1f} MB; at most {MAX_CSV_BYTES / 1e6:.0f} MB "
                f"(≤ {MAX_STEPS:,} rows) are accepted. Example content:\n{example}"
            )
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(
                f"{name} is not a UTF-8 text file (is it a spreadsheet or a binary file?). Save it as CSV. "
                f"Example content:\n{example}"
            ) from None
    lines = [line for line in data.splitlines() if line.strip()]
    if not lines:
        raise InputError(f"{name} is empty. Example content:\n{example}")
    sep = _separator(lines)
    first = [cell.strip() for cell in lines[0].split(sep)]
    names = task.feature_names(config)
    header = all(cell and not _NUMBER.match(cell) and not _DECIMAL_COMMA.match(cell) for cell in first)
    if header and not _is_non_finite(first):  # a header row
        if len(first) == config.input_size and all(first):
            names = tuple(first)
        lines = lines[1:]
        if not lines:
            raise InputError(f"{name} has a header but no rows. Example content:\n{example}")
    frame_text = "\n".join(lines)
    try:
        table = pd.read_csv(
            io.StringIO(frame_text), header=None, dtype=str, skipinitialspace=True, na_filter=False, sep=sep
        )
    except (pd.errors.ParserError, ValueError) as err:
        raise InputError(f"{name} is not a valid CSV file ({err}). Example content:\n{example}") from None
    if table.shape[1] != config.input_size:
        raise InputError(
            f"{name} has {table.shape[1]} column{'s' if table.shape[1] != 1 else ''} but this model reads "
            f"{config.input_size} value{'s' if config.input_size != 1 else ''} per time step (one row per step). "
            f"Example content:\n{example}"
        )
    comma = next((v for row in table.itertuples(index=False) for v in row if _DECIMAL_COMMA.match(str(v))), None)
    if comma is not None:
        raise InputError(f"{name} writes numbers with a decimal comma ({comma!r}); save it with decimal points "
                         f"({comma.replace(',', '.')!r}). Example content:\n{example}")  # fmt: skip
    text = "\n".join(" ".join(str(v) for v in row) for row in table.fillna("").itertuples(index=False))
    x = parse_vectors(text, config.input_size)
    return task.from_values(x, config, f"{name}: {x.shape[0]} steps", names)


_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*$")  # 1,5 in a cell: only where a comma does not separate


def _separator(lines: list[str]) -> str:
    """The file's column separator: a semicolon or a tab (spreadsheets export those) when every one of the first
    lines has the same number of them, else a comma."""
    for sep in (";", "\t", ","):  # a semicolon first: where it separates, a comma is a decimal point
        counts = {line.count(sep) for line in lines[:20]}
        if len(counts) == 1 and counts.pop() > 0:
            return sep
    return ","


def file_input(data: bytes, config: ModelConfig, name: str = "the file") -> ExplorerInput:
    """An uploaded file read the way the model's task reads files (a text model: a .py or .txt file; others: CSV)."""
    task = task_for(config)
    if task.reads_text:
        return task.read_file(data, name, config)
    return csv_input(data, config, name)
