"""The durable queue of long operations: a row per operation, claimed by workers with a lease."""
