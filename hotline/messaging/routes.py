"""POST /twilio/status: Twilio's delivery-status callbacks (signed like the SMS webhook)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from hotline.context import Context, get_context
from hotline.db import SessionDep
from hotline.messaging.outbox import record_delivery_status
from hotline.models import utcnow
from hotline.webhooks import read_signed_form, twilio_sid

router = APIRouter()
log = logging.getLogger(__name__)
ContextDep = Annotated[Context, Depends(get_context)]


def _apply(session: Session, sid: str, status: str, error_code: str | None) -> bool:
    message = record_delivery_status(
        session, provider_sid=sid, provider_status=status, error_code=error_code, now=utcnow()
    )
    session.commit()
    return message is not None


@router.post("/twilio/status", status_code=204)
async def delivery_status(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    """Record a delivery status; an unknown message id is logged and answered 204 (Twilio must not retry it)."""
    form = await read_signed_form(request, ctx.settings)
    raw_sid, status = form.get("MessageSid", "").strip(), form.get("MessageStatus", "").strip()
    if not raw_sid or not status:
        raise HTTPException(400, "Missing field MessageSid or MessageStatus")
    sid = twilio_sid(raw_sid)
    if sid is None:  # only a Twilio id is looked up and logged: anything else is a forged or broken request
        raise HTTPException(400, "MessageSid is not a Twilio message id")
    error = form.get("ErrorCode", "").strip()
    known = await run_in_threadpool(_apply, session, sid, status[:32], error if error.isalnum() else None)
    if not known:
        log.warning("status callback for unknown message %s (%s)", sid, status[:32])
    return Response(status_code=204)
