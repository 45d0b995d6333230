"""Parsing: a width-1 sequence written as several rows, and whole numbers padded with leading zeros (gaps found by
mutation)."""

from __future__ import annotations

import pytest

from lstm_viz.parsing import InputError, parse_int, parse_subtraction, parse_vectors


def test_width_one_rows_of_several_values_are_refused_not_truncated_to_the_first_row():
    """Only a single row of several values is read as steps; "0, 1; 2" is a wrong width at t = 0, not [0, 1]."""
    assert parse_vectors("0, 1, 2", 1).shape == (3, 1)
    with pytest.raises(InputError, match="Time step t = 0 has 2 values"):
        parse_vectors("0, 1; 2", 1)


def test_leading_zeros_do_not_count_towards_the_digit_limit():
    """A number written with 40 leading zeros is the number itself, not one that is too long."""
    assert parse_subtraction("0" * 40 + "123 - 61") == (123, 61)
    assert parse_int("0" * 40 + "42") == 42


def test_a_wide_inputs_message_gives_its_shape_not_a_row_of_512_numbers():
    """A typo in a 512-wide input quoted a whole example row: a message of ~2,000 characters."""
    from lstm_viz.parsing import InputError, parse_vectors

    with pytest.raises(InputError) as caught:
        parse_vectors("1, x", 512)
    message = str(caught.value)
    assert len(message) < 200 and "(512 numbers a step, commas between them" in message
    with pytest.raises(InputError, match=r"0\.5, -1, 0, 1, 0\.25, 0\.5"):  # up to 16 wide: a whole valid row
        parse_vectors("1, x", 12)

