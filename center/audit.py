"""The center's audit trail: one call for every authentication, refusal, issuance, reprint,
admin action and key use. Ids and reason codes only, never names, addresses or numbers.

The log is a hash chain: each line carries the SHA-256 of its own canonical encoding and of
the line before it, and a one-row head holds the newest line. :func:`record` only notes the
line in the caller's session; when that transaction commits, its lines are chained under a
lock of the head (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's writers already queue at
``BEGIN IMMEDIATE``), so lines from any number of worker processes form one chain in commit
order, and the head is held only for the commit itself, not for the whole request (which
would make every audited transaction wait for the one before). A transaction that rolls back
leaves no line. :func:`verify` finds the first line that was edited, inserted or removed.

What it cannot see on its own: someone with write access to the database who deletes the
newest lines *and* rewinds the head, or rewrites the whole chain from some line on (the
hashes are unkeyed). Record the head (:func:`head`, `kofu center admin audit head`)
somewhere else now and then; ``verify`` with that anchor then proves nothing before it
changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table, event, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from center import models

log = logging.getLogger(__name__)

GENESIS = "0" * 64  # the "previous hash" of line 1
HEAD_ID = 1
_HEAD: Table = models.AuditHead.__table__  # type: ignore[assignment]


def _clean(text: str, limit: int) -> str:
    # NUL is not storable in PostgreSQL text, and a line is one line
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:limit]


def canonical_at(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    seq: int,
    at: datetime,
    kiosk_id: int | None,
    action: str,
    certificate_number: str | None,
    detail: str,
    prev_hash: str,
) -> str:
    """SHA-256 over a JSON array of the line's fields and the previous line's hash."""
    body = json.dumps(
        [seq, canonical_at(at), kiosk_id, action, certificate_number, detail, prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(b"kofu-audit-v1\n" + body.encode("utf-8")).hexdigest()


def _lock_head(db: DbSession) -> tuple[int, str]:
    row = db.execute(
        select(_HEAD.c.seq, _HEAD.c.entry_hash).where(_HEAD.c.id == HEAD_ID).with_for_update()
    ).one_or_none()
    if row is None:  # the migration makes it; a schema made otherwise gets it on first use
        db.execute(_HEAD.insert().values(id=HEAD_ID, seq=0, entry_hash=GENESIS))
        return 0, GENESIS
    return int(row.seq), str(row.entry_hash)


def record(
    db: DbSession,
    at: datetime,
    action: str,
    *,
    kiosk_id: int | None = None,
    certificate_number: str | None = None,
    reason: str = "",
    actor: str = "",
) -> None:
    """Append one entry in the caller's transaction (it lands only if that commits)."""
    detail = " ".join(
        p
        for p in (
            f"reason={_clean(reason, 80)}" if reason else "",
            f"actor={_clean(actor, 80)}" if actor else "",
        )
        if p
    )
    action = _clean(action, 40)
    number = _clean(certificate_number, 32) if certificate_number is not None else None
    pending = db.info.setdefault(_PENDING, [])
    pending.append((at.astimezone(UTC), kiosk_id, action, number, detail))


_PENDING = "kofu_audit_pending"


@event.listens_for(DbSession, "before_commit")
def _chain_pending(db: DbSession) -> None:
    """Chain the lines this transaction recorded, just before it commits."""
    pending = db.info.pop(_PENDING, None)
    if not pending:
        return
    seq, prev = _lock_head(db)
    for at, kiosk_id, action, number, detail in pending:
        seq += 1
        digest = entry_hash(seq, at, kiosk_id, action, number, detail, prev)
        db.add(
            models.AuditEntry(
                seq=seq,
                at=at,
                kiosk_id=kiosk_id,
                action=action,
                certificate_number=number,
                detail=detail,
                prev_hash=prev,
                entry_hash=digest,
            )
        )
        prev = digest
    db.execute(_HEAD.update().where(_HEAD.c.id == HEAD_ID).values(seq=seq, entry_hash=prev))


@event.listens_for(DbSession, "after_rollback")
def _drop_pending(db: DbSession) -> None:
    db.info.pop(_PENDING, None)


