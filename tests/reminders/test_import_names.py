"""Issue 19, point 15: an import file may name the kind and the municipality as the form shows them."""

from __future__ import annotations

from datetime import timedelta

from hotline.models import EnrolmentKind, utcnow
from hotline.reminders import importer

TODAY = utcnow().date()
BORN = (TODAY - timedelta(days=100)).strftime("%d.%m.%Y")


def test_kinds_and_municipalities_by_the_names_the_form_shows() -> None:
    text = (
        "\ufeffphone;kind;date;language;municipality;send_hour;consent\n"
        f"0555 123 456;беременность;5 месяц;ru;Дара;9;да\n"
        f"0555 123 457;Ребенок;{BORN};ky;Кара-Бак;9;да\n"
        f"0555 123 458;child;{BORN};ky;kyshtut;9;yes\n"
    )
    rows = importer.check_all(importer.read_csv(text.encode()), TODAY)
    assert [(r.kind, r.municipality) for r in rows] == [
        (EnrolmentKind.PREGNANCY, "dara"),
        (EnrolmentKind.CHILD, "kara-bak"),
        (EnrolmentKind.CHILD, "kyshtut"),
    ]
    bad = f"phone,kind,date,consent,municipality\n0555 123 456,роды,{BORN},да,Баткенский район\n"
    try:
        importer.check_all(importer.read_csv(bad.encode()), TODAY)
    except importer.ImportRejected as rejected:
        problems = [str(p) for p in rejected.errors]
    assert problems == [
        "line 2: kind must be pregnancy or child, not 'роды'",
        "line 2: unknown municipality code 'Баткенский район'",
    ]
