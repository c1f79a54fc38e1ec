"""H1: a kiosk credential alone reprints nothing. Print results are written once per print
attempt; a reprint needs a clerk the center itself signed in, and is only of a copy whose
print failed, at the kiosk that issued it, within the window, once per failure; a copy
confirmed printed has its content purged (the ledger keeps its digest)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from center import clerks, models
from center.clock import Clock
from center.service import content_digest
from center.simkiosk import Card, KioskSession, Refused, client

from ..conftest import Live

PIN = "135790"


@pytest.fixture
def kiosk(live: Live) -> Iterator[KioskSession]:
    with client(live.url, live.state) as http:
        yield KioskSession(http)


@pytest.fixture
def clerk(live: Live) -> Iterator[str]:
    """A clerk of the center's own (a fresh id per test: lockouts do not leak)."""
    clerk_id = "c-" + secrets.token_hex(4)
    with Session(live.engine) as db, db.begin():
        clerks.add_or_replace(db, clerk_id, clerks.hash_pin(bytearray(PIN.encode())))
    yield clerk_id
    with Session(live.engine) as db, db.begin():
        db.execute(delete(models.ClerkSession).where(models.ClerkSession.clerk_id == clerk_id))
        db.execute(delete(models.Clerk).where(models.Clerk.id == clerk_id))


def issued(live: Live, kiosk: KioskSession, label: str = "sato") -> dict[str, object]:
    kiosk.login(Card.demo(live.state, label))
    cert: dict[str, object] = kiosk.pay(kiosk.order([{"type": "juminhyo"}]))["certificates"][0]
    return cert


def row(live: Live, number: str) -> models.Certificate:
    with Session(live.engine) as db:
        cert = db.get(models.Certificate, number)
        assert cert is not None
        db.expunge(cert)
        return cert


def refused(fn: object, *args: object) -> Refused:
    with pytest.raises(Refused) as exc:
        fn(*args)  # type: ignore[operator]
    return exc.value


def test_a_print_result_is_written_once(live: Live, kiosk: KioskSession) -> None:
    number = str(issued(live, kiosk)["certificate_number"])
    assert kiosk.print_result(number, True)["print_status"] == "ok"
    assert kiosk.print_result(number, True)["print_status"] == "ok"  # a retried report
    exc = refused(kiosk.print_result, number, False, "media-jam")
    assert (exc.status, exc.error) == (409, "print_result_final")
    assert row(live, number).print_status == "ok"


def test_confirmed_copy_is_purged_and_never_reprinted(
    live: Live, kiosk: KioskSession, clerk: str
) -> None:
    cert = issued(live, kiosk)
    number = str(cert["certificate_number"])
    before = row(live, number)
    assert before.content_sha256 == content_digest(before.document_json, before.payload)
    kiosk.print_result(number, True)
    after = row(live, number)
    assert after.document_json == b"" and after.payload == b"" and after.purged_at is not None
    assert after.content_sha256 == before.content_sha256  # the ledger's trace of the content
    token = kiosk.clerk_signin(clerk, PIN)
    exc = refused(kiosk.reprint, number, token)
    assert (exc.status, exc.error) == (409, "reprint_not_allowed")


