"""Outbound messaging on every channel: the outbox, routing, the senders' protocols and the dispatcher."""
