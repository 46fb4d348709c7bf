"""`comms check`: try each thing comms depends on and say plainly what is wrong."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from comms.config import Settings
from comms.db import make_engine

Check = Callable[[Settings], str]


def check_database(settings: Settings) -> str:
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from comms.migrate import alembic_config

    engine = make_engine(settings.database.url)
    where = engine.url.render_as_string(hide_password=True)
    head = ScriptDirectory.from_config(alembic_config(settings.database.url)).get_current_head()
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        current = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    if current != head:
        raise RuntimeError(f"{where} answers, but its schema is not up to date: run comms init-db")
    return f"database answers and its schema is up to date ({where})"


def check_zendesk(settings: Settings) -> str:
    from comms.zendesk import Gateway

    if not settings.zendesk.configured:
        raise RuntimeError("not configured: set [zendesk] subdomain (or url), email and token")
    with Gateway(settings.zendesk) as gateway:
        allowed = gateway.permissions()
    me = allowed.user
    signed_in = f"signed in to {gateway.address} as {me.name} <{me.email}>"
    if not (allowed.can_edit and allowed.can_merge):
        raise RuntimeError(
            f"{signed_in} ({allowed.summary()}); comms edits, links and merges tickets: "
            "give this user an agent role that can"
        )
    return f"{signed_in} ({allowed.summary()})"


def check_smtp(settings: Settings) -> str:
    from comms.mail.send import check_connection

    return check_connection(settings.smtp)


def check_templates(settings: Settings) -> str:
    from comms.mail.render import EmailRenderer

    EmailRenderer(settings).check_all()
    return "every e-mail template renders"


CHECKS: list[tuple[str, Check]] = [
    ("database", check_database),
    ("zendesk", check_zendesk),
    ("smtp", check_smtp),
    ("templates", check_templates),
]


def run_checks(settings: Settings) -> int:
    """Run every check; print one line each; non-zero when any fails."""
    print(f"config: {settings.source} is valid")
    failed = 0
    for name, check in CHECKS:
        try:
            print(f"{name}: ok, {check(settings)}")
        except Exception as error:  # each failure is reported, then the next check runs
            failed += 1
            print(f"{name}: FAILED, {error}")
    return 1 if failed else 0
