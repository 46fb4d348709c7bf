"""The Slack emulator answers as Slack does: its errors, its limits, its threads; never kinder."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import requests

from comms.sandbox.slack import SlackEmulator

COMMS = Path(sys.executable).parent / "comms"  # the installed console script


def call(slack: SlackEmulator, method: str, token: str | None = None, **payload):
    headers = {"Authorization": f"Bearer {token or slack.bot_token}"}
    return requests.post(f"{slack.url}/{method}", json=payload, headers=headers, timeout=10)


def test_errors_are_ok_false_with_slacks_codes():
    with SlackEmulator() as slack:
        slack.add_channel("C1", "inc-1")
        slack.add_channel("C2", "elsewhere", bot_member=False)
        slack.add_token("xoxb-readonly", "channels:read")
        assert call(slack, "auth.test", token="xoxb-nope").json() == {
            "ok": False,
            "error": "invalid_auth",
        }
        assert requests.post(f"{slack.url}/auth.test", timeout=10).json()["error"] == "not_authed"
        assert call(slack, "chat.postMessage", channel="C9", text="x").json()["error"] == (
            "channel_not_found"
        )
        assert call(slack, "chat.postMessage", channel="C2", text="x").json()["error"] == (
            "not_in_channel"
        )
        scoped = call(slack, "chat.postMessage", token="xoxb-readonly", channel="C1", text="x")
        assert scoped.json() == {
            "ok": False,
            "error": "missing_scope",
            "needed": "chat:write",
            "provided": "channels:read",
        }
        assert call(slack, "chat.postMessage", channel="C1").json()["error"] == "no_text"
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51
        too_many = call(slack, "chat.postMessage", channel="C1", text="x", blocks=blocks).json()
        assert too_many["error"] == "invalid_blocks"
        orphan = call(slack, "chat.postMessage", channel="C1", text="x", thread_ts="1.000001")
        assert orphan.json()["error"] == "thread_not_found"
        assert slack.posts() == []


def test_about_one_message_a_second_per_channel_then_429_with_retry_after():
    with SlackEmulator() as slack:
        slack.add_channel("C1", "inc-1")
        slack.add_channel("C2", "inc-2")
        first = call(slack, "chat.postMessage", channel="C1", text="one").json()
        assert first["ok"] and first["channel"] == "C1"
        other = call(slack, "chat.postMessage", channel="C2", text="elsewhere")
        assert other.json()["ok"]  # the limit is per channel
        again = call(slack, "chat.postMessage", channel="C1", text="two", thread_ts=first["ts"])
        assert again.status_code == 429 and again.headers["Retry-After"] == "1"
        assert again.json() == {"ok": False, "error": "ratelimited"}
        assert [p["text"] for p in slack.posts("C1")] == ["one"]


def test_the_installed_sandbox_command_serves_incident_io_and_slack_too():
    proc = subprocess.Popen(
        [str(COMMS), "sandbox", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    try:
        lines = [proc.stdout.readline() for _ in range(8)]
        incident_io = next(ln for ln in lines if ln.startswith("incident.io emulator at")).split()
        slack = next(ln for ln in lines if ln.startswith("Slack emulator at")).split()
        declared = requests.post(
            f"{incident_io[3]}/_emulator/incidents", json={"name": "Sites down"}, timeout=10
        ).json()["incident"]
        seen = requests.get(
            f"{incident_io[3]}/v2/incidents/{declared['id']}",
            headers={"Authorization": f"Bearer {incident_io[6]}"},
            timeout=10,
        )
        assert seen.json()["incident"]["name"] == "Sites down"
        control = slack[3].removesuffix("/api")
        requests.post(
            f"{control}/_emulator/channels", json={"id": "C1", "name": "inc-1"}, timeout=10
        )
        posted = requests.post(
            f"{slack[3]}/chat.postMessage",
            json={"channel": "C1", "text": "hello"},
            headers={"Authorization": f"Bearer {slack[6]}"},
            timeout=10,
        )
        assert posted.json()["ok"]
        posts = requests.get(f"{control}/_emulator/posts", timeout=10).json()["messages"]
        assert [p["text"] for p in posts] == ["hello"]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 0
        proc.stdout.close()
