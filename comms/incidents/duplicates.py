"""Likely duplicates among candidate tickets: the same requester, or the same organisation and
a near-identical subject. A pure function of the tickets; nothing here reads the database."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from difflib import SequenceMatcher
from typing import Protocol, TypeVar

# Subjects at least this alike (difflib's ratio, after normalising) read as the same complaint.
SIMILAR = 0.85


class TicketLike(Protocol):
    @property
    def ticket_id(self) -> int: ...
    @property
    def subject(self) -> str: ...
    @property
    def requester_id(self) -> int | None: ...
    @property
    def organization_id(self) -> int | None: ...
    @property
    def ticket_created_at(self) -> datetime | None: ...


T = TypeVar("T", bound=TicketLike)


def normalised(subject: str) -> str:
    """A subject without reply prefixes, case, punctuation or extra spaces."""
    text = re.sub(r"^\s*((re|fwd?|aw)\s*:\s*)+", "", subject.lower())
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def similar_subjects(first: str, second: str) -> bool:
    a, b = normalised(first), normalised(second)
    return bool(a and b) and (a == b or SequenceMatcher(None, a, b).ratio() >= SIMILAR)


def _alike(a: TicketLike, b: TicketLike) -> bool:
    if a.requester_id is not None and a.requester_id == b.requester_id:
        return True
    same_org = a.organization_id is not None and a.organization_id == b.organization_id
    return same_org and similar_subjects(a.subject, b.subject)


def likely_duplicates(tickets: Sequence[T]) -> list[list[T]]:
    """Groups of two or more alike tickets (alike to alike is one group), oldest ticket first;
    the groups in the order of their oldest tickets."""
    parent = list(range(len(tickets)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(tickets)):
        for j in range(i + 1, len(tickets)):
            if _alike(tickets[i], tickets[j]):
                parent[root(j)] = root(i)
    groups: dict[int, list[T]] = {}
    for i, ticket in enumerate(tickets):
        groups.setdefault(root(i), []).append(ticket)
    found = [sorted(g, key=_naive_age) for g in groups.values() if len(g) > 1]
    return sorted(found, key=lambda g: _naive_age(g[0]))


def _naive_age(ticket: TicketLike) -> tuple[float, int]:
    """Sort key: the creation time as a number (unknown last), then the id."""
    created = ticket.ticket_created_at
    return (created.timestamp() if created else float("inf"), ticket.ticket_id)
