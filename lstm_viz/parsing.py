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
    "MAX_LR",
    "MAX_STEPS",
    "MAX_VALUE",
    "InputError",
    "fixed",
    "parse_float",
    "parse_int",
    "parse_lr",
    "parse_subtraction",
    "parse_toy_sequence",
    "parse_vectors",
    "quote",
    "shorten",
    "wide_encoding",
]

MAX_STEPS = 5000  # longest sequence a user may type or upload (time steps)
MAX_VALUE = 1e6  # largest magnitude accepted for one input value; bigger numbers only saturate the gates
SUBTRACTION_MAX = 255  # operands are 8-bit unsigned integers
MAX_DIGITS = 30  # a whole number with more digits is refused before int() (Python caps int() at 4,300 digits)
QUOTE_CHARS = 40  # how much of a user's text an error message repeats

TOY_EXAMPLE = "0, 0.5, 0.25, 1"
SUBTRACTION_EXAMPLE = "123 - 61"

_VALUE_SEP = re.compile(r"[,\s]+")
_ROW_SEP = re.compile(r"[;\n\r]+")
_MINUS = "-\u2212\u2013\u2014"  # ASCII hyphen, minus sign, en dash, em dash
_SUBTRACTION = re.compile(rf"^\s*([+]?\d+)\s*[{_MINUS}]\s*([+]?\d+)\s*(?:=\s*\??\s*)?$")


class InputError(ValueError):
    """Text a user typed that cannot be used; the message says what was wrong and shows a valid example."""


def quote(text: object, limit: int = QUOTE_CHARS) -> str:
    """``repr`` of what a user typed, shortened for an error message: ``'12345…' (10,000 characters)``."""
    text = str(text)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


