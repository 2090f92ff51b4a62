"""How much the fuzz tests run, and the hostile text they are made of.

CI runs a fixed, small number of derandomized cases (the same every run). Locally, run more and new ones:
`HOTLINE_FUZZ_SCALE=20 HOTLINE_FUZZ_RANDOM=1 .venv/bin/pytest tests/fuzz`."""

from __future__ import annotations

import os
import tomllib

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from hotline.keywords import KEYWORDS_FILE

SCALE = max(1, int(os.environ.get("HOTLINE_FUZZ_SCALE", "1")))
RANDOM = os.environ.get("HOTLINE_FUZZ_RANDOM", "") not in ("", "0")


def fuzz_settings(examples: int) -> settings:
    """`examples` cases (times HOTLINE_FUZZ_SCALE), repeatable unless HOTLINE_FUZZ_RANDOM is set, no deadline."""
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=not RANDOM,
        database=None,  # nothing written into the working tree; a failure prints its reproduction blob
        print_blob=True,
        # The app and its database are set up once per test, not per case: each case runs on what earlier left.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# Any Unicode a phone or a forger could send, control characters and NUL included (surrogates cannot be UTF-8).
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
# One character or a short run of them, repeated past every limit the app has (fields, columns, segments).
huge_text = st.builds(lambda unit, times: unit * times, st.text(min_size=1, max_size=3), st.integers(100, 20_000))
control_text = st.text(st.characters(codec="ascii", categories=["Cc"]), min_size=1, max_size=8)
# Look like numbers to str.isdigit() but not to int(): superscripts, circled digits, other scripts' digits.
odd_digits = st.text(st.sampled_from("0123456789²³¹①⑨٣۴߁१৪੫௬๗႘០᠑"), min_size=1, max_size=12)
nasty_text = st.one_of(any_text, huge_text, control_text, odd_digits)

_KEYWORDS = tomllib.loads(KEYWORDS_FILE.read_text(encoding="utf-8"))["keywords"]
# (keyword, language, spelling) for every alias in the shipped keyword table.
KEYWORD_ALIASES = sorted(
    (keyword, language, alias)
    for keyword, by_language in _KEYWORDS.items()
    for language, aliases in by_language.items()
    for alias in aliases
)
