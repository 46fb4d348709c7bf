"""The contact list as CSV, for spreadsheets and mail tools."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from comms.contacts.rules import Contact

HEADER = ("Name", "E-mail", "Organisations", "Reasons", "Senior stakeholder", "Priority client")
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """Quote text that a spreadsheet would otherwise run as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(contacts: Iterable[Contact]) -> str:
    """Return the contacts as CSV, one row each, in the order given (priority clients first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for contact in contacts:
        writer.writerow(
            [
                _cell(contact.name),
                _cell(contact.email),
                _cell("; ".join(contact.organizations)),
                _cell("; ".join(contact.reasons)),
                "yes" if contact.senior else "no",
                "yes" if contact.priority else "no",
            ]
        )
    return out.getvalue()
