"""What the outbox needs of a channel: send one SMS, say whether an earlier attempt went out, and (Twilio) call.

Each transport implements it in hotline/channels/; the dispatcher only sees these protocols."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class SendResult:
    """What the provider said: a message id, or an error and whether trying again may help."""

    provider_sid: str | None = None
    error_code: str | None = None
    error: str | None = None
    temporary: bool = False
    opted_out: bool = False

    @property
    def ok(self) -> bool:
        """The provider accepted the message."""
        return self.provider_sid is not None


class LookupFailed(RuntimeError):
    """The provider could not be asked whether a message already went out (down or unreachable)."""


class DeleteFailed(RuntimeError):
    """The provider did not delete (unreachable, or an error other than "no such resource"): try again later."""


@dataclass(frozen=True)
class Outgoing:
    """One outbox message as a channel sends it: our id travels with it where the transport can carry it back."""

    outbox_id: int
    to: str
    body: str
    segments: int = 1
    encoding: str = "GSM-7"  # as the outbox measured it when the message was queued: GSM-7 or UCS-2


class Sender(Protocol):
    """A channel's way to send SMS (Twilio, Kannel, the Android gateway, or the console in development)."""

    name: str

    def send(self, sms: Outgoing) -> SendResult:
        """Hand one SMS to the transport; errors come back as a SendResult, never as an exception."""

    def own_reference(self, outbox_id: int) -> str | None:
        """The id this channel's delivery reports will carry for an outbox message, when it is ours (Kannel and the
        Android gateway carry our outbox id back); None when the transport assigns its own (Twilio's SID)."""

    def find_sent(self, sms: Outgoing, since: datetime) -> str | None:
        """The transport's id of this message if an earlier attempt already went out since `since` (LookupFailed if
        the transport cannot say)."""


@runtime_checkable
class VoiceSender(Sender, Protocol):
    """A channel that also places calls and holds recordings: Twilio (or the console standing in for it)."""

    def call(self, to: str, url: str, status_callback: str) -> SendResult:
        """Place a call whose answered leg runs the TwiML at `url` (a callback after a missed call)."""

    def find_call(self, to: str, since: datetime) -> str | None:
        """The provider id of a call already placed to `to` since `since`, if any."""

    def delete_recording(self, sid: str) -> bool:
        """Delete a call recording: True when deleted, False when the provider no longer had it (DeleteFailed
        otherwise)."""
