"""Parsing of typed input: valid text gives tensors/tuples, bad text an InputError that shows an example."""

import pytest
import torch

from lstm_viz.parsing import (
    MAX_STEPS,
    InputError,
    fixed,
    parse_float,
    parse_int,
    parse_subtraction,
    parse_toy_sequence,
    parse_vectors,
    wide_encoding,
)


def test_input_error_is_a_value_error():
    assert issubclass(InputError, ValueError)
    assert MAX_STEPS >= 5000


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0, 0.5, 0.25, 1", [0, 0.5, 0.25, 1]),
        ("0 0.5 0.25 1", [0, 0.5, 0.25, 1]),
        ("[1, 0.5, 0.25, 1]", [1, 0.5, 0.25, 1]),
        ("  -2.5e-1 ,3 ", [-0.25, 3]),
        ("7", [7]),
    ],
)
def test_toy_sequence_valid(text, expected):
    out = parse_toy_sequence(text)
    assert out.dtype == torch.float32 and out.shape == (len(expected),)
    assert torch.allclose(out, torch.tensor(expected, dtype=torch.float32))


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("0, abc, 1", "'abc' is not a number"),
        ("0, nan, 1", "not a finite number"),
        ("inf", "not a finite number"),
        ("1e308", "too large"),
        (", ,", "no numbers"),
        ("0,,1", "two commas with no number between them"),  # a value left out would shift every later one
        ("1_000, 1", "'1_000' is not a number"),  # Python's digit grouping, not a number as typed
    ],
)
def test_toy_sequence_invalid(text, fragment):
    with pytest.raises(InputError) as err:
        parse_toy_sequence(text)
    assert fragment in str(err.value)
    assert "0, 0.5, 0.25, 1" in str(err.value)  # the message shows a valid example


def test_toy_sequence_too_long():
    parse_toy_sequence(", ".join(["0.5"] * MAX_STEPS))
    with pytest.raises(InputError, match=f"at most {MAX_STEPS:,}"):
        parse_toy_sequence(", ".join(["0.5"] * (MAX_STEPS + 1)))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("123 - 61", (123, 61)),
        ("123-61", (123, 61)),
        ("255 − 0", (255, 0)),  # Unicode minus
        ("9 – 9", (9, 9)),  # en dash
        ("0-0", (0, 0)),
        (" 200 - 17 = ", (200, 17)),
        ("200 - 17 = ?", (200, 17)),
    ],
)
def test_subtraction_valid(text, expected):
    assert parse_subtraction(text) == expected


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("hello", "two whole numbers"),
        ("123", "two whole numbers"),
        ("12 - 3 - 1", "two whole numbers"),
        ("1.5 - 1", "whole numbers"),
        ("3 + 4", "only subtraction"),
        ("-3 - 1", "must not be negative"),
        ("256 - 1", "does not fit in 8 bits"),
        ("300 - 400", "does not fit in 8 bits"),
        ("3 - 5", "larger than a"),
    ],
)
def test_subtraction_invalid(text, fragment):
    with pytest.raises(InputError) as err:
        parse_subtraction(text)
    assert fragment in str(err.value)
    assert "123 - 61" in str(err.value)


def test_vectors_rows_and_values():
    out = parse_vectors("0.5, -1; 0 1\n2,3", 2)
    assert out.shape == (3, 2) and out.dtype == torch.float32
    assert out.tolist() == [[0.5, -1.0], [0.0, 1.0], [2.0, 3.0]]
    assert parse_vectors("[[1, 2], [3, 4]]", 2).tolist() == [[1, 2], [3, 4]]
    assert parse_vectors("1;2;3", 1).shape == (3, 1)
    # width 1: a single row of several values is a sequence of scalars
    assert parse_vectors("0, 0.5, 0.25, 1", 1).view(-1).tolist() == [0, 0.5, 0.25, 1]
    assert parse_vectors("[0, 0.5]", 1).shape == (2, 1)
    assert parse_vectors("1; ;2;", 1).shape == (2, 1)  # blank rows are skipped


@pytest.mark.parametrize(
    "text, width, fragment",
    [
        ("", 2, "empty"),
        ("1, 2, 3", 2, "has 3 values but the model expects 2"),
        ("1, 2; 3", 2, "Time step t = 1 has 1 value but"),
        ("1, x", 2, "'x' is not a number"),
        ("1, nan", 2, "not a finite number"),
        ("1, -inf", 2, "not a finite number"),
        ('[[1, 2], [3, "a"]]', 2, "must hold only numbers"),
        ('{"a": 1}', 2, "not a number"),
    ],
)
def test_vectors_invalid(text, width, fragment):
    with pytest.raises(InputError) as err:
        parse_vectors(text, width)
    assert fragment in str(err.value)
    assert "Example" in str(err.value)


