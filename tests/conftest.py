"""Shared fixtures: a migrated database (SQLite, or PostgreSQL via COMMS_TEST_DATABASE_URL),
the app, clients signed in per role."""

from __future__ import annotations

import os
import re
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.orm import close_all_sessions

from comms import create_app
from comms.auth.service import create_token, create_user
from comms.clock import FrozenClock
from comms.config import DatabaseSettings, Settings, SmtpSettings, WebSettings
from comms.db import Base, make_engine, make_sessionmaker
from comms.migrate import upgrade

PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("COMMS_TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'comms.sqlite'}"
    )
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url):
    """The migrated database, emptied before each test."""
    engine = make_engine(database_url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(engine):
    with make_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 3, 11, 0, tzinfo=UTC))  # a Tuesday, in working hours


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(
        web=WebSettings(base_url="http://comms.test", secret_key="test-secret"),
        database=DatabaseSettings(url=database_url),
        smtp=SmtpSettings(backend="outbox", outbox_dir=str(tmp_path / "outbox")),
        source="tests",
    )


@pytest.fixture
def make_app(engine, clock):
    """Build apps (several stand for several web workers); their engines are closed after."""
    made = []

    def _make(settings: Settings, *, worker: bool = True):
        app = create_app(settings, clock=clock, worker=worker)
        app.config.update(TESTING=True)
        made.append(app)
        return app

    yield _make
    for app in made:
        if "worker" in app.extensions["comms"]:
            app.extensions["comms"]["worker"].stop()
    # A streamed response (CSV) that a test did not read to its end holds its request's
    # session, as it would until a web server closes it: close those before the engines.
    close_all_sessions()
    for app in made:
        app.extensions["comms"]["engine"].dispose()


@pytest.fixture
def app(make_app, settings):
    return make_app(settings)


@pytest.fixture
def users(db_session, clock) -> dict[str, object]:
    made = {
        role: create_user(
            db_session,
            email=f"{role}@agency.test",
            name=f"{role.title()} Person",
            role=role,
            password=PASSWORD,
            now=clock.now(),
        )
        for role in ("admin", "manager", "viewer")
    }
    db_session.commit()
    return made


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(page)}
    )


@pytest.fixture
def catcher():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""
    from comms.sandbox.mailcatcher import MailCatcher

    with MailCatcher() as running:
        yield running


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login(app, users):
    """A client signed in with the given role."""

    def _login(role: str = "manager"):
        client = app.test_client()
        response = sign_in(client, f"{role}@agency.test")
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return _login


@pytest.fixture
def api(app, users, db_session, clock):
    """A JSON client with a bearer token for the given role."""

    def _api(role: str = "manager"):
        token = create_token(db_session, user=users[role], now=clock.now())
        db_session.commit()
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return client

    return _api


def with_settings(settings: Settings, **sections) -> Settings:
    return replace(settings, **sections)


def wait_for(condition, what: str, timeout: float = 120):
    """Poll with a generous deadline (a bound on a hang, never on speed); return the
    condition's value."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def follow(client, response, *, deadline_s: float = 60) -> dict:
    """Follow a started operation (202 + Location) as an API client would, until it ends."""
    assert response.status_code == 202, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.endswith(f"/api/v1/operations/{response.get_json()['operation']['id']}")
    deadline = time.monotonic() + deadline_s
    while (operation := client.get(location).get_json()["operation"])["state"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline, f"operation {operation['id']} did not finish"
        time.sleep(0.05)
    return operation
