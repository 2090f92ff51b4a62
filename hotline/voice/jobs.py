"""The voice line's scheduled work: recordings deleted at Twilio once the hotline lets go of them.

A recording is the caller's voice. When the app stops keeping one (a hang-up at the beep that made no complaint,
or a complaint past its text period), `forget_recording` queues its deletion in the same transaction, and the
hourly job `delete_recordings` deletes it through the twilio client, trying again with growing pauses until
Twilio confirms. The queue holds only SIDs, which name no one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hotline.db import write_lock
from hotline.messaging.sender import DeleteFailed, VoiceSender
from hotline.models import RecordingDeletion

log = logging.getLogger(__name__)
BATCH = 50
# A claimed deletion is not claimed again for this long: a process killed mid-request leaves it to the next run.
LEASE = timedelta(minutes=10)
MAX_PAUSE = timedelta(days=1)  # between attempts while Twilio refuses; never given up (the metric shows the queue)


def forget_recording(session: Session, sid: str, reason: str, now: datetime) -> None:
    """Queue the recording for deletion at Twilio (the caller commits); queuing it twice adds nothing."""
    if session.exec(select(RecordingDeletion.id).where(RecordingDeletion.recording_sid == sid)).first() is not None:
        return
    try:
        with session.begin_nested():  # a concurrent request may queue the same recording between look and insert
            session.add(RecordingDeletion(recording_sid=sid, reason=reason, created_at=now, due_at=now))
    except IntegrityError:
        pass


@dataclass
class DeletionReport:
    """What one run did."""

    deleted: int = 0
    already_gone: int = 0
    failed: int = 0  # to be tried again

    def __bool__(self) -> bool:
        return bool(self.deleted or self.already_gone or self.failed)


def _pause(attempts: int) -> timedelta:
    return min(timedelta(hours=2 ** max(attempts - 1, 0)), MAX_PAUSE)


def delete_recordings(session: Session, sender: VoiceSender, now: datetime, batch: int = BATCH) -> DeletionReport:
    """Delete the due recordings at Twilio. Each is claimed (lease) and committed before the request, so a second
    scheduler skips it and no database lock is held while Twilio answers; then each outcome is committed."""
    with write_lock(session):
        query = (
            select(RecordingDeletion)
            .where(col(RecordingDeletion.due_at) <= now)
            .order_by(col(RecordingDeletion.due_at), col(RecordingDeletion.id))
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        claimed = list(session.exec(query))
        for row in claimed:
            row.attempts += 1
            row.due_at = now + LEASE
            session.add(row)
        session.commit()
    report = DeletionReport()
    for row in claimed:
        try:
            deleted = sender.delete_recording(row.recording_sid)
        except DeleteFailed as exc:
            row.last_error = str(exc)[:255]
            row.due_at = now + _pause(row.attempts)
            report.failed += 1
            # The deletion's row id, not the recording's: Twilio links a recording to its call, hence to the phone.
            log.warning("recording deletion %s: Twilio did not delete it (%s); next try %s", row.id, exc, row.due_at)
        else:
            # Confirmed (a 404: deleted by hand, or by an attempt whose answer was lost): nothing left to do.
            log.info("recording deletion %s: %s at Twilio", row.id, "deleted" if deleted else "already gone")
            report.deleted += deleted
            report.already_gone += not deleted
            session.delete(row)
        with write_lock(session):
            session.commit()
    return report
