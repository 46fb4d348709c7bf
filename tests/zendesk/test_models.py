"""Zendesk's JSON into comms' own objects: text as comms can store it on both databases."""

from comms.zendesk.models import organization_from_json, ticket_from_json, user_from_json


def test_a_nul_character_from_zendesk_is_dropped_from_names_and_subjects():
    """PostgreSQL refuses a NUL in text: a contact refresh stopped on one before."""
    assert organization_from_json({"id": 1, "name": "Acme\x00 Ltd"}).name == "Acme Ltd"
    assert user_from_json({"id": 2, "name": "Ann\x00", "email": "a@acme.example"}).name == "Ann"
    ticket = ticket_from_json({"id": 3, "subject": "Site\x00 down", "status": "open"})
    assert ticket.subject == "Site down"
