"""The keypad menus. Each request names, in our own (signed) URL, the menu it answers and what was chosen before;
the answer is TwiML built with the twilio library's VoiceResponse.

Keys everywhere: 0 hears the menu again, * goes to the main menu. No key or a wrong one repeats the menu, up to
three times, then the line says goodbye."""

from __future__ import annotations

from collections.abc import Sequence

from twilio.twiml.voice_response import VoiceResponse

from hotline.benefits.service import ProgrammeVersion
from hotline.complaints import service as complaints
from hotline.complaints.reference import is_valid_reference
from hotline.models import CallDirection, Complaint, ComplaintStatus, parse_int
from hotline.places import get_gazetteer
from hotline.voice.menus import (
    GATHER_SECONDS,
    LANGUAGE_KEYS,
    MAIN_CHOICES,
    MAX_REPEATS,
    REFERENCE_SECONDS,
    SILENCE_SECONDS,
    Menus,
    Speech,
)
from hotline.voice.prompts import (
    BENEFIT_PARTS,
    DANGER_KINDS,
    VOICE_LANGUAGES,
    Prompt,
)
from hotline.voice.service import (
    ANONYMOUS_CHOICE,
    MAX_RECORDING_SECONDS,
    RecordedComplaint,
    RecordingReport,
    file_recording,
    make_private,
    recording_report,
    request_callback,
)


