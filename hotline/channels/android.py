"""The SMS Gateway for Android channel (being written)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from hotline.channels.base import InboundHandler
from hotline.config import Settings
from hotline.messaging.sender import Outgoing, SendResult

NAME = "android"


def routes(handle: InboundHandler) -> APIRouter:
    """POST /android/webhook."""
    return APIRouter()


class AndroidSender:
    """Sends through the gateway app's HTTP API."""

    name = NAME

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, sms: Outgoing) -> SendResult:
        """Not yet."""
        return SendResult(error_code="config", error="android channel not implemented")

    def own_reference(self, outbox_id: int) -> str | None:
        """The app carries our id back."""
        return str(outbox_id)

    def find_sent(self, sms: Outgoing, since: datetime) -> str | None:
        """Not yet."""
        return None