def shorten(text: str, limit: int = 80) -> str:
    """An input as a page repeats it: at most ``limit`` characters, then how many it has."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def _whole(digits: str) -> int | None:
    """``int(digits)`` for a signed string of digits, or None when it has more than ``MAX_DIGITS`` digits."""
    if len(digits.lstrip("+-").lstrip("0")) > MAX_DIGITS:
        return None
    return int(digits)


def _vector_example(width: int) -> str:
    """A valid input of ``width`` numbers a step, for a message: two steps up to 5 wide, one step up to 16, and for
    wider inputs its start and its shape (a whole row of 512 made a message of ~2,000 characters)."""
    values = ["0.5", "-1", "0", "1", "0.25"]
    rows = [", ".join(values[(i + shift) % 5] for i in range(width)) for shift in (0, 2)]
    if width > 16:
        return f"{', '.join(values[:4])}, … ({width} numbers a step, commas between them, ';' or a new line between " \
            "steps)"
    return "; ".join(rows) if width <= 5 else rows[0]


def _number(token: str, where: str, example: str) -> float:
    """One float from one token, rejecting letters, NaN, inf and absurdly large values."""
    try:
        if "_" in token:  # float() reads 1_000 as 1000, a Python literal's grouping, not a number as typed
            raise ValueError
        value = float(token)  # any length: float() has no digit limit (a huge number becomes inf)
    except ValueError:
        raise InputError(f"{where}: {quote(token)} is not a number. Example of valid input: {example}") from None
    if math.isnan(value):
        raise InputError(f"{where}: {quote(token)} is not a finite number. Example of valid input: {example}")
    if math.isinf(value) and token.strip().lstrip("+-").lower() in ("inf", "infinity"):
        raise InputError(f"{where}: {quote(token)} is not a finite number. Example of valid input: {example}")
    if abs(value) > MAX_VALUE:
        raise InputError(
            f"{where}: {quote(token)} is too large (|value| must be ≤ {MAX_VALUE:g}). "
            f"Example of valid input: {example}"
        )
    return value


_EMPTY_FIELD = re.compile(r",\s*,")


def _split_values(text: str, where: str = "", example: str = TOY_EXAMPLE) -> list[str]:
    """The values of one row, separated by commas and/or spaces; two commas with nothing between them are refused
    (a value left out by mistake would shift every later one), a trailing comma is not."""
    tokens = [t for t in _VALUE_SEP.split(text.strip()) if t]
    if tokens and _EMPTY_FIELD.search(text):  # (no numbers at all is said by the caller)
        raise InputError(f"{where}two commas with no number between them ({quote(text)}): a value is missing. "
                         f"Example of valid input: {example}")  # fmt: skip
    return tokens


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
    tokens = _split_values(text.strip().strip("[]()"), "The sequence has ")
    if not tokens:
        raise InputError(f"The sequence has no numbers. Type something like: {TOY_EXAMPLE}")
    if len(tokens) > MAX_STEPS:
        raise InputError(
            f"The sequence has {len(tokens):,} values; at most {MAX_STEPS:,} are allowed. Example: {TOY_EXAMPLE}"
        )
    values = [_number(tok, f"Value {n + 1}", TOY_EXAMPLE) for n, tok in enumerate(tokens)]
    return torch.tensor(values, dtype=torch.float32)


def parse_subtraction(text: str) -> tuple[int, int]:
    """``"123 - 61"`` → ``(123, 61)``; both 8-bit (0..255) and ``b ≤ a`` so the difference is not negative.

    Accepts spaces or none around the minus sign, the Unicode minus/dashes, and a trailing ``=`` (``"9-4="``).
    """
    text = _check_text(text, "The subtraction", SUBTRACTION_EXAMPLE)
    shown = quote(text.strip())
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
        raise InputError(f"Cannot read {shown} as a subtraction: {why}. Example: {SUBTRACTION_EXAMPLE}")
    a, b = _whole(match.group(1)), _whole(match.group(2))
    for name, value, digits in (("a", a, match.group(1)), ("b", b, match.group(2))):
        if value is None or value > SUBTRACTION_MAX:
            said = f" = {value}" if value is not None else f" (a {len(digits.lstrip('+')):,}-digit number)"
            raise InputError(
                f"In {shown}, {name}{said} does not fit in 8 bits; both numbers must be between "
                f"0 and {SUBTRACTION_MAX}. Example: {SUBTRACTION_EXAMPLE}"
            )
    assert a is not None and b is not None
    if b > a:
        raise InputError(
            f"In {shown}, b = {b} is larger than a = {a}: the model only subtracts a smaller number "
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
        rows = [_split_values(line.strip().strip("[](),"), "The input sequence has ", example)
                for line in _ROW_SEP.split(stripped)]  # fmt: skip
        rows = [row for row in rows if row]
    if not rows:
        raise InputError(f"The input sequence has no numbers. Example for width {width}: {example}")
    if width == 1 and len(rows) == 1 and len(rows[0]) > 1:
        rows = [[tok] for tok in rows[0]]
    if len(rows) > MAX_STEPS:
        raise InputError(
            f"The input sequence has {len(rows):,} time steps; at most {MAX_STEPS:,} are allowed. "
            f"Shorten it. Example for width {width}: {example}"
        )
    values = []
    for n, row in enumerate(rows):
        numbers = [_number(tok, f"Time step t = {n}", example) for tok in row]  # 'abc' is named before widths
        if len(row) != width:
            raise InputError(
                f"Time step t = {n} has {len(row)} value{'s' if len(row) != 1 else ''} but the model expects "
                f"{width} per step (separate steps with ';' or new lines). "
                f"Example for width {width}: {example}"
            )
        values.append(numbers)
    return torch.tensor(values, dtype=torch.float32)


def parse_int(
    text: str | int, *, name: str = "value", minimum: int | None = None, maximum: int | None = None,
    example: int | None = None,
) -> int:  # fmt: skip
    """A whole number typed in a text field or a CLI option, within ``[minimum, maximum]`` if given.

    Any length of text is read safely: a number with more than ``MAX_DIGITS`` digits is refused as too large
    (or too small) without converting it, and the message quotes at most ``QUOTE_CHARS`` characters of it.
    ``example``: the value a message suggests (the field's default reads best; else one in range, near 10).
    """
    low = minimum if minimum is not None else 0
    example = str(example) if example is not None else str(low if maximum is None else min(max(low, 10), maximum))
    rule = _int_rule(minimum, maximum)
    if isinstance(text, bool):
        raise InputError(f"{name} must be a whole number, got {text!r}. Example: {example}")
    if isinstance(text, int):
        value: int | None = text
    else:
        raw = str(text).strip().replace("_", "")
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+", raw):  # "2,000" as the pages print it
            raw = raw.replace(",", "")
        if not raw:
            raise InputError(f"{name} is empty; type a whole number{rule}. Example: {example}")
        if not re.fullmatch(r"[+-]?\d+", raw):
            raise InputError(f"{name} must be a whole number, got {quote(str(text).strip())}. Example: {example}")
        value = _whole(raw)
        if value is None:
            digits = len(raw.lstrip("+-").lstrip("0"))
            side = "small" if raw.startswith("-") else "large"
            raise InputError(f"{name} is far too {side} (a {digits:,}-digit number); it must be a whole "
                             f"number{rule}. Example: {example}")  # fmt: skip
    if minimum is not None and value < minimum:
        raise InputError(f"{name} must be at least {minimum:,}, got {value:,}. Example: {example}")
    if maximum is not None and value > maximum:
        raise InputError(f"{name} must be at most {maximum:,}, got {value:,}. Example: {example}")
    return value


def _int_rule(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum:,} to {maximum:,}"
    if minimum is not None:
        return f" ≥ {minimum:,}"
    if maximum is not None:
        return f" ≤ {maximum:,}"
    return ""


def parse_float(
    text: str | float,
    *,
    name: str = "value",
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    example: str | None = None,
) -> float:
    """A finite number typed in a text field or a CLI option, within the given bounds (any length of text);
    ``example`` is the value messages suggest (by default one within the bounds)."""
    if example is None:
        example = "0.01" if minimum is None or minimum <= 0.01 else f"{minimum:g}"
    if isinstance(text, bool):
        raise InputError(f"{name} must be a number, got {text!r}. Example: {example}")
    if isinstance(text, (int, float)):
        value = float(text) if not isinstance(text, int) or abs(text) < 10**MAX_DIGITS else math.inf
    else:
        raw = str(text).strip()
        if not raw:
            raise InputError(f"{name} is empty; type a number. Example: {example}")
        try:
            value = float(raw)  # float() reads any length; a huge number becomes inf
        except ValueError:
            raise InputError(f"{name}: {quote(raw)} is not a number. Example: {example}") from None
    if math.isnan(value) or math.isinf(value):
        what = "not a finite number" if math.isnan(value) or str(text).strip().lstrip("+-").isalpha() else "too large"
        raise InputError(f"{name}: {quote(str(text).strip())} is {what}. Example: {example}")
    if minimum is not None and (value <= minimum if exclusive_minimum else value < minimum):
        bound = f"greater than {minimum:g}" if exclusive_minimum else f"at least {minimum:g}"
        raise InputError(f"{name} must be {bound}, got {value:g}. Example: {example}")
    if maximum is not None and value > maximum:
        raise InputError(f"{name} must be at most {maximum:g}, got {value:g}. Example: {example}")
    return value


MAX_LR = 10.0  # the largest learning rate training takes anywhere (the app, the CLI, a resumed checkpoint)


def parse_lr(value: object, *, name: str = "learning rate", typed: bool = True) -> float:
    """A learning rate, typed (``"0.01"``) or given (``0.01``): a float in (0, MAX_LR], or an InputError that says
    what was wrong, with an example. The one check every place that takes a learning rate uses; ``typed=False``
    (the library's API) takes numbers only."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float) if typed else (int, float)):
        raise InputError(f"{name} must be a number, got {quote(repr(value))}. Example: 0.01")
    return parse_float(value, name=name, minimum=0.0, exclusive_minimum=True, maximum=MAX_LR, example="0.01")


def wide_encoding(data: bytes) -> str | None:
    """``"UTF-16"`` or ``"UTF-32"`` when bytes look like text saved in that encoding (a byte-order mark, or a NUL
    in every second or fourth byte of mostly ASCII text), else None: such files are text, and a message that calls
    them binary sends the user the wrong way."""
    head = bytes(data[:4096])
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    n = len(head) - len(head) % 4
    if n < 8:
        return None
    for width in (4, 2):  # ASCII in UTF-32 / UTF-16: width - 1 NULs beside each character, little or big end
        for lead in (0, width - 1):
            chars = head[lead:n:width]
            nuls = sum(head[k:n:width].count(0) for k in range(width) if k != lead)
            if chars.count(0) == 0 and nuls >= 0.9 * (width - 1) * len(chars):
                return f"UTF-{8 * width}"
    return None


def fixed(value: float, places: int = 4) -> str:
    """``value`` with ``places`` decimals, never ``-0.0000``: a value that rounds to zero is written ``0.0000``
    (-9.2e-7 read as a negative answer to a target of 0)."""
    text = f"{value:.{places}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text
