"""The keypad's plumbing: each request names, in our own (signed) URL, the menu it answers and what was chosen
before; prompts are played (recorded or generated audio, else <Say>) inside a <Gather>, and a miss repeats."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from urllib.parse import urlencode

from sqlmodel import Session
from twilio.twiml.voice_response import Gather, VoiceResponse

from hotline.context import Context
from hotline.models import Contact, VoiceCall, parse_int
from hotline.places import get_gazetteer
from hotline.voice.prompts import (
    FALLBACK_LANGUAGE,
    TWILIO_VOICES,
    VOICE_LANGUAGES,
    AudioLibrary,
    Prompt,
    Prompts,
)
from hotline.voice.service import (
    ANONYMOUS_CHOICE,
    Caller,
    caller_contact,
    mark_choice,
)

MAX_REPEATS = 3
GATHER_SECONDS = 6
REFERENCE_SECONDS = 12  # typing eight digits on a basic phone takes a while
SILENCE_SECONDS = 10
LANGUAGE_KEYS = {"1": "ky", "2": "ru", "3": "uz"}
MAIN_CHOICES = {"1": "benefits", "2": "complaint", "3": "danger", "4": "status"}
Speech = tuple[Prompt, str | None]  # a prompt and the language to say it in (None: the caller's)


class Menus:
    """One request of a call: the caller, the URL of the next step, and playing a menu that waits for a key."""

    def __init__(
        self,
        session: Session,
        ctx: Context,
        audio: AudioLibrary,
        caller: Caller,
        record: VoiceCall,
        query: dict[str, str],
        form: dict[str, str],
        now: datetime,
    ) -> None:
        self.session, self.ctx, self.audio, self.caller, self.record = session, ctx, audio, caller, record
        self.query, self.form, self.now = query, form, now
        self.prompts = Prompts(ctx.catalogue, get_gazetteer())
        language = query.get("l")
        self.lang: str | None = language if language in VOICE_LANGUAGES else None
        self.tries = parse_int(query.get("t")) or 0
        self._contact: Contact | None = None
        self._contact_loaded = False

    # --- plumbing -------------------------------------------------------------------------------------------

    @property
    def contact(self) -> Contact | None:
        """The caller's contact, made on first use (None for a hidden number)."""
        if not self._contact_loaded:
            # Once the caller chose to stay anonymous, the call no longer touches (or makes) the phone's contact.
            private_call = ANONYMOUS_CHOICE in self.record.menu_path
            self._contact = None if private_call else caller_contact(self.session, self.ctx, self.caller, self.now)
            self._contact_loaded = True
        return self._contact

    def url(self, path: str = "/twilio/voice/step", /, **params: str | int | None) -> str:
        """One of our URLs with the call's state in its query (Twilio signs it back to us)."""
        state = {"l": self.lang, **params}
        query = urlencode(sorted((k, str(v)) for k, v in state.items() if v is not None and v != ""))
        return f"{self.ctx.settings.public_url.rstrip('/')}{path}?{query}"

    def speak(self, target: VoiceResponse | Gather, prompt: Prompt, language: str | None = None) -> None:
        """Play the prompt's audio; without one, <Say> it where Twilio has a voice (Russian for ky and uz).
        Before the caller chooses, the line speaks HOTLINE_DEFAULT_LANGUAGE, the language a first SMS gets."""
        language = language or self.lang or self.ctx.settings.default_language
        path = self.audio.find(language, prompt.key)
        if path is not None and not self.audio.says(
            path, language, self.ctx.texts.speech(prompt.template, language, **prompt.context)
        ):
            path = None  # rendered from an older text (staff changed it since `hotline voice build`): say the new one
        if path is not None:
            # The file's time in the URL: Twilio caches audio, and a new recording must be heard at once.
            version = int(path.stat().st_mtime)
            base = self.ctx.settings.public_url.rstrip("/")
            target.play(f"{base}/voice/audio/{language}/{prompt.key}{path.suffix}?v={version}")
            return
        spoken = language if language in TWILIO_VOICES else FALLBACK_LANGUAGE
        text = self.ctx.texts.speech(prompt.template, spoken, **prompt.context)
        target.say(text, language=TWILIO_VOICES[spoken])

    def menu(
        self,
        node: str,
        prompts: Sequence[Prompt | Speech],
        *,
        preamble: Sequence[Prompt] = (),
        tries: int = 0,
        digits: int | None = 1,
        seconds: int = GATHER_SECONDS,
        finish_on_key: str = "",
        **state: str | int | None,
    ) -> VoiceResponse:
        """Say `preamble`, then the menu inside <Gather> so a key press cuts it short; no key also comes back.
        `digits=None` takes any number of keys, up to `finish_on_key` or the timeout."""
        response = VoiceResponse()
        for prompt in preamble:
            self.speak(response, prompt)
        gather = Gather(
            input="dtmf",
            num_digits=digits,
            timeout=seconds,
            finish_on_key=finish_on_key,
            action=self.url(n=node, t=tries, s=len(self.record.menu_path), **state),
            method="POST",
            action_on_empty_result=True,
        )
        for item in prompts:
            prompt, language = item if isinstance(item, tuple) else (item, None)
            self.speak(gather, prompt, language)
        response.append(gather)
        return response

    def retry(self, present: Callable[..., VoiceResponse], pressed: str, **state: str | None) -> VoiceResponse:
        """No key or a wrong one: the same menu again (saying the key was wrong), or goodbye after three repeats."""
        tries = self.tries + 1
        if tries > MAX_REPEATS:
            return self.goodbye()
        before = [self.prompts.simple("common", "invalid")] if pressed else []
        response: VoiceResponse = present(before=before, tries=tries, **state)
        return response

    def goodbye(self) -> VoiceResponse:
        """Thank the caller and hang up."""
        response = VoiceResponse()
        self.speak(response, self.prompts.simple("common", "goodbye"))
        response.hangup()
        return response

    def choose(self, choice: str) -> None:
        """Note a choice in the call's menu path (once, however often Twilio repeats the request)."""
        mark_choice(self.record, parse_int(self.query.get("s")), choice, self.now)
        self.session.add(self.record)

    # --- entry ----------------------------------------------------------------------------------------------
