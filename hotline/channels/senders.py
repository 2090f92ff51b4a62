"""The senders of the channels in use: each channel's own, or the console in development when it has none."""

from __future__ import annotations

from hotline.channels.android import AndroidSender
from hotline.channels.console import ConsoleSender
from hotline.channels.kannel import KannelSender
from hotline.channels.twilio import TwilioSender
from hotline.config import ConfigError, Settings
from hotline.messaging.sender import Sender, VoiceSender

# What a channel needs before it can really send: (setting, environment variable).
REQUIRED = {
    "twilio": (("twilio_account_sid", "HOTLINE_TWILIO_ACCOUNT_SID"),),
    "kannel": (("kannel_username", "HOTLINE_KANNEL_USERNAME"), ("kannel_password", "HOTLINE_KANNEL_PASSWORD")),
    "android": (
        ("android_url", "HOTLINE_ANDROID_URL"),
        ("android_username", "HOTLINE_ANDROID_USERNAME"),
        ("android_password", "HOTLINE_ANDROID_PASSWORD"),
    ),
}


def _missing(settings: Settings, channel: str) -> list[str]:
    return [env for field, env in REQUIRED[channel] if not getattr(settings, field)]


def make_sender(settings: Settings, channel: str) -> Sender:
    """One channel's sender; the console only in development (or HOTLINE_SMS_BACKEND=console there), so production
    never "sends" nowhere."""
    missing = _missing(settings, channel)
    if settings.sms_backend == "console" or (settings.sms_backend == "auto" and missing):
        if not settings.development:
            names = ", ".join(missing) or "a real backend (HOTLINE_SMS_BACKEND=console)"
            raise ConfigError(f"{names} not set: outside development, the {channel} channel must really send")
        return ConsoleSender(channel)
    if missing:
        raise ConfigError(f"{', '.join(missing)} needed to send SMS through {channel} (or HOTLINE_SMS_BACKEND=console)")
    if channel == "kannel":
        return KannelSender(settings)
    if channel == "android":
        return AndroidSender(settings)
    return TwilioSender(settings)


def make_senders(settings: Settings) -> dict[str, Sender]:
    """A sender per channel in use, by name."""
    return {channel: make_sender(settings, channel) for channel in settings.channel_list}


def rate_of(settings: Settings, channel: str) -> float:
    """The channel's send limit in segments per second."""
    if channel == "kannel":
        return settings.kannel_rate_segments_per_second
    if channel == "android":
        return settings.android_rate_segments_per_second
    return settings.send_rate_segments_per_second


def sender_key(settings: Settings, channel: str) -> str:
    """The rate limit is per sender: Twilio's messaging service or number, the Kannel short number, the phone."""
    if channel == "kannel":
        return f"kannel:{settings.kannel_from or settings.kannel_sendsms_url}"
    if channel == "android":
        return f"android:{settings.android_url}"
    return settings.twilio_messaging_service_sid or settings.twilio_from_number or "console"


def make_voice_sender(settings: Settings) -> VoiceSender | None:
    """Twilio for calls and recordings (the voice line is Twilio's), the console in development, else None."""
    if not settings.twilio_account_sid and not settings.development:
        return None
    sender = make_sender(settings, "twilio")
    return sender if isinstance(sender, VoiceSender) else None
