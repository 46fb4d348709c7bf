"""Building messages: one recipient, threading headers, and no header injection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from comms.mail.message import HeaderInjection, build_message, make_message_id
from comms.mail.render import EmailRenderer, RenderedEmail


def build(rendered: RenderedEmail, **overrides: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "to_name": "Smith, Sam",
        "to_address": "sam@client.example",
        "from_address": "Example Agency Support <support@example.com>",
        "reply_to": "support@example.com",
        "message_id": "<inc-42.update-2.contact-7@example.com>",
        "in_reply_to": "<inc-42.initial.contact-7@example.com>",
        "references": ["<inc-42.initial.contact-7@example.com>"],
        "incident_reference": "INC-42",
        "date": datetime(2025, 3, 4, 13, 0, tzinfo=UTC),
    }
    values.update(overrides)
    return build_message(rendered, **values)  # type: ignore[arg-type]


@pytest.fixture
def rendered(renderer: EmailRenderer) -> RenderedEmail:
    return renderer.render("update", renderer.sample_context("update"))


def test_headers_address_one_contact_and_thread(rendered: RenderedEmail) -> None:
    message = build(rendered)
    assert message.get_all("To") == ['"Smith, Sam" <sam@client.example>']
    assert message["Cc"] is None and message["Bcc"] is None
    assert message["From"] == "Example Agency Support <support@example.com>"
    assert message["Reply-To"] == "support@example.com"
    assert message["Message-ID"] == "<inc-42.update-2.contact-7@example.com>"
    assert message["In-Reply-To"] == "<inc-42.initial.contact-7@example.com>"
    assert message["References"] == "<inc-42.initial.contact-7@example.com>"
    assert message["X-Incident-Reference"] == "INC-42"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"] == "Tue, 04 Mar 2025 13:00:00 +0000"
    assert message["Subject"] == rendered.subject


def test_body_is_text_and_html_alternatives(rendered: RenderedEmail) -> None:
    message = build(rendered)
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content() == rendered.text  # type: ignore[union-attr]
    assert message.get_body(("html",)).get_content() == rendered.html  # type: ignore[union-attr]
    assert bytes(message).isascii()


def test_the_first_update_has_no_threading_headers(rendered: RenderedEmail) -> None:
    message = build(rendered, in_reply_to=None, references=[])
    assert message["In-Reply-To"] is None and message["References"] is None


@pytest.mark.parametrize(
    "field",
    ["to_name", "to_address", "from_address", "reply_to", "message_id", "incident_reference"],
)
def test_line_breaks_in_headers_are_refused(rendered: RenderedEmail, field: str) -> None:
    with pytest.raises(HeaderInjection, match="may not contain a line break"):
        build(rendered, **{field: "sam@client.example\r\nBcc: everyone@example.com"})


def test_line_breaks_in_the_subject_are_refused() -> None:
    rendered = RenderedEmail(subject="Hello\nBcc: x@example.com", text="x", html="<p>x</p>")
    with pytest.raises(HeaderInjection, match="Subject"):
        build(rendered)


def test_more_than_one_recipient_is_refused(rendered: RenderedEmail) -> None:
    with pytest.raises(ValueError, match="not one valid address"):
        build(rendered, to_address="sam@client.example, alex@client.example")


def test_message_ids_are_stable_and_keep_addresses_out() -> None:
    first = make_message_id("Support <support@example.com>", "inc-3", "update-2", "sam@x.example")
    again = make_message_id("example.com", "inc-3", "update-2", "sam@x.example")
    assert first == again
    assert first.startswith("<inc-3.update-2.") and first.endswith("@example.com>")
    assert "sam" not in first
    assert make_message_id("example.com", "inc-3", 2) == "<inc-3.2@example.com>"
