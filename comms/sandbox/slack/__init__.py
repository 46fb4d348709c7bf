"""A Slack Web API emulator: chat.postMessage (threads), auth.test, Slack's errors and limits,
a record of what was posted, and signed slash commands delivered to comms."""

from __future__ import annotations

from typing import Any

from .server import SlackServer
from .slash import deliver_slash_command

__all__ = ["SlackEmulator"]

BOT_TOKEN = "xoxb-sandbox-comms"
SIGNING_SECRET = "sandbox-signing-secret"


class SlackEmulator:
    """A Slack workspace on host:port (0 picks a free port) with comms' bot in some channels."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_token: str = BOT_TOKEN,
        signing_secret: str = SIGNING_SECRET,
    ) -> None:
        self.server = SlackServer(host, port, {bot_token: ("chat:write",)})
        self.server.signing_secret = signing_secret
        self.url = self.server.url + "/api"
        self.bot_token, self.signing_secret = bot_token, signing_secret

    def start(self) -> SlackEmulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_channel(self, channel_id: str, name: str, *, bot_member: bool = True) -> None:
        """A channel (as incident.io creates one per incident), the bot invited or not."""
        self.server.workspace.add_channel(channel_id, name, bot_member=bot_member)

    def add_token(self, token: str, *scopes: str) -> None:
        self.server.tokens[token] = tuple(scopes)

    def posts(self, channel_id: str | None = None) -> list[dict[str, Any]]:
        """Every message posted, oldest first (each with channel, ts, thread_ts, text, blocks)."""
        return self.server.workspace.messages(channel_id)

    def fail_next(self, method: str, count: int = 1, status: int = 429, retry_after: int = 1):
        """Answer the next count calls of a method with status (429 carries Retry-After)."""
        self.server.faults.add(method, count, status, retry_after)

    def slash_command(self, url: str, text: str, *, channel_id: str, **fields: Any) -> dict:
        """Send `/comms <text>` from a channel to url, signed as Slack signs it."""
        return deliver_slash_command(
            self.server, url, self.signing_secret, text, channel_id=channel_id, **fields
        )

    @property
    def request_count(self) -> int:
        return self.server.request_count
