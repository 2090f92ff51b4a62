"""Development without a transport: every configured channel that has no credentials is backed by the console,
which logs that a message would go out (the simulator shows the outbox)."""

from __future__ import annotations

import logging
from datetime import datetime

from hotline.messaging.sender import Outgoing, SendResult
from hotline.phones import log_phone

log = logging.getLogger(__name__)


class ConsoleSender:
    """Logs instead of sending; stands in for the channel it is named after."""

    def __init__(self, name: str = "twilio") -> None:
        self.name = name  # the channel it stands in for: messages keep their channel, the simulator shows it
        self.counter = 0

    def send(self, sms: Outgoing) -> SendResult:
        """Pretend to send; the body stays in the outbox, never in the log."""
        self.counter += 1
        log.info(
            "console backend: SMS of %d characters to %s not sent (no %s credentials)",
            len(sms.body),
            log_phone(sms.to),
            self.name,
        )
        return SendResult(provider_sid=f"CONSOLE-{self.name}-{sms.outbox_id}-{self.counter}"[:64])

    def own_reference(self, outbox_id: int) -> str | None:
        """The console makes up its own ids."""
        return None

    def find_sent(self, sms: Outgoing, since: datetime) -> str | None:
        """Nothing was really sent."""
        return None

    def call(self, to: str, url: str, status_callback: str) -> SendResult:
        """Pretend to call back."""
        self.counter += 1
        log.info("console backend: call to %s not placed (no Twilio credentials)", log_phone(to))
        return SendResult(provider_sid=f"CA{self.counter:032d}")

    def find_call(self, to: str, since: datetime) -> str | None:
        """Nothing was really placed."""
        return None

    def delete_recording(self, sid: str) -> bool:
        """Nothing is held at a provider (the simulator's recordings are made up)."""
        log.info("console backend: recording %s not deleted at Twilio (no Twilio credentials)", sid)
        return True