class Ivr(Menus):
    """The menus of the voice line: which menu, which key, what to say next."""

    def start(self) -> VoiceResponse:
        """A new call: a missed call to call back, or the greeting and the language or main menu."""
        settings = self.ctx.settings
        if not self.caller.callback and settings.voice_callback and self.record.direction != CallDirection.ANSWERED:
            if request_callback(self.session, self.ctx, self.caller, self.now):
                self.record.direction = CallDirection.REJECTED
                self.session.add(self.record)
                response = VoiceResponse()
                response.reject(reason="busy")  # not answered: the caller pays nothing
                return response
            self.record.direction = CallDirection.ANSWERED  # no callback possible: serve the call as it is
        contact = self.contact
        known = contact.voice_language if contact is not None else None
        self.lang = known if known in VOICE_LANGUAGES else None
        self.record.language = self.lang
        self.session.add(self.record)
        welcome = [self.prompts.welcome(self.caller.callback)]
        return self.present_main(before=welcome) if self.lang else self.present_lang(before=welcome)

    def answer(self) -> VoiceResponse:
        """The response to a key press (or its absence) in the menu named by the URL."""
        node = self.query.get("n", "")
        digits = self.form.get("Digits", "").strip()
        handler = {
            "lang": self.on_lang,
            "main": self.on_main,
            "benefits": self.on_benefits,
            "programme": self.on_programme,
            "danger": self.on_danger,
            "identity": self.on_identity,
            "district": self.on_district,
            "record": self.on_record,
            "recorded": self.on_recorded,
            "status_ref": self.on_status_ref,
            "status_pin": self.on_status_pin,
        }.get(node)
        if handler is None:
            return self.start()  # an unknown or old menu name: start afresh rather than fail
        if self.lang is None and node != "lang":
            return self.present_lang()
        return handler(digits)

    # --- language and main menu -----------------------------------------------------------------------------

    def present_lang(self, before: Sequence[Prompt] = (), tries: int = 0) -> VoiceResponse:
        """Each language says its own key, in its own voice."""
        choices: list[Prompt | Speech] = [(p, None) for p in before]
        choices += [(Prompt("language", "voice/language"), language) for language in VOICE_LANGUAGES]
        return self.menu("lang", choices, tries=tries)

    def on_lang(self, digits: str) -> VoiceResponse:
        """Remember the chosen language for this caller's next calls."""
        language = LANGUAGE_KEYS.get(digits)
        if language is None:
            return self.retry(self.present_lang, digits)
        self.lang = self.record.language = language
        self.choose(f"lang:{language}")
        contact = self.contact
        if contact is not None and contact.voice_language != language:
            # updated_at is left alone: its time could be matched with an anonymous complaint made in this call.
            contact.voice_language = language
            self.session.add(contact)
        return self.present_main()

    def present_main(
        self, before: Sequence[Prompt] = (), tries: int = 0, preamble: Sequence[Prompt] = ()
    ) -> VoiceResponse:
        """The main menu: benefits, complaint, danger signs, status; 0 again, 9 language."""
        return self.menu("main", [*before, Prompt("menu", "voice/menu")], preamble=preamble, tries=tries)

    def on_main(self, digits: str) -> VoiceResponse:
        """Go where the caller chose."""
        choice = MAIN_CHOICES.get(digits)
        if digits == "0":
            return self.present_main()
        if digits == "9":
            return self.present_lang()
        if choice is None:
            return self.retry(self.present_main, digits)
        self.choose(f"main:{choice}")
        if choice == "benefits":
            return self.present_benefits()
        if choice == "danger":
            return self.present_danger()
        if choice == "status":
            return self.present_status_ref()
        return self.start_complaint()

    # --- benefits and danger signs --------------------------------------------------------------------------

    def present_benefits(self, before: Sequence[Prompt] = (), tries: int = 0) -> VoiceResponse:
        """The programmes in force today, one key each."""
        return self.menu("benefits", [*before, self.prompts.benefits_menu(self.ctx.local_day(self.now))], tries=tries)

    def on_benefits(self, digits: str) -> VoiceResponse:
        """A programme's sub-menu."""
        if digits == "*":
            return self.present_main()
        if digits == "0":
            return self.present_benefits()
        number = parse_int(digits)
        version = self.ctx.catalogue.by_number(number, self.ctx.local_day(self.now)) if number is not None else None
        if version is None:
            return self.retry(self.present_benefits, digits)
        self.choose(f"benefits:{version.id}")
        return self.present_programme(version)

    def _programme(self) -> ProgrammeVersion | None:
        return self.ctx.catalogue.in_force(self.query.get("p", ""), self.ctx.local_day(self.now))

    def present_programme(
        self, version: ProgrammeVersion | None = None, before: Sequence[Prompt] = (), tries: int = 0
    ) -> VoiceResponse:
        """Rules, documents, where to apply; 4 other programmes."""
        version = version or self._programme()
        if version is None:
            return self.present_benefits()
        prompts = [*before, self.prompts.programme_menu(version)]
        return self.menu("programme", prompts, tries=tries, p=version.id)

    def on_programme(self, digits: str) -> VoiceResponse:
        """One part of the programme's facts, then its menu again."""
        version = self._programme()
        if version is None or digits == "4":
            return self.present_benefits()
        if digits == "*":
            return self.present_main()
        if digits == "0":
            return self.present_programme(version)
        if digits in ("1", "2", "3"):
            part = BENEFIT_PARTS[int(digits) - 1]
            self.choose(f"programme:{part}")
            return self.present_programme(version, before=[self.prompts.benefit(version, part)])
        return self.retry(lambda **kw: self.present_programme(version, **kw), digits)

    def present_danger(self, before: Sequence[Prompt] = (), tries: int = 0) -> VoiceResponse:
        """Pregnancy, newborn, child."""
        return self.menu("danger", [*before, Prompt("danger_menu", "voice/danger_menu")], tries=tries)

    def on_danger(self, digits: str) -> VoiceResponse:
        """The signs chosen, then the menu again."""
        if digits == "*":
            return self.present_main()
        if digits == "0":
            return self.present_danger()
        if digits in ("1", "2", "3"):
            kind = DANGER_KINDS[int(digits) - 1]
            self.choose(f"danger:{kind}")
            return self.present_danger(before=[self.prompts.danger(kind)])
        return self.retry(self.present_danger, digits)

    # --- complaints -----------------------------------------------------------------------------------------

    def start_complaint(self) -> VoiceResponse:
        """Named or anonymous, where, then the recording; a hidden number can only be anonymous."""
        contact = self.contact
        settings = self.ctx.settings
        if (
            contact is not None
            and complaints.complaints_today(self.session, self.ctx, contact, self.now)
            >= settings.max_complaints_per_day
        ):
            return self.present_main(preamble=[self.prompts.simple("complaint", "limit")])
        if contact is None:
            return self.where(anonymous=True, before=[self.prompts.simple("complaint", "no_number")])
        return self.present_identity()

    def present_identity(self, before: Sequence[Prompt] = (), tries: int = 0) -> VoiceResponse:
        """1 leave the number (answer by SMS), 2 stay anonymous."""
        return self.menu("identity", [*before, self.prompts.simple("complaint", "identity")], tries=tries)

    def on_identity(self, digits: str) -> VoiceResponse:
        """Go on with the choice."""
        if digits == "*":
            return self.present_main()
        if digits not in ("1", "2"):
            return self.retry(self.present_identity, digits)
        anonymous = digits == "2"
        if anonymous:
            contact = self.contact  # loaded before the choice: from then on the call no longer touches it
            self.choose(ANONYMOUS_CHOICE)
            make_private(self.session, self.ctx, self.record, contact, self.now)
            # Never the phone's remembered place: it would tie the complaint to the family.
            return self.present_district(a=_flag(True))
        self.choose("complaint:named")
        return self.where(anonymous)

    def where(self, anonymous: bool, before: Sequence[Prompt] = ()) -> VoiceResponse:
        """Ask the district, unless the family's municipality is already known (from an SMS complaint)."""
        known = self.contact.municipality_code if self.contact is not None and not anonymous else None
        if known:
            return self.present_record(a=_flag(anonymous), d=known, before=before)
        return self.present_district(a=_flag(anonymous), before=before)

    def present_district(self, a: str | None = None, before: Sequence[Prompt] = (), tries: int = 0) -> VoiceResponse:
        """One key per district; 0 when the caller does not know."""
        return self.menu("district", [*before, self.prompts.districts()], tries=tries, a=a or self.query.get("a"))

    def on_district(self, digits: str) -> VoiceResponse:
        """The district, then the recording."""
        districts = get_gazetteer().districts
        if digits == "*":
            return self.present_main()
        if digits == "0":
            self.choose("district:unknown")
            return self.present_record(d=None)
        number = parse_int(digits)
        if number is not None and 1 <= number <= len(districts):
            place = districts[number - 1]
            self.choose(f"district:{place.code}")
            return self.present_record(d=place.code)
        return self.retry(self.present_district, digits)

    def present_record(
        self, a: str | None = None, d: str | None = None, before: Sequence[Prompt] = (), tries: int = 0
    ) -> VoiceResponse:
        """What to say, the beep, up to two minutes; # ends. Silence comes back here, counted as a try."""
        a = a or self.query.get("a") or "0"
        d = d if d is not None else self.query.get("d")
        anonymous = a == "1"
        response = VoiceResponse()
        for prompt in [*before, self.prompts.record(anonymous)]:
            self.speak(response, prompt)
        # The recording callback may come alone (the caller hung up): its URL carries everything needed to file.
        contact_id = None if anonymous or self.contact is None else self.contact.id
        response.record(
            action=self.url(n="recorded", a=a, d=d, t=tries),
            method="POST",
            max_length=MAX_RECORDING_SECONDS,
            finish_on_key="#",
            play_beep=True,
            timeout=SILENCE_SECONDS,
            recording_status_callback=self.url("/twilio/voice/recording", a=a, d=d, c=contact_id),
            recording_status_callback_method="POST",
            recording_status_callback_event="completed",
        )
        response.redirect(self.url(n="record", a=a, d=d, t=tries), method="POST")
        return response

    def on_record(self, digits: str) -> VoiceResponse:
        """Nothing was recorded (silence): ask again, or say goodbye."""
        return self._record_again()

    def _record_again(self) -> VoiceResponse:
        tries = self.tries + 1
        if tries > MAX_REPEATS:
            return self.goodbye()
        return self.present_record(before=[self.prompts.simple("complaint", "too_short")], tries=tries)

    def recording(self) -> RecordingReport | None:
        """The recording Twilio reports in this request, with the caller's earlier choices from our URL."""
        own = self.contact.id if self.contact is not None else None
        return recording_report(self.form, self.query, self.ctx.settings.default_language, own)

    def on_recorded(self, digits: str) -> VoiceResponse:
        """The caller finished (or hung up): file the complaint and read its reference (and PIN) twice."""
        report = self.recording()
        filed = file_recording(self.session, self.ctx, report, self.now) if report else None
        if digits == "hangup":
            return VoiceResponse()  # nobody is listening; what was recorded is kept if long enough
        if filed is None:
            return self._record_again()
        self.choose("complaint:recorded")
        return self.present_main(preamble=self.readback(filed))

    def readback(self, filed: RecordedComplaint) -> list[Prompt]:
        """The reference digit by digit, and the PIN of an anonymous complaint, twice; then how answers come."""
        complaint: Complaint = filed.complaint
        once = [self.prompts.simple("complaint", "received"), *self._digits(complaint.reference)]
        if filed.pin:
            once += [self.prompts.simple("complaint", "pin"), *self._digits(filed.pin)]
        return [*once, self.prompts.simple("complaint", "again"), *once, self.prompts.answer_by(complaint.anonymous)]

    def _digits(self, number: str) -> list[Prompt]:
        return [self.prompts.digit(int(d)) for d in number]

    # --- status ---------------------------------------------------------------------------------------------

    def present_status_ref(self, before: Sequence[Prompt] = (), tries: int = 0) -> VoiceResponse:
        """Eight digits, then # (or the timeout). No numDigits: its 8th key would submit, and the # the prompt
        asks for would then answer the PIN question."""
        prompts = [*before, self.prompts.simple("status", "ask_reference")]
        return self.menu("status_ref", prompts, tries=tries, digits=None, seconds=REFERENCE_SECONDS, finish_on_key="#")

    def on_status_ref(self, digits: str) -> VoiceResponse:
        """A valid reference asks for the PIN; anything else is asked again."""
        digits = digits.rstrip("#")
        if digits == "*":
            return self.present_main()
        if not is_valid_reference(digits):
            before = [self.prompts.simple("status", "invalid")] if digits else []
            tries = self.tries + 1
            return self.goodbye() if tries > MAX_REPEATS else self.present_status_ref(before=before, tries=tries)
        prompts = [self.prompts.simple("status", "ask_pin")]
        # Likewise the PIN: four digits then #, four digits and the timeout, or just #.
        return self.menu("status_pin", prompts, digits=None, seconds=GATHER_SECONDS, finish_on_key="#", r=digits)

    def on_status_pin(self, digits: str) -> VoiceResponse:
        """The status, as SMS STATUS gives it: only the phone's own named complaint, or an anonymous one by PIN."""
        reference = self.query.get("r", "")
        digits = digits.rstrip("#")
        pin = digits if len(digits) == 4 and digits.isdigit() else None
        try:
            complaint = complaints.look_up(
                self.session, self.ctx, contact=self.contact, reference=reference, pin=pin, now=self.now
            )
        except complaints.Throttled:
            return self.present_main(preamble=[self.prompts.simple("status", "throttled")])
        self.choose("status:found" if complaint else "status:not_found")
        if complaint is None:
            return self.present_main(preamble=[self.prompts.simple("status", "not_found")])
        answered = complaints.latest_answer(self.session, complaint) is not None
        # As SMS STATUS says it (complaints.flows.shown_status): a new complaint with an answer is not "waiting".
        answered_new = complaint.status == ComplaintStatus.NEW and answered
        said = [] if answered_new else [self.prompts.status_is(str(complaint.status))]
        said.append(self.prompts.simple("status", "answered" if answered else "no_answer"))
        return self.present_main(preamble=said)


def _flag(value: bool) -> str:
    return "1" if value else "0"
