"""The hot queries of the incident page, the dashboard and the sender use an index (PostgreSQL).

Each read runs as the product runs it; every statement it sends is captured and EXPLAINed with
sequential scans priced out of reach, so a plan still scanning a big table has no index to use.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import event, insert, text

from comms import timeline
from comms.actions.dashboard import dashboard
from comms.contacts import service as contacts
from comms.contacts.models import SEARCH_INDEX, AffectedOrganization, StoredContact
from comms.incidents import tickets
from comms.incidents.models import Incident, LinkedTicket
from comms.updates import history, sender
from comms.updates.service import publish

# The tables that grow with an outage; `incidents` stays small (a few per night).
BIG = ("stored_contacts", "linked_tickets", "timeline_events", "updates", "deliveries")
# Statements that may sort what an index found: few rows by nature. An update's problems (at
# most SHOWN_PROBLEMS of each update on a page), and the senders holding rows (one per
# connection at most).
SMALL_SORTS = ("deliveries.state IN", "SELECT DISTINCT deliveries.claimed_by")


@pytest.fixture
def postgres(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL, the production database")
    return engine


@pytest.fixture
def incident(db_session, clock, settings) -> Incident:
    now = clock.now()
    incident = Incident(title="Planned", severity="major", declared_at=now, keywords=[])
    db_session.add(incident)
    db_session.flush()
    for n in range(3):
        contacts.add_contact(
            db_session,
            incident,
            email=f"c{n}@x.example",
            name="",
            by="m",
            now=now,
            settings=settings,
        )
        db_session.add(
            LinkedTicket(incident_id=incident.id, ticket_id=n + 1, linked_at=now, subject="")
        )
        timeline.record(db_session, incident, actor="m", kind="note", summary="x", now=now)
    publish(db_session, incident, message="One.", by="m", now=now, settings=settings)
    publish(db_session, incident, message="Two.", by="m", now=now, settings=settings)
    db_session.commit()
    return incident


def plans(
    db_session, read: Callable[[], object], priced_out=("enable_seqscan", "enable_sort")
) -> list[tuple[str, str]]:
    """Run `read`, then EXPLAIN every SELECT or UPDATE it sent: (statement, plan)."""
    sent: list[tuple[str, object]] = []
    connection = db_session.connection()

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE")):
            sent.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        read()
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    # Price out what an index would spare: a plan that still scans or sorts has no index for it.
    for setting in priced_out:
        db_session.execute(text(f"SET LOCAL {setting} = off"))
    found = []
    cursor = connection.connection.dbapi_connection.cursor()
    for statement, parameters in sent:
        cursor.execute("EXPLAIN " + statement, parameters)
        found.append((statement, "\n".join(row[0] for row in cursor.fetchall())))
    return found


def assert_indexed(found: list[tuple[str, str]]) -> None:
    """No big table is scanned whole, and no page is sorted after reading: the index orders it."""
    assert found
    for statement, plan in found:
        for table in BIG:
            assert f"Seq Scan on {table}" not in plan, f"{statement}\n{plan}"
        if not any(small in statement for small in SMALL_SORTS):
            assert " Sort " not in f" {plan} ".replace("\n", " "), f"{statement}\n{plan}"


def test_the_incident_pages_lists_use_indexes(postgres, db_session, incident):
    def page() -> None:
        first = contacts.contact_page(db_session, incident, size=2)
        contacts.contact_page(db_session, incident, size=2, after=first.after)
        contacts.contact_page(db_session, incident, size=2, excluded=False)
        contacts.contact_page(db_session, incident, size=2, query="c1")  # and its bounded count
        contacts.excluded_count(db_session, incident)
        linked = tickets.linked_page(db_session, incident, size=2)
        tickets.linked_page(db_session, incident, size=2, after=linked.after)
        tickets.count_linked(db_session, incident)
        events = timeline.events_page(db_session, incident, size=2)
        timeline.events_page(db_session, incident, size=2, after=events.after)
        updates = history.history_page(db_session, incident, size=1)
        history.history_page(db_session, incident, size=1, after=updates.after)
        (latest, *_) = updates.rows
        history.deliveries_page(db_session, latest.update, size=2)
        history.first_problems(db_session, [u.update.id for u in updates.rows])

    assert_indexed(plans(db_session, page))


def test_the_dashboard_uses_indexes(postgres, db_session, incident, settings, clock):
    assert_indexed(plans(db_session, lambda: dashboard(db_session, settings, now=clock.now())))


def test_the_senders_claim_and_recovery_use_indexes(
    postgres, db_session, incident, settings, clock
):
    later = clock.now() + timedelta(minutes=1)

    def send() -> None:
        sender.count_due(db_session, now=later)
        sender.claim(db_session, "token", now=later, size=1)
        sender.recover_stuck(db_session, settings, now=later)

    assert_indexed(plans(db_session, send))


def seeks(db_session, read: Callable[[], object]) -> list[tuple[str, str]]:
    """Run `read`, then ask either database how it finds the rows of each SELECT it sent."""
    if db_session.get_bind().dialect.name == "postgresql":
        return plans(db_session, read)
    sent: list[tuple[str, object]] = []
    connection = db_session.connection()

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        read()
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    cursor = connection.connection.dbapi_connection.cursor()
    found = []
    for statement, parameters in sent:
        cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        found.append((statement, "\n".join(str(row[3]) for row in cursor.fetchall())))
    return found


def sought_by(plan: str, *columns: str) -> bool:
    """The plan finds its rows by an index range on all these columns (either database)."""
    lines = [line for line in plan.splitlines() if "Index Cond" in line or "USING" in line]
    return any(all(column in line for column in columns) for line in lines)


def test_a_pages_names_and_the_latest_entry_of_a_kind_are_one_index_range(db_session, incident):
    """Looked up by person, not by reading all the incident's people (SQLite did, 2.8-7.5 ms a
    tickets page at 20,000 contacts). PostgreSQL's planner picks by its statistics, which a
    test's few rows cannot give: there the reads must only not scan or sort."""

    def read() -> None:
        contacts.known_names(db_session, incident, organization_ids=[], user_ids=[1, 2])
        timeline.latest(db_session, incident, "automatic_update_held")

    found = seeks(db_session, read)
    if db_session.get_bind().dialect.name == "postgresql":
        assert_indexed(found)
        return
    assert sum("user_id IN" in statement for statement, _ in found) == 2
    for statement, plan in found:
        if "FROM organization_people" in statement or "FROM requesters" in statement:
            assert sought_by(plan, "incident_id", "user_id"), f"{statement}\n{plan}"
        if "FROM timeline_events" in statement:
            assert sought_by(plan, "incident_id", "kind"), f"{statement}\n{plan}"


