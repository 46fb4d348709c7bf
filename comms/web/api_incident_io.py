"""incident.io's webhook: verify, note the webhook-id once, answer at once, work in background."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from flask import request
from sqlalchemy.exc import IntegrityError

from comms.incident_io import jobs, webhook
from comms.incident_io.models import ReceivedWebhook
from comms.web.api import ApiError, bp, parse_json
from comms.web.context import clock, db, now, services, settings


@bp.post("/incident-io/webhook")
def incident_io_webhook():
    """incident.io says an incident changed; signed by Svix with the webhook secret."""
    body = request.get_data()
    try:
        webhook_id = webhook.verify(
            secret=settings().incident_io.webhook_secret,
            # Headers looks names up case-insensitively, as HTTP wants; it reads like a mapping.
            headers=cast(Mapping[str, str], request.headers),
            body=body,
            now=now(),
        )
    except webhook.WebhookRefused as error:
        raise ApiError(401, "refused", str(error)) from None
    try:
        event_type, incident_id = webhook.hinted_incident(parse_json(body))
    except ValueError as error:
        raise ApiError(400, "bad_request", str(error) or "The body is not JSON.") from None
    if not incident_id:
        return {"status": "ignored", "event_type": event_type}
    try:
        with db().begin_nested():
            db().add(
                ReceivedWebhook(
                    webhook_id=webhook_id,
                    event_type=event_type[:100],
                    external_id=incident_id,
                    received_at=now(),
                )
            )
    except IntegrityError:
        db().rollback()
        return {"status": "already processed"}
    db().commit()
    jobs.process_in_background(services()["sessionmaker"], settings(), clock=clock())
    return {"status": "accepted"}, 202
