"""The poll pages (#22): staff define, start and read a poll; results with small counts hidden, the response rate
over phones invited, open answers searchable in any script, the baseline compared, and CSV files without numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.context import Context
from hotline.models import Poll, PollStatus, StaffUser, utcnow
from hotline.polls import jobs
from hotline.staff.csv_export import BOM
from tests.factories import converse
from tests.polls.builders import AWARE, OPEN, make_poll, poll_staff
from tests.staff_pages import csrf_from, log_in

Web = Callable[[], TestClient]


def test_staff_define_and_start_a_poll_on_the_pages(web: Web, session: Session, staff: dict[str, StaffUser]) -> None:
    admin = web()
    token = log_in(admin, "admin")
    assert 'href="/admin/polls"' in admin.get("/admin/users").text
    form = {
        "csrf_token": token,
        "name": "Radio quiz",
        "starts": "2026-01-01",
        "ends": "2099-12-31",
        "keyword": "ПОМОЩЬ",
    }
    refused = admin.post("/admin/polls", data=form)
    assert "would be read as the hotline&#39;s keyword HELP" in refused.text
    created = admin.post("/admin/polls", data={**form, "keyword": "КВИЗ"}, follow_redirects=False)
    url = created.headers["location"]
    question = {
        "csrf_token": token,
        "kind": "choice",
        **{f"text_{lang}": text for lang, text in AWARE.texts.items()},
        **{f"choices_{lang}": text for lang, text in AWARE.choices.items()},
        "synonyms": AWARE.synonyms,
    }
    page = admin.post(f"{url}/questions", data=question).text
    assert "Do you know the danger signs of pregnancy?" in page and "ooba, ha, da, ok" in page
    too_long = {**question, "text_ky": "Кош бойлуулуктун коркунучтуу белгилерин билесизби? " * 4}
    assert (
        "Too long for its SMS (segments &gt; budget): ky question: 4 &gt; 2"
        in admin.post(f"{url}/questions", data=too_long).text
    )
    admin.post(f"{url}/start", data={"csrf_token": token})
    assert "Already" not in admin.get(url).text
    again = admin.post(f"{url}/start", data={"csrf_token": token}).text
    assert "This poll has already been started." in again
    poll = session.exec(select(Poll)).one()
    assert (poll.status, poll.keyword) == (PollStatus.STARTED, "КВИЗ")
    # Other roles never reach the poll pages (tests/admin/test_route_rules.py checks every route's rule).
    officer = web()
    log_in(officer, "dara.officer")
    assert officer.get(url, follow_redirects=False).status_code == 403


def _answer(session: Session, ctx: Context, phone: str, *bodies: str) -> None:
    for body in bodies:
        converse(session, ctx, body, sender=phone)


def test_results_page_and_csv(web: Web, session: Session, ctx: Context, staff: dict[str, StaffUser]) -> None:
    user = poll_staff(session)
    for i in range(8):
        converse(session, ctx, "ПОМОЩЬ", sender=f"+9965552000{i:02d}")  # eight phones the hotline knows
    baseline = make_poll(session, ctx, user, [AWARE], name="Baseline", keyword="BASE")
    for i in range(8):
        _answer(session, ctx, f"+9965552000{i:02d}", "base", "2" if i < 6 else "1")
    endline = make_poll(session, ctx, user, [AWARE, OPEN], name="Endline", audience="phones", baseline=baseline.id)
    jobs.plan_invitations(session, ctx, utcnow())
    session.commit()
    for i in range(7):  # seven of the eight invited answer
        _answer(session, ctx, f"+9965552000{i:02d}", "да" if i < 6 else "нет", f"Про прививки, вопрос {i}")
    admin = web()
    log_in(admin, "admin")
    page = admin.get(f"/admin/polls/{endline.id}/results").text
    assert "Invited: 8 phones; answered: 7 (88%)" in page
    assert "<td>6</td><td>86%</td>" in page and "<td>&lt;5</td><td>—</td>" in page
    assert "<svg" in page and "Про прививки, вопрос 6" in page
    assert "Compared with the baseline: Baseline" in page
    assert "<td>Да</td><td>—</td><td>86%</td><td>—</td>" not in page  # the interface is English: labels in English
    assert "<td>Yes</td><td>—</td><td>86%</td><td>—</td>" in page
    assert "<td>No</td><td>75%</td><td>—</td><td>—</td>" in page
    # Open answers found in any script and case.
    found = admin.get(f"/admin/polls/{endline.id}/results", params={"q": "PRIVIVKI, VOPROS 3"}).text
    assert "Open answers found: 1" in found and "вопрос 3" in found and "вопрос 4" not in found
    counts = admin.get(f"/admin/polls/{endline.id}/results.csv")
    assert counts.text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(counts.text.removeprefix(BOM))))
    assert rows[0] == [
        "poll",
        "question",
        "question_text",
        "answer",
        "answer_text",
        "municipality",
        "language",
        "count",
    ]
    assert ["Endline", "1", "Do you know the danger signs of pregnancy?", "1", "Yes", "", "ru", "6"] in rows
    assert ["Endline", "1", "Do you know the danger signs of pregnancy?", "2", "No", "", "ru", "<5"] in rows
    texts = admin.get(f"/admin/polls/{endline.id}/results.csv", params={"part": "open"}).text
    assert texts.count("Про прививки") == 7
    for body in (page, counts.text, texts):
        assert "+99655" not in body and "99655520" not in body


def test_the_poll_page_shows_what_starting_will_send(
    web: Web, session: Session, ctx: Context, staff: dict[str, StaffUser]
) -> None:
    for i in range(3):
        converse(session, ctx, "HELP", sender=f"+9965553000{i:02d}")
    poll = make_poll(session, ctx, poll_staff(session), [AWARE], audience="phones", start=False)
    admin = web()
    log_in(admin, "admin")
    page = admin.get(f"/admin/polls/{poll.id}").text
    assert "3 phones to invite, 3 SMS segments" in page
    assert csrf_from(page)
