"""A caller on a basic phone: dials the line, hears what the TwiML says, presses keys; every answer parsed as XML."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

from fastapi.testclient import TestClient

from hotline.config import Settings
from tests.factories import OUR_NUMBER, PHONE, post_form


def call_sid() -> str:
    """A fresh Twilio-style call id."""
    return "CA" + secrets.token_hex(16)


def parse_twiml(text: str) -> ET.Element:
    """The response as XML: fails the test if it is not well-formed TwiML."""
    root = ET.fromstring(text)
    assert root.tag == "Response", text
    return root


@dataclass
class Phone:
    """One call in progress."""

    client: TestClient
    settings: Settings
    number: str = PHONE
    sid: str = field(default_factory=call_sid)
    callback: bool = False
    twiml: ET.Element | None = None

    def form(self, **extra: str) -> dict[str, str]:
        """The fields Twilio posts with every request of a call."""
        ours, theirs = OUR_NUMBER, self.number
        base = {
            "CallSid": self.sid,
            "AccountSid": self.settings.twilio_account_sid,
            "From": ours if self.callback else theirs,
            "To": theirs if self.callback else ours,
            "Direction": "outbound-api" if self.callback else "inbound",
            "CallStatus": "in-progress",
        }
        return {**base, **extra}

    def post(self, url: str, **extra: str) -> ET.Element:
        """Post to one of the URLs our TwiML gave (absolute, under the public URL), as Twilio does."""
        path = url.removeprefix(self.settings.public_url.rstrip("/"))
        response = post_form(self.client, self.settings, self.form(**extra), path=path)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/xml")
        self.twiml = parse_twiml(response.text)
        return self.twiml

    def dial(self) -> ET.Element:
        """The call starts."""
        return self.post(self.settings.public_url + "/twilio/voice")

    def gather(self) -> ET.Element:
        """The menu waiting for a key."""
        assert self.twiml is not None
        found = self.twiml.find("Gather")
        assert found is not None, ET.tostring(self.twiml, encoding="unicode")
        return found

    def press(self, digits: str) -> ET.Element:
        """Press keys in the current menu."""
        return self.post(self.gather().attrib["action"], Digits=digits)

    def keys(self, sequence: str) -> ET.Element:
        """Press keys one after another as Twilio's <Gather> takes them: the menu's `numDigits`-th key or its
        `finishOnKey` (default `#`, none when empty, never part of `Digits`) submits at once, and the keys still
        to press go to the next menu. Keys typed without the finishing key are sent when the timeout ends."""
        typed = ""
        for key in sequence:
            gather = self.gather()
            finish = gather.attrib.get("finishOnKey", "#")
            limit = int(gather.attrib.get("numDigits", "0")) or None
            if finish and key == finish:
                self.post(gather.attrib["action"], Digits=typed)
                typed = ""
                continue
            typed += key
            if limit is not None and len(typed) >= limit:
                self.post(gather.attrib["action"], Digits=typed)
                typed = ""
        if typed:
            self.post(self.gather().attrib["action"], Digits=typed)
        assert self.twiml is not None
        return self.twiml

    def silence(self) -> ET.Element:
        """Press nothing: Twilio posts the action with no digits (actionOnEmptyResult)."""
        return self.post(self.gather().attrib["action"], Digits="")

    def record(self) -> ET.Element:
        """The <Record> verb of the current answer."""
        assert self.twiml is not None
        found = self.twiml.find("Record")
        assert found is not None, ET.tostring(self.twiml, encoding="unicode")
        return found

    def finish_recording(self, recording_sid: str, seconds: int, digits: str = "#") -> ET.Element:
        """Twilio's request to the <Record> action when the caller pressed # (or hung up: digits 'hangup')."""
        return self.post(self.record().attrib["action"], **self.recording_fields(recording_sid, seconds), Digits=digits)

    def recording_fields(self, recording_sid: str, seconds: int) -> dict[str, str]:
        """What Twilio says of a finished recording."""
        return {
            "RecordingSid": recording_sid,
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{self.settings.twilio_account_sid}"
            f"/Recordings/{recording_sid}",
            "RecordingDuration": str(seconds),
        }

    def heard(self, element: ET.Element | None = None) -> list[str]:
        """What the caller hears, in order: spoken text, or the prompt key of each audio file played."""
        element = self.twiml if element is None else element
        assert element is not None
        out: list[str] = []
        for node in element.iter():
            if node.tag == "Say":
                out.append(f"say[{node.attrib.get('language')}]:{node.text}")
            elif node.tag == "Play":
                path = urlparse(node.text or "").path.removeprefix("/voice/audio/")
                out.append(f"play:{path.rsplit('.', 1)[0]}")
        return out

    def played(self) -> list[str]:
        """Only the keys of the audio prompts played, without language: 'digit/7', 'menu', ..."""
        return [h.removeprefix("play:").split("/", 1)[1] for h in self.heard() if h.startswith("play:")]

    def state(self) -> dict[str, str]:
        """The state our own URL carries in the current menu's action."""
        return {k: v[0] for k, v in parse_qs(urlparse(self.gather().attrib["action"]).query).items()}
