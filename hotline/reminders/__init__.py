"""Enrolment of pregnancies and young children, and the danger-sign reminders planned for them (issue #6)."""
