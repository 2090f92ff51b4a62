"""What every channel shares: the engine it hands inbound messages to, and recording the delivery reports it gets."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlmodel import Session

from hotline.context import Context
from hotline.dialogue.inbound import Inbound
from hotline.messaging.outbox import record_delivery_status
from hotline.models import OutboundStatus, utcnow

log = logging.getLogger(__name__)
# The conversation engine (hotline.engine.handle_inbound), given to each channel's routes by create_app: channels
# sit below the domains and never import them.
InboundHandler = Callable[[Session, Context, Inbound], list[str]]


def apply_report(session: Session, transport: str, reference: str, status: OutboundStatus, error: str | None) -> bool:
    """Record one delivery report and commit; False when it was kept to be applied later (send not yet recorded)."""
    message = record_delivery_status(
        session, transport=transport, reference=reference, status=status, error_code=error, now=utcnow()
    )
    session.commit()
    if message is None:
        log.info("%s report for %s (%s) kept until its send is recorded", transport, reference[:64], status)
    return message is not None
