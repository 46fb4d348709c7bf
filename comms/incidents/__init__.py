"""Incidents: declaring, severity and status, the parent ticket, linked and merged tickets."""
