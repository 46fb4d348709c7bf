"""The fast wire form of a message says exactly what the EmailMessage form says."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default

import pytest

from comms.mail.message import HeaderInjection, build_message, build_wire, make_message_id
from comms.mail.render import RenderedEmail

FIRST = make_message_id("example.com", "inc-42", "initial", "contact-1")
LATEST = make_message_id("example.com", "inc-42", "update-7", "a-rather-long-contact-part")
CASES = {
    "plain": ("Sam Taylor", "Update on INC-42: sites are slow", "Dear Sam,\nAll is well.\n"),
    "accents": ("Zoë O'Brien-Łukasz", "Mise à jour : INC-42 — sites lents", "Chère Zoë,\n€5\n"),
    "specials": ('Taylor, Sam "ST" (IT)', "Re: [INC-42] a; b", "A line\r\nwith CRLF\rand CR"),
    "long": ("", "A subject " * 20, "x" * 300 + "\n.starts with a dot\n=3D\n"),
    "trailing": ("Sam", "Spaces at the end   ", "tab\t\nspace \nend"),
}


def both(name: str, subject: str, body: str, references: list[str]):
    rendered = RenderedEmail(subject=subject, text=body, html=f"<p>{body}</p>")
    fields = dict(
        to_name=name,
        to_address="contact1@client.example",
        from_address="Example Agency Support <support@example.com>",
        reply_to="support@example.com",
        message_id=make_message_id("example.com", "inc-42", "update-8", "contact-1"),
        in_reply_to=references[-1] if references else None,
        references=references,
        incident_reference="INC-42",
        date=datetime(2025, 3, 4, 13, 0, tzinfo=UTC),
    )
    standard = build_message(rendered, **fields).as_bytes()
    wire = build_wire(rendered, **fields)
    return standard, wire


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("references", [[], [FIRST], [FIRST, LATEST]])
def test_the_wire_form_reads_back_as_the_standard_one(case, references):
    standard, wire = both(*CASES[case], references)
    ours, theirs = (message_from_bytes(data, policy=default) for data in (wire.data, standard))
    assert ours.keys() == theirs.keys()
    for name in theirs:
        if name != "Content-Type":  # the boundary is random
            assert str(ours[name]) == str(theirs[name]), name
    assert ours.get_content_type() == theirs.get_content_type() == "multipart/alternative"
    for kind in ("plain", "html"):
        assert ours.get_body((kind,)).get_content() == theirs.get_body((kind,)).get_content()
        assert ours.get_body((kind,))["Content-Type"] == theirs.get_body((kind,))["Content-Type"]
    lines = wire.data.split(b"\r\n")
    assert all(len(line) <= 78 for line in lines) and b"\n" not in wire.data.replace(b"\r\n", b"")
    assert wire.data.isascii()
    assert (wire.sender, wire.recipient) == ("support@example.com", "contact1@client.example")


def test_the_wire_form_refuses_header_injection():
    with pytest.raises(HeaderInjection):
        both("Sam\r\nBcc: evil@example.com", "Hello", "Body", [])
    rendered = RenderedEmail(subject="Hi\nBcc: evil@example.com", text="x", html="x")
    with pytest.raises(HeaderInjection):
        build_wire(
            rendered,
            to_name="Sam",
            to_address="sam@client.example",
            from_address="support@example.com",
            reply_to="support@example.com",
            message_id="<a@example.com>",
            in_reply_to=None,
            references=[],
            incident_reference="INC-42",
            date=datetime(2025, 3, 4, 13, 0, tzinfo=UTC),
        )
