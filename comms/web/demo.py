"""The demo mailbox: every e-mail the demo's SMTP server received, readable in the browser."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from comms.web.context import services
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
