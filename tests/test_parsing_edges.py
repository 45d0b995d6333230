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
