"""Turn an update and one contact into the exact e-mail that contact receives."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

from comms.config import Settings
from comms.incidents.models import Incident
from comms.mail.message import WireMessage, build_message, build_wire, make_message_id, one_address
from comms.mail.render import EmailRenderer, RenderedEmail
from comms.updates.models import Delivery, Update

SHOWN_HEADERS = (
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "X-Incident-Reference",
)


class Recipient(Protocol):
    """What a message needs of its delivery: a stored Delivery, or the sender's claimed row."""

    @property
    def email(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def organizations(self) -> list[Any]: ...
    @property
    def message_id(self) -> str: ...
    @property
    def in_reply_to(self) -> str: ...
    @property
    def thread_references(self) -> str: ...


def delivery_message_id(settings: Settings, incident: Incident, number: int, email: str) -> str:
    """A Message-ID fixed by incident, update and address, so a resend keeps it."""
    return make_message_id(
        settings.smtp.from_address, f"inc-{incident.id}", f"update-{number}", email.lower()
    )


def context(
    incident: Incident, update: Update, *, name: str, organizations: list[str]
) -> dict[str, Any]:
    """The template values for one update to one contact."""
    return {
        "incident": {
            "reference": incident.reference,
            "title": incident.title,
            "severity": incident.severity,
            "status": incident.status,
        },
        "message": update.message,
        "repeats_previous": update.repeats_previous,
        "next_update_at": update.next_update_at,
        "contact": {"name": name, "organisations": list(organizations)},
    }


def render(
    renderer: EmailRenderer, incident: Incident, update: Update, delivery: Recipient
) -> RenderedEmail:
    """Render the three parts for one delivery; TemplateProblem if a template is broken."""
    values = context(
        incident, update, name=delivery.name, organizations=list(delivery.organizations or [])
    )
    return renderer.render(update.kind, values)


def check_address(name: str, email: str) -> None:
    """Refuse an address that build_message would refuse, without building the message."""
    one_address("To", name, email)


def _fields(
    settings: Settings, incident: Incident, update: Update, delivery: Recipient
) -> dict[str, Any]:
    """Everything but the rendered parts, threaded to what this contact received before.

    A contact's first message of an incident starts the thread; later ones answer their
    previous message and name their first (both fixed on the delivery when it was published).
    """
    references = (delivery.thread_references or "").split()
    if delivery.in_reply_to and not references:
        references = [delivery.in_reply_to]
    return dict(
        to_name=delivery.name,
        to_address=delivery.email,
        from_address=settings.smtp.from_address,
        reply_to=settings.smtp.reply_to,
        message_id=delivery.message_id,
        in_reply_to=delivery.in_reply_to or None,
        references=references,
        incident_reference=incident.reference,
        date=update.created_at,
    )


def build(
    renderer: EmailRenderer,
    settings: Settings,
    incident: Incident,
    update: Update,
    delivery: Delivery,
) -> EmailMessage:
    """Build the message for one delivery, as a preview shows it."""
    rendered = render(renderer, incident, update, delivery)
    return build_message(rendered, **_fields(settings, incident, update, delivery))


def build_for_sending(
    renderer: EmailRenderer,
    settings: Settings,
    incident: Incident,
    update: Update,
    delivery: Recipient,
) -> WireMessage:
    """The same message as `build`, flattened for SMTP at a fraction of the cost."""
    rendered = render(renderer, incident, update, delivery)
    return build_wire(rendered, **_fields(settings, incident, update, delivery))


def shown_headers(message: EmailMessage) -> dict[str, str]:
    """The headers a person checks in a preview, in reading order."""
    return {name: str(message[name]) for name in SHOWN_HEADERS if message[name] is not None}


def as_dict(rendered: RenderedEmail, headers: dict[str, str]) -> dict[str, Any]:
    """A preview as JSON for the web page and the API."""
    return {
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "headers": headers,
    }


def when(moment: datetime | None) -> str | None:
    """An aware time as ISO 8601 for JSON, or None."""
    return moment.isoformat() if moment else None
