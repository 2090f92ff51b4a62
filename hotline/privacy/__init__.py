"""Retention of personal data (the daily job) and a family's erasure on request."""
