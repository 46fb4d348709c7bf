"""PIPELINING (RFC 2920): MAIL, RCPT and DATA in one round trip, where the relay offers it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from comms.config import Settings
from comms.mail.send import Mailer
from comms.sandbox.mailcatcher import MailCatcher


def recipients(catcher: MailCatcher) -> list[tuple[str, ...]]:
    return [caught.rcpt_tos for caught in catcher.messages]


def test_a_pipelining_relay_gets_the_envelope_in_one_go_and_each_message_once(
    smtp_settings: Settings, catcher: MailCatcher, make_message
) -> None:
    with Mailer(smtp_settings.smtp) as mailer:
        outcomes = [mailer.send(make_message(n)) for n in range(3)]
    assert [outcome.state for outcome in outcomes] == ["sent"] * 3
    assert recipients(catcher) == [(f"contact{n}@client.example",) for n in range(3)]
    # MAIL and RCPT were not waited for: two replies read together per message.
    assert catcher.sent_ahead == 6 and catcher.sessions == 1


@pytest.mark.parametrize(("code", "state"), [(550, "failed"), (451, "retrying")])
def test_a_refused_recipient_in_a_pipelined_envelope_fails_only_its_message(
    smtp_settings: Settings, catcher: MailCatcher, make_message, code: int, state: str
) -> None:
    with Mailer(smtp_settings.smtp) as mailer:
        first = mailer.send(make_message(0))
        catcher.fail_next(code=code, stage="rcpt")
        refused = mailer.send(make_message(1))
        last = mailer.send(make_message(2))
    assert (first.state, refused.state, last.state) == ("sent", state, "sent")
    assert refused.reply.startswith(str(code))
    assert recipients(catcher) == [("contact0@client.example",), ("contact2@client.example",)]
    assert catcher.sessions == 1


def test_a_refused_sender_in_a_pipelined_envelope_sends_no_data(
    smtp_settings: Settings, catcher: MailCatcher, make_message
) -> None:
    catcher.fail_next(code=452, stage="mail")
    with Mailer(smtp_settings.smtp) as mailer:
        refused = mailer.send(make_message(0))
        sent = mailer.send(make_message(1))
    assert (refused.state, refused.reply[:3], sent.state) == ("retrying", "452", "sent")
    assert recipients(catcher) == [("contact1@client.example",)]


def test_a_relay_without_pipelining_gets_one_command_at_a_time(
    smtp_settings: Settings, make_message
) -> None:
    """Like Exim, this relay drops a client that sends ahead of its replies."""
    with MailCatcher(pipelining=False) as strict:
        smtp = replace(smtp_settings.smtp, port=strict.port)
        with Mailer(smtp) as mailer:
            outcomes = [mailer.send(make_message(n)) for n in range(3)]
        assert [outcome.state for outcome in outcomes] == ["sent"] * 3
        assert recipients(strict) == [(f"contact{n}@client.example",) for n in range(3)]
        assert strict.sent_ahead == 0 and strict.sessions == 1
