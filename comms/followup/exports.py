"""The timeline as CSV and Markdown, and the review meeting as an iCalendar invite."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event, vCalAddress, vText

from comms.auth.models import User
from comms.config import Settings
from comms.followup.report import Report, md
from comms.incidents.models import Incident, TimelineEvent

REVIEW_LENGTH = timedelta(hours=1)
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """Quote text that a spreadsheet would otherwise run as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def timeline_csv(events: Iterable[TimelineEvent], settings: Settings) -> str:
    """The timeline as CSV: time (ISO, configured zone), actor, kind, summary, details JSON."""
    return "".join(timeline_csv_lines(events, settings))


def timeline_csv_lines(events: Iterable[TimelineEvent], settings: Settings) -> Iterator[str]:
    """The same CSV a row at a time, so a long timeline streams instead of piling up."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("at", "actor", "kind", "summary", "details"))
    for e in events:
        at = e.at.astimezone(settings.web.tz).isoformat()
        details = json.dumps(e.details, ensure_ascii=False, sort_keys=True)
        writer.writerow([at, *(_cell(v) for v in (e.actor, e.kind, e.summary, details))])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


def timeline_markdown(incident: Incident, events: list[TimelineEvent], settings: Settings) -> str:
    """The timeline as a Markdown table, oldest first, times in the configured zone."""
    out = [f"# Timeline: {incident.reference} {md(incident.title)}", ""]
    out += [f"All times in {settings.web.timezone}.", "", "| When | Who | Kind | What |"]
    out += ["| --- | --- | --- | --- |"]
    out += [
        f"| {e.at.astimezone(settings.web.tz):%Y-%m-%d %H:%M:%S %Z} | {md(e.actor)} "
        f"| {md(e.kind)} | {md(e.summary)} |"
        for e in events
    ]
    return "\n".join(out) + "\n"


def _address(user_or_email: User | str, name: str = "") -> vCalAddress:
    email = user_or_email if isinstance(user_or_email, str) else user_or_email.email
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(name or getattr(user_or_email, "name", "") or email)
    return address


def review_invite(report: Report, settings: Settings) -> bytes:
    """The review meeting as an iCalendar request; the UID stays, the sequence counts changes."""
    incident = report.incident
    sequence = sum(e.kind in ("review_changed", "review_skipped") for e in report.events)
    if incident.review_at is None:
        raise ValueError(f"{incident.reference} has no review meeting")
    base = settings.web.base_url.rstrip("/")
    start = incident.review_at.astimezone(settings.web.tz)
    event = Event()
    event.add("uid", f"{incident.reference.lower()}-review@{urlsplit(base).hostname}")
    event.add("dtstamp", report.now.astimezone(UTC))
    event.add("sequence", sequence)
    event.add("dtstart", start)
    event.add("dtend", start + REVIEW_LENGTH)
    event.add("summary", f"Incident review: {incident.reference} {incident.title}")
    event.add(
        "description", f"The draft incident report: {base}/incidents/{incident.reference}/report"
    )
    if report.comms_manager:
        event.add("organizer", _address(report.comms_manager))
    people: dict[str, vCalAddress] = {}
    for person in (incident.lead_email, report.comms_manager, report.owner):
        if person:
            name = incident.lead_name if isinstance(person, str) else ""
            address = _address(person, name)
            people.setdefault(str(address).lower(), address)
    for address in people.values():
        address.params["ROLE"] = "REQ-PARTICIPANT"
        address.params["RSVP"] = "TRUE"
        event.add("attendee", address)
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.web.company_name}//comms//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    calendar.add_component(event)
    calendar.add_missing_timezones(
        start.date() - timedelta(days=366), start.date() + timedelta(days=366)
    )
    return bytes(calendar.to_ical())
