"""Polls, radio quizzes and awareness surveys by SMS (issue #22, docs/POLLS.md)."""
