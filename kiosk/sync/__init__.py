"""Background delivery of the outbox to the gateway."""
