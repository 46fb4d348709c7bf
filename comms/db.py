"""SQLAlchemy 2 engine, sessions and the declarative base; migrations live in comms/migrations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Generic, Protocol, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Select,
    create_engine,
    event,
    literal,
    tuple_,
)
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC; SQLite forgets the zone, so put it back on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


intpk = Annotated[int, mapped_column(primary_key=True)]
timestamp = Annotated[datetime, mapped_column(UTCDateTime())]
json_list = Annotated[list[Any], mapped_column(JSON, default=list)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # Zendesk ids pass 2**31: 64-bit integers on PostgreSQL; SQLite's INTEGER is 64-bit already
    # and must stay INTEGER for primary keys to autoincrement.
    type_annotation_map = {
        int: BigInteger().with_variant(Integer(), "sqlite"),
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


def make_engine(url: str, *, sending_connections: int = 0) -> Engine:
    """Create an engine; for SQLite, make the folder and turn on WAL and foreign keys.

    A process that sends e-mail keeps one database connection per mail connection for as
    long as it sends (`sending_connections`); the pool holds those beside its usual five.
    """
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True, pool_size=5 + sending_connections)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL keeps every commit through a crash of the process (a sender killed
            # mid-way loses nothing); only a power cut may lose the last ones. It saves an fsync
            # per commit, and the sender commits once per message.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def utcnow() -> datetime:
    return datetime.now(UTC)


class HasId(Protocol):
    id: Any


Row = TypeVar("Row", bound=HasId)
Item = TypeVar("Item")


@dataclass(frozen=True)
class Page(Generic[Item]):
    """One page of a long list, and the cursor of the next page (None on the last page)."""

    rows: list[Item]
    after: int | None


def keyset_page(
    db_session: Session,
    query: Select[Any],
    keys: Sequence[Any],  # columns or expressions: ColumnElement, InstrumentedAttribute
    *,
    id_column: Any,
    size: int,
    after: int | None,
    descending: bool = False,
) -> Page[Row]:
    """The `size` rows of `query` after the row whose id is `after`, in the order of `keys`.

    Keyset paging, like Zendesk's cursors: the cursor is the id of the last row shown, so any
    page costs one index range, however deep. `keys` must end in a column unique in the list.
    LookupError if the cursor names no row of the list.
    """
    if after is not None:
        last = db_session.execute(query.with_only_columns(*keys).where(id_column == after)).first()
        if last is None:
            raise LookupError(f"page[after] {after} is not a row of this list.")
        mark = tuple_(*(literal(v, k.type) for v, k in zip(last, keys, strict=True)))
        position = tuple_(*keys)
        query = query.where(position < mark if descending else position > mark)
    order = [key.desc() for key in keys] if descending else list(keys)
    rows: list[Row] = list(db_session.scalars(query.order_by(*order).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, int(rows[-1].id) if more else None)
