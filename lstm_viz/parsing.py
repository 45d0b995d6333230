"""Parsing of what users type (toy sequences, subtractions, vector sequences, numbers), shared by app and CLI.

Every parser raises :class:`InputError` (a ``ValueError``) whose message says what was wrong and shows a valid
example, so a page can put ``str(error)`` in an error box and the CLI can print it as one line.
"""

from __future__ import annotations

import json
import math
import re

import torch
from torch import Tensor

__all__ = [
    "MAX_STEPS",
    "MAX_VALUE",
    "InputError",
    "parse_float",
    "parse_int",
    "parse_subtraction",
    "parse_toy_sequence",
    "parse_vectors",
]

MAX_STEPS = 5000  # longest sequence a user may type or upload (time steps)
MAX_VALUE = 1e6  # largest magnitude accepted for one input value; bigger numbers only saturate the gates
SUBTRACTION_MAX = 255  # operands are 8-bit unsigned integers

TOY_EXAMPLE = "0, 0.5, 0.25, 1"
SUBTRACTION_EXAMPLE = "123 - 61"

_VALUE_SEP = re.compile(r"[,\s]+")
_ROW_SEP = re.compile(r"[;\n\r]+")
_MINUS = "-\u2212\u2013\u2014"  # ASCII hyphen, minus sign, en dash, em dash
_SUBTRACTION = re.compile(rf"^\s*([+]?\d+)\s*[{_MINUS}]\s*([+]?\d+)\s*(?:=\s*\??\s*)?$")


class InputError(ValueError):
    """Text a user typed that cannot be used; the message says what was wrong and shows a valid example."""


def _vector_example(width: int) -> str:
    values = ["0.5", "-1", "0", "1", "0.25"]
    rows = [", ".join(values[(i + shift) % 5] for i in range(width)) for shift in (0, 2)]
    return "; ".join(rows) if width <= 5 else rows[0]


def _number(token: str, where: str, example: str) -> float:
    """One float from one token, rejecting letters, NaN, inf and absurdly large values."""
    try:
        value = float(token)
    except ValueError:
        raise InputError(f"{where}: {token!r} is not a number. Example of valid input: {example}") from None
    if math.isnan(value) or math.isinf(value):
        raise InputError(f"{where}: {token!r} is not a finite number. Example of valid input: {example}")
    if abs(value) > MAX_VALUE:
        raise InputError(
            f"{where}: {token!r} is too large (|value| must be ≤ {MAX_VALUE:g}). Example of valid input: {example}"
        )
    return value


def _split_values(text: str) -> list[str]:
    return [t for t in _VALUE_SEP.split(text.strip()) if t]


def _check_text(text: object, what: str, example: str) -> str:
    if not isinstance(text, str):
        raise InputError(f"{what} must be text, got {type(text).__name__}. Example: {example}")
    if not text.strip():
        raise InputError(f"{what} is empty; type some values. Example: {example}")
    return text


def parse_toy_sequence(text: str) -> Tensor:
    """``"0, 0.5, 0.25, 1"`` → ``tensor([0., 0.5, 0.25, 1.])`` of shape ``(T,)``, float32.

    Values are separated by commas and/or spaces (brackets are ignored). 1 to ``MAX_STEPS`` finite numbers.
    """
    text = _check_text(text, "The sequence", TOY_EXAMPLE)
    tokens = _split_values(text.strip().strip("[]()"))
    if not tokens:
        raise InputError(f"The sequence has no numbers. Type something like: {TOY_EXAMPLE}")
    if len(tokens) > MAX_STEPS:
        raise InputError(
            f"The sequence has {len(tokens)} values; at most {MAX_STEPS} are allowed. Example: {TOY_EXAMPLE}"
        )
    values = [_number(tok, f"value {n + 1}", TOY_EXAMPLE) for n, tok in enumerate(tokens)]
    return torch.tensor(values, dtype=torch.float32)


def parse_subtraction(text: str) -> tuple[int, int]:
    """``"123 - 61"`` → ``(123, 61)``; both 8-bit (0..255) and ``b ≤ a`` so the difference is not negative.

    Accepts spaces or none around the minus sign, the Unicode minus/dashes, and a trailing ``=`` (``"9-4="``).
    """
    text = _check_text(text, "The subtraction", SUBTRACTION_EXAMPLE)
    match = _SUBTRACTION.match(text)
    if match is None:
        if re.search(r"\d\s*[.,]\s*\d", text):
            why = "the numbers must be whole numbers"
        elif "+" in text.strip().lstrip("+") or "*" in text or "/" in text:
            why = "only subtraction 'a - b' is supported"
        elif text.strip().startswith(tuple(_MINUS)):
            why = "the numbers must not be negative"
        else:
            why = "write two whole numbers with a minus sign between them"
        raise InputError(f"Cannot read {text.strip()!r} as a subtraction: {why}. Example: {SUBTRACTION_EXAMPLE}")
    a, b = int(match.group(1)), int(match.group(2))
    for name, value in (("a", a), ("b", b)):
        if value > SUBTRACTION_MAX:
            raise InputError(
                f"In {text.strip()!r}, {name} = {value} does not fit in 8 bits; both numbers must be between "
                f"0 and {SUBTRACTION_MAX}. Example: {SUBTRACTION_EXAMPLE}"
            )
    if b > a:
        raise InputError(
            f"In {text.strip()!r}, b = {b} is larger than a = {a}: the model only subtracts a smaller number "
            f"from a larger one (0 ≤ b ≤ a ≤ {SUBTRACTION_MAX}). Example: {SUBTRACTION_EXAMPLE}"
        )
    return a, b


