"""Build one client e-mail for one contact, with headers that thread and cannot be injected."""

from __future__ import annotations

import functools
import hashlib
import random
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email import quoprimime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from comms.mail.render import RenderedEmail

SAFE_PART = re.compile(r"^[A-Za-z0-9_-]+$")
SAFE_DOMAIN = re.compile(r"^[A-Za-z0-9.-]+$")
LINE = 78  # the SMTP policy's max_line_length


class HeaderInjection(ValueError):
    """A header value holds a line break (or other control character) and would forge headers."""


def _check_header(name: str, value: str) -> str:
    """Refuse a header value that could start a new header line."""
    if any(char in value for char in "\r\n\0"):
        raise HeaderInjection(f"the {name} header may not contain a line break: {value!r}")
    return value


@functools.cache  # one From address per process: parsed once, not once per message
def domain_of(address: str) -> str:
    """Return the domain of an address such as "Support <support@example.com>"."""
    _, addr_spec = parseaddr(_check_header("From", address))
    domain = addr_spec.rpartition("@")[2] if "@" in addr_spec else address
    return domain if SAFE_DOMAIN.match(domain) else "localhost"


def make_message_id(domain: str, *parts: str | int) -> str:
    """Build a Message-ID from stable parts, so a retried delivery keeps the same one.

    `domain` may be a bare domain or a whole From address. Parts made of letters, digits,
    "-" and "_" are used as they are; any other part (an e-mail address, say) is replaced
    by a short hash, which keeps addresses out of headers.
    """
    if not parts:
        raise ValueError("a Message-ID needs at least one part")
    words = []
    for part in parts:
        text = str(part)
        if not SAFE_PART.match(text):
            text = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        words.append(text)
    return f"<{'.'.join(words)}@{domain_of(domain)}>"


def one_address(header: str, name: str, address: str) -> Address:
    """Parse exactly one address, refusing lists and line breaks."""
    _check_header(header, name)
    _check_header(header, address)
    try:
        return Address(display_name=name, addr_spec=address.strip())
    except (ValueError, IndexError) as error:
        raise ValueError(f"the {header} address {address!r} is not one valid address") from error


def build_message(
    rendered: RenderedEmail,
    *,
    to_name: str,
    to_address: str,
    from_address: str,
    reply_to: str,
    message_id: str,
    in_reply_to: str | None,
    references: list[str],
    incident_reference: str,
    date: datetime,
) -> EmailMessage:
    """Build a multipart/alternative message to one contact only (never Cc or Bcc)."""
    if date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    message = EmailMessage(policy=SMTP)
    message["Subject"] = _check_header("Subject", rendered.subject)
    message["From"] = _check_header("From", from_address)
    message["To"] = one_address("To", to_name, to_address)
    message["Reply-To"] = _check_header("Reply-To", reply_to)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = _check_header("Message-ID", message_id)
    if in_reply_to:
        message["In-Reply-To"] = _check_header("In-Reply-To", in_reply_to)
    if references:
        message["References"] = " ".join(_check_header("References", ref) for ref in references)
    message["X-Incident-Reference"] = _check_header("X-Incident-Reference", incident_reference)
    message["Auto-Submitted"] = "auto-generated"
    # Stop Outlook and Exchange out-of-office replies becoming Zendesk tickets.
    message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    # Quoted-printable keeps the message 7-bit clean for any server, without 8BITMIME.
    message.set_content(rendered.text, cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    return message


@dataclass(frozen=True)
class WireMessage:
    """A message flattened for SMTP: its envelope, its Message-ID and its bytes (CRLF ends)."""

    sender: str
    recipient: str
    message_id: str
    data: bytes


@functools.lru_cache(maxsize=1024)
def _header(name: str, value: str) -> bytes:
    """One header line as the SMTP policy writes it; most are the same for every contact.

    A short ASCII value is written as it is; any other (a non-ASCII name, a long subject)
    is folded and encoded by the standard library itself.
    """
    _check_header(name, value)
    if value.isascii() and len(name) + len(value) + 2 <= LINE:
        return f"{name}: {value}\r\n".encode("ascii")
    return SMTP.fold_binary(name, SMTP.header_store_parse(name, value)[1])


@functools.lru_cache(maxsize=64)
def _date_header(date: datetime) -> bytes:
    """The Date line: the update's time, the same on every message of an update."""
    return _header("Date", format_datetime(date))


def _message_ids(name: str, ids: list[str]) -> bytes:
    """Message-IDs one after another, a new line before one that would pass 78 characters."""
    lines, line = [], f"{name}:"
    for each in ids:
        _check_header(name, each)
        if len(line) + 1 + len(each) > LINE and line != f"{name}:":
            lines.append(line)
            line = ""
        line += f" {each}"
    return "\r\n".join([*lines, line, ""]).encode("ascii")


@functools.lru_cache(maxsize=16)
def _addr_spec(address: str) -> str:
    """The bare address of "Name <address>" (the From address: the same on every message)."""
    return parseaddr(address)[1]


@functools.lru_cache(maxsize=4096)
def _quoted_printable_line(line: bytes) -> bytes:
    """One line encoded, with its CRLF: most lines are the same for every contact of an update."""
    return (
        quoprimime.body_encode(line.decode("latin-1") + "\n", LINE).replace("\n", "\r\n").encode()
    )


def _quoted_printable(text: str) -> bytes:
    """The body as set_content(cte="quoted-printable") encodes it, with CRLF line ends.

    Quoted-printable encodes each line on its own, so the lines are encoded (and cached) apart.
    """
    lines = text.encode("utf-8").splitlines() or [b""]
    return b"".join(_quoted_printable_line(line) for line in lines)


def build_wire(
    rendered: RenderedEmail,
    *,
    to_name: str,
    to_address: str,
    from_address: str,
    reply_to: str,
    message_id: str,
    in_reply_to: str | None,
    references: list[str],
    incident_reference: str,
    date: datetime,
) -> WireMessage:
    """The message build_message makes, flattened without parsing each header again.

    Python's header registry parses every header of every message; most of ours are the same
    for all contacts of an update (cached here) or are Message-IDs we made ourselves.
    """
    if date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    to = one_address("To", to_name, to_address)
    boundary = f"==============={random.randrange(sys.maxsize):019d}=="
    head = b"".join(
        (
            _header("Subject", rendered.subject),
            _header("From", from_address),
            _header("To", str(to)),
            _header("Reply-To", reply_to),
            _date_header(date),
            _header("Message-ID", _check_header("Message-ID", message_id)),
            _header("In-Reply-To", in_reply_to) if in_reply_to else b"",
            _message_ids("References", references) if references else b"",
            _header("X-Incident-Reference", incident_reference),
            b"Auto-Submitted: auto-generated\r\n",
            # Stop Outlook and Exchange out-of-office replies becoming Zendesk tickets.
            b"X-Auto-Response-Suppress: OOF, AutoReply\r\n",
            b"MIME-Version: 1.0\r\n",
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n'.encode(),
        )
    )
    parts = [
        f'--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode()
        + _quoted_printable(body)
        + b"\r\n"  # the line end before a boundary belongs to the boundary
        for subtype, body in (("plain", rendered.text), ("html", rendered.html))
    ]
    data = head + b"\r\n" + b"".join(parts) + f"--{boundary}--\r\n".encode()
    return WireMessage(
        sender=_addr_spec(from_address), recipient=to.addr_spec, message_id=message_id, data=data
    )
