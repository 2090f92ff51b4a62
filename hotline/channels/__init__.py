"""Transports: each turns its inbound requests into one inbound message and sends the outbox through its API."""
