"""A sender's lease: held while it runs, gone the moment its process dies.

Every claim token is leased before it claims a row. PostgreSQL: an advisory lock on a
connection kept for the sender's run. SQLite: an flock on a file named after the token next
to the database. A token whose lease is no longer held belongs to a sender that ended or died,
so its rows still in `sending` can be settled at once, instead of after a timeout.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text

LEASE_CLASS = 0x636F6D73  # "coms": the first key of every sender's advisory lock
LIVE_KEYS = text(
    "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND classid = :cls AND objsubid = 2"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def _key(token: str) -> int:
    """The second advisory-lock key of a token (a hex string): 31 bits of it."""
    return int(token[:8], 16) & 0x7FFFFFFF


def _folder(engine: Engine) -> Path | None:
    database = engine.url.database or ""
    if not database or database == ":memory:":
        return None
    return Path(f"{database}.senders").resolve()


class Lease:
    """Proof that the sender holding `token` is alive; close it when the sender is done."""

    def __init__(self, engine: Engine, token: str) -> None:
        self.token = token
        self._connection: Connection | None = None
        self._file: IO[str] | None = None
        self._path: Path | None = None
        if engine.dialect.name == "postgresql":
            self._connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            query = text("SELECT pg_advisory_lock(:cls, :key)")
            self._connection.execute(query, {"cls": LEASE_CLASS, "key": _key(token)})
            return
        folder = _folder(engine)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            self._path = folder / token
            self._file = self._path.open("w")
            fcntl.flock(self._file, fcntl.LOCK_EX)

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # a dropped connection holds no lock anyway
                query = text("SELECT pg_advisory_unlock(:cls, :key)")
                self._connection.execute(query, {"cls": LEASE_CLASS, "key": _key(self.token)})
            self._connection.close()
            self._connection = None
        if self._file is not None and self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()
            self._file.close()
            self._file = None


def dead(engine: Engine, tokens: set[str]) -> set[str]:
    """The tokens among these whose sender no longer holds its lease."""
    if not tokens:
        return set()
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            live = set(connection.execute(LIVE_KEYS, {"cls": LEASE_CLASS}).scalars())
        return {token for token in tokens if _is_hex(token) and _key(token) not in live}
    folder = _folder(engine)
    if folder is None:
        return set()
    return {token for token in tokens if _is_hex(token) and _lease_gone(folder / token)}


def _is_hex(token: str) -> bool:
    return len(token) >= 8 and all(char in "0123456789abcdef" for char in token)


def _lease_gone(path: Path) -> bool:
    """No file, or a file nobody holds (its sender died): remove it and say so."""
    try:
        handle = path.open("r")
    except FileNotFoundError:
        return True
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return True
