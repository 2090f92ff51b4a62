"""Outbound messaging: segments, rendering of family-facing texts (outbox and sender follow)."""
