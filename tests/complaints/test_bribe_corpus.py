"""The bribe guess on a corpus of complaints as families type them, in Kyrgyz, Russian, Uzbek and English, in
Cyrillic and in Latin letters: money or a gift named with any official or office must route as a bribe; other
complaints must not (a false positive only goes one level up, a false negative exposes the family)."""

from __future__ import annotations

import pytest

from hotline.complaints.categories import get_rules
from hotline.complaints.service import route
from hotline.models import Jurisdiction
from hotline.places import get_gazetteer

# (language, text). "ky-lat"/"ru-lat"/"uz-lat": typed in Latin letters.
MUST_ROUTE = [
    ("ru", "с нас взяли 1000 сом за справку"),
    ("ru", "Соцработник сказал без 2000 сом в список не включит"),
    ("ru", "Чтобы оформить пособие, в айыл окмоту попросили подарок"),
    ("ru", "Участковый требует деньги за справку о составе семьи"),
    ("ru", "Директор школы собирает по 500 сом с каждой семьи"),
    ("ru", "Врач в ФАПе не принимает пока не дашь 300с"),
    ("ru", "дала акиму 5000 чтобы нас записали на пособие"),
    ("ru", "Почтальон отдаёт пособие только если оставить ему 200 сом"),
    ("ru", "Взятку просят за место в детском саду"),
    ("ru", "В собесе сказали заплатить за ускорение оформления"),
    ("ru", "Нам сказали принести 10 тысяч, тогда дадут пособие"),
    ("ru", "Без денег в айыл окмоту ничего не делают"),
    ("ru-lat", "s nas vzyali 1000 som za spravku"),
    ("ru-lat", "akim prosit dengi za spravku"),
    ("ru-lat", "socrabotnik trebuet 3000 somov chtoby vklyuchit v spisok"),
    ("ky", "Айыл өкмөттөгү кызматкер маалымкат үчүн 500 сом алды"),
    ("ky", "Социалдык кызматкер үй-бүлөгө көмөк үчүн акча сурады"),
    ("ky", "Мектеп директору ар бир баладан 1000 сомдон чогултат"),
    ("ky", "Дарыгер белек алып келгиле деди"),
    ("ky", "Аким пара берсең тизмеге киргизем деди"),
    ("ky", "участковый 2000 сом талап кылды"),
    ("ky-lat", "ayil okmotto spravka uchun 500 som aldy"),
    ("ky-lat", "socrabotnik akcha surady"),
    ("ky-lat", "mektep direktoru 1000 som chogultup jatat"),
    ("ky-lat", "akimge belek alyp kelip ber dedi"),
    ("uz", "Маҳалла раиси нафақа учун пул сўради"),
    ("uz", "Ҳокимиятда маълумотнома учун 200 минг сўм олишди"),
    ("uz", "Ижтимоий ходим пора талаб қилди"),
    ("uz", "Мактаб директори ҳар бир оиладан 500 сом йиғяпти"),
    ("uz", "Шифокор совға олиб келинг деди"),
    ("uz-lat", "mahalla raisi nafaqa uchun pul so'radi"),
    ("uz-lat", "ijtimoiy xodim pora so‘rayapti"),
    ("uz-lat", "spravka uchun 500 som berdim akimga"),
    ("uz-lat", "maktab direktori pul yig'yapti"),
    ("en", "The social worker asked for 1000 som to put us on the list"),
    ("en", "We had to pay the akim to get the certificate"),
    ("en", "The doctor wants a gift before he signs the paper"),
    ("en", "They took 500 som from us for the spravka"),
    ("en", "aiyl okmotu officer demanded money"),
    ("en", "The school director collects money from every family"),
]

MUST_NOT_ROUTE = [
    ("ru", "Пособие не выплатили уже три месяца"),
    ("ru", "Мне отказали в пособии, хотя у меня четверо детей"),
    ("ru", "Соцработник накричал на меня и выгнал"),
    ("ru", "Пособие 1200 сом не пришло в этом месяце"),
    ("ru", "Когда будет выплата на ребенка?"),
    ("ru", "Аким не принимает уже неделю"),
    ("ru", "Врач в больнице грубил моей маме"),
    ("ru", "У меня 5 детей, аким отказал в пособии"),
    ("ru", "В 2024 году соцработник исключил нас из списка"),
    ("ru", "уже пара месяцев ничего не платят"),
    ("ru-lat", "posobie ne prishlo uzhe 2 mesyaca"),
    ("ru-lat", "otkazali v posobii bez prichiny"),
    ("ky", "Жөлөкпул үч айдан бери төлөнбөй жатат"),
    ("ky", "Үй-бүлөгө көмөк тизмесинен чыгарып салышты"),
    ("ky", "Социалдык кызматкер мага кыйкырды"),
    ("ky", "Балага жөлөк пул качан келет?"),
    ("ky-lat", "jolokpul 3 aidan beri kelbei jatat"),
    ("ky-lat", "akim menen joluguu kerek, kabyl albai jatat"),
    ("uz", "Нафақа уч ойдан бери тўланмаган"),
    ("uz", "Болалар нафақасидан чиқариб ташлашди"),
    ("uz", "Маҳалла раиси менга бақирди"),
    ("uz-lat", "nafaqa hali kelmadi, qachon keladi?"),
    ("en", "My child benefit has not been paid for two months"),
    ("en", "I was excluded from the family benefit list without reason"),
    ("en", "The social worker was rude to my mother"),
    ("en", "How do I apply for the benefit?"),
    ("en", "The benefit of 1200 som did not arrive this month"),
]


