"""Send a staff e-mail at most once: claim it in the database, then send, else give it back.

The update reminders and the follow-up reminders both go this way. The claim is a guarded
UPDATE (it changes a row only if nobody sent the e-mail yet) committed before the message
leaves, so two schedulers cannot both send it; when the mail server cannot be reached, the
release is committed and the next tick tries again. This is the one place that sends a staff
e-mail, so it owns its transaction.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage

from sqlalchemy import Executable
from sqlalchemy.orm import Session

from comms.config import Settings
from comms.mail.send import Mailer, MailServerUnavailable

log = logging.getLogger(__name__)


def send_once(
    db_session: Session,
    settings: Settings,
    message: EmailMessage,
    *,
    claim: Executable,
    release: Executable,
    what: str,
) -> bool:
    """True when this process claimed the e-mail and the mail server accepted it."""
    claimed = db_session.execute(claim)
    db_session.commit()
    if not getattr(claimed, "rowcount", 0):
        return False
    try:
        with Mailer(settings.smtp) as mailer:
            outcome = mailer.send(message)
    except MailServerUnavailable as unavailable:
        db_session.execute(release)
        db_session.commit()  # nothing left: the next tick tries again
        log.warning("%s waits: %s", what, unavailable)
        return False
    if outcome.state != "sent":
        log.warning("%s was not accepted: %s", what, outcome.reply)
    return outcome.state == "sent"
