"""The scheduler's lock: exactly one active scheduler, and one that lets go is replaced at once."""

from __future__ import annotations

from comms.updates.scheduler import lock_for


def test_a_scheduler_that_lets_go_of_its_lock_is_replaced_at_once(database_url):
    first, second = lock_for(database_url), lock_for(database_url)
    try:
        assert first.acquire()
        assert not second.acquire()  # one active scheduler
        first.release()
        assert second.acquire()  # not after its connection happens to be closed, but now
        assert second.held()
        assert not first.acquire()
    finally:
        first.release()
        second.release()
