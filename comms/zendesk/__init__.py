"""Zendesk, reached through zenpy (the only importer of it), as comms's own small dataclasses."""

from comms.zendesk.errors import (
    JobUnfinished,
    TicketNotFound,
    ZendeskError,
    ZendeskNotFound,
    ZendeskRateLimited,
    ZendeskRefused,
    ZendeskUnavailable,
)
from comms.zendesk.gateway import Gateway
from comms.zendesk.models import (
    MergeResult,
    Organization,
    Permissions,
    Ticket,
    TicketOutcome,
    User,
)

__all__ = [
    "Gateway",
    "JobUnfinished",
    "MergeResult",
    "Organization",
    "Permissions",
    "Ticket",
    "TicketNotFound",
    "TicketOutcome",
    "User",
    "ZendeskError",
    "ZendeskNotFound",
    "ZendeskRateLimited",
    "ZendeskRefused",
    "ZendeskUnavailable",
]
