"""Properties of the number reader (hotline/numbers.py): numbers written out as families write them read back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hotline.numbers import parse_amount, read_number
from tests.fuzz.strategies import fuzz_settings, nasty_text

# Number words written independently of numbers.toml: (units 1-9, tens 10-90) per language and script.
UNITS = {
    "ky": "бир эки үч төрт беш алты жети сегиз тогуз".split(),
    "ky-latn": "bir eki uch tort besh alty jeti segiz toguz".split(),
    "uz": "bir ikki uch to'rt besh olti yetti sakkiz to'qqiz".split(),
    "uz-cyrl": "бир икки уч тўрт беш олти етти саккиз тўққиз".split(),
    "ru": "один два три четыре пять шесть семь восемь девять".split(),
    "ru-latn": "odin dva tri chetyre pyat shest sem vosem devyat".split(),
    "en": "one two three four five six seven eight nine".split(),
}
TENS = {
    "ky": "он жыйырма отуз кырк элүү алтымыш жетимиш сексен токсон".split(),
    "ky-latn": "on jyiyrma otuz kyrk eluu altymysh jetimish seksen tokson".split(),
    "uz": "o'n yigirma o'ttiz qirq ellik oltmish yetmish sakson to'qson".split(),
    "uz-cyrl": "ўн йигирма ўттиз қирқ эллик олтмиш етмиш саксон тўқсон".split(),
    "ru": "десять двадцать тридцать сорок пятьдесят шестьдесят семьдесят восемьдесят девяносто".split(),
    "ru-latn": "desyat dvadtsat tridtsat sorok pyatdesyat shestdesyat semdesyat vosemdesyat devyanosto".split(),
    "en": "ten twenty thirty forty fifty sixty seventy eighty ninety".split(),
}
THOUSAND = {"ky": "миң", "ky-latn": "ming", "uz": "ming", "uz-cyrl": "минг", "ru": "тысяч", "ru-latn": "tysyach",
            "en": "thousand"}  # fmt: skip
LANGS = st.sampled_from(sorted(UNITS))


def in_words(n: int, lang: str) -> str:
    """1..99 in words, tens then units as all four languages say them."""
    tens, units = divmod(n, 10)
    return " ".join(w for w in (TENS[lang][tens - 1] if tens else "", UNITS[lang][units - 1] if units else "") if w)


@fuzz_settings(150)
@given(
    n=st.integers(1, 999),
    unit=st.sampled_from(
        [
            "{} миң",
            "{} мин",
            "{} ming",
            "{} минг",
            "{} тыс.",
            "{}к",
            "{}k",
            "{} тысяч",
            "{}миң",
            "айына {} миң сом",
            "{} ming so'm",
        ]
    ),
)
def test_n_thousand_reads_as_n_times_a_thousand(n: int, unit: str) -> None:
    assert parse_amount(unit.format(n)) == n * 1000


@fuzz_settings(150)
@given(
    n=st.integers(0, 99_999_999),
    separator=st.sampled_from([" ", ".", ",", "\u00a0", ""]),
    suffix=st.sampled_from(["", " сом", "с", " som", "сом", " so'm"]),
)
def test_grouped_digits_read_back(n: int, separator: str, suffix: str) -> None:
    text = f"{n:,}".replace(",", separator) + suffix
    assert parse_amount(text) == n


@fuzz_settings(150)
@given(n=st.integers(1, 99), lang=LANGS, thousands=st.booleans())
def test_numbers_in_words_read_back_in_every_language_and_script(n: int, lang: str, thousands: bool) -> None:
    text = in_words(n, lang) + (f" {THOUSAND[lang]}" if thousands else "")
    assert parse_amount(text) == n * (1000 if thousands else 1)


@fuzz_settings(100)
@given(low=st.integers(1, 98), step=st.integers(1, 20), unit=st.sampled_from(["миң", "ming", "тыс", ""]),
       dash=st.sampled_from(["-", " - ", "–", " до "]))  # fmt: skip
def test_a_range_is_never_one_number(low: int, step: int, unit: str, dash: str) -> None:
    reading = read_number(f"{low}{dash}{low + step} {unit}")
    factor = 1000 if unit else 1
    assert reading.value is None and (reading.low, reading.high) == (low * factor, (low + step) * factor)


@fuzz_settings(100)
@given(n=st.integers(0, 99_999), letters=st.text(st.sampled_from("bfhjlpqrvwxzбвзлпфцщъ"), min_size=2,
                                                  max_size=5))  # fmt: skip
def test_letters_glued_to_a_number_make_it_unsure(n: int, letters: str) -> None:
    assert parse_amount(f"{n}{letters}") is None and parse_amount(f"{letters}{n}") is None


@fuzz_settings(300)
@given(text=nasty_text)
def test_any_text_reads_as_one_whole_number_or_none_and_never_raises(text: str) -> None:
    reading = read_number(text)
    assert reading.value is None or (isinstance(reading.value, int) and reading.value >= 0)
    assert (reading.value is None) == (reading.problem != "")
    assert read_number(text) == reading
