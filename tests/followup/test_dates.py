"""The review meeting a week after resolution on a working day; the draft three working days before."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from comms.config import Settings, WebSettings
from comms.followup import service as followup
from comms.updates.resolve import resolve


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=Settings().web.tz).astimezone(UTC)


@pytest.mark.parametrize(
    ("resolved_at", "review_at", "draft_due_at"),
    [
        # Friday -> the next Friday; its draft due the Tuesday before (Thu, Wed, Tue).
        (london(2026, 3, 6, 15, 0), london(2026, 3, 13, 10, 0), london(2026, 3, 10, 18, 0)),
        # Saturday and Sunday -> a week on is a weekend: Monday; draft due the Wednesday before.
        (london(2026, 3, 7, 9, 0), london(2026, 3, 16, 10, 0), london(2026, 3, 11, 18, 0)),
        (london(2026, 3, 8, 23, 30), london(2026, 3, 16, 10, 0), london(2026, 3, 11, 18, 0)),
        # Tuesday -> Tuesday; draft due the Thursday before (Mon, Fri, Thu).
        (london(2026, 3, 3, 11, 0), london(2026, 3, 10, 10, 0), london(2026, 3, 5, 18, 0)),
        # Across the change to summer time: still 10:00 on the wall clock (09:00 UTC).
        (london(2026, 3, 24, 11, 0), london(2026, 3, 31, 10, 0), london(2026, 3, 26, 18, 0)),
    ],
)
def test_review_and_draft_dates(resolved_at, review_at, draft_due_at):
    settings = Settings()
    assert followup.proposed_review_at(resolved_at, settings) == review_at
    assert followup.draft_due_for(review_at, settings) == draft_due_at


def test_the_resolution_day_is_the_local_one():
    """03:00 UTC on Saturday is still Friday evening in New York: the meeting is next Friday."""
    settings = replace(Settings(), web=WebSettings(timezone="America/New_York"))
    review_at = followup.proposed_review_at(datetime(2026, 3, 7, 3, 0, tzinfo=UTC), settings)
    local = review_at.astimezone(settings.web.tz)
    assert (local.date(), local.hour, review_at.hour) == (date(2026, 3, 13), 10, 14)  # EDT by then


def test_working_days_come_from_the_schedule_settings():
    schedule = replace(Settings().schedule, working_days=("sun", "mon", "tue", "wed", "thu"))
    settings = replace(Settings(), schedule=schedule)
    friday = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
    assert followup.proposed_review_at(friday, settings).date() == date(2026, 3, 15)  # Sunday
    assert followup.working_days_before(date(2026, 3, 15), 3, settings) == date(2026, 3, 10)


def test_resolving_proposes_the_review_with_the_comms_manager_as_owner(
    db_session, declare, settings, clock, users
):
    incident = declare()
    resolve(
        db_session,
        None,
        incident,
        message="All sites load normally again.",
        solve_parent=False,
        by="manager@agency.test",
        now=clock.now(),
        settings=settings,
    )
    db_session.commit()
    assert incident.review_at == london(2026, 3, 10, 10, 0)
    assert incident.draft_due_at == london(2026, 3, 5, 18, 0)
    assert incident.report_owner_id == users["manager"].id
    proposed = [e for e in incident.events if e.kind == "review_proposed"]
    assert len(proposed) == 1
    assert proposed[0].summary == (
        "Follow-up proposed: review meeting 10:00 GMT, Tuesday 10 March 2026; draft report due by "
        "18:00 GMT, Thursday 5 March 2026; report owner Manager Person."
    )


def test_a_trivial_incident_gets_a_review_marked_optional(declare, resolve):
    incident = resolve(declare(severity="trivial"))
    assert incident.review_at is not None
    assert "A trivial incident needs no review" in incident.events[-1].summary


def test_changing_the_meeting_moves_the_draft_and_can_change_the_owner(
    db_session, declare, resolve, settings, clock, users
):
    incident = resolve(declare())
    followup.change_review(
        db_session,
        incident,
        review_at=london(2026, 3, 16, 14, 30),
        owner=users["admin"],
        by="manager@agency.test",
        now=clock.now(),
        settings=settings,
    )
    db_session.commit()
    assert incident.draft_due_at == london(2026, 3, 11, 18, 0)
    assert incident.report_owner_id == users["admin"].id
    assert incident.events[-1].kind == "review_changed"
    assert "14:30 GMT, Monday 16 March 2026" in incident.events[-1].summary
    assert "report owner Admin Person" in incident.events[-1].summary


def test_the_meeting_cannot_be_moved_into_the_past_or_before_resolution(
    db_session, declare, resolve, settings, clock, users
):
    incident = declare()
    with pytest.raises(followup.FollowupError, match="not resolved yet"):
        followup.change_review(
            db_session,
            incident,
            review_at=london(2026, 3, 16, 10, 0),
            owner=None,
            by="x",
            now=clock.now(),
            settings=settings,
        )
    resolve(incident)
    with pytest.raises(followup.FollowupError, match="in the future"):
        followup.change_review(
            db_session,
            incident,
            review_at=london(2026, 3, 2, 10, 0),
            owner=None,
            by="x",
            now=clock.now(),
            settings=settings,
        )
