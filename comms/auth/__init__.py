"""Staff accounts, passwords, login throttling and API tokens."""
