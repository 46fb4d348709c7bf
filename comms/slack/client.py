"""The only module that speaks to Slack's Web API (a bot token with chat:write)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from comms.config import SlackSettings

MAX_BLOCKS = 50  # per message (api.slack.com/reference/block-kit/blocks)
MAX_SECTION_TEXT = 3000


class SlackError(Exception):
    """Slack refused or could not be reached; the message says what to do."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class SlackRateLimited(SlackError):
    """HTTP 429: nothing was posted; try again after retry_after seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Slack asks to slow down for {retry_after} s", code="ratelimited")
        self.retry_after = retry_after


HINTS = {
    "invalid_auth": "Slack refused the bot token: check [slack] bot_token (COMMS_SLACK_BOT_TOKEN)",
    "not_authed": "no bot token was sent: set [slack] bot_token (COMMS_SLACK_BOT_TOKEN)",
    "token_revoked": "the bot token was revoked: reinstall the Slack app and copy the new one",
    "account_inactive": "the bot token belongs to a deactivated app or user",
    "missing_scope": "the Slack app lacks the chat:write scope: add it and reinstall the app",
    "not_in_channel": "the comms bot is not in the channel: /invite @comms in it",
    "channel_not_found": "Slack knows no such channel (or the bot cannot see it)",
    "is_archived": "the channel is archived",
}


@dataclass(frozen=True)
class Identity:
    team: str
    user: str
    url: str
    scopes: tuple[str, ...]


class SlackClient:
    """Slack's Web API over HTTPS with the bot token."""

    def __init__(self, settings: SlackSettings) -> None:
        self.settings = settings
        self.base = settings.url.rstrip("/")
        self.http = requests.Session()
        self.http.headers.update(
            {"Authorization": f"Bearer {settings.bot_token}", "User-Agent": "comms"}
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SlackClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self._send(method, payload)[0]

    def _send(self, method: str, payload: dict[str, Any]) -> tuple[dict[str, Any], str]:
        try:
            response = self.http.post(
                f"{self.base}/{method}", json=payload, timeout=self.settings.timeout
            )
        except requests.RequestException as error:
            raise SlackError(f"Slack at {self.base} cannot be reached: {error}") from None
        if response.status_code == 429:
            raise SlackRateLimited(int(response.headers.get("Retry-After") or 60))
        try:
            body = response.json()
        except ValueError:
            raise SlackError(f"Slack answered {method} with HTTP {response.status_code}") from None
        if not body.get("ok"):
            code = str(body.get("error") or f"HTTP {response.status_code}")
            hint = HINTS.get(code, "")
            raise SlackError(
                f"Slack refused {method}: {code}" + (f" ({hint})" if hint else ""), code=code
            )
        return dict(body), response.headers.get("X-OAuth-Scopes", "")

    def identity(self) -> Identity:
        """auth.test: who the token is (also how `comms check` signs in)."""
        body, scopes = self._send("auth.test", {})
        return Identity(
            team=str(body.get("team") or ""),
            user=str(body.get("user") or ""),
            url=str(body.get("url") or ""),
            scopes=tuple(s.strip() for s in scopes.split(",") if s.strip()),
        )

    def post(self, channel: str, text: str, *, details: str = "", thread_ts: str = "") -> str:
        """chat.postMessage: one short line, details below it; the message's ts."""
        blocks: list[dict[str, Any]] = [_section(text)]
        if details:
            blocks.append({"type": "context", "elements": [_mrkdwn(details)]})
        payload: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "blocks": blocks[:MAX_BLOCKS],
            "unfurl_links": False,
        }
        if thread_ts:
            payload["thread_ts"] = thread_ts
        return str(self._call("chat.postMessage", payload)["ts"])


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _clip(text)}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _clip(text: str) -> str:
    return text if len(text) <= MAX_SECTION_TEXT else text[: MAX_SECTION_TEXT - 1] + "…"


def respond(response_url: str, answer: dict[str, Any], *, timeout: float) -> None:
    """A later answer to a slash command, through the response_url Slack gave with it."""
    try:
        requests.post(response_url, json=answer, timeout=timeout).raise_for_status()
    except requests.RequestException as error:
        raise SlackError(f"Slack's response_url refused the answer: {error}") from None
