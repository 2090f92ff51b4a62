"""Properties of the keyword matcher: what the README promises a family's typing may do to a keyword."""

from __future__ import annotations

from hypothesis import assume, event, given
from hypothesis import strategies as st

from hotline.keywords import get_matcher
from tests.fuzz.strategies import KEYWORD_ALIASES as ALIASES
from tests.fuzz.strategies import any_text, fuzz_settings

KEYWORDS = {keyword for keyword, _, _ in ALIASES}
EVERY_FOLDED_ALIAS = {alias.upper() for _, _, alias in ALIASES}
LOOKALIKES = dict(zip("ABCEHKMOPTXY", "АВСЕНКМОРТХУ", strict=True))
LOOKALIKES |= {cyrillic: latin for latin, cyrillic in list(LOOKALIKES.items())}
RUSSIAN_NEAREST = dict(zip("ӨҮҢЎҚҒҲЁ", "ОУНУКГХЕ", strict=True))
aliases = st.sampled_from(ALIASES)
# What may follow a keyword: words (letters, digits, punctuation, symbols) separated by single spaces.
words = st.text(st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=12)
rests = st.lists(words, min_size=1, max_size=4).map(" ".join)
edge_punctuation = st.text('!?.,;:()*"«»-', max_size=3)


@fuzz_settings(200)
@given(alias=aliases, flips=st.lists(st.booleans(), min_size=40, max_size=40))
def test_any_case_of_an_alias_matches_its_keyword(alias: tuple[str, str, str], flips: list[bool]) -> None:
    keyword, language, spelling = alias
    typed = "".join(ch.lower() if flip else ch.upper() for ch, flip in zip(spelling, flips, strict=False))
    found = get_matcher().match(typed)
    assert found.keyword == keyword and language in found.languages


@fuzz_settings(200)
@given(alias=aliases, before=edge_punctuation, after=edge_punctuation, rest=rests, spaces=st.text(" ", max_size=3))
def test_punctuation_around_and_words_after_a_keyword_are_forgiven(
    alias: tuple[str, str, str], before: str, after: str, rest: str, spaces: str
) -> None:
    keyword, _, spelling = alias
    found = get_matcher().match(f"{spaces}{before}{spelling}{after} {rest}{spaces}")
    assert found.keyword == keyword
    assert found.rest == rest  # the words after the keyword reach the flow as they were typed


@fuzz_settings(200)
@given(alias=aliases, swaps=st.lists(st.booleans(), min_size=40, max_size=40))
def test_look_alike_letters_of_the_other_script_are_forgiven(alias: tuple[str, str, str], swaps: list[bool]) -> None:
    keyword, _, spelling = alias
    typed = (
        "".join(LOOKALIKES.get(ch, ch) if swap else ch for ch, swap in zip(spelling.upper(), swaps, strict=False))
        + spelling.upper()[len(swaps) :]
    )
    assert get_matcher().match(typed).keyword == keyword


@fuzz_settings(100)
@given(alias=st.sampled_from([a for a in ALIASES if set(a[2].upper()) & set(RUSSIAN_NEAREST)]), data=st.data())
def test_kyrgyz_and_uzbek_letters_typed_as_russian_ones_are_forgiven(
    alias: tuple[str, str, str], data: st.DataObject
) -> None:
    keyword, _, spelling = alias
    # Some or all of the letters a phone lacks, typed as the nearest Russian one.
    typed = "".join(
        RUSSIAN_NEAREST[ch] if ch in RUSSIAN_NEAREST and data.draw(st.booleans()) else ch for ch in spelling
    )
    assert get_matcher().match(typed).keyword == keyword


def _typos(word: str) -> st.SearchStrategy[str]:
    """Words one keypress away: a letter changed, dropped, added, or swapped with its neighbour."""
    letters = st.sampled_from(sorted({ch for _, _, a in ALIASES for ch in a.upper() if ch.isalpha()}))
    at = st.integers(0, len(word) - 1)
    return st.one_of(
        st.builds(lambda i, ch: word[:i] + ch + word[i + 1 :], at, letters),
        st.builds(lambda i: word[:i] + word[i + 1 :], at),
        st.builds(lambda i, ch: word[:i] + ch + word[i:], at, letters),
        st.builds(
            lambda i: word[:i] + word[i + 1 : i + 2] + word[i : i + 1] + word[i + 2 :], st.integers(0, len(word) - 2)
        ),
    )


long_aliases = st.sampled_from([a for a in ALIASES if len(a[2]) >= 5 and a[2].isalpha()])


@fuzz_settings(300)
@given(data=st.data(), alias=long_aliases)
def test_a_one_letter_typo_never_gives_another_keyword(data: st.DataObject, alias: tuple[str, str, str]) -> None:
    keyword, _, spelling = alias
    typo = data.draw(_typos(spelling.upper()))
    assume(typo not in EVERY_FOLDED_ALIAS)  # a typo that spells another keyword exactly is that keyword
    found = get_matcher().match(typo).keyword
    # Forgiven, or (when one letter away from two keywords) not guessed: never the wrong keyword.
    event("forgiven" if found == keyword else "not guessed")
    assert found in (keyword, None)


@fuzz_settings(300)
@given(text=st.one_of(any_text, st.builds(lambda a, t: a[2] + t, aliases, any_text)))
def test_any_text_gets_a_known_keyword_or_none_with_the_text_kept(text: str) -> None:
    found = get_matcher().match(text)
    assert found.keyword is None or found.keyword in KEYWORDS
    if found.keyword is None:
        assert (found.languages, found.rest) == ((), text.strip())
    else:
        # The words after the first reach the flow as they were typed.
        assert found.languages and found.rest == found.rest.strip()
        after = text.strip().split(maxsplit=1)[1:]
        if after and text.isprintable():
            assert found.rest.endswith(after[0])
    assert get_matcher().match(text) == found
