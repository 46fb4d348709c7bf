"""Client updates: composing, the delivery ledger, sending and the schedule."""
