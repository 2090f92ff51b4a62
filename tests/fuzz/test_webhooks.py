"""Signed Twilio webhooks fed arbitrary forms: never a 5xx, never half-saved data, repeats change nothing.

Every request carries a valid X-Twilio-Signature and nearly always our AccountSid, so the handlers' own logic is
reached, not only the 403; another account's requests (or none named) are refused and change nothing."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import parse_qs, parse_qsl, quote_from_bytes, urlencode, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from hotline.config import Settings
from hotline.context import Context
from hotline.dialogue.private import turn_key
from hotline.messaging import outbox
from hotline.models import Contact, InboundMessage, OutboundStatus, PrivateTurn, Purpose
from hotline.webhooks import MAX_FIELDS, sign
from tests.factories import OUR_NUMBER, post_form
from tests.fuzz.strategies import KEYWORD_ALIASES, any_text, fuzz_settings, nasty_text, odd_digits
from tests.voice.phone import Phone

# Small pools, so that cases repeat each other's ids (Twilio retries) and reach existing rows.
MESSAGE_SIDS = [f"SM{n:032x}" for n in range(4)]
CALL_SIDS = [f"CA{n:032x}" for n in range(4)]
RECORDING_SIDS = [f"RE{n:032x}" for n in range(3)]
PHONES = ["+996555123456", "0555 123 457", "+996 770 000 001", "anonymous", "+79161234567", "Beeline"]
OUR_ACCOUNT = "AC" + "1" * 32  # the account of tests.support.make_settings
OTHER_ACCOUNT = "AC" + "2" * 32


KEYWORDS = sorted({spelling for _, _, spelling in KEYWORD_ALIASES})


def corrupted(realistic: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A realistic value with a control character inside (NUL: PostgreSQL refuses to store or compare it)."""
    inside = st.sampled_from(["\x00", "\x00", "\x1b", "\x7f", "\u2028"])
    return st.builds(lambda value, at, ch: value[:at] + ch + value[at:], realistic, st.integers(0, 40), inside)


def field(realistic: st.SearchStrategy[str], odds: int = 2) -> st.SearchStrategy[str | None]:
    """A form field: what Twilio sends (`odds` times out of odds + 3), corrupted, anything at all, or missing."""
    choices: list[st.SearchStrategy[str | None]] = [*[realistic] * odds, corrupted(realistic), nasty_text, st.none()]
    return st.integers(0, odds + 2).flatmap(choices.__getitem__)  # one_of would merge the repeated strategy


# The AccountSid Twilio always sends: ours nearly always, else another account's, a broken one or none (a forger).
accounts = field(st.sampled_from([OUR_ACCOUNT] * 19 + [OTHER_ACCOUNT]), odds=16)


def forms(fields: dict[str, st.SearchStrategy[str | None]]) -> st.SearchStrategy[dict[str, str]]:
    """Forms with these fields (some missing), a few unknown ones, and an AccountSid."""

    def build(values: dict[str, str | None], extra: dict[str, str]) -> dict[str, str]:
        present = {name: value for name, value in values.items() if value is not None}
        return {**extra, **present}

    every = st.fixed_dictionaries({"AccountSid": accounts, **fields})
    return st.builds(build, every, st.dictionaries(any_text, any_text, max_size=3))


def refused_if_not_ours(response: httpx.Response, form: dict[str, str], before: dict[str, int], engine: Engine) -> bool:
    """True (after checking the refusal) when the form does not name our account: 403, or 413 first, nothing kept."""
    if form.get("AccountSid") == OUR_ACCOUNT:
        return False
    assert response.status_code in (403, 413), response.text
    assert table_counts(engine) == before
    return True


