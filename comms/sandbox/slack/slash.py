"""Slash commands as Slack sends them (signed form posts, 3 s to answer), response_url, controls."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlencode

ANSWER_WITHIN_SECONDS = 3.0  # Slack shows "operation_timeout" to the user after this


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """X-Slack-Signature: v0= hex HMAC-SHA256 of "v0:timestamp:body" with the signing secret."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def deliver_slash_command(
    server: Any,
    url: str,
    secret: str,
    text: str,
    *,
    channel_id: str,
    user_name: str = "priya.shah",
    timestamp: int | None = None,
    sign_with: str | None = None,
) -> dict[str, Any]:
    """POST the command to url; what came back, how long it took and whether in time."""
    response_id = uuid.uuid4().hex
    channel = server.workspace.channels.get(channel_id, {})
    form = {
        "token": "deprecated-verification-token",
        "team_id": "T0SANDBOX",
        "team_domain": "brightwave-sandbox",
        "channel_id": channel_id,
        "channel_name": channel.get("name", ""),
        "user_id": "U0" + user_name.upper().replace(".", "")[:8],
        "user_name": user_name,
        "command": "/comms",
        "text": text,
        "api_app_id": "A0COMMS",
        "response_url": f"{server.url}/_emulator/responses/{response_id}",
        "trigger_id": uuid.uuid4().hex,
    }
    body = urlencode(form).encode()
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    request = urllib.request.Request(
        url,
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature(sign_with or secret, stamp, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        },
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=ANSWER_WITHIN_SECONDS) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (TimeoutError, urllib.error.URLError) as error:
        return {"status": None, "error": f"operation_timeout ({error})", "in_time": False}
    seconds = time.monotonic() - started
    try:
        answer_body: Any = json.loads(raw) if raw else {}
    except ValueError:
        answer_body = {"text": raw.decode(errors="replace")}
    return {
        "status": status,
        "body": answer_body,
        "seconds": seconds,
        "in_time": seconds <= ANSWER_WITHIN_SECONDS,
        "response_url": form["response_url"],
    }


def control(server: Any, method: str, path: str, raw: bytes) -> tuple[int, Any, dict]:
    """/_emulator/...: read what was posted, add channels, deliver a slash command."""
    parts = path.strip("/").split("/")[1:]
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return 400, {"ok": False, "error": "invalid_json"}, {}
    workspace = server.workspace
    if method == "GET" and parts == ["posts"]:
        return 200, {"ok": True, "messages": workspace.messages()}, {}
    if method == "POST" and parts == ["channels"]:
        workspace.add_channel(
            str(body["id"]), str(body.get("name", "")), bot_member=bool(body.get("bot", True))
        )
        return 200, {"ok": True}, {}
    if method == "POST" and len(parts) == 2 and parts[0] == "responses":
        with workspace.lock:
            workspace.responses.append({"response_id": parts[1], **body})
        return 200, {"ok": True}, {}
    if method == "GET" and parts == ["responses"]:
        return 200, {"ok": True, "responses": list(workspace.responses)}, {}
    if method == "POST" and parts == ["slash"]:
        secret = str(body.get("signing_secret") or server.signing_secret)
        result = deliver_slash_command(
            server,
            str(body["url"]),
            secret,
            str(body.get("text", "")),
            channel_id=str(body["channel_id"]),
        )
        return 200, result, {}
    return 404, {"ok": False, "error": f"no control {method} {path}"}, {}
