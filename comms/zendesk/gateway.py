"""The Gateway: the one object through which comms talks to Zendesk."""

from __future__ import annotations

from comms.zendesk.bulk import BulkOperations
from comms.zendesk.directory import DirectoryOperations
from comms.zendesk.tickets import TicketOperations


class Gateway(TicketOperations, BulkOperations, DirectoryOperations):
    """Zendesk through zenpy, returning comms's own dataclasses; every failure a ZendeskError."""
