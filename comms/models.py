"""Every model, imported in one place so that Alembic and create_all see them all."""

from comms.auth.models import ApiToken, LoginFailure, Role, User
from comms.contacts.models import (
    AffectedOrganization,
    ContactOverride,
    OrganizationPerson,
    Requester,
)
from comms.db import Base
from comms.incidents.models import (
    Candidate,
    Incident,
    LinkedTicket,
    MergeRequest,
    Operation,
    TimelineEvent,
    WebhookEvent,
)
from comms.updates.models import Delivery, Update

__all__ = [
    "AffectedOrganization",
    "ApiToken",
    "Base",
    "Candidate",
    "ContactOverride",
    "Delivery",
    "Incident",
    "LinkedTicket",
    "LoginFailure",
    "MergeRequest",
    "Operation",
    "OrganizationPerson",
    "Requester",
    "Role",
    "TimelineEvent",
    "Update",
    "User",
    "WebhookEvent",
]
