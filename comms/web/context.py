"""The request's database session, settings and clock, for thin views."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict
from urllib.parse import urlsplit

from flask import abort, current_app, g
from sqlalchemy.orm import Session

from comms.clock import Clock
from comms.config import Settings
from comms.ids import parse_reference
from comms.incidents import service as incidents
from comms.incidents.models import Incident
from comms.zendesk import Gateway


def services() -> dict:
    return current_app.extensions["comms"]


def db() -> Session:
    """One session per request, closed when the app context ends."""
    if "db_session" not in g:
        g.db_session = services()["sessionmaker"]()
    return g.db_session


def settings() -> Settings:
    return services()["settings"]


def clock() -> Clock:
    return services()["clock"]


def now() -> datetime:
    return clock().now()


def site_root() -> str:
    """`scheme://host` of base_url: every absolute link starts here, whatever Host was sent."""
    parts = urlsplit(settings().web.base_url)
    return f"{parts.scheme}://{parts.netloc}"


def load_incident(ref: str) -> Incident:
    """The incident the address names; 404 (a page, or JSON under /api/) when there is none."""
    incident = incidents.get(db(), ref)
    if incident is None:
        number = parse_reference(ref)
        abort(404, f"There is no incident {f'INC-{number}' if number else ref[:40]}.")
    return incident


def close_db(_error: BaseException | None = None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


def gateway() -> Gateway:
    """The Zendesk gateway, one per app (it holds its own HTTP sessions)."""
    found = services().get("gateway")
    if found is None:
        found = services()["gateway"] = Gateway(settings().zendesk)
    return found


def optional_gateway() -> Gateway | None:
    """The gateway when Zendesk is configured; None lets work without Zendesk go on."""
    return gateway() if settings().zendesk.configured else None


def actor() -> str:
    """Who is acting, for the timeline: the signed-in user or the API token's owner."""
    from flask_login import current_user

    user = g.get("api_user") or current_user
    return user.email if user and user.is_authenticated else "system"


class Acting(TypedDict):
    by: str
    now: datetime
    settings: Settings


class ByNow(TypedDict):
    by: str
    now: datetime


def by_now() -> ByNow:
    """Who acts and when: the keywords of an action that needs no settings."""
    return {"by": actor(), "now": now()}


def acting() -> Acting:
    """Who acts, when and under which settings: the keywords every action takes."""
    return {"by": actor(), "now": now(), "settings": settings()}


def wake_worker() -> None:
    """An operation was recorded: the in-process worker, if this app runs one, looks at once."""
    worker = services().get("worker")
    if worker is not None:
        worker.poke()