def test_a_page_of_organisations_is_read_in_the_index_order(db_session, incident, clock):
    """Priority clients first, then by name: an index on those expressions, not a sort of
    every organisation (1.4 ms at 1,000 of them on PostgreSQL, 0.1 ms in the index)."""
    for n, name in enumerate(("bravo", "Acme", "Zeta")):
        db_session.add(
            AffectedOrganization(
                incident_id=incident.id,
                organization_id=n + 1,
                name=name,
                tags=[],
                priority=n == 2,
                added_how="by name",
                added_at=clock.now(),
            )
        )
    db_session.flush()
    pages = []

    def read() -> None:
        first = contacts.organizations_page(db_session, incident, size=2)
        pages.append(first.rows)
        pages.append(
            contacts.organizations_page(db_session, incident, size=2, after=first.after).rows
        )

    found = seeks(db_session, read)
    assert [[org.name for org in rows] for rows in pages] == [["Zeta", "Acme"], ["bravo"]]
    listed = [(s, plan) for s, plan in found if "FROM affected_organizations" in s]
    assert len(listed) == 3  # the first page, the cursor's row, the second page
    if db_session.get_bind().dialect.name == "postgresql":
        assert_indexed(listed)
    for statement, plan in listed:
        assert "TEMP B-TREE" not in plan, f"{statement}\n{plan}"


def test_a_rare_filter_finds_its_contacts_by_trigram_on_postgresql(postgres, db_session, incident):
    """With pg_trgm (migration 0019), a name matching a few of 20,000 contacts is found in the
    index, not by reading the list (the page 46 ms at 20,000, 30 at 1,000 without it)."""
    available = "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'"
    if db_session.execute(text(available)).first() is None:
        pytest.skip("pg_trgm is not available to this database")

    many = [
        {
            "incident_id": incident.id,
            "position": 100 + n,
            "email": f"person{n}@client{n // 20}.example",
            "organizations": [f"Client {n // 20}"],
            "reasons": ["regular contact"],
            "search_text": f"person {n} person{n}@client{n // 20}.example client {n // 20}",
        }
        for n in range(5000)
    ]
    db_session.execute(insert(StoredContact), many)
    # What autovacuum does soon after: the GIN index's pending entries merged, statistics read.
    db_session.execute(text(f"SELECT gin_clean_pending_list('{SEARCH_INDEX}')"))
    db_session.execute(text("ANALYZE stored_contacts"))

    def read() -> None:
        contacts.contact_page(db_session, incident, size=2, query="pat o'brien")

    # By the statistics of 5,000 rows, with only the scan of the whole table priced out.
    found = [
        (s, p)
        for s, p in plans(db_session, read, priced_out=("enable_seqscan",))
        if "search_text LIKE" in s
    ]
    assert found
    for statement, plan in found:
        assert SEARCH_INDEX in plan, f"{statement}\n{plan}"
