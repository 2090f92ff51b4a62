"""Interface language of the admin pages: Russian, English and Kyrgyz catalogues (TOML, key → text)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).with_name("locale")
FALLBACK = "en"


@lru_cache(maxsize=1)
def catalogues() -> dict[str, dict[str, str]]:
    """Every catalogue by language code."""
    return {p.stem: tomllib.loads(p.read_text(encoding="utf-8")) for p in sorted(LOCALE_DIR.glob("*.toml"))}


def translator(language: str) -> Callable[..., str]:
    """t(key, **values): the text in the language, else English (Kyrgyz is partly translated), else the key."""
    own, fallback = catalogues().get(language, {}), catalogues()[FALLBACK]

    def t(key: str, **values: object) -> str:
        text = own.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return t


class Explained(ValueError):
    """An error staff can hit, whose message exists in every interface language (`refused.<key>` + values).

    str() is the English text, for the CLI and logs; pages show text(language)."""

    def __init__(self, key: str, **values: object) -> None:
        self.key, self.values = f"refused.{key}", values
        super().__init__(translator("en")(self.key, **values))

    def text(self, language: str) -> str:
        """The message in an interface language."""
        return translator(language)(self.key, **self.values)
