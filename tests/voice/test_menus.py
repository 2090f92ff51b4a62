"""Walking the keypad menus as a caller: language, main menu, benefits, danger signs, repeats, goodbye."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.benefits.service import get_catalogue
from hotline.config import ROOT, Settings
from hotline.content import TextLibrary
from hotline.context import build_context
from hotline.main import create_app
from hotline.models import Contact, VoiceCall, utcnow
from hotline.voice.prompts import BENEFIT_PARTS
from tests.factories import PHONE, post_form, text_in
from tests.voice.phone import Phone

LANGUAGE_KEY = {"ky": "1", "ru": "2", "uz": "3"}


def test_first_call_asks_the_language_in_each_language_and_remembers_it(
    voice_client: TestClient, voice_settings: Settings, session: Session
) -> None:
    phone = Phone(voice_client, voice_settings)
    phone.dial()
    assert phone.heard() == ["play:ky/welcome", "play:ky/language", "play:ru/language", "play:uz/language"]
    phone.press("3")
    assert phone.heard() == ["play:uz/menu"]
    contact = session.exec(select(Contact)).one()
    assert contact.voice_language == "uz"

    again = Phone(voice_client, voice_settings)
    again.dial()
    assert again.heard() == ["play:uz/welcome", "play:uz/menu"], "a known caller goes straight to the menu"
    again.press("9")
    assert [h for h in again.heard() if h.endswith("/language")] == [
        "play:ky/language",
        "play:ru/language",
        "play:uz/language",
    ]
    again.press("1")
    session.expire_all()
    assert session.exec(select(Contact)).one().voice_language == "ky"


@pytest.mark.parametrize("language", ["ky", "ru", "uz"])
def test_a_first_call_and_a_first_sms_are_in_the_one_configured_language(
    voice_settings: Settings, language: str
) -> None:
    settings = voice_settings.model_copy(update={"default_language": language})
    with TestClient(create_app(settings), base_url="http://internal:8000") as client:
        phone = Phone(client, settings)
        phone.dial()
        assert phone.heard()[0] == f"play:{language}/welcome"
        phone.press("7")  # not a language: the caller is told so in the same language
        assert phone.heard()[0] == f"play:{language}/common/invalid"
        menu = TextLibrary(ROOT / "message_templates", settings.max_segments).render("menu", language).text
        assert text_in(client, settings, "???", sender="+996700222333") == [menu]


def test_prompts_sit_inside_gather_so_a_key_press_interrupts_them(
    voice_client: TestClient, voice_settings: Settings
) -> None:
    phone = Phone(voice_client, voice_settings)
    root = phone.dial()
    gather = phone.gather()
    assert gather.attrib["numDigits"] == "1"
    assert gather.attrib["actionOnEmptyResult"] == "true"
    assert len(gather.findall("Play")) == 4 and not root.findall("Play")


@pytest.mark.parametrize("language", ["ky", "ru", "uz"])
def test_every_menu_can_be_walked_in_each_language(
    voice_client: TestClient, voice_settings: Settings, language: str
) -> None:
    phone = Phone(voice_client, voice_settings)
    phone.dial()
    phone.press(LANGUAGE_KEY[language])
    assert phone.heard() == [f"play:{language}/menu"]
    # Benefits: every programme in force, each of its three parts, then back.
    today = build_context(voice_settings).local_day(utcnow())  # the hotline's day (Bishkek), as the line reads it
    for version in get_catalogue().listing(today):
        phone.press("1")
        assert phone.played() == [f"benefits_menu@{_menu_date(today)}"]
        phone.press(str(version.number))
        assert phone.played() == [f"programme_menu/{version.id}"]
        for key, part in zip("123", BENEFIT_PARTS, strict=True):
            phone.press(key)
            assert phone.played() == [
                f"benefits/{version.id}@{version.effective_from}/{part}",
                f"programme_menu/{version.id}",
            ]
            assert all(h.startswith(f"play:{language}/") for h in phone.heard())
        phone.press("*")
        assert phone.played() == ["menu"]
    # Danger signs: pregnancy, newborn, child.
    phone.press("3")
    assert phone.played() == ["danger_menu"]
    for key, kind in (("1", "pregnancy"), ("2", "newborn"), ("3", "child")):
        phone.press(key)
        assert phone.played() == [f"danger/{kind}", "danger_menu"]
    phone.press("*")
    phone.press("0")
    assert phone.played() == ["menu"], "0 repeats the menu"
    # Every audio file the TwiML points to is served.
    for url in [node.text or "" for node in (phone.twiml.iter("Play") if phone.twiml is not None else [])]:
        assert voice_client.get(url.removeprefix(voice_settings.public_url)).status_code == 200


def _menu_date(day: date) -> date:
    return max(v.effective_from for v in get_catalogue().all_versions() if v.effective_from <= day)


def test_no_key_or_a_wrong_key_repeats_the_menu_three_times_then_goodbye(
    voice_client: TestClient, voice_settings: Settings
) -> None:
    phone = Phone(voice_client, voice_settings)
    phone.dial()
    phone.press("2")
    phone.silence()
    assert phone.played() == ["menu"], "silence: the menu again, without blame"
    phone.press("7")
    assert phone.played() == ["common/invalid", "menu"]
    phone.press("#")
    assert phone.played() == ["common/invalid", "menu"]
    phone.silence()
    assert phone.twiml is not None
    assert phone.played() == ["common/goodbye"]
    assert phone.twiml.find("Hangup") is not None and phone.twiml.find("Gather") is None


def test_a_good_key_starts_the_count_afresh(voice_client: TestClient, voice_settings: Settings) -> None:
    phone = Phone(voice_client, voice_settings)
    phone.dial()
    phone.press("2")
    phone.press("8")
    phone.press("8")
    phone.press("3")  # danger menu, tries back to 0
    for _ in range(3):
        phone.press("5")
        assert phone.played() == ["common/invalid", "danger_menu"]
    phone.press("5")
    assert phone.played() == ["common/goodbye"]


def test_without_audio_russian_is_spoken_and_kyrgyz_falls_back_to_russian_speech(
    client: TestClient, settings: Settings
) -> None:
    phone = Phone(client, settings)
    phone.dial()
    spoken = phone.heard()
    assert spoken and all(h.startswith("say[ru-RU]:") for h in spoken)
    phone.press("1")  # Kyrgyz: Twilio has no voice, the Russian text is said instead of silence
    assert phone.heard() and all(h.startswith("say[ru-RU]:") for h in phone.heard())
    assert "1" in phone.heard()[0], "the main menu's text names its keys"


def test_the_menu_path_is_kept_once_even_when_twilio_repeats_a_request(
    voice_client: TestClient, voice_settings: Settings, session: Session
) -> None:
    phone = Phone(voice_client, voice_settings)
    phone.dial()
    phone.press("2")
    action = phone.gather().attrib["action"]
    phone.post(action, Digits="3")
    phone.post(action, Digits="3")  # Twilio retried the same request
    phone.press("1")
    record = session.exec(select(VoiceCall).where(VoiceCall.call_sid == phone.sid)).one()
    assert record.menu_path == ["lang:ru", "main:danger", "danger:pregnancy"]
    assert record.language == "ru" and record.direction == "inbound"


def test_unknown_digits_and_odd_input_get_a_menu_never_an_error(
    voice_client: TestClient, voice_settings: Settings
) -> None:
    phone = Phone(voice_client, voice_settings)
    phone.dial()
    phone.press("2")
    action = phone.gather().attrib["action"]
    for digits in ("99", "*#*", "١", "x" * 500, "\u0000"):
        phone.post(action, Digits=digits)
        assert phone.played()[-1] in ("menu", "common/goodbye")
    # A menu name from an older version of the app: the call starts afresh instead of failing.
    phone.post(voice_settings.public_url + "/twilio/voice/step?l=ru&n=retired-menu", Digits="1")
    assert phone.played()[-1] == "menu"


def test_forged_or_missing_signatures_and_malformed_calls_are_refused(
    voice_client: TestClient, voice_settings: Settings
) -> None:
    phone = Phone(voice_client, voice_settings)
    form = phone.form()
    for path in ("/twilio/voice", "/twilio/voice/step?n=main&l=ru", "/twilio/voice/recording", "/twilio/voice/status"):
        forged = post_form(voice_client, voice_settings, form, path=path, signature="bm90IGEgc2lnbmF0dXJl")
        assert forged.status_code == 403, path
        unsigned = voice_client.post(path, data=form)
        assert unsigned.status_code == 403, path
    # Signed for one menu, replayed against another: the signature covers our URL's query.
    good = post_form(voice_client, voice_settings, form, path="/twilio/voice/step?n=main&l=ru")
    assert good.status_code == 200
    url = voice_settings.public_url + "/twilio/voice/step?n=main&l=ru"
    from hotline.webhooks import sign

    moved = voice_client.post(
        "/twilio/voice/step?n=status_pin&l=ru&r=12345678",
        data=form,
        headers={"X-Twilio-Signature": sign(voice_settings, url, form)},
    )
    assert moved.status_code == 403
    missing = post_form(voice_client, voice_settings, {**form, "CallSid": ""}, path="/twilio/voice")
    assert missing.status_code == 400
    odd = post_form(voice_client, voice_settings, {**form, "CallSid": "CA../../etc"}, path="/twilio/voice")
    assert odd.status_code == 400


def test_a_hidden_number_can_use_every_menu(
    voice_client: TestClient, voice_settings: Settings, session: Session
) -> None:
    phone = Phone(voice_client, voice_settings, number="anonymous")
    phone.dial()
    phone.press("2")
    phone.press("3")
    phone.press("1")
    assert phone.played() == ["danger/pregnancy", "danger_menu"]
    assert session.exec(select(Contact)).first() is None, "no number, nothing stored about the caller"


def test_audio_route_serves_only_prompts(voice_client: TestClient, voice_settings: Settings) -> None:
    assert voice_client.get("/voice/audio/ru/menu.wav").status_code == 200
    assert voice_client.get("/voice/audio/ru/menu.wav").headers["content-type"] == "audio/wav"
    for path in (
        "/voice/audio/ru/../../pyproject.toml",
        "/voice/audio/ru/%2e%2e/%2e%2e/hotline/config.py",
        "/voice/audio/xx/menu.wav",
        "/voice/audio/ru/menu.txt",
        "/voice/audio/ru/no_such_prompt.wav",
    ):
        assert voice_client.get(path).status_code == 404, path


def test_caller_number_never_reaches_the_log(
    voice_client: TestClient, voice_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    phone = Phone(voice_client, voice_settings)
    with caplog.at_level("DEBUG"):
        phone.dial()
        phone.press("2")
        phone.press("4")
    assert PHONE not in caplog.text and PHONE[4:] not in caplog.text
