"""Complaints by SMS: intake, references, status, routing and protection of the complainant."""