# Numbers as Twilio sends them, and strings that pass str.isdigit() but not int().
numbers = st.one_of(st.integers(0, 10**6).map(str), odd_digits)
sms_bodies = st.one_of(
    st.sampled_from(KEYWORDS),
    st.builds(lambda k, rest: f"{k} {rest}", st.sampled_from(KEYWORDS), any_text),
    st.sampled_from(["1", "2", "да", "нет", "12.03.2026", "5 ай", "STATUS 12345674", "ЖАЛОБА взятка в айыл окмоту"]),
)
sms_forms = forms(
    {
        "MessageSid": field(st.sampled_from(MESSAGE_SIDS), odds=8),
        "From": field(st.sampled_from(PHONES)),
        "To": field(st.just(OUR_NUMBER), odds=8),
        "Body": field(sms_bodies),
        "NumSegments": field(numbers),
    }
)
status_forms = forms(
    {
        "MessageSid": field(st.sampled_from(MESSAGE_SIDS), odds=8),
        "MessageStatus": field(st.sampled_from(["queued", "sent", "delivered", "undelivered", "failed", "read"])),
        "ErrorCode": field(st.sampled_from(["30003", "21610", "30008"])),
    }
)
voice_forms = forms(
    {
        "CallSid": field(st.sampled_from(CALL_SIDS), odds=8),
        "From": field(st.sampled_from(PHONES)),
        "To": field(st.sampled_from([OUR_NUMBER, *PHONES])),
        "Direction": field(st.sampled_from(["inbound", "outbound-api"])),
        "Digits": field(
            st.one_of(st.text("0123456789*#", max_size=9), odd_digits, st.integers(10, 5000).map("1".__mul__))
        ),
        "CallStatus": field(st.sampled_from(["ringing", "in-progress", "completed", "no-answer", "busy", "failed"])),
        "CallDuration": field(numbers),
        "RecordingSid": field(st.sampled_from(RECORDING_SIDS)),
        "RecordingUrl": field(st.just("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1")),
        "RecordingDuration": field(numbers),
        "RecordingStatus": field(st.sampled_from(["completed", "failed", "absent"])),
    }
)
# The state our own TwiML puts in the URLs Twilio calls back (signed with them): l language, n menu node, t tries,
# s step, p programme, a anonymous, d place, r reference, c contact.
MENUS = ["lang", "main", "benefits", "programme", "danger", "identity", "district", "record", "recorded", "status_ref"]


def state(realistic: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A value in our URL: what our TwiML writes (twice as often), or anything."""
    return st.integers(0, 3).flatmap([realistic, realistic, any_text, odd_digits].__getitem__)


voice_queries = st.fixed_dictionaries(
    {},
    optional={
        "l": state(st.sampled_from(["ky", "ru", "uz", "en"])),
        "n": state(st.sampled_from([*MENUS, "status_pin"])),
        "t": state(numbers),
        "s": state(numbers),
        "p": state(st.sampled_from(["uy_bulogo_komok", "esp", "balaga_suyunchu", "bala_yrysy"])),
        "a": state(st.sampled_from(["0", "1"])),
        "d": state(st.sampled_from(["dara", "kyshtut", "batken-rayon"])),
        "r": state(st.sampled_from(["12345674", "00000000"])),
        "c": state(numbers),
    },
)
VOICE_PATHS = ["/twilio/voice", "/twilio/voice/step", "/twilio/voice/recording", "/twilio/voice/status"]


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table: what a refused request must leave as it was."""
    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }


