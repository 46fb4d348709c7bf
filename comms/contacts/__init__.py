"""Affected organisations and the list of contacts who receive updates."""
