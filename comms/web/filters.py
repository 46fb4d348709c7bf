"""Template filters: times in the configured zone, ages and countdowns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask

from comms.updates.state import span as _span
from comms.web import context


def local(moment: datetime | None, fmt: str = "%a %d %b %H:%M %Z") -> str:
    """A time in the configured zone, the zone named."""
    if moment is None:
        return "—"
    return moment.astimezone(context.settings().web.tz).strftime(fmt)


def ago(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return _span((context.now() - moment).total_seconds()) + " ago"


def until(moment: datetime | None) -> str:
    """A countdown to a time, or how long it is overdue."""
    if moment is None:
        return "none scheduled"
    seconds = (moment - context.now()).total_seconds()
    return f"in {_span(seconds)}" if seconds >= 0 else f"{_span(seconds)} overdue"


def overdue(moment: datetime | None) -> bool:
    return moment is not None and moment < context.now()


@dataclass
class OutcomeGroup:
    """Tickets of a bulk operation that ended the same way, said once."""

    ok: bool
    message: str
    ticket_ids: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        """ "Ticket 7", or "300 tickets (1, 2, 3, … 300)"."""
        ids = self.ticket_ids
        if len(ids) == 1:
            return f"Ticket {ids[0]}"
        shown = ", ".join(map(str, ids)) if len(ids) <= 8 else f"{ids[0]}, {ids[1]}, … {ids[-1]}"
        return f"{len(ids)} tickets ({shown})"


def grouped(outcomes: list[dict[str, Any]]) -> list[OutcomeGroup]:
    """Per-ticket outcomes grouped by what happened, so one reason reads as one sentence."""
    groups: dict[tuple[bool, str], OutcomeGroup] = {}
    for outcome in outcomes:
        key = (bool(outcome.get("ok")), str(outcome.get("message") or ""))
        groups.setdefault(key, OutcomeGroup(*key)).ticket_ids.append(outcome["ticket_id"])
    return list(groups.values())


def init_app(app: Flask) -> None:
    filters: dict[str, Callable[..., Any]] = {
        "local": local,
        "ago": ago,
        "until": until,
        "grouped": grouped,
    }
    for name, function in filters.items():
        app.add_template_filter(function, name)
    app.add_template_test(overdue, "overdue")