# Written after the word lists, to measure them on texts they were not built from (15 of 16 routed and 0 of 10
# false positives before the skimmed-benefit words were added for the one miss).
HELD_OUT_ROUTE = [
    ("ky", "Айыл өкмөтү үй-бүлөгө көмөк үчүн 3000 сом сурап жатат"),
    ("ru", "Соцзащита отказывает, пока не отблагодаришь"),
    ("ru", "За справку о доходах в айыл окмоту платим по 200 сом"),
    ("ru", "Медсестра берет по 100 сом за каждую прививку"),
    ("ky-lat", "Kyzmatker 500 som berseng tez bolot dedi"),
    ("ky-lat", "Ayil okmotunun adisi pul surap jatat"),
    ("ru", "Участковому отдали 2 тысячи чтобы подписал акт"),
    ("ru", "в школе требуют сдать по 300 на шторы"),
    ("uz-lat", "Hokimiyat xodimi 100 ming so'm so'radi"),
    ("uz", "Раис бува совға бермасанг рўйхатга киритмайман деди"),
    ("en", "the akim's assistant took 2000 from my husband"),
    ("en", "nurse asked us for money for the certificate"),
    ("ru", "почтальонша забирает часть пособия себе"),
    ("ru-lat", "Dengi prosyat v sobese za spravku"),
    ("ky", "Мугалим балдардан акча чогултуп жатат"),
    ("ru", "Врач сказал без магарыча не выпишет направление"),
]
HELD_OUT_NOT = [
    ("ru", "Почему нам не назначили пособие на третьего ребенка?"),
    ("ky", "Айыл өкмөтүнө бардым, эч ким жок экен"),
    ("ru", "Пособие пришло, но меньше на 300 сом"),
    ("ky", "Мектепте мугалим баламды урду"),
    ("uz-lat", "Iltimos, nafaqa qachon beriladi?"),
    ("ru", "ребенку 2 года, пособие не дают"),
    ("en", "The akim promised to help but nothing happened"),
    ("uz-lat", "Kechirasiz, nafaqa puli kelmadi"),
    ("ru", "Соцработник не приходит уже 3 месяца, проверки не было"),
    ("ky", "Үй-бүлөгө көмөк 2025-жылдан бери берилбей жатат"),
]
ROUTE = MUST_ROUTE + HELD_OUT_ROUTE
NOT_ROUTE = MUST_NOT_ROUTE + HELD_OUT_NOT


def is_bribe(text: str) -> bool:
    return get_rules().guess(text).code == "bribe"


@pytest.mark.parametrize(("language", "text"), ROUTE)
def test_money_or_a_gift_with_an_official_routes_as_a_bribe(language: str, text: str) -> None:
    assert is_bribe(text), f"{language}: {text}"
    rules, dara = get_rules(), get_gazetteer().get("dara")
    assert route(rules, rules.guess(text), text, dara) == (Jurisdiction.DISTRICT, "category bribe")


@pytest.mark.parametrize(("language", "text"), NOT_ROUTE)
def test_other_complaints_are_not_guessed_as_bribes(language: str, text: str) -> None:
    assert not is_bribe(text), f"{language}: {text}"


def test_corpus_covers_four_languages_and_both_sides() -> None:
    for side in (ROUTE, NOT_ROUTE):
        assert {language.split("-")[0] for language, _ in side} == {"ky", "ru", "uz", "en"}
    assert len(ROUTE) + len(NOT_ROUTE) >= 40
    hits = sum(is_bribe(text) for _, text in ROUTE)
    false_alarms = sum(is_bribe(text) for _, text in NOT_ROUTE)
    print(f"bribe guess: {hits}/{len(ROUTE)} routed, {false_alarms}/{len(NOT_ROUTE)} false positives")
    assert (hits, false_alarms) == (len(ROUTE), 0)
