"""The queue's guarantees, on SQLite and PostgreSQL: joins, one at a time, leases that run out."""

from __future__ import annotations

from datetime import timedelta

from comms.operations import queue
from comms.operations.queue import Finished

LEASE = timedelta(seconds=30)


def record(db_session, incident, kind: str, key: str, now):
    operation = queue.enqueue(
        db_session,
        kind=kind,
        key=key,
        incident_id=incident.id,
        params={},
        total=1,
        by="manager@agency.test",
        now=now,
    )
    db_session.commit()
    return operation


def test_a_second_refresh_joins_the_one_under_way_and_a_later_one_is_new(
    db_session, incident, clock
):
    first = record(db_session, incident, "refresh", f"refresh:{incident.id}", clock.now())
    again = record(db_session, incident, "refresh", f"refresh:{incident.id}", clock.now())
    assert again.id == first.id
    claimed = queue.claim(db_session, owner="a", now=clock.now(), lease=LEASE)
    assert claimed.id == first.id
    assert record(db_session, incident, "refresh", f"refresh:{incident.id}", clock.now()).id == (
        first.id
    )
    assert queue.finish(db_session, claimed, Finished(), owner="a", now=clock.now())
    db_session.commit()
    later = record(db_session, incident, "refresh", f"refresh:{incident.id}", clock.now())
    assert later.id != first.id


def test_one_link_batch_per_parent_runs_the_next_waits(db_session, incident, clock):
    first = record(db_session, incident, "link", "link:99", clock.now())
    second = record(db_session, incident, "link", "link:99", clock.now())
    other = record(db_session, incident, "link", "link:77", clock.now())
    assert second.id != first.id
    assert queue.claim(db_session, owner="a", now=clock.now(), lease=LEASE).id == first.id
    # The second batch to parent 99 waits; the batch to another parent goes ahead.
    assert queue.claim(db_session, owner="b", now=clock.now(), lease=LEASE).id == other.id
    assert queue.claim(db_session, owner="b", now=clock.now(), lease=LEASE) is None
    assert queue.finish(db_session, first, Finished(), owner="a", now=clock.now())
    db_session.commit()
    assert queue.claim(db_session, owner="b", now=clock.now(), lease=LEASE).id == second.id


def test_a_worker_that_stops_beating_loses_the_operation(db_session, incident, clock):
    operation = record(db_session, incident, "link", "link:99", clock.now())
    assert queue.claim(db_session, owner="a", now=clock.now(), lease=LEASE).id == operation.id
    assert queue.beat(db_session, operation.id, owner="a", now=clock.now(), lease=LEASE, done=1)
    db_session.commit()
    assert queue.claim(db_session, owner="b", now=clock.now(), lease=LEASE) is None
    clock.advance(seconds=31)  # "a" died: no heartbeat for a whole lease
    taken = queue.claim(db_session, owner="b", now=clock.now(), lease=LEASE)
    assert (taken.id, taken.attempts, taken.lease_owner) == (operation.id, 2, "b")
    # "a" wakes up: its beats and its end are refused, so it stops and records nothing.
    assert not queue.beat(db_session, operation.id, owner="a", now=clock.now(), lease=LEASE)
    assert not queue.finish(db_session, taken, Finished(), owner="a", now=clock.now())
    assert queue.finish(db_session, taken, Finished(), owner="b", now=clock.now())
    db_session.commit()
    assert queue.get(db_session, operation.id).state == "done"


def test_progress_never_goes_backwards(db_session, incident, clock):
    operation = record(db_session, incident, "refresh", "refresh:x", clock.now())
    queue.claim(db_session, owner="a", now=clock.now(), lease=LEASE)
    for done in (5, 3, 7):
        queue.beat(db_session, operation.id, owner="a", now=clock.now(), lease=LEASE, done=done)
    db_session.commit()
    assert queue.get(db_session, operation.id).done == 7
