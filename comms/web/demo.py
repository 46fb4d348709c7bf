"""The demo's mailbox (every e-mail its SMTP server received) and Slack channels, in the browser."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from comms.sandbox.mailcatcher import CaughtMessage
from comms.web.context import services, settings
from comms.web.headers import email_document
from comms.web.paging import page_after

bp = Blueprint("demo", __name__, url_prefix="/demo")


MAILBOX_PAGE_SIZE = 50


def _messages() -> list[CaughtMessage]:
    """Every message received, oldest first: message n is the n-th to arrive, for good."""
    catcher = services().get("mailcatcher")
    return catcher.messages if catcher is not None else []


def _message(number: int) -> CaughtMessage:
    """Message `number` (1 is the first received), or 404."""
    messages = _messages()
    if not 1 <= number <= len(messages):
        abort(404)
    return messages[number - 1]


@bp.get("/mailbox")
def mailbox():
    """List the e-mails received, newest first, 50 a page (?before=n: those older than n)."""
    messages = _messages()
    before = page_after(request.args.get("before")) or len(messages) + 1
    first = max(1, min(before, len(messages) + 1) - MAILBOX_PAGE_SIZE)
    shown = [(n, messages[n - 1]) for n in range(min(before, len(messages) + 1) - 1, first - 1, -1)]
    return render_template(
        "mailbox.html",
        shown=shown,
        total=len(messages),
        older=first if first > 1 else None,
        newest=before <= len(messages),
    )


@bp.get("/mailbox/<int:number>")
def message(number: int):
    """Show one e-mail: its headers, its HTML part at full height, its text part."""
    return render_template("mailbox_message.html", item=_message(number), number=number)


@bp.get("/mailbox/<int:number>/html")
def message_html(number: int):
    """The e-mail's HTML part alone, for the message page's sandboxed frame."""
    return email_document(_message(number).html, measurable=True)


@bp.get("/mailbox/<int:number>/raw")
def message_raw(number: int):
    """The e-mail as the mail server received it, headers and encoded parts, to download."""
    disposition = f'attachment; filename="message-{number}.eml.txt"'
    return Response(
        _message(number).raw,
        mimetype="text/plain",
        headers={"Content-Disposition": disposition},
    )


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
