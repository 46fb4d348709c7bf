"""Slack's /comms slash command: signed by Slack, answered within 3 s, later via response_url."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, cast

from flask import request

from comms.actions import slack
from comms.slack import commands
from comms.slack.client import SlackError, respond
from comms.web.api import ApiError, bp
from comms.web.context import clock, now, services, settings

log = logging.getLogger(__name__)
ANSWER_WITHIN_SECONDS = 2.0  # Slack gives up after 3 s; what takes longer goes to response_url


@bp.post("/slack/commands")
def slack_command():
    """Answer /comms status, pause or resume for the incident whose channel it came from."""
    body = request.get_data()
    try:
        commands.verify(
            secret=settings().slack.signing_secret,
            headers=cast(Mapping[str, str], request.headers),
            body=body,
            now=now(),
        )
        command = commands.parse(request.form)
    except commands.CommandRefused as error:
        raise ApiError(401, "refused", str(error)) from None
    except ValueError as error:
        raise ApiError(400, "bad_request", str(error)) from None
    done, handoff = threading.Event(), threading.Lock()
    answer: dict[str, Any] = {}
    late = [False]  # set under handoff when the view has answered "working on it"
    config, time, sessions = settings(), clock(), services()["sessionmaker"]

    def work() -> None:
        with sessions() as db_session:
            try:
                answer.update(slack.answer(db_session, command, now=time.now(), settings=config))
            except Exception:  # the user is told, the log has the details
                log.exception("/comms %s failed", command.verb)
                answer.update(response_type="ephemeral", text="comms could not do that; try again.")
        with handoff:
            done.set()
            if not late[0]:
                return
        if command.response_url:
            try:
                respond(command.response_url, answer, timeout=config.slack.timeout)
            except SlackError as error:
                log.warning("the late answer to /comms %s was lost: %s", command.verb, error)

    threading.Thread(target=work, daemon=True, name="slack-command").start()
    done.wait(ANSWER_WITHIN_SECONDS)
    with handoff:
        if done.is_set():
            return answer
        late[0] = True
    return {"response_type": "ephemeral", "text": "Working on it: the answer follows here."}
