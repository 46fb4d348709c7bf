"""Send built e-mails over one reused SMTP connection, or write them to an outbox folder."""

from __future__ import annotations

import io
import re
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path
from types import TracebackType
from typing import Literal

from comms.config import SmtpSettings
from comms.mail.message import WireMessage

State = Literal["sent", "retrying", "failed", "uncertain"]


class MailServerUnavailable(Exception):
    """The mail server cannot be used right now; nothing was sent, so the delivery stays pending."""


@dataclass(frozen=True)
class SendOutcome:
    """What became of one message: its delivery state and the server's reply as text."""

    state: State
    reply: str


def _reply_text(code: int, text: bytes | str) -> str:
    """Render an SMTP reply as one line, like "451 4.3.0 Try again later"."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return " ".join(f"{code} {text}".split())


def _state_for(code: int) -> State:
    """Map a reply code before DATA completes: 2xx sent, 5xx failed, anything else retrying."""
    if 200 <= code < 300:
        return "sent"
    return "failed" if 500 <= code < 600 else "retrying"


def _describe(error: BaseException, timeout: float) -> str:
    """Say in plain words why a connection failed."""
    if isinstance(error, smtplib.SMTPServerDisconnected) and isinstance(error.__context__, OSError):
        error = error.__context__  # smtplib wraps timeouts and resets; name the real cause
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"no answer within {timeout:g} seconds"
    if isinstance(error, socket.gaierror):
        return "the host name cannot be resolved"
    if isinstance(error, ssl.SSLError):
        return f"TLS failed ({error.reason or error})"
    if isinstance(error, smtplib.SMTPConnectError):
        reply = _reply_text(error.smtp_code, error.smtp_error)
        return f"the server refused the connection ({reply})"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return "the server does not offer STARTTLS"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    return str(error) or type(error).__name__


def _open(settings: SmtpSettings) -> smtplib.SMTP:
    """Connect, greet, start TLS and log in as configured; MailServerUnavailable otherwise."""
    where = f"the mail server at {settings.host}:{settings.port}"
    smtp: smtplib.SMTP | None = None
    try:
        if settings.ssl:
            context = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        smtp.ehlo_or_helo_if_needed()
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.username:
            smtp.login(settings.username, settings.password)
        return smtp
    except smtplib.SMTPAuthenticationError as error:
        _close_quietly(smtp)
        reply = _reply_text(error.smtp_code, error.smtp_error)
        raise MailServerUnavailable(
            f"{where} refused the login for {settings.username!r}: {reply}"
        ) from error
    except (OSError, smtplib.SMTPException) as error:
        _close_quietly(smtp)
        reason = _describe(error, settings.timeout)
        raise MailServerUnavailable(f"{where} cannot be reached: {reason}") from error


def _close_quietly(smtp: smtplib.SMTP | None) -> None:
    """Close a connection that may already be broken."""
    if smtp is None:
        return
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _flat(message: EmailMessage | WireMessage) -> bytes:
    """The message's bytes with CRLF endings."""
    if isinstance(message, WireMessage):
        return message.data
    buffer = io.BytesIO()
    BytesGenerator(buffer, policy=message.policy.clone(linesep="\r\n")).flatten(message)
    return buffer.getvalue()


def _wire_bytes(message: EmailMessage | WireMessage) -> bytes:
    """Flatten with CRLF endings and dot-stuffing, ready to follow DATA."""
    data = _flat(message)
    if data.startswith(b".") or b"\n." in data:  # rare: a search costs less than the regex
        data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def envelope_of(message: EmailMessage | WireMessage) -> tuple[str, str]:
    """Return the envelope sender and the one recipient of a built message."""
    if isinstance(message, WireMessage):
        return message.sender, message.recipient
    sender = parseaddr(str(message["From"]))[1]
    recipients = [addr for _, addr in getaddresses([str(message["To"])]) if addr]
    if len(recipients) != 1 or message["Cc"] or message["Bcc"]:
        raise ValueError("a client e-mail goes to exactly one To address, with no Cc or Bcc")
    return sender, recipients[0]


STEPS = (("mail", 250), ("rcpt", 250), ("data", 354))


def _accepted(command: str, expected: int, code: int) -> bool:
    """The reply lets the transaction go on (251: the relay forwards to the recipient)."""
    return code == expected or (command == "rcpt" and code == 251)


class _Dropped(Exception):
    """The connection broke before the message data was complete: nothing was delivered."""


class _Closing(_Dropped):
    """The server answered 421: it is closing the connection before the message data."""