def test_reprint_needs_a_clerk_the_center_signed_in(
    live: Live, kiosk: KioskSession, clerk: str
) -> None:
    number = str(issued(live, kiosk)["certificate_number"])
    kiosk.print_result(number, False, "media-empty-error")
    # the old request: a free-text clerk id
    resp = kiosk.http.post(f"/v1/certificates/{number}/reprint", json={"clerk_id": "anyone"})
    assert resp.status_code == 422 and resp.json()["error"] == "bad_request"
    forged = secrets.token_urlsafe(32)
    exc = refused(kiosk.reprint, number, forged)
    assert (exc.status, exc.error) == (401, "clerk_invalid")
    assert (refused(kiosk.clerk_signin, clerk, "000000").error) == "clerk_invalid"
    assert (refused(kiosk.clerk_signin, "nobody-here", PIN).error) == "clerk_invalid"
    token = kiosk.clerk_signin(clerk, PIN)
    with client(live.url, live.state, "demo-kiosk-2") as other:
        # a clerk token is bound to the kiosk it was given at
        resp = other.post(f"/v1/certificates/{number}/reprint", json={"clerk_token": token})
        assert resp.status_code == 401 and resp.json()["error"] == "clerk_invalid"
    body = kiosk.reprint(number, token)
    assert body["certificate_number"] == number and body["fee"] == 0 and body["reprint"] == 1
    with Session(live.engine) as db:
        actors = db.scalars(
            select(models.AuditEntry.detail).where(
                models.AuditEntry.certificate_number == number,
                models.AuditEntry.action == "clerk_reprint",
            )
        ).all()
    assert len(actors) == 1 and clerk in actors[0]
    kiosk.http.post("/v1/clerk/session/end", json={"clerk_token": token})
    kiosk.print_result(number, False, "media-jam")
    exc = refused(kiosk.reprint, number, token)  # signed out
    assert exc.error == "clerk_invalid"


def test_one_reprint_per_failure_only_at_the_issuing_kiosk(
    live: Live, kiosk: KioskSession, clerk: str
) -> None:
    number = str(issued(live, kiosk)["certificate_number"])
    token = kiosk.clerk_signin(clerk, PIN)
    assert refused(kiosk.reprint, number, token).error == "reprint_not_allowed"  # not failed
    with client(live.url, live.state, "demo-kiosk-2") as http:
        other = KioskSession(http)
        other_token = other.clerk_signin(clerk, PIN)
        assert refused(other.print_result, number, False).error == "certificate_unknown"
        kiosk.print_result(number, False, "media-empty-error")
        assert refused(other.reprint, number, other_token).error == "certificate_unknown"
    kiosk.reprint(number, token)
    exc = refused(kiosk.reprint, number, token)  # the same failure again: no second copy
    assert (exc.status, exc.error) == (409, "reprint_not_allowed")
    for attempt in (2, 3):  # each new failure allows one more, up to max_reprints (3)
        kiosk.print_result(number, False, "media-jam")
        assert kiosk.reprint(number, token)["reprint"] == attempt
    kiosk.print_result(number, False, "media-jam")
    assert refused(kiosk.reprint, number, token).error == "reprint_not_allowed"
    with Session(live.engine) as db:
        kinds = db.scalars(
            select(models.LedgerEntry.fee).where(models.LedgerEntry.certificate_number == number)
        ).all()
    assert sorted(kinds) == [0, 0, 0, 200]


def test_reprint_window_closes(live: Live, kiosk: KioskSession, clerk: str) -> None:
    number = str(issued(live, kiosk)["certificate_number"])
    kiosk.print_result(number, False, "media-jam")
    now = Clock.of_state(live.state).now()
    with Session(live.engine) as db, db.begin():
        db.execute(
            update(models.Certificate)
            .where(models.Certificate.number == number)
            .values(failed_at=now - timedelta(hours=1, seconds=30))
        )
    token = kiosk.clerk_signin(clerk, PIN)
    exc = refused(kiosk.reprint, number, token)
    assert (exc.status, exc.error) == (409, "reprint_expired")


def test_wrong_pins_lock_the_clerk_at_the_center(
    live: Live, kiosk: KioskSession, clerk: str
) -> None:
    for _ in range(3):
        assert refused(kiosk.clerk_signin, clerk, "999999").error == "clerk_invalid"
    exc = refused(kiosk.clerk_signin, clerk, PIN)  # even the right PIN, while locked
    assert (exc.status, exc.error) == (423, "clerk_locked")
    with Session(live.engine) as db:
        locked = db.get(models.Clerk, clerk)
        assert locked is not None and locked.failures == 3 and locked.locked_until is not None
        assert "999999" not in locked.pin_hash


def test_no_pin_in_the_center_output(live: Live, kiosk: KioskSession, clerk: str) -> None:
    kiosk.clerk_signin(clerk, PIN)
    refused(kiosk.clerk_signin, clerk, "246813")
    assert not any(PIN in line or "246813" in line for line in live.output)
