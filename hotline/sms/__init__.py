"""Inbound SMS: the Twilio webhook, keyword matching, conversations and replies."""
