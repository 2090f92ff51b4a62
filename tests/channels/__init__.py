"""Tests of each channel: Twilio, Kannel, the Android gateway."""