class Pace:
    """At most `per_second` messages a second, shared by every connection that uses it."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next_at: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Take the next slot and sleep until it comes."""
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = now if self._next_at is None else max(now, self._next_at)
            self._next_at = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class Mailer:
    """Send many messages through one connection (or to the outbox), used as a context manager.

    Several mailers may share one `pace`, so that together they keep to max_per_second.
    """

    def __init__(self, settings: SmtpSettings, *, pace: Pace | None = None) -> None:
        self.settings = settings
        self.pace = pace or Pace(settings.max_per_second)
        self._smtp: smtplib.SMTP | None = None
        self.connections_opened = 0

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Say QUIT and close the connection, if one is open."""
        _close_quietly(self._smtp)
        self._smtp = None

    def send(self, message: EmailMessage | WireMessage) -> SendOutcome:
        """Send one message; MailServerUnavailable when it certainly did not leave."""
        self.pace.wait()  # some relays throttle or block bursts
        if self.settings.backend == "outbox":
            return self._write_to_outbox(message)
        reused = self._smtp is not None
        try:
            return self._transact(message)
        except _Dropped as dropped:
            self.close()
            if not reused:
                return self._give_up(dropped)
        # The server dropped an idle connection between messages: reconnect once.
        try:
            return self._transact(message)
        except _Dropped as dropped:
            self.close()
            return self._give_up(dropped)

    def _give_up(self, dropped: _Dropped) -> SendOutcome:
        """A 421 from a fresh connection is a reply to retry on; a broken connection is not."""
        if isinstance(dropped, _Closing):
            return SendOutcome("retrying", str(dropped))
        raise MailServerUnavailable(self._unreachable(dropped)) from dropped

    def _unreachable(self, dropped: _Dropped) -> str:
        where = f"the mail server at {self.settings.host}:{self.settings.port}"
        return f"{where} cannot be reached: {dropped}"

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = _open(self.settings)
            self.connections_opened += 1
        return self._smtp

    def _transact(self, message: EmailMessage | WireMessage) -> SendOutcome:
        """Run MAIL, RCPT and DATA, to know whether a failure came before the data.

        A relay that offers PIPELINING (RFC 2920) gets the three in one round trip; any other
        gets them one at a time.
        """
        sender, recipient = envelope_of(message)
        data = _wire_bytes(message)
        smtp = self._connection()
        try:
            if smtp.has_extn("pipelining") and (sender + recipient).isascii():
                replies = self._pipelined(smtp, sender, recipient)
            else:
                replies = self._one_by_one(smtp, sender, recipient)
            refused = self._refusal(smtp, replies)
            if refused is not None:
                return refused
            smtp.send(data)
        except (OSError, smtplib.SMTPException) as error:
            raise _Dropped(_describe(error, self.settings.timeout)) from error
        return self._final_reply(smtp)

    @staticmethod
    def _pipelined(smtp: smtplib.SMTP, sender: str, recipient: str) -> list[tuple[int, bytes]]:
        """Send MAIL, RCPT and DATA at once and read their replies (none after a 421: the
        relay is closing the connection)."""
        smtp.send(f"MAIL FROM:<{sender}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode("ascii"))
        replies = []
        for _ in STEPS:
            replies.append(smtp.getreply())
            if replies[-1][0] == 421:
                break
        return replies

    @staticmethod
    def _one_by_one(smtp: smtplib.SMTP, sender: str, recipient: str) -> list[tuple[int, bytes]]:
        """Send MAIL, RCPT and DATA one after another, stopping at the first refusal."""
        replies = []
        for command, expected in STEPS:
            if command == "mail":
                reply = smtp.mail(sender)
            elif command == "rcpt":
                reply = smtp.rcpt(recipient)
            else:
                reply = smtp.docmd("DATA")
            replies.append(reply)
            if not _accepted(command, expected, reply[0]):
                break
        return replies

    def _refusal(self, smtp: smtplib.SMTP, replies: list[tuple[int, bytes]]) -> SendOutcome | None:
        """The outcome of the first refused step (None when DATA may follow)."""
        for (command, expected), (code, text) in zip(STEPS, replies, strict=False):
            if code == 421:
                raise _Closing(_reply_text(code, text))
            if not _accepted(command, expected, code):
                if replies[-1][0] == 354:
                    self.close()  # the relay wants data for a refused envelope: never send it
                else:
                    self._reset(smtp)
                return SendOutcome(_state_for(code), _reply_text(code, text))
        return None

    def _reset(self, smtp: smtplib.SMTP) -> None:
        """Abandon the transaction so the connection can carry the next message."""
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def _final_reply(self, smtp: smtplib.SMTP) -> SendOutcome:
        """Read the reply to the end of data; silence now means the message may have arrived."""
        try:
            code, text = smtp.getreply()
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            reason = _describe(error, self.settings.timeout)
            return SendOutcome("uncertain", f"no reply after the message data was sent: {reason}")
        if code == 421:
            self.close()
        state: State = "uncertain" if code < 200 else _state_for(code)
        return SendOutcome(state, _reply_text(code, text))

    def _write_to_outbox(self, message: EmailMessage | WireMessage) -> SendOutcome:
        """Write the message as a .eml file named after its Message-ID (a retry overwrites it)."""
        folder = Path(self.settings.outbox_dir)
        folder.mkdir(parents=True, exist_ok=True)
        if isinstance(message, WireMessage):
            message_id = message.message_id
        else:
            message_id = str(message["Message-ID"] or "")
        message_id = message_id or f"message-{time.time_ns()}"
        name = re.sub(r"[^A-Za-z0-9._@-]+", "_", message_id.strip("<>"))[:200]
        path = folder / f"{name}.eml"
        temporary = path.with_suffix(".eml.tmp")
        temporary.write_bytes(
            _flat(message) if isinstance(message, WireMessage) else bytes(message)
        )
        temporary.replace(path)
        return SendOutcome("sent", f"written to {path}")


def check_connection(settings: SmtpSettings) -> str:
    """Try the configured mail server (connect, log in, quit) and describe the result."""
    if settings.backend == "outbox":
        folder = Path(settings.outbox_dir).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return f"Mail is not sent: it is written as .eml files to {folder}."
    smtp = _open(settings)
    _close_quietly(smtp)
    how = "over TLS" if settings.ssl else "with STARTTLS" if settings.starttls else "unencrypted"
    login = f", logged in as {settings.username!r}" if settings.username else ""
    return f"Connected to the mail server at {settings.host}:{settings.port} {how}{login}."
