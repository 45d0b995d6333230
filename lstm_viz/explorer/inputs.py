"""What the Gate Explorer feeds a model: typed text, a random sequence or a CSV file, as a (1, T, I) tensor.

The text box fits the model: ``0, 0.5, 0.25, 1`` for the toy models, ``123 - 61`` for subtraction (LSB-first bit
pairs), rows of vectors for any other LSTM. Every failure is a ``lstm_viz.parsing.InputError`` whose message says
what was wrong and gives a valid example.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from lstm_viz.parsing import (
    MAX_STEPS,
    SUBTRACTION_EXAMPLE,
    TOY_EXAMPLE,
    InputError,
    parse_subtraction,
    parse_toy_sequence,
    parse_vectors,
)
from lstm_viz.tasks import subtraction, toy
from lstm_viz.tasks.models import ModelConfig

__all__ = [
    "MAX_CSV_BYTES",
    "ExplorerInput",
    "Task",
    "bit_table",
    "csv_input",
    "example_for",
    "random_input",
    "task_of",
    "typed_input",
]

Task = Literal["toy", "subtraction", "vectors"]
MAX_CSV_BYTES = 5_000_000


@dataclass(frozen=True)
class ExplorerInput:
    """One input sequence ready for ``model.record``: ``x`` is ``(1, T, input_size)`` float32 on the CPU."""

    x: Tensor
    text: str  # how to say it: "123 - 61", "0, 0.5, 0.25, 1", "random: 64 steps, seed 0"
    feature_names: tuple[str, ...]
    operands: tuple[int, int] | None = None  # subtraction: (a, b)
    target: float | None = None  # toy: the known answer for Company A (0) or B (1)

    @property
    def steps(self) -> int:
        return int(self.x.shape[1])

    def key(self) -> str:
        """A digest of the values, for caches keyed on the input."""
        data = self.x.detach().cpu().contiguous().numpy()
        return hashlib.sha1(data.tobytes() + str(data.shape).encode()).hexdigest()[:16]


def task_of(config: ModelConfig) -> Task:
    """Which kind of input a model takes: toy prices, an 8-bit subtraction, or general vectors."""
    if config.kind in ("statquest", "toy_lstm"):
        return "toy"
    if config.kind == "subtraction":
        return "subtraction"
    return "vectors"


def _vector_example(width: int) -> str:
    rng = np.random.default_rng(0)
    rows = rng.choice([-1.0, -0.5, 0.0, 0.25, 0.5, 1.0], size=(3, min(width, 6)))
    lines = [", ".join(f"{v:g}" for v in row) for row in rows]
    return "\n".join(lines) if width <= 6 else lines[0]


def example_for(config: ModelConfig) -> str:
    """A valid input for this model, to pre-fill the text box and to quote in error messages."""
    task = task_of(config)
    if task == "toy":
        return TOY_EXAMPLE
    if task == "subtraction":
        return SUBTRACTION_EXAMPLE
    if config.input_size > 6:
        return f"{config.input_size} numbers per line, one line per time step (or use a random sequence)"
    return _vector_example(config.input_size)


def _feature_names(config: ModelConfig) -> tuple[str, ...]:
    task = task_of(config)
    if task == "toy":
        return ("x",)
    if task == "subtraction":
        return ("a bit", "b bit")
    return ("x",) if config.input_size == 1 else tuple(f"x{k}" for k in range(config.input_size))


def _toy_target(values: Tensor) -> float | None:
    seq = tuple(float(v) for v in values.view(-1))
    for company, label in zip((toy.COMPANY_A, toy.COMPANY_B), toy.LABELS, strict=True):
        if len(seq) == len(company) and np.allclose(seq, company):
            return float(label)
    return None


def _subtraction_input(a: int, b: int, text: str | None = None) -> ExplorerInput:
    x = subtraction.encode(a, b).unsqueeze(0).float()  # (1, 8, 2)
    return ExplorerInput(x=x, text=text or f"{a} - {b}", feature_names=("a bit", "b bit"), operands=(a, b))


def typed_input(text: str, config: ModelConfig) -> ExplorerInput:
    """What the user typed, read the way this model needs it."""
    task = task_of(config)
    if task == "toy":
        values = parse_toy_sequence(text)  # (T,)
        shown = ", ".join(f"{v:g}" for v in values.tolist()[:12]) + (" …" if len(values) > 12 else "")
        return ExplorerInput(
            x=values.view(1, -1, 1), text=shown, feature_names=("x",), target=_toy_target(values)
        )
    if task == "subtraction":
        a, b = parse_subtraction(text)
        return _subtraction_input(a, b)
    x = parse_vectors(text, config.input_size)  # (T, I)
    return ExplorerInput(x=x.unsqueeze(0), text=f"typed: {x.shape[0]} steps", feature_names=_feature_names(config))


def random_input(config: ModelConfig, length: int, seed: int) -> ExplorerInput:
    """A reproducible random input: prices in [0, 1] (toy), a random ``a - b`` (subtraction, always 8 steps),
    or N(0, 1) vectors."""
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= MAX_STEPS:
        raise InputError(f"The length must be a whole number from 1 to {MAX_STEPS}, got {length!r}. Example: 64")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise InputError(f"The seed must be a whole number from 0 to {2**32 - 1}, got {seed!r}. Example: 0")
    gen = torch.Generator().manual_seed(seed)
    task = task_of(config)
    if task == "subtraction":
        a = int(torch.randint(0, subtraction.MAX_INT + 1, (1,), generator=gen))
        b = int(torch.randint(0, a + 1, (1,), generator=gen))
        return _subtraction_input(a, b, f"{a} - {b} (random, seed {seed}; subtraction is always 8 bit steps)")
    if task == "toy":
        x = torch.rand(1, length, 1, generator=gen)
    else:
        x = torch.randn(1, length, config.input_size, generator=gen)
    return ExplorerInput(
        x=x, text=f"random: {length} steps, seed {seed}", feature_names=_feature_names(config)
    )


def _csv_example(config: ModelConfig) -> str:
    if task_of(config) == "toy":
        return "x\n0\n0.5\n0.25\n1"
    if task_of(config) == "subtraction":
        return "a bit,b bit\n1,1\n1,0\n0,1\n1,1\n1,1\n1,1\n1,0\n0,0   (123 - 61, LSB first)"
    width = min(config.input_size, 6)
    more = ",…" if config.input_size > width else ""
    header = ",".join(_feature_names(config)[:width]) + more
    rows = [",".join(f"{v:g}" for v in np.linspace(-1, 1, width) * s) + more for s in (1, 0.5)]
    return "\n".join([header, *rows])


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _is_non_finite(cells: list[str]) -> bool:
    return all(cell.lower().lstrip("+-") in ("nan", "inf", "infinity") for cell in cells)


def csv_input(data: bytes | str, config: ModelConfig, name: str = "the CSV file") -> ExplorerInput:
    """A CSV file with one row per time step and ``input_size`` columns (an optional header names them).

    For the subtraction model the columns are the bit pairs (a bit, b bit), LSB first.
    """
    example = _csv_example(config)
    if isinstance(data, bytes):
        if len(data) > MAX_CSV_BYTES:
            raise InputError(
                f"{name} is {len(data) / 1e6:.1f} MB; at most {MAX_CSV_BYTES / 1e6:.0f} MB "
                f"(≤ {MAX_STEPS} rows) are accepted. Example content:\n{example}"
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
    first = [cell.strip() for cell in lines[0].split(",")]
    names = _feature_names(config)
    if all(cell and not _NUMBER.match(cell) for cell in first) and not _is_non_finite(first):  # a header row
        if len(first) == config.input_size and all(first):
            names = tuple(first)
        lines = lines[1:]
        if not lines:
            raise InputError(f"{name} has a header but no rows. Example content:\n{example}")
    frame_text = "\n".join(lines)
    try:
        table = pd.read_csv(
            io.StringIO(frame_text), header=None, dtype=str, skipinitialspace=True, na_filter=False
        )
    except (pd.errors.ParserError, ValueError) as err:
        raise InputError(f"{name} is not a valid CSV file ({err}). Example content:\n{example}") from None
    if table.shape[1] != config.input_size:
        raise InputError(
            f"{name} has {table.shape[1]} column{'s' if table.shape[1] != 1 else ''} but this model reads "
            f"{config.input_size} value{'s' if config.input_size != 1 else ''} per time step (one row per step). "
            f"Example content:\n{example}"
        )
    text = "\n".join(" ".join(str(v) for v in row) for row in table.fillna("").itertuples(index=False))
    x = parse_vectors(text, config.input_size)
    if task_of(config) == "toy":
        return ExplorerInput(
            x=x.unsqueeze(0), text=f"{name}: {x.shape[0]} steps", feature_names=names, target=_toy_target(x)
        )
    return ExplorerInput(x=x.unsqueeze(0), text=f"{name}: {x.shape[0]} steps", feature_names=names)


def bit_table(a: int, b: int) -> pd.DataFrame:
    """``a``, ``b`` and ``a − b`` as their 8 bits, LSB first (columns t0 … t7 = the time steps the model reads)."""
    rows = {
        f"a = {a}": subtraction.bits(torch.tensor([a]))[0],
        f"b = {b}": subtraction.bits(torch.tensor([b]))[0],
        f"a − b = {a - b}": subtraction.bits(torch.tensor([a - b]))[0],
    }
    frame = pd.DataFrame({k: v.int().tolist() for k, v in rows.items()}).T
    frame.columns = [f"t{t} (2^{t})" for t in range(subtraction.BITS)]
    return frame
