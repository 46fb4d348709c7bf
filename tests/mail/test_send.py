"""Sending through a real SMTP server: one connection, clear outcomes, and the outbox."""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from comms.config import Settings, SmtpSettings
from comms.mail.send import Mailer, MailServerUnavailable, check_connection
from comms.sandbox.mailcatcher import MailCatcher


def test_three_messages_arrive_over_one_session(
    smtp_settings: Settings, catcher: MailCatcher, make_message
) -> None:
    with Mailer(smtp_settings.smtp) as mailer:
        outcomes = [mailer.send(make_message(n)) for n in range(3)]
    assert [outcome.state for outcome in outcomes] == ["sent"] * 3
    assert outcomes[0].reply.startswith("250")
    assert catcher.sessions == 1
    received = catcher.messages
    assert [caught.rcpt_tos for caught in received] == [
        (f"contact{n}@client.example",) for n in range(3)
    ]
    assert [caught.message["To"] for caught in received] == [
        f"Contact {n} <contact{n}@client.example>" for n in range(3)
    ]
    assert received[0].mail_from == "support@example.com"
    assert received[0].subject.startswith("Update on INC-42")
    assert "no change since our last update" in received[0].text
    assert "no change since our last update" in received[0].html


def test_a_dropped_connection_is_reopened(
    smtp_settings: Settings, catcher: MailCatcher, make_message
) -> None:
    with Mailer(smtp_settings.smtp) as mailer:
        assert mailer.send(make_message(1)).state == "sent"
        catcher.stop()
        catcher.start()
        assert mailer.send(make_message(2)).state == "sent"
        assert mailer.connections_opened == 2
    assert [caught.rcpt_tos for caught in catcher.messages][-1] == ("contact2@client.example",)


def test_a_421_on_a_reused_connection_reconnects(
    smtp_settings: Settings, catcher: MailCatcher, make_message
) -> None:
    with Mailer(smtp_settings.smtp) as mailer:
        assert mailer.send(make_message(1)).state == "sent"
        catcher.fail_next(code=421, stage="mail")
        assert mailer.send(make_message(2)).state == "sent"
        catcher.fail_next(code=421, stage="mail", count=2)
        outcome = mailer.send(make_message(3))
    assert (outcome.state, outcome.reply[:3]) == ("retrying", "421")
    assert catcher.sessions == 3


@pytest.mark.parametrize(
    ("code", "stage", "state"),
    [
        (451, "rcpt", "retrying"),
        (550, "rcpt", "failed"),
        (452, "mail", "retrying"),
        (554, "data", "failed"),
        (451, "data", "retrying"),
    ],
)
def test_refusals_map_to_states(
    smtp_settings: Settings, catcher: MailCatcher, make_message, code: int, stage: str, state: str
) -> None:
    catcher.fail_next(code=code, stage=stage)
    with Mailer(smtp_settings.smtp) as mailer:
        outcome = mailer.send(make_message(1))
        assert (outcome.state, outcome.reply[:3]) == (state, str(code))
        assert mailer.send(make_message(2)).state == "sent"
    assert catcher.sessions == 1


def test_silence_after_the_data_is_uncertain(
    smtp_settings: Settings, catcher: MailCatcher, make_message
) -> None:
    catcher.hang_after_data()
    with Mailer(smtp_settings.smtp) as mailer:
        outcome = mailer.send(make_message(1))
        assert outcome.state == "uncertain"
        assert "no reply after the message data was sent" in outcome.reply
        assert mailer.send(make_message(2)).state == "sent"
    assert len(catcher.messages) == 2


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_server_raises_a_clear_error(make_message) -> None:
    port = closed_port()
    settings = SmtpSettings(backend="smtp", host="127.0.0.1", port=port, timeout=1.0)
    expected = f"the mail server at 127.0.0.1:{port} cannot be reached: connection refused"
    with pytest.raises(MailServerUnavailable) as problem, Mailer(settings) as mailer:
        mailer.send(make_message(1))
    assert str(problem.value) == expected
    with pytest.raises(MailServerUnavailable, match="connection refused"):
        check_connection(settings)


def test_check_connection_describes_the_server(smtp_settings: Settings) -> None:
    sentence = check_connection(smtp_settings.smtp)
    assert (
        sentence
        == f"Connected to the mail server at 127.0.0.1:{smtp_settings.smtp.port} unencrypted."
    )


def test_rate_limit_spaces_messages(
    smtp_settings: Settings, catcher: MailCatcher, make_message
) -> None:
    smtp = replace(smtp_settings.smtp, max_per_second=20.0)
    started = time.monotonic()
    with Mailer(smtp) as mailer:
        for n in range(3):
            mailer.send(make_message(n))
    assert time.monotonic() - started >= 0.1
    assert len(catcher.messages) == 3


def test_outbox_writes_eml_files_that_parse_back(
    settings: Settings, tmp_path: Path, make_message
) -> None:
    outbox = tmp_path / "outbox" / "new"
    smtp = replace(settings.smtp, backend="outbox", outbox_dir=str(outbox))
    with Mailer(smtp) as mailer:
        outcomes = [mailer.send(make_message(n)) for n in range(2)]
        mailer.send(make_message(1))  # a retry keeps its Message-ID, so it replaces the file
    assert {outcome.state for outcome in outcomes} == {"sent"}
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 2
    parsed = message_from_bytes(files[1].read_bytes(), policy=default)
    assert parsed["To"] == "Contact 1 <contact1@client.example>"
    assert parsed["X-Incident-Reference"] == "INC-42"
    assert "no change since our last update" in parsed.get_body(("plain",)).get_content()
    assert "written to" in outcomes[0].reply
    assert "written as .eml files" in check_connection(smtp)


def test_login_is_used_and_a_refused_login_is_explained(make_message) -> None:
    with MailCatcher(username="comms", password="s3cret") as catcher:
        smtp = SmtpSettings(
            backend="smtp", port=catcher.port, username="comms", password="s3cret", timeout=1.0
        )
        assert check_connection(smtp).endswith("logged in as 'comms'.")
        with Mailer(smtp) as mailer:
            assert mailer.send(make_message(1)).state == "sent"
        wrong = replace(smtp, password="guess")
        with pytest.raises(MailServerUnavailable, match="refused the login for 'comms': 535"):
            check_connection(wrong)
