"""Slack: tell the incident channel what comms did for clients, and answer /comms."""
