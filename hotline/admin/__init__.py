"""The admin web pages for complaint officers, supervisors and admins (issue #5)."""
