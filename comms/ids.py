"""Read ids and references from addresses, forms and JSON: the one place that decides what a
number is, so odd input is refused with a clear message instead of reaching the database."""

from __future__ import annotations

import re

# Zendesk's and our ids are signed 64-bit integers.
LARGEST_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: "³".isdigit() is True but int("³") fails


def parse_number(value: object) -> int | None:
    """A whole number 0 ≤ n < 2**63 given as ASCII digits or a JSON integer, else None."""
    if isinstance(value, bool):
        return None  # JSON true is not 1
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if 0 <= number <= LARGEST_ID else None


def parse_id(value: object) -> int | None:
    """A positive id (1 to 2**63 - 1), or None."""
    number = parse_number(value)
    return number if number else None


def parse_reference(value: object) -> int | None:
    """The incident id of a reference: `INC-7`, `inc-7` or `7`; None for anything else."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    return parse_id(str(value).strip().upper().removeprefix("INC-"))
