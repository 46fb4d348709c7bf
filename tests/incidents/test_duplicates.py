"""Grouping likely duplicates: the same requester, or the same organisation and subject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from comms.incidents.duplicates import likely_duplicates, normalised, similar_subjects

START = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class T:
    ticket_id: int
    subject: str
    requester_id: int | None = None
    organization_id: int | None = None
    minutes: int | None = 0

    @property
    def ticket_created_at(self) -> datetime | None:
        return None if self.minutes is None else START + timedelta(minutes=self.minutes)


def ids(groups) -> list[list[int]]:
    return [[t.ticket_id for t in group] for group in groups]


def test_subjects_are_compared_without_case_punctuation_or_reply_prefixes():
    assert normalised("RE: Fwd: Our website is DOWN!!") == "our website is down"
    assert similar_subjects(
        "Our website is showing a 503 error", "our website is showing 503 errors"
    )
    assert not similar_subjects("Our website is showing a 503 error", "Invoice for March")
    assert not similar_subjects("", "")


def test_the_same_requester_groups_tickets_whatever_their_subjects():
    tickets = [T(1, "Site down", 7, 100, 5), T(2, "Invoice query", 7, 100, 1), T(3, "x", 8, 200)]
    assert ids(likely_duplicates(tickets)) == [[2, 1]]  # the oldest first: merge into it


def test_the_same_organisation_and_a_near_identical_subject_group_tickets():
    tickets = [
        T(10, "Our website is showing a 503 error", 1, 100, 3),
        T(11, "Our website is showing a 503 error", 2, 100, 2),
        T(12, "Our website is showing a 503 error", 3, 200, 1),  # another client: not a duplicate
        T(13, "Re: our website is showing a 503 error.", 4, 100, 9),
        T(14, "Contact form broken", 5, 100, 0),  # same client, another complaint
    ]
    assert ids(likely_duplicates(tickets)) == [[11, 10, 13]]


def test_alike_to_alike_is_one_group_and_groups_come_oldest_first():
    tickets = [
        T(20, "Checkout failing", 1, 300, 50),
        T(21, "Checkout failing", 2, 300, 40),
        T(22, "Other thing", 2, None, 45),  # same requester as 21: joins the group
        T(30, "Site slow", 9, 400, 10),
        T(31, "Site slow", 9, 400, None),  # created unknown: after the known ones
    ]
    assert ids(likely_duplicates(tickets)) == [[30, 31], [21, 22, 20]]


def test_nothing_alike_is_no_group_and_unknown_requesters_or_organisations_never_match():
    tickets = [
        T(1, "Site down"),
        T(2, "Site down"),
        T(3, "Site down", None, 5),
        T(4, "Bug", None, 5),
    ]
    assert likely_duplicates(tickets) == []
