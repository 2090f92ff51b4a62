"""Scale-out on PostgreSQL (issue #8): 4 web workers and 2 schedulers at once, as deployed. Families text in
(keywords, complaints named and anonymous, danger signs, Twilio's repeats of one MessageSid), while both schedulers
plan a day of reminders for a generated population and send them with the volunteers' alerts. Counted at the end:
duplicates 0, lost 0. Bounded in time; every process is killed at the end whatever happens."""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hotline.config import Settings
from hotline.context import Context, build_context
from hotline.models import (
    Complaint,
    HealthAlert,
    InboundMessage,
    OutboundMessage,
    PrivateTurn,
    Purpose,
    ReminderPlanned,
    utcnow,
)
from hotline.places import get_gazetteer
from hotline.reminders import importer
from tests.cluster import (
    PG_ONLY,
    REFERENCE,
    Posted,
    check_delivery,
    cluster_settings,
    planned,
    populate,
    post_sms,
    running_cluster,
    unsent,
    wait_for,
)
from tests.fake_twilio import FakeServer

DEADLINE_SECONDS = 120
HOUSEHOLDS = 300
NAMED, ANONYMOUS, BROWSING = 40, 20, 60  # phones texting in, by what they do
REPEAT_SHARE = 0.25  # of inbound messages Twilio posts twice at once (its retry after a slow answer)
SENT = re.compile(r"dispatch twilio: DispatchReport\(claimed=\d+, sent=(\d+)")
MARKER = "проверка-масштаба"  # in every complaint text: must never reach a log line


def add_volunteers(engine: Engine, ctx: Context, municipality: str) -> None:
    with Session(engine) as session:
        for i in range(2):
            importer.register_volunteer(session, ctx, f"+99677730000{i}", municipality, f"volunteer {i}", utcnow())
        session.commit()


def dialogues(rng: random.Random) -> list[tuple[str, list[str]]]:
    """(phone, its messages in order): named complaints then a danger sign, anonymous complaints, browsing."""
    found: list[tuple[str, list[str]]] = []
    village = get_gazetteer().municipalities["kadamjay-rayon"][0].name("ru")
    for i in range(NAMED):
        text = f"ЖАЛОБА {MARKER} {i}: меня исключили из списка пособия без причины"
        # The rayon files it; the village's name, as the acknowledgement invites, routes it (and is remembered).
        found.append((f"+99670010{i:04d}", [text, "2", village, "ОПАСНОСТЬ", "СТАТУС"]))
    for i in range(ANONYMOUS):
        found.append((f"+99670020{i:04d}", [f"АНОНИМ {MARKER} {i} пара сурашты", "1"]))
    browsing = [["ПОСОБИЕ", "1", "HELP"], ["CHECK", "1", "ТИЛ"], ["ЖАРДАМ", "ПОСОБИЕ 2"]]
    for i in range(BROWSING):
        found.append((f"+99670030{i:04d}", rng.choice(browsing)))
    rng.shuffle(found)
    return found


def converse(
    client: httpx.Client, settings: Settings, phone: str, texts: list[str], seed: int
) -> list[tuple[str, list[Posted]]]:
    """One family's messages in order; some posted twice at once with the same MessageSid."""
    rng = random.Random(seed)
    done: list[tuple[str, list[Posted]]] = []
    with ThreadPoolExecutor(2) as twice:
        for n, text in enumerate(texts):
            sid = f"SM{seed:08d}{n:04d}" + "0" * 20
            copies = 2 if rng.random() < REPEAT_SHARE else 1
            futures = [twice.submit(post_sms, client, settings, sid, phone, text) for _ in range(copies)]
            posted = [future.result() for future in futures]
            done.append((text, posted))
    return done


