"""POST /twilio/sms: Twilio's inbound-message webhook (thin: verify, parse, call the service, answer TwiML)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from twilio.twiml.messaging_response import MessagingResponse

from hotline.context import Context, get_context
from hotline.db import SessionDep
from hotline.models import utcnow
from hotline.sms.service import InboundSms, handle_inbound
from hotline.webhooks import read_signed_form

router = APIRouter()
ContextDep = Annotated[Context, Depends(get_context)]
MAX_SID_LENGTH = 64


def twiml(replies: list[str]) -> Response:
    """TwiML with one <Message> per reply; an empty <Response/> sends nothing."""
    response = MessagingResponse()
    for text in replies:
        response.message(text)
    return Response(str(response), media_type="text/xml")


def inbound_from_form(form: dict[str, str]) -> InboundSms:
    """The webhook fields we need; 400 naming the field when one is missing or malformed."""
    for name in ("MessageSid", "From", "To"):
        if not form.get(name, "").strip():
            raise HTTPException(400, f"Missing field {name}")
    sid = form["MessageSid"].strip()
    if len(sid) > MAX_SID_LENGTH or not sid.isalnum():
        raise HTTPException(400, "MessageSid is not a Twilio message id")
    return InboundSms(sid=sid, sender=form["From"], receiver=form["To"], body=form.get("Body", ""))


@router.post("/twilio/sms")
async def inbound_sms(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    """Receive one SMS from Twilio and answer it."""
    form = await read_signed_form(request, ctx.settings)
    sms = inbound_from_form(form)
    replies = await run_in_threadpool(handle_inbound, session, ctx, sms, utcnow())
    return twiml(replies)
