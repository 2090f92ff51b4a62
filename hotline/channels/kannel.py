"""The Kannel channel: a local operator's SMS link (SMPP) through Kannel, whose sms-service calls us for each SMS a
family sends and whose sendsms interface sends ours, with delivery reports to a URL that carries our outbox id.

Kannel cannot sign its requests: they are authenticated by a secret of at least 32 random characters in the URL
and by the addresses they may come from, both checked before anything is read or stored (docs/CHANNELS.md)."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

import httpx
from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from hotline.channels.base import FastAnswer, InboundHandler, answer, apply_report, queue_in_thread
from hotline.config import Settings
from hotline.context import ContextDep
from hotline.db import SessionDep
from hotline.dialogue.inbound import Inbound
from hotline.messaging.sender import Outgoing, SendResult
from hotline.models import OutboundStatus, parse_int, utcnow
from hotline.segments import is_gsm7

log = logging.getLogger(__name__)
NAME = "kannel"
DLR_PATH = "/kannel/dlr"
# Every report Kannel can give: delivered (1), undelivered (2), buffered at the SMSC (4), accepted by the SMSC (8),
# rejected by the SMSC (16).
DLR_MASK = 31
DLR_STATUSES = {
    1: OutboundStatus.DELIVERED,
    2: OutboundStatus.UNDELIVERED,
    4: OutboundStatus.SENT,
    8: OutboundStatus.SENT,
    16: OutboundStatus.FAILED,
}


def check_source(request: Request, settings: Settings) -> None:
    """403 unless the request comes from an allowed address and carries the secret (constant-time comparison)."""
    allowed = [part.strip() for part in settings.kannel_allowed_ips.split(",") if part.strip()]
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
        permitted = any(address in ipaddress.ip_network(net, strict=False) for net in allowed)
    except ValueError:
        permitted = False
    given = request.query_params.get("secret", "")
    secret = settings.kannel_secret
    genuine = bool(secret) and hmac.compare_digest(given.encode(), secret.encode())
    if not (permitted and genuine):
        # One answer for both: a caller learns nothing about which check failed.
        raise HTTPException(403, "Not a request from this hotline's Kannel")


def dlr_url(settings: Settings, outbox_id: int) -> str:
    """Where Kannel reports on a message: our outbox id and Kannel's report type (%d) in the URL."""
    query = urlencode({"secret": settings.kannel_secret, "id": outbox_id})
    return f"{settings.public_url.rstrip('/')}{DLR_PATH}?{query}&type=%d"


class KannelSender:
    """Sends through Kannel's sendsms HTTP interface: UCS-2 for Cyrillic, concatenated parts for long texts."""

    name = NAME

    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.client = httpx.Client(timeout=timeout)

    def _params(self, sms: Outgoing) -> dict[str, str | int]:
        params: dict[str, str | int] = {
            "username": self.settings.kannel_username,
            "password": self.settings.kannel_password,
            "to": sms.to,
            "text": sms.body,
            "charset": "UTF-8",
            # GSM-7 texts go as 7-bit (160 characters a part), anything else as UCS-2 (70).
            "coding": 0 if sms.encoding == "GSM-7" else 2,
            "dlr-mask": DLR_MASK,
            "dlr-url": dlr_url(self.settings, sms.outbox_id),
            "max-messages": max(sms.segments, 1),
        }
        if self.settings.kannel_from:
            params["from"] = self.settings.kannel_from
        if self.settings.kannel_smsc:
            params["smsc"] = self.settings.kannel_smsc
        return params

    def send(self, sms: Outgoing) -> SendResult:
        """Hand the SMS to Kannel; 202 (accepted or queued) is sent, 4xx is final, 5xx and no answer are retried."""
        try:
            response = self.client.get(self.settings.kannel_sendsms_url, params=self._params(sms))
        except httpx.HTTPError as exc:
            return SendResult(error_code="network", error=type(exc).__name__, temporary=True)
        text = response.text.strip()[:255]
        if response.status_code in (200, 202):
            return SendResult(provider_sid=str(sms.outbox_id))  # Kannel has no id of its own: reports carry ours
        temporary = response.status_code >= 500 or response.status_code == 429
        return SendResult(error_code=f"http{response.status_code}", error=text, temporary=temporary)

    def own_reference(self, outbox_id: int) -> str | None:
        """Kannel's delivery reports carry our outbox id (in the dlr-url)."""
        return str(outbox_id)

    def find_sent(self, sms: Outgoing, since: datetime) -> str | None:
        """Kannel cannot be asked; a report it already sent is looked up by the dispatcher before this."""
        return None


