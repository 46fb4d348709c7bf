"""A real SMTP server that keeps what it receives, with fault modes for tests and drills."""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

STAGES = ("mail", "rcpt", "data")


@dataclass(frozen=True)
class CaughtMessage:
    """One received message with its SMTP envelope."""

    message: EmailMessage
    mail_from: str
    rcpt_tos: tuple[str, ...]
    received_at: datetime
    raw: bytes = field(repr=False)

    @property
    def subject(self) -> str:
        """The subject, unfolded (Python keeps the space of a fold right after "Subject:")."""
        return str(self.message["Subject"] or "").strip()

    @property
    def text(self) -> str:
        """The plain-text body, or "" when there is none."""
        part = self.message.get_body(("plain",))
        return str(part.get_content()) if part is not None else ""  # type: ignore[attr-defined]

    @property
    def html(self) -> str:
        """The HTML body, or "" when there is none."""
        part = self.message.get_body(("html",))
        return str(part.get_content()) if part is not None else ""  # type: ignore[attr-defined]


def free_port(host: str) -> int:
    """Ask the system for a port nobody is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class _Handler:
    """aiosmtpd hooks that record sessions and messages and inject the requested faults."""

    def __init__(self, catcher: MailCatcher) -> None:
        self.catcher = catcher

    async def handle_HELO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str
    ) -> str:
        self.catcher._count_session(session)
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.catcher._count_session(session)
        session.host_name = hostname
        if self.catcher.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        fault = self.catcher._take_fault("mail")
        if fault:
            return fault
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        fault = self.catcher._take_fault("rcpt")
        if fault:
            return fault
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self.catcher._take_fault("data")
        if fault:
            return fault
        self.catcher._store(envelope)
        if self.catcher._take_hang():
            await self.catcher._stopping.wait()
            return "421 Shutting down"
        return "250 OK: message accepted"


class _Server(SMTP):
    """aiosmtpd's server, which reads commands one by one from a buffer, so it handles
    pipelined commands (RFC 2920). Told not to offer PIPELINING, it refuses a command sent
    ahead of the reply to the one before, as Exim does, and closes the connection."""

    def __init__(self, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.catcher = handler.catcher

    async def push(self, status: Any) -> None:
        await super().push(status)
        text = status.decode() if isinstance(status, bytes) else str(status)
        if text[3:4] == "-" or text.startswith("354") or self.transport is None:
            return  # more of this reply follows, or the message data may follow at once
        if self._reader._buffer:  # type: ignore[attr-defined]
            # The client sent its next command before it could have read this reply.
            with self.catcher._lock:
                self.catcher.sent_ahead += 1
            if not self.catcher.pipelining:
                await super().push("554 5.5.0 SMTP synchronization error")
                self.transport.close()


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _Server(self.handler, **self.SMTP_kwargs)


class MailCatcher:
    """An SMTP server on host:port (0 picks a free port) that keeps every message it accepts.

    It offers PIPELINING unless told not to (`pipelining=False`); `sent_ahead` counts the
    replies a client did not wait for before sending more.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        username: str = "",
        password: str = "",
        pipelining: bool = True,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.pipelining = pipelining
        self.sent_ahead = 0
        self.username = username
        self.password = password
        self._lock = threading.Lock()
        self._messages: list[CaughtMessage] = []
        self._faults: list[tuple[str, str]] = []
        self._hangs = 0
        self._sessions = 0
        self._controller: Controller | None = None
        self._stopping = asyncio.Event()

    def __enter__(self) -> MailCatcher:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def start(self) -> None:
        """Start listening in a background thread."""
        self._stopping = asyncio.Event()
        options: dict[str, Any] = {}
        if self.username:
            # Offer AUTH without TLS (loopback only); login stays optional, as aiosmtpd warns
            # when AUTH is required over plain text.
            options = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = _Controller(
            _Handler(self), hostname=self.host, port=self.port, **options
        )
        self._controller.start()
        # The controller's own start-up probe connects once; it is not a client session.
        with self._lock:
            self._sessions = 0

    def stop(self) -> None:
        """Release any hung replies, then stop the server and its thread."""
        controller, self._controller = self._controller, None
        if controller is None:
            return
        controller.loop.call_soon_threadsafe(self._stopping.set)
        controller.stop()

    @property
    def messages(self) -> list[CaughtMessage]:
        """A copy of the messages received so far, oldest first."""
        with self._lock:
            return list(self._messages)

    @property
    def sessions(self) -> int:
        """How many SMTP sessions clients have opened (counted at EHLO/HELO)."""
        with self._lock:
            return self._sessions

    def clear(self) -> None:
        """Forget received messages, session counts and pending faults."""
        with self._lock:
            self._messages.clear()
            self._faults.clear()
            self._hangs = 0
            self._sessions = 0
            self.sent_ahead = 0

    def fail_next(self, code: int = 451, count: int = 1, stage: str = "rcpt") -> None:
        """Answer the next `count` MAIL, RCPT or DATA (end of data) commands with `code`."""
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, not {stage!r}")
        text = "Requested action aborted: try again later" if code < 500 else "Mailbox unavailable"
        with self._lock:
            self._faults.extend([(stage, f"{code} {text}")] * count)

    def hang_after_data(self, count: int = 1) -> None:
        """Keep the next `count` messages but never answer their end of data (until stopped)."""
        with self._lock:
            self._hangs += count

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        given = (data.login, data.password) if isinstance(data, LoginPassword) else None
        wanted = (self.username.encode(), self.password.encode())
        return AuthResult(success=given == wanted, handled=False)

    def _count_session(self, session: Session) -> None:
        if not getattr(session, "comms_counted", False):
            session.comms_counted = True  # type: ignore[attr-defined]
            with self._lock:
                self._sessions += 1

    def _take_fault(self, stage: str) -> str | None:
        with self._lock:
            for index, (fault_stage, reply) in enumerate(self._faults):
                if fault_stage == stage:
                    del self._faults[index]
                    return reply
        return None

    def _take_hang(self) -> bool:
        with self._lock:
            if self._hangs:
                self._hangs -= 1
                return True
        return False

    def _store(self, envelope: Envelope) -> None:
        raw = bytes(envelope.original_content or envelope.content or b"")
        message = message_from_bytes(raw, policy=default)
        caught = CaughtMessage(
            message=message,  # type: ignore[arg-type]
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            received_at=datetime.now(UTC),
            raw=raw,
        )
        with self._lock:
            self._messages.append(caught)
