"""How long the center keeps a certificate's content. The document and its signed payload
are needed only until the copy is printed (or reprinted after a failed print, within the
reprint window); after that the ledger keeps number, type, fee, kiosk, time and a SHA-256 of
the content, and the content itself is blanked. A confirmed print purges at once (the print
result); this sweep catches copies never confirmed or failed, once ``window_s`` has passed.

It runs from `kofu center admin purge` and inside the center, at most once a minute per
worker, when a kiosk reports its health (kiosks do that periodically)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from center import audit, models
from center.clock import Clock
from center.service import content_digest

BATCH = 500  # per transaction: keeps the audit head's lock short
EVERY = timedelta(minutes=1)


def purge(db: DbSession, now: datetime, window_s: int, limit: int = BATCH) -> int:
    """Blank the content of up to ``limit`` copies due; returns how many."""
    cutoff = now - timedelta(seconds=window_s)
    C = models.Certificate
    due = db.scalars(
        select(C)
        .where(
            C.purged_at.is_(None),
            or_(
                C.print_status == "ok",
                # a failed copy keeps its content for the window after the failure (reprint)
                (C.issued_at < cutoff) & (C.failed_at.is_(None) | (C.failed_at < cutoff)),
            ),
        )
        .order_by(C.issued_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for cert in due:
        if not cert.content_sha256:
            cert.content_sha256 = content_digest(cert.document_json, cert.payload)
        cert.document_json = b""
        cert.payload = b""
        cert.purged_at = now
        audit.record(db, now, "content_purged", kiosk_id=cert.kiosk_id,
                     certificate_number=cert.number, reason="retention")  # fmt: skip
    return len(due)


def purge_all(sessions: sessionmaker[DbSession], now: datetime, window_s: int) -> int:
    total = 0
    while True:
        with sessions.begin() as db:
            n = purge(db, now, window_s)
        total += n
        if n < BATCH:
            return total


class Sweeper:
    """The in-center sweep: cheap to call often, works at most once per ``EVERY``."""

    def __init__(self, sessions: sessionmaker[DbSession], clock: Clock, window_s: int) -> None:
        self.sessions, self.clock, self.window_s = sessions, clock, window_s
        self._lock = threading.Lock()
        self._last: datetime | None = None

    def maybe(self) -> int:
        now = self.clock.now()
        if not self._lock.acquire(blocking=False):
            return 0  # another thread of this worker is at it
        try:
            if self._last is not None and now - self._last < EVERY:
                return 0
            self._last = now
            return purge_all(self.sessions, now, self.window_s)
        finally:
            self._lock.release()