@pytest.mark.timeout(DEADLINE_SECONDS + 60)
def test_four_workers_and_two_schedulers_lose_nothing_and_send_nothing_twice(
    settings: Settings, engine: Engine, twilio: FakeServer, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip(PG_ONLY)
    deadline = time.monotonic() + DEADLINE_SECONDS
    # 100 segments/s: the reminders take a few seconds to send, so both schedulers share them.
    cset = cluster_settings(settings, twilio.fake.url, send_rate_segments_per_second=100.0)
    ctx = build_context(cset)
    populate(engine, ctx, HOUSEHOLDS)
    kadamjay = get_gazetteer().municipalities["kadamjay-rayon"][0]  # "2" then its name in the dialogue
    add_volunteers(engine, ctx, kadamjay.code)

    with running_cluster(cset, tmp_path / "logs") as cluster:
        started = time.monotonic()
        cluster.start_scheduler("scheduler-1")
        cluster.start_scheduler("scheduler-2")
        cluster.start_web(workers=4)
        ready = time.monotonic() - started
        families = dialogues(random.Random(20261123))
        inbound_started = time.monotonic()
        with httpx.Client(base_url=cluster.url) as client, ThreadPoolExecutor(12) as pool:
            results = list(pool.map(lambda n: converse(client, settings, *families[n], seed=n), range(len(families))))
        inbound_seconds = time.monotonic() - inbound_started
        wait_for(
            lambda: planned(engine) == HOUSEHOLDS and unsent(engine) == 0,
            deadline,
            "every reminder planned and every outbox message sent",
        )
        drained = time.monotonic() - started
        assert cluster.alive() == ["scheduler-1", "scheduler-2", "web"]
        logs = cluster.all_logs()

    posts = [p for conversation in results for _, copies in conversation for p in copies]
    statuses = Counter(p.status for p in posts)
    assert statuses == {200: len(posts)}, statuses
    for conversation in results:
        for text, copies in conversation:
            assert len({p.replies for p in copies}) == 1, f"a repeated MessageSid got another answer to {text!r}"
    sids = {p.sid for p in posts}

    references = []
    for (_, texts), conversation in zip(families, results, strict=True):
        if texts[0].startswith(("ЖАЛОБА", "АНОНИМ")):
            acknowledgement = conversation[1][1][0].replies[-1]
            found = REFERENCE.search(acknowledgement)
            assert found, acknowledgement
            references.append(found.group(1))
    # An anonymous complaint's messages are kept only as private turns (no message row: docs/PRIVACY.md).
    private_sids = {
        p.sid
        for (_, texts), conversation in zip(families, results, strict=True)
        if texts[0].startswith("АНОНИМ")
        for _, copies in conversation
        for p in copies
    }
    with Session(engine) as session:
        assert len(session.exec(select(InboundMessage.id)).all()) == len(sids - private_sids)
        assert len(session.exec(select(PrivateTurn.key)).all()) == len(private_sids)
        complaints = session.exec(select(Complaint)).all()
        assert sorted(c.reference for c in complaints) == sorted(references)
        assert len(set(references)) == len(references) == NAMED + ANONYMOUS
        assert sum(c.anonymous for c in complaints) == ANONYMOUS
        assert len(session.exec(select(HealthAlert.id)).all()) == NAMED
        plans = session.exec(select(ReminderPlanned)).all()
        reminders = session.exec(select(OutboundMessage).where(OutboundMessage.purpose == Purpose.REMINDER)).all()
        alerts = session.exec(select(OutboundMessage).where(OutboundMessage.purpose == Purpose.ALERT)).all()
    assert len({(p.enrolment_id, p.code) for p in plans}) == len(plans) == HOUSEHOLDS
    assert sorted(p.outbound_key or "" for p in plans) == sorted(m.idempotency_key for m in reminders)
    assert (len(reminders), len(alerts)) == (HOUSEHOLDS, 2 * NAMED)

    delivery = check_delivery(engine, ctx, twilio.fake)
    assert (delivery.duplicates, delivery.lost) == ([], [])
    assert delivery.received == delivery.outbox == HOUSEHOLDS + 2 * NAMED
    assert MARKER not in logs and "Traceback" not in logs
    # Both schedulers did part of the work (each logs its runs: "dispatch twilio: DispatchReport(claimed=…, sent=…").
    shares = [sum(map(int, SENT.findall(cluster.log(name)))) for name in ("scheduler-1", "scheduler-2")]
    assert all(shares) and sum(shares) == delivery.outbox, shares
    print(
        f"\nscale-out: {len(posts)} webhook posts ({len(posts) - len(sids)} repeated sids) in {inbound_seconds:.1f} s, "
        f"{len(references)} complaints, {HOUSEHOLDS} reminders + {len(alerts)} alerts sent once each "
        f"(duplicates {len(delivery.duplicates)}, lost {len(delivery.lost)}; sent by each scheduler: {shares}); "
        f"web ready in {ready:.1f} s, "
        f"all drained {drained:.1f} s after start"
    )