MAX_ID_LENGTH = 64


def _decode(raw: bytes, coding: str, charset: str) -> str:
    # Kannel passes the message's own bytes (%b) and says how they are encoded: UCS-2 (coding 2) is UTF-16BE.
    name = charset.strip() or ("UTF-16BE" if coding == "2" else "UTF-8")
    if name.upper() in ("UCS-2", "UCS2", "UTF-16"):
        name = "UTF-16BE"
    elif name.upper() == "8-BIT":
        name = "latin-1"  # a data SMS (coding 1): its bytes kept one for one, never refused
    try:
        return raw.decode(name)
    except (LookupError, UnicodeDecodeError) as exc:
        raise HTTPException(400, f"Text is not valid {name[:32]}") from exc


def _raw_params(query: str) -> dict[str, bytes]:
    # Latin-1 keeps every byte as it came, so the text can be decoded with the charset Kannel names.
    return {k: v.encode("latin-1") for k, v in parse_qsl(query, keep_blank_values=True, encoding="latin-1")}


def inbound_from_query(query: str, now: datetime) -> Inbound:
    """The message Kannel's sms-service passes (id, from, to, text, coding, charset); 400 naming what is missing."""
    raw = _raw_params(query)
    fields = {name: raw.get(name, b"").decode("latin-1").strip() for name in ("id", "from", "to", "coding", "charset")}
    for name in ("id", "from", "to"):
        if not fields[name]:
            raise HTTPException(400, f"Missing parameter {name}")
    if len(fields["id"]) > MAX_ID_LENGTH:
        raise HTTPException(400, "id is longer than a Kannel message id")
    text = _decode(raw.get("text", b""), fields["coding"], fields["charset"])
    return Inbound(NAME, fields["id"], fields["from"], fields["to"], text, now)


def reply_response(text: str) -> Response:
    """The body Kannel sends to the phone: plain text (an empty one sends nothing: omit-empty), UTF-8, and marked
    UCS-2 when it is not GSM-7, or Kannel sends Cyrillic as question marks."""
    headers = {"X-Kannel-Coding": "2"} if text and not is_gsm7(text) else {}
    return Response(text, media_type="text/plain; charset=utf-8", headers=headers)


def routes(handle: InboundHandler, fast: FastAnswer | None = None) -> APIRouter:
    """GET /kannel/sms (Kannel's sms-service: the first reply in the response body, the rest by the outbox) and
    GET /kannel/dlr (delivery reports for what we sent through sendsms)."""
    router = APIRouter()

    @router.get("/kannel/sms")
    async def inbound_sms(request: Request, ctx: ContextDep) -> Response:
        """Receive one SMS from Kannel and answer it in the response, which Kannel sends to the phone."""
        check_source(request, ctx.settings)
        if NAME not in ctx.settings.channel_list:
            raise HTTPException(404, "The Kannel channel is not in HOTLINE_CHANNELS")
        inbound = inbound_from_query(request.url.query, utcnow())
        engine = request.app.state.engine
        handled = await answer(engine, handle, fast, ctx, inbound)
        if len(handled.replies) > 1:
            # A turn with several texts: the first goes back in the response, the others through the outbox.
            await run_in_threadpool(queue_in_thread, engine, ctx, inbound, handled, 2)
        return reply_response(handled.replies[0] if handled.replies else "")

    @router.get(DLR_PATH)
    async def delivery_report(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
        """Record Kannel's report on one of our messages (its id and the report type are in the URL)."""
        check_source(request, ctx.settings)
        outbox_id = parse_int(request.query_params.get("id"))
        kind = parse_int(request.query_params.get("type"))
        if outbox_id is None or kind is None:
            raise HTTPException(400, "Missing or malformed parameter id or type")
        status = DLR_STATUSES.get(kind)
        if status is None:
            log.warning("kannel report for %s with unknown type %s ignored", outbox_id, kind)
        else:
            error = "rejected" if status == OutboundStatus.FAILED else None
            # Found by our own id (the URL carries it), as Twilio's callbacks are: the operator may report delivery
            # before the dispatcher has recorded the send.
            await run_in_threadpool(apply_report, session, NAME, str(outbox_id), status, error, outbox_id)
        # 200, not 204: Kannel takes anything but 200/202 as a failure and sends the report again.
        return Response("", media_type="text/plain")

    return router