def assert_twiml(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/xml"), response.text
    assert ET.fromstring(response.text).tag == "Response", response.text


@fuzz_settings(60)
@given(form=sms_forms)
def test_sms_webhook(
    client: TestClient, settings: Settings, engine: Engine, ctx: Context, form: dict[str, str]
) -> None:
    before = table_counts(engine)
    response = post_form(client, settings, form)
    event(f"status {response.status_code}")  # --hypothesis-show-statistics: how many cases reached the handler
    if refused_if_not_ours(response, form, before, engine):
        return
    assert response.status_code in (200, 400, 413), response.text
    if response.status_code != 200:
        assert table_counts(engine) == before
        return
    assert_twiml(response)
    with Session(engine) as session:
        # Stored as a message, or (a message of an anonymous complaint) only as a private turn: kept either way.
        stored = session.exec(select(InboundMessage).where(InboundMessage.message_sid == form["MessageSid"].strip()))
        private = session.get(PrivateTurn, turn_key(ctx, "twilio", form["MessageSid"].strip()))
        assert stored.first() is not None or private is not None
    after = table_counts(engine)
    again = post_form(client, settings, form)  # Twilio's retry: the first reply again, nothing more stored
    assert (again.status_code, again.text) == (200, response.text)
    assert table_counts(engine) == after


@fuzz_settings(80)
@given(form=status_forms)
def test_delivery_status_callback(
    client: TestClient, settings: Settings, engine: Engine, ctx: Context, form: dict[str, str]
) -> None:
    with Session(engine) as session:
        if session.exec(select(func.count()).select_from(Contact)).one() == 0:
            _sent_messages(session, ctx)
    before = table_counts(engine)
    response = post_form(client, settings, form, path="/twilio/status")
    event(f"status {response.status_code}")
    if refused_if_not_ours(response, form, before, engine):
        return
    assert response.status_code in (204, 400, 413), response.text
    # A status changes a message's row; one for an id not (yet) sent is kept for later: one row, nothing else.
    after = table_counts(engine)
    kept = after.pop("deliveryreport") - before.pop("deliveryreport")
    assert after == before
    known = form.get("MessageSid", "").strip() in MESSAGE_SIDS
    assert kept <= (0 if known or response.status_code != 204 else 1)


def _sent_messages(session: Session, ctx: Context) -> None:
    contact = Contact(phone_hash="p" * 64, phone_encrypted=ctx.vault.encrypt("+996555123456"), language="ru")
    session.add(contact)
    session.flush()
    for n, sid in enumerate(MESSAGE_SIDS):
        message = outbox.enqueue(session, ctx, contact=contact, text="hi", purpose=Purpose.REMINDER, key=f"k{n}")
        message.status, message.provider_sid = OutboundStatus.SENT, sid
        session.add(message)
    session.commit()


@pytest.mark.parametrize("path", VOICE_PATHS)
@fuzz_settings(25)
@given(query=voice_queries, form=voice_forms)
def test_voice_webhooks(
    client: TestClient, settings: Settings, engine: Engine, path: str, query: dict[str, str], form: dict[str, str]
) -> None:
    before = table_counts(engine)
    target = f"{path}?{urlencode(query)}" if query else path
    response = post_form(client, settings, form, path=target)
    event(f"status {response.status_code}")
    if refused_if_not_ours(response, form, before, engine):
        return
    assert response.status_code in (200, 204, 400, 413), response.text
    if response.status_code >= 400:
        assert table_counts(engine) == before
    elif response.status_code == 200:
        assert_twiml(response)


# Every field of every webhook, one at a time, broken in each of these ways (a systematic pass the random one may miss).
CORRUPTIONS: dict[str, Callable[[str], str]] = {
    "NUL inside": lambda value: value[:2] + "\x00" + value[2:],
    "escape sequence": lambda value: value + "\x1b[0m",
    "superscript digits": lambda value: "²³",
    "5,000 digits": lambda value: "1" * 5000,
    "empty": lambda value: "",
    "letters beyond GSM and the BMP": lambda value: value + "ң😀",
}
SIGNED_FORMS = {
    "/twilio/sms": {
        "AccountSid": OUR_ACCOUNT,
        "MessageSid": MESSAGE_SIDS[1],
        "From": PHONES[0],
        "To": OUR_NUMBER,
        "Body": "STATUS 12345674",
    },
    "/twilio/status": {
        "AccountSid": OUR_ACCOUNT,
        "MessageSid": MESSAGE_SIDS[0],
        "MessageStatus": "failed",
        "ErrorCode": "30003",
    },
    "/twilio/voice": {
        "AccountSid": OUR_ACCOUNT,
        "CallSid": CALL_SIDS[0],
        "From": PHONES[0],
        "To": OUR_NUMBER,
        "Direction": "inbound",
    },
    "/twilio/voice/step?n=benefits&l=ru&s=1": {
        "AccountSid": OUR_ACCOUNT,
        "CallSid": CALL_SIDS[0],
        "From": PHONES[0],
        "Digits": "1",
    },
    "/twilio/voice/recording?l=ru&a=0&d=dara&c=1": {
        "AccountSid": OUR_ACCOUNT,
        "CallSid": CALL_SIDS[0],
        "RecordingSid": RECORDING_SIDS[0],
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        "RecordingDuration": "30",
        "RecordingStatus": "completed",
    },
    "/twilio/voice/status": {
        "AccountSid": OUR_ACCOUNT,
        "CallSid": CALL_SIDS[0],
        "CallStatus": "completed",
        "CallDuration": "42",
    },
}


@pytest.mark.parametrize("path", SIGNED_FORMS)
def test_each_field_broken_in_each_way(
    client: TestClient, settings: Settings, engine: Engine, ctx: Context, path: str
) -> None:
    with Session(engine) as session:
        _sent_messages(session, ctx)  # so that status callbacks find their message
    Phone(client, settings, sid=CALL_SIDS[0]).dial()  # and call callbacks their call
    for name in SIGNED_FORMS[path]:
        for how, corrupt in CORRUPTIONS.items():
            form = {**SIGNED_FORMS[path], name: corrupt(SIGNED_FORMS[path][name])}
            before = table_counts(engine)
            response = post_form(client, settings, form, path=path)
            # Any change to AccountSid names another account: refused.
            expected = (403,) if name == "AccountSid" else (200, 204, 400)
            assert response.status_code in expected, f"{name}, {how}: {response.text}"
            if response.status_code >= 400:
                assert table_counts(engine) == before, f"{name}, {how}"


# Mostly the keys a menu offers (so calls go deep), sometimes anything a keypad or a forger could send.
menu_keys = st.sampled_from(["1", "2", "3", "4", "0", "*", "#", "", "12345674", "1234"])
keys = st.integers(0, 9).flatmap(
    [
        *[menu_keys] * 7,
        st.text("0123456789*#", max_size=10),
        odd_digits,
        st.integers(10, 5000).map("1".__mul__),
    ].__getitem__
)


def next_request(twiml: ET.Element) -> tuple[str, dict[str, str]] | None:
    """Where Twilio posts next, as the TwiML says (a menu's keys, a finished recording, a redirect), if anywhere."""
    for node in twiml.iter():
        if node.tag == "Gather":
            return node.attrib["action"], {}
        if node.tag == "Record":
            return node.attrib["action"], {"RecordingSid": RECORDING_SIDS[0], "RecordingDuration": "12"}
        if node.tag == "Redirect":
            return node.text or "", {}
    return None


@fuzz_settings(50)
@given(presses=st.lists(keys, min_size=1, max_size=10), number=st.sampled_from(PHONES), callback=st.booleans())
def test_voice_calls_through_the_menus(
    client: TestClient, settings: Settings, presses: list[str], number: str, callback: bool
) -> None:
    # A caller pressing any keys, following the URLs (and their state) our own TwiML gives: every menu is reached.
    phone = Phone(client, settings, number=number, callback=callback)
    twiml = phone.dial()
    for digits in presses:
        step = next_request(twiml)
        if step is None:
            break  # the call was hung up
        url, fields = step
        twiml = phone.post(url, Digits=digits, **fields)  # asserts 200 and well-formed TwiML
        event(f"menu {parse_qs(urlsplit(url).query).get('n', ['?'])[0]}")


def _encode(raw: bytes, percent: bool) -> bytes:
    return quote_from_bytes(raw).encode() if percent else raw


raw_pairs = st.lists(
    st.tuples(
        st.one_of(
            st.sampled_from([b"Body", b"From", b"To", b"CallSid", b"Digits", b"AccountSid"]), st.binary(max_size=6)
        ),
        st.binary(max_size=24),
        st.booleans(),  # percent-encoded, or the bytes as they are
    ),
    max_size=6,
)


@fuzz_settings(60)
@given(path=st.sampled_from(["/twilio/sms", "/twilio/status", *VOICE_PATHS]), pairs=raw_pairs)
def test_raw_bytes_in_signed_forms(
    client: TestClient, settings: Settings, engine: Engine, path: str, pairs: list[tuple[bytes, bytes, bool]]
) -> None:
    valid = {
        "AccountSid": OUR_ACCOUNT,
        "MessageSid": MESSAGE_SIDS[0],
        "CallSid": CALL_SIDS[0],
        "From": PHONES[0],
        "To": OUR_NUMBER,
    }
    body = b"&".join([urlencode(valid).encode(), *(_encode(k, p) + b"=" + _encode(v, p) for k, v, p in pairs)])
    try:
        # Signed over the fields Twilio would have posted: the form as the app will parse it, when it can.
        signed = dict(
            parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
        )
    except (UnicodeDecodeError, ValueError):
        signed = {}
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign(settings, settings.public_url.rstrip("/") + path, signed),
    }
    before = table_counts(engine)
    response = client.post(path, content=body, headers=headers)
    event(f"status {response.status_code}")
    if signed and refused_if_not_ours(response, signed, before, engine):  # AccountSid given again, differently
        return
    assert response.status_code in (200, 204, 400), response.text
    if response.status_code == 400:
        assert table_counts(engine) == before
