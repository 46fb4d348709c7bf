"""`comms check`: try each thing comms depends on and say plainly what is wrong."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from comms.config import Settings
from comms.db import make_engine

Check = Callable[[Settings], str]


def check_database(settings: Settings) -> str:
    engine = make_engine(settings.database.url)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return f"database answers ({engine.url.render_as_string(hide_password=True)})"


CHECKS: list[tuple[str, Check]] = [("database", check_database)]


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