def test_vectors_too_long_and_bad_width():
    assert parse_vectors("\n".join(["1 2"] * MAX_STEPS), 2).shape == (MAX_STEPS, 2)
    with pytest.raises(InputError, match="at most"):
        parse_vectors("\n".join(["1 2"] * (MAX_STEPS + 1)), 2)
    with pytest.raises(ValueError, match="width"):
        parse_vectors("1", 0)


def test_numbers():
    assert parse_int("42", name="epochs", minimum=1) == 42
    assert parse_int(" 1_000 ") == 1000
    assert parse_float("1e-3", name="lr", minimum=0, exclusive_minimum=True) == 0.001
    for bad, fragment in [("ten", "whole number"), ("1.5", "whole number"), ("0", "at least 1")]:
        with pytest.raises(InputError, match=fragment):
            parse_int(bad, name="epochs", minimum=1)
    with pytest.raises(InputError, match="at most 10"):
        parse_int("11", maximum=10)
    for bad, fragment in [("abc", "not a number"), ("nan", "finite"), ("0", "greater than 0"), ("-1", "greater")]:
        with pytest.raises(InputError, match=fragment):
            parse_float(bad, name="lr", minimum=0, exclusive_minimum=True)
    with pytest.raises(InputError, match="at most 1"):
        parse_float("2", maximum=1)


# ---- any length of text (a 10,000-digit number once raised Python's int() limit as a traceback) -----------------
HUGE = "9" * 10_000


@pytest.mark.parametrize(
    "parse, text, fragment",
    [
        (lambda t: parse_int(t, name="Length", minimum=1, maximum=5000), HUGE, "far too large (a 10,000-digit number)"),
        (lambda t: parse_int(t, name="Seed", minimum=0), "-" + HUGE, "far too small"),
        (lambda t: parse_int(t, name="Epochs", minimum=1), "", "Epochs is empty"),
        (lambda t: parse_float(t, name="lr"), HUGE, "too large"),
        (lambda t: parse_float(t, name="lr"), "1e999", "too large"),
        (lambda t: parse_float(t, name="lr"), "-inf", "not a finite number"),
        (lambda t: parse_float(t, name="lr"), "", "lr is empty"),
        (parse_subtraction, f"{HUGE} - 1", "a (a 10,000-digit number) does not fit in 8 bits"),
        (parse_subtraction, f"1 - {HUGE}", "b (a 10,000-digit number) does not fit in 8 bits"),
        (parse_subtraction, HUGE, "Cannot read"),
        (lambda t: parse_vectors(t, 1), HUGE, "too large"),
        (lambda t: parse_vectors(t, 1), f"[{HUGE}]", "too large"),  # JSON's int() refuses it too
        (lambda t: parse_vectors(t, 3), "abc", "'abc' is not a number"),  # named, before the row's width
        (parse_toy_sequence, "x" * 10_000, "is not a number"),
    ],
    ids=lambda v: v[:12] + "…" if isinstance(v, str) and len(v) > 12 else None,
)
def test_any_length_gives_a_short_message(parse, text, fragment):
    with pytest.raises(InputError) as err:
        parse(text)
    message = str(err.value)
    assert fragment in message and len(message) < 300, message  # never the whole input echoed back
    assert "int_max_str_digits" not in message


def test_whole_numbers_as_the_pages_print_them():
    assert parse_int("2,000") == 2000 and parse_int(" +42 ") == 42 and parse_int("1_000") == 1000
    with pytest.raises(InputError):
        parse_int("1,2")


@pytest.mark.parametrize("encoding, expected", [
    ("utf-16", "UTF-16"), ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"),
    ("utf-32", "UTF-32"), ("utf-32-le", "UTF-32"), ("utf-32-be", "UTF-32"),
    ("utf-8", None), ("utf-8-sig", None), ("latin-1", None),
])  # fmt: skip
def test_wide_encodings_are_recognised(encoding, expected):
    text = "def f(x):\n    return x  # café\n" if encoding != "latin-1" else "x = 'café'\n"
    assert wide_encoding(text.encode(encoding)) == expected


@pytest.mark.parametrize("data", [b"", b"ab", b"\x00" * 64, bytes(range(256)) * 8, b"PK\x03\x04\x00\x00binary\x00"])
def test_binary_bytes_are_not_called_wide_text(data):
    assert wide_encoding(data) is None


@pytest.mark.parametrize("value, text", [
    (-9.2e-7, "0.0000"), (-0.0, "0.0000"), (0.0, "0.0000"), (-0.00004, "0.0000"), (-0.00005, "-0.0001"),
    (1.23456, "1.2346"), (-1.23456, "-1.2346"), (float("nan"), "nan"), (float("-inf"), "-inf"),
])  # fmt: skip
def test_fixed_never_writes_a_negative_zero(value, text):
    """An answer of -9.2e-7 to a target of 0 read "Company A → -0.0000"."""
    assert fixed(value) == text
