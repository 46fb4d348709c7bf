"""incident.io: follow incidents declared there (webhook as the hint, the API as the truth)."""
