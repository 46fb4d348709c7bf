"""The Slack Web API subset comms uses, with Slack's auth errors, limits and Retry-After.

Slack answers HTTP 200 with {"ok": false, "error": "..."} for a refused call, and HTTP 429
with Retry-After (seconds) and {"ok": false, "error": "ratelimited"} when over a limit;
chat.postMessage allows about one message a second per channel (api.slack.com/methods).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any
from urllib.parse import parse_qs

from ..jsonserver import Faults, JsonHandler, JsonServer, Window

MAX_BLOCKS = 50
MAX_TEXT = 40_000
MAX_SECTION_TEXT = 3000


def refused(error: str, **extra: Any) -> tuple[int, Any, dict[str, str]]:
    return 200, {"ok": False, "error": error, **extra}, {}


class Workspace:
    """Channels, which the bot is in, and every message posted (in order)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.channels: dict[str, dict[str, Any]] = {}
        self.posted: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.serial = itertools.count(1)

    def add_channel(self, channel_id: str, name: str, *, bot_member: bool = True) -> None:
        with self.lock:
            self.channels[channel_id] = {"id": channel_id, "name": name, "bot": bot_member}

    def messages(self, channel_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(m) for m in self.posted if channel_id in (None, m["channel"])]

    def post(self, channel_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            ts = f"{int(time.time())}.{next(self.serial):06d}"
            message = {
                "channel": channel_id,
                "channel_name": self.channels[channel_id]["name"],
                "ts": ts,
                "thread_ts": fields.get("thread_ts") or None,
                "text": fields.get("text") or "",
                "blocks": fields.get("blocks") or [],
                "at": time.time(),
            }
            self.posted.append(message)
            return message

    def find(self, channel_id: str, ts: str) -> bool:
        with self.lock:
            return any(m["channel"] == channel_id and m["ts"] == ts for m in self.posted)


class Handler(JsonHandler):
    server: SlackServer

    def route(self) -> tuple[int, Any, dict[str, str]]:
        if self.path_only.startswith("/_emulator/"):
            from .slash import control

            return control(self.server, self.command, self.path_only, self.raw_body)
        if not self.path_only.startswith("/api/"):
            return 404, {"ok": False, "error": "unknown_method"}, {}
        method = self.path_only.removeprefix("/api/")
        self.server.request_count += 1
        fault = self.server.faults.take(method)
        if fault:
            if fault["status"] == 429:
                return (
                    429,
                    {"ok": False, "error": "ratelimited"},
                    {"Retry-After": str(fault["retry"])},
                )
            return fault["status"], {"ok": False, "error": "fatal_error"}, {}
        fields = self.fields()
        token = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        token = token or str(fields.get("token") or "")
        if not token:
            return refused("not_authed")
        if token not in self.server.tokens:
            return refused("invalid_auth")
        scopes = self.server.tokens[token]
        # Slack tells every call which scopes the token has.
        granted = {"X-OAuth-Scopes": ",".join(scopes)}
        if method == "auth.test":
            return 200, self.auth_test(), granted
        if method == "chat.postMessage":
            if "chat:write" not in scopes:
                refusal = refused("missing_scope", needed="chat:write", provided=",".join(scopes))
                return refusal[0], refusal[1], granted
            status, body, headers = self.post_message(fields)
            return status, body, {**headers, **granted}
        return 404, {"ok": False, "error": "unknown_method"}, {}

    def fields(self) -> dict[str, Any]:
        kind = self.headers.get("Content-Type", "")
        if kind.startswith("application/json"):
            body = self.json_body()
            return body if isinstance(body, dict) else {}
        parsed = parse_qs(self.raw_body.decode(errors="replace"), keep_blank_values=True)
        fields: dict[str, Any] = {k: v[-1] for k, v in parsed.items()}
        if isinstance(fields.get("blocks"), str):
            try:
                fields["blocks"] = json.loads(fields["blocks"])
            except ValueError:
                fields["blocks"] = "invalid"
        return {**self.query, **fields}

    def auth_test(self) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://brightwave-sandbox.slack.com/",
            "team": "Brightwave (sandbox)",
            "user": "comms",
            "team_id": "T0SANDBOX",
            "user_id": "U0COMMS",
            "bot_id": "B0COMMS",
            "is_enterprise_install": False,
        }

    def post_message(self, fields: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        workspace, channel_id = self.server.workspace, str(fields.get("channel") or "")
        if not channel_id or channel_id not in workspace.channels:
            return refused("channel_not_found")
        if not workspace.channels[channel_id]["bot"]:
            return refused("not_in_channel")
        blocks, text = fields.get("blocks") or [], str(fields.get("text") or "")
        if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
            return refused("invalid_blocks_format")
        if len(blocks) > MAX_BLOCKS:
            return refused(
                "invalid_blocks",
                errors=[f"must provide an array with no more than {MAX_BLOCKS} items"],
            )
        for block in blocks:
            if len(str((block.get("text") or {}).get("text") or "")) > MAX_SECTION_TEXT:
                return refused(
                    "invalid_blocks", errors=[f"must be less than {MAX_SECTION_TEXT + 1} chars"]
                )
        if not text and not blocks:
            return refused("no_text")
        if len(text) > MAX_TEXT:
            return refused("msg_too_long")
        thread_ts = str(fields.get("thread_ts") or "")
        if thread_ts and not workspace.find(channel_id, thread_ts):
            return refused("thread_not_found")
        wait = self.server.window_for(channel_id).admit()
        if wait:
            self.server.limited += 1
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
        message = workspace.post(channel_id, {**fields, "text": text, "blocks": blocks})
        shown = {"type": "message", "user": "U0COMMS", "bot_id": "B0COMMS", "text": text}
        shown.update(ts=message["ts"], **({"thread_ts": thread_ts} if thread_ts else {}))
        return 200, {"ok": True, "channel": channel_id, "ts": message["ts"], "message": shown}, {}


class SlackServer(JsonServer):
    def __init__(self, host: str, port: int, tokens: dict[str, tuple[str, ...]]) -> None:
        super().__init__(host, port, Handler)
        self.tokens = tokens
        self.signing_secret = ""
        self.workspace = Workspace()
        self.faults = Faults()
        self.request_count = 0
        self.limited = 0  # 429s answered for going over a channel's limit
        self.windows: dict[str, Window] = {}
        self.windows_lock = threading.Lock()

    def window_for(self, channel_id: str) -> Window:
        """About one message a second per channel; Slack allows no more."""
        with self.windows_lock:
            if channel_id not in self.windows:
                self.windows[channel_id] = Window(1, 1.0)
            return self.windows[channel_id]
