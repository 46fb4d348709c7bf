"""Every model, imported in one place so that Alembic and create_all see them all."""

from comms.auth.models import ApiToken, LoginThrottle, Role, User
from comms.contacts.models import (
    AffectedOrganization,
    ContactOverride,
    OrganizationPerson,
    Requester,
    StoredContact,
)
from comms.db import Base
from comms.incident_io.models import FollowedIncident, ReceivedWebhook, SyncState
from comms.incidents.models import (
    Candidate,
    Incident,
    LinkedTicket,
    MergeRequest,
    TimelineEvent,
    WebhookEvent,
)
from comms.operations.models import Operation
from comms.slack.models import SlackPost, SlackThread
from comms.updates.models import Delivery, Update

__all__ = [
    "AffectedOrganization",
    "ApiToken",
    "Base",
    "Candidate",
    "ContactOverride",
    "Delivery",
    "FollowedIncident",
    "Incident",
    "LinkedTicket",
    "LoginThrottle",
    "MergeRequest",
    "Operation",
    "OrganizationPerson",
    "ReceivedWebhook",
    "Requester",
    "Role",
    "SlackPost",
    "SlackThread",
    "StoredContact",
    "SyncState",
    "TimelineEvent",
    "Update",
    "User",
    "WebhookEvent",
]
