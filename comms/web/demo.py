"""The demo's mailbox (every e-mail its SMTP server received) and Slack channels, in the browser."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from comms.web.context import services, settings
from comms.web.headers import email_document

bp = Blueprint("demo", __name__, url_prefix="/demo")


def _messages() -> list:
    catcher = services().get("mailcatcher")
    return list(reversed(catcher.messages)) if catcher is not None else []


@bp.get("/mailbox")
def mailbox():
    """List the e-mails received, newest first."""
    return render_template("mailbox.html", messages=_messages())


@bp.get("/mailbox/<int:number>")
def message(number: int):
    """Show one e-mail: its headers, text and HTML parts."""
    messages = _messages()
    if not 0 <= number < len(messages):
        abort(404)
    return render_template("mailbox_message.html", item=messages[number], number=number)


@bp.get("/mailbox/<int:number>/html")
def message_html(number: int):
    """The e-mail's HTML part alone, for the message page's sandboxed frame."""
    messages = _messages()
    if not 0 <= number < len(messages):
        abort(404)
    return email_document(messages[number].html)


def _slack():
    emulator = services().get("slack_emulator")
    if emulator is None:
        abort(404)
    return emulator


@bp.get("/slack")
def slack():
    """Show each incident channel of the Slack emulator: comms' posts, threaded."""
    emulator = _slack()
    channels = []
    for channel in emulator.server.workspace.channels.values():
        posts = emulator.posts(channel["id"])
        replies: dict[str, list] = {}
        for post in posts:
            if post["thread_ts"]:
                replies.setdefault(post["thread_ts"], []).append(post)
        tops = [p for p in posts if not p["thread_ts"]]
        channels.append({"channel": channel, "tops": tops, "replies": replies})
    return render_template("slack.html", channels=channels)


@bp.post("/slack/command")
def slack_command():
    """Type /comms in a channel: the emulator sends it to comms signed, as Slack would."""
    text = request.form.get("text", "").strip()[:200]
    channel_id = request.form.get("channel_id", "")
    emulator = _slack()
    if channel_id not in emulator.server.workspace.channels:
        abort(404)
    url = f"{settings().web.base_url.rstrip('/')}/api/v1/slack/commands"
    result = emulator.slash_command(url, text, channel_id=channel_id, user_name="dana.demo")
    answer = (result.get("body") or {}).get("text") or result.get("error") or "no answer"
    flash(f"/comms {text}: {answer}", "success" if result.get("status") == 200 else "error")
    return redirect(url_for("demo.slack"))
