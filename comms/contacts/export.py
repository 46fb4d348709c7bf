"""The contact list as CSV, for spreadsheets and mail tools."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from comms.contacts.rules import Contact

HEADER = ("Name", "E-mail", "Organisations", "Reasons", "Senior stakeholder", "Priority client")
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """Quote text that a spreadsheet would otherwise run as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _row(contact: Contact) -> list[str]:
    return [
        _cell(contact.name),
        _cell(contact.email),
        _cell("; ".join(contact.organizations)),
        _cell("; ".join(contact.reasons)),
        "yes" if contact.senior else "no",
        "yes" if contact.priority else "no",
    ]


def csv_lines(contacts: Iterable[Contact]) -> Iterator[str]:
    """The CSV a line at a time, header first, so a long list streams instead of piling up."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for contact in contacts:
        writer.writerow(_row(contact))
        if out.tell() > 64 * 1024:
            yield _drain(out)
    yield _drain(out)


def _drain(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


def to_csv(contacts: Iterable[Contact]) -> str:
    """Return the contacts as CSV, one row each, in the order given (priority clients first)."""
    return "".join(csv_lines(contacts))
