"""Matcher benchmark: the keyword matcher's cost per message, in µs, over a mixed list of what families type.

    python -m bench.matcher [--rounds 200]

The list mixes bare keywords, Latin spellings, greetings and filler before a keyword, dialogue answers, complaint
texts and long messages. It prints µs per message for `match()` alone (warm, and with its cache of words' skeletons
emptied before each round) and for the text work `respond()` does on every message before any database access
(`match()`, and the danger-sign search unless the message is a keyword alone). No database, no network."""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable

from hotline import keywords
from hotline.engine import may_name_danger as may_name_danger
from hotline.keywords import KeywordMatcher
from hotline.reminders.dates import has_symptom

MESSAGES = [
    # Bare keywords, as most messages are.
    "HELP",
    "ПОСОБИЕ",
    "ЖӨЛӨКПУЛ 1",
    "BENEFITS 2",
    "СТАТУС 12345674",
    "CHECK",
    "ТИЛ",
    "ПОМОЩЬ",
    "НАФАҚА 3",
    "СТОП",
    # Latin spellings, typos and mixed scripts.
    "POSOBIE",
    "posobie 1",
    "jardam",
    "zhardam",
    "jolokpul",
    "pomosh",
    "kattaluu",
    "teksher",
    "СТOП",
    "benfits",
    # Greetings and filler before the keyword, natural phrasings.
    "salam ПОСОБИЕ керек",
    "Саламатсызбы! Мага жардам керек",
    "мен пособие алгым келет",
    "Здравствуйте, подскажите пожалуйста как получить детские",
    "assalomu alaykum nafaqa kerak",
    "больше не пишите",
    "жалобу хочу написать",
    # Dialogue answers and things that are no keyword.
    "1",
    "3",
    "ооба",
    "русский",
    "12.03.2025",
    "5 ай",
    "айына 5 миң сом",
    "hello",
    "😀",
    # Complaints and long messages.
    "ЖАЛОБА аким 2000 сом сурады",
    "АРЫЗ Кара-Бактагы айыл өкмөтүнүн кызматкери 2000 сом сурады",
    "complaint payment late",
    "Пособие по уходу за ребенком до 3 лет не платят уже четыре месяца, в айыл окмоту говорят ждать, "
    "а соцработник просит деньги за справку",
    "balam ysyp jatat",
    "ЖАРДАМ балам талма кармап жатат",
]


def per_message(work: Callable[[str], object], rounds: int, before_round: Callable[[], object] = object) -> float:
    """Median over rounds of the µs one message costs, the whole list per round."""
    for text in MESSAGES:  # warm caches (folded tables, compiled patterns)
        work(text)
    samples = []
    for _ in range(rounds):
        before_round()
        start = time.perf_counter()
        for text in MESSAGES:
            work(text)
        samples.append((time.perf_counter() - start) / len(MESSAGES) * 1e6)
    return statistics.median(samples)


def main() -> None:
    """Print µs per message for the matcher and for respond()'s text work."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    matcher = KeywordMatcher.from_file()  # a fresh one: its load is not measured, its use is

    def text_work(text: str) -> object:
        match = matcher.match(text)
        return match, may_name_danger(match) and has_symptom(text)

    print(f"python {sys.version.split()[0]} on {platform.machine()}, {len(MESSAGES)} messages, {args.rounds} rounds")
    print(f"match():                    {per_message(matcher.match, args.rounds):7.1f} µs per message")
    clear = getattr(keywords, "_skeletons", None)
    if clear is not None:  # the words' skeletons are cached; cold, every word is read afresh
        cold = per_message(matcher.match, args.rounds, clear.cache_clear)
        print(f"match(), no cached words:   {cold:7.1f} µs per message")
    print(f"respond()'s text work:      {per_message(text_work, args.rounds):7.1f} µs per message")


if __name__ == "__main__":
    main()