def record_alone(
    sessions: sessionmaker[DbSession],
    at: datetime,
    action: str,
    *,
    kiosk_id: int | None = None,
    reason: str = "",
    actor: str = "",
) -> None:
    """One entry in a transaction of its own: for refusals, whose own transaction rolled
    back. A failure to write is logged (by code) and does not change the answer."""
    try:
        with sessions.begin() as db:
            record(db, at, action, kiosk_id=kiosk_id, reason=reason, actor=actor)
    except Exception as exc:  # noqa: BLE001 - the refusal still goes out
        log.error("audit entry not written: %s %s", action, type(exc).__name__)


def refusal(
    sessions: sessionmaker[DbSession],
    at: datetime,
    reason: str,
    kiosk_id: int | None,
    cert_der: bytes | None,
) -> None:
    """The audit line of a refused request: its reason code and the kiosk (found by its
    client certificate when the refusal came before the kiosk was known)."""
    if kiosk_id is None and cert_der:
        digest = hashlib.sha256(cert_der).hexdigest()
        with sessions() as db:
            kiosk_id = db.scalar(
                select(models.Kiosk.id).where(models.Kiosk.cert_sha256 == digest)
            )
        actor = "" if kiosk_id is not None else f"cert:{digest[:16]}"
    else:
        actor = ""
    record_alone(sessions, at, "refusal", kiosk_id=kiosk_id, reason=reason, actor=actor)


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    ok: bool
    lines: int  # lines checked
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str = ""


def head(db: DbSession) -> tuple[int, str]:
    row = db.execute(
        select(_HEAD.c.seq, _HEAD.c.entry_hash).where(_HEAD.c.id == HEAD_ID)
    ).one_or_none()
    return (int(row.seq), str(row.entry_hash)) if row else (0, GENESIS)


def _entries(db: DbSession) -> Iterator[models.AuditEntry]:
    yield from db.scalars(
        select(models.AuditEntry).order_by(models.AuditEntry.seq).execution_options(
            yield_per=1000
        )
    )


def verify(db: DbSession, anchor: tuple[int, str] | None = None) -> Verdict:
    """Walk the chain from line 1: numbering without gaps, each line's ``prev_hash`` the
    previous line's hash, each hash recomputed, the head equal to the last line, and (if
    given) the anchor ``(seq, hash)`` recorded earlier still in the chain."""
    head_seq, head_hash = head(db)
    expected, prev, n = 1, GENESIS, 0
    anchored = anchor is None or anchor[0] == 0

    def bad(seq: int, problem: str) -> Verdict:
        return Verdict(False, n, head_seq, head_hash, seq, problem)

    for e in _entries(db):
        if e.seq != expected:
            return bad(min(e.seq, expected), "line missing" if e.seq > expected else "order")
        if e.prev_hash != prev:
            return bad(e.seq, "previous hash differs")
        digest = entry_hash(
            e.seq, e.at, e.kiosk_id, e.action, e.certificate_number, e.detail, e.prev_hash
        )
        if digest != e.entry_hash:
            return bad(e.seq, "line altered")
        if anchor is not None and e.seq == anchor[0]:
            if e.entry_hash != anchor[1]:
                return bad(e.seq, "differs from the anchor")
            anchored = True
        prev, expected, n = e.entry_hash, expected + 1, n + 1
    if (head_seq, head_hash) != (expected - 1, prev):
        return bad(min(head_seq, expected - 1) + 1, "head does not match the last line")
    if not anchored:
        return bad(expected, "anchored line removed")
    return Verdict(True, n, head_seq, head_hash)


def lines(
    db: DbSession, since: datetime | None = None, limit: int = 1000
) -> list[dict[str, object]]:
    q = select(models.AuditEntry).order_by(models.AuditEntry.seq)
    if since is not None:
        q = q.where(models.AuditEntry.at >= since)
    return [
        {
            "seq": e.seq,
            "at": canonical_at(e.at),
            "kiosk_id": e.kiosk_id,
            "action": e.action,
            "certificate_number": e.certificate_number,
            "detail": e.detail,
            "hash": e.entry_hash,
        }
        for e in db.scalars(q.limit(limit))
    ]
