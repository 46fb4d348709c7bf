"""What counts as an id or a reference, wherever it comes from (an address, a form, JSON)."""

from __future__ import annotations

import pytest

from comms.ids import LARGEST_ID, parse_id, parse_number, parse_reference


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("0", 0),
        (" 42 ", 42),
        (42, 42),
        (str(LARGEST_ID), LARGEST_ID),
        (str(LARGEST_ID + 1), None),  # past a signed 64-bit column
        ("-1", None),
        ("³", None),  # a digit to str.isdigit, not to int()
        ("١٢", None),  # Arabic-Indic digits
        ("1e3", None),
        ("12.0", None),
        (True, None),  # JSON true is not 1
        (1.0, None),
        (None, None),
        ("", None),
    ],
)
def test_a_number_is_ascii_digits_or_a_json_integer_within_64_bits(value, number):
    assert parse_number(value) == number


def test_an_id_is_positive():
    assert (parse_id("0"), parse_id(0), parse_id("7")) == (None, None, 7)


@pytest.mark.parametrize(
    ("value", "number"),
    [("INC-7", 7), ("inc-7", 7), (" INC-7 ", 7), ("7", 7), (7, 7), ("INC-0", None)]
    + [("INC-", None), ("INC-x", None), ("INC--7", None), ("IN-7", None), (False, None)],
)
def test_a_reference_is_inc_n_or_n(value, number):
    assert parse_reference(value) == number
