"""`comms check`: try each thing comms depends on and say plainly what is wrong."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from comms.config import Settings
from comms.db import make_engine

Check = Callable[[Settings], str]


class NotConfigured(Exception):
    """An optional part is not set up: said, but not a failure."""


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


def check_incident_io(settings: Settings) -> str:
    from comms.incident_io.gateway import IncidentIoGateway

    config = settings.incident_io
    if not config.configured:
        raise NotConfigured("comms follows no incident.io account ([incident_io] api_key)")
    with IncidentIoGateway(config) as gateway:
        severities = gateway.severities()
    signed_in = f"signed in to incident.io at {gateway.base} ({len(severities)} severities)"
    if not config.webhook_secret.startswith("whsec_"):
        raise RuntimeError(
            f"{signed_in}, but [incident_io] webhook_secret is not the whsec_… signing secret "
            "of comms' webhook endpoint in incident.io: webhooks would be refused"
        )
    return signed_in


def check_slack(settings: Settings) -> str:
    from comms.slack.client import SlackClient

    if not settings.slack.configured:
        raise NotConfigured("comms posts nothing to Slack ([slack] bot_token)")
    with SlackClient(settings.slack) as client:
        me = client.identity()
    signed_in = f"signed in to Slack ({me.team}) as {me.user}"
    if me.scopes and "chat:write" not in me.scopes:
        raise RuntimeError(
            f"{signed_in}, but the bot token lacks the chat:write scope (it has "
            f"{', '.join(me.scopes)}): add it in the Slack app and reinstall it"
        )
    if not settings.slack.signing_secret:
        raise RuntimeError(
            f"{signed_in}, but [slack] signing_secret is empty: /comms would be refused"
        )
    return signed_in


CHECKS: list[tuple[str, Check]] = [
    ("database", check_database),
    ("zendesk", check_zendesk),
    ("smtp", check_smtp),
    ("templates", check_templates),
    ("incident_io", check_incident_io),
    ("slack", check_slack),
]


def run_checks(settings: Settings) -> int:
    """Run every check; print one line each; non-zero when any fails."""
    print(f"config: {settings.source} is valid")
    failed = 0
    for name, check in CHECKS:
        try:
            print(f"{name}: ok, {check(settings)}")
        except NotConfigured as why:
            print(f"{name}: not configured, {why}")
        except Exception as error:  # each failure is reported, then the next check runs
            failed += 1
            print(f"{name}: FAILED, {error}")
    return 1 if failed else 0