def _rows_from_json(text: str, width: int, example: str) -> list[list[str]] | None:
    """``[[0, 1], [1, 0]]`` (a JSON list of rows) → token rows, or None when the text is not JSON."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(data, list) and data and all(isinstance(v, (int, float)) for v in data):
        data = [[v] for v in data] if width == 1 else [data]
    if not (isinstance(data, list) and all(isinstance(row, list) for row in data)):
        raise InputError(f"A JSON input must be a list of rows (lists of numbers). Example: {example}")
    rows = []
    for n, row in enumerate(data):
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row):
            raise InputError(f"Row {n + 1} must hold only numbers. Example: {example}")
        rows.append([repr(float(v)) for v in row])
    return rows


def parse_vectors(text: str, width: int) -> Tensor:
    """A sequence of ``width``-wide vectors → ``Tensor(T, width)``, float32.

    Rows (time steps) are separated by newlines or ``;``, values within a row by commas and/or spaces, e.g.
    ``"0.5, -1; 0, 1"`` for width 2. A JSON list of rows (``[[0.5, -1], [0, 1]]``) works too. For
    ``width == 1`` a single row of several values is read as that many time steps (``"0, 0.5, 0.25, 1"`` →
    shape ``(4, 1)``).
    Rejects empty input, letters, NaN/inf, rows of the wrong width and more than ``MAX_STEPS`` rows.
    """
    if isinstance(width, bool) or not isinstance(width, int) or width <= 0:
        raise ValueError(f"width must be a positive integer, got {width!r}")
    example = _vector_example(width)
    text = _check_text(text, "The input sequence", example)
    stripped = text.strip()
    rows = _rows_from_json(stripped, width, example) if stripped.startswith("[") else None
    if rows is None:
        rows = [_split_values(line.strip().strip("[](),")) for line in _ROW_SEP.split(stripped)]
        rows = [row for row in rows if row]
    if not rows:
        raise InputError(f"The input sequence has no numbers. Example for width {width}: {example}")
    if width == 1 and len(rows) == 1 and len(rows[0]) > 1:
        rows = [[tok] for tok in rows[0]]
    if len(rows) > MAX_STEPS:
        raise InputError(
            f"The input sequence has {len(rows)} time steps; at most {MAX_STEPS} are allowed. "
            f"Shorten it. Example for width {width}: {example}"
        )
    values = []
    for n, row in enumerate(rows):
        if len(row) != width:
            raise InputError(
                f"Time step {n + 1} has {len(row)} value{'s' if len(row) != 1 else ''} but the model expects "
                f"{width} per step (separate steps with ';' or new lines). "
                f"Example for width {width}: {example}"
            )
        values.append([_number(tok, f"time step {n + 1}", example) for tok in row])
    return torch.tensor(values, dtype=torch.float32)


def parse_int(text: str | int, *, name: str = "value", minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole number typed in a text field or a CLI option, within ``[minimum, maximum]`` if given."""
    low = minimum if minimum is not None else 0
    example = str(low if maximum is None else min(max(low, 10), maximum))
    if isinstance(text, bool):
        raise InputError(f"{name} must be a whole number, got {text!r}. Example: {example}")
    if isinstance(text, int):
        value = text
    else:
        raw = str(text).strip().replace("_", "")
        if not re.fullmatch(r"[+-]?\d+", raw):
            raise InputError(f"{name} must be a whole number, got {str(text).strip()!r}. Example: {example}")
        value = int(raw)
    if minimum is not None and value < minimum:
        raise InputError(f"{name} must be at least {minimum}, got {value}. Example: {example}")
    if maximum is not None and value > maximum:
        raise InputError(f"{name} must be at most {maximum}, got {value}. Example: {example}")
    return value


def parse_float(
    text: str | float,
    *,
    name: str = "value",
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
) -> float:
    """A finite number typed in a text field or a CLI option, within the given bounds."""
    example = "0.01" if minimum is None or minimum <= 0.01 else f"{minimum:g}"
    value = _number(str(text).strip(), name, example) if not isinstance(text, (int, float)) else float(text)
    if isinstance(text, bool) or math.isnan(value) or math.isinf(value):
        raise InputError(f"{name} must be a finite number, got {text!r}. Example: {example}")
    if minimum is not None and (value <= minimum if exclusive_minimum else value < minimum):
        bound = f"greater than {minimum:g}" if exclusive_minimum else f"at least {minimum:g}"
        raise InputError(f"{name} must be {bound}, got {value:g}. Example: {example}")
    if maximum is not None and value > maximum:
        raise InputError(f"{name} must be at most {maximum:g}, got {value:g}. Example: {example}")
    return value
