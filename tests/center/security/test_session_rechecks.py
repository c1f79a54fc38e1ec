"""M2: a session has an absolute lifetime, and the card and the resident are checked again
at order and at payment: a card revoked, or a resident who died or moved out, mid-session,
pays nothing and gets nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from cryptography import x509
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from center import models
from center.clock import Clock
from center.jpki import serial_hex
from center.simkiosk import Card, KioskSession, Refused, client

from ..conftest import Live


@pytest.fixture
def kiosk(live: Live) -> Iterator[KioskSession]:
    with client(live.url, live.state) as http:
        yield KioskSession(http)


def resident_id(live: Live, card: Card) -> int:
    cert = x509.load_pem_x509_certificate(card.cert_pem.encode())
    with Session(live.engine) as db:
        rid = db.scalar(
            select(models.CardCertificate.resident_id).where(
                models.CardCertificate.serial == serial_hex(cert.serial_number)
            )
        )
    assert rid is not None
    return rid


def paid_orders(live: Live, rid: int) -> int:
    with Session(live.engine) as db:
        return len(
            db.scalars(
                select(models.Order.id).where(
                    models.Order.resident_id == rid, models.Order.status == "paid"
                )
            ).all()
        )


def test_card_revoked_mid_session_pays_nothing(live: Live, kiosk: KioskSession) -> None:
    card = Card.demo(live.state, "ichiro")
    cert = x509.load_pem_x509_certificate(card.cert_pem.encode())
    kiosk.login(card)
    quote = kiosk.order([{"type": "juminhyo"}])
    paid = paid_orders(live, resident_id(live, card))
    serial = serial_hex(cert.serial_number)
    with Session(live.engine) as db, db.begin():
        db.add(models.CardRevocation(issuer_dn=cert.issuer.rfc4514_string(), serial=serial,
                                     revoked_at=Clock.of_state(live.state).now(),
                                     reason="test: lost mid-session"))  # fmt: skip
    try:
        with pytest.raises(Refused) as exc:
            kiosk.pay(quote)
        assert exc.value.error == "card_revoked"
        with pytest.raises(Refused) as exc:
            kiosk.order([{"type": "juminhyo"}])
        assert exc.value.error == "card_revoked"
        assert paid_orders(live, resident_id(live, card)) == paid
    finally:
        with Session(live.engine) as db, db.begin():
            db.execute(delete(models.CardRevocation).where(models.CardRevocation.serial == serial))


@pytest.mark.parametrize(
    ("flag", "code"), [("deceased", "deceased"), ("moved_out", "moved_out")]
)
def test_register_change_mid_session_pays_nothing(
    live: Live, kiosk: KioskSession, flag: str, code: str
) -> None:
    card = Card.demo(live.state, "ichiro")
    rid = resident_id(live, card)
    kiosk.login(card)
    quote = kiosk.order([{"type": "juminhyo"}])
    paid = paid_orders(live, rid)
    with Session(live.engine) as db, db.begin():
        db.execute(update(models.Resident).where(models.Resident.id == rid).values({flag: True}))
    try:
        with pytest.raises(Refused) as exc:
            kiosk.pay(quote)
        assert exc.value.error == code
        assert paid_orders(live, rid) == paid
    finally:
        with Session(live.engine) as db, db.begin():
            db.execute(
                update(models.Resident).where(models.Resident.id == rid).values({flag: False})
            )


def test_a_busy_session_still_ends(live: Live, kiosk: KioskSession) -> None:
    kiosk.login(Card.demo(live.state, "ichiro"))
    kiosk.menu()  # activity moves the idle limit ...
    token = kiosk.auth["Authorization"].removeprefix("Bearer ")
    import hashlib

    digest = hashlib.sha256(token.encode()).hexdigest()
    now = Clock.of_state(live.state).now()
    with Session(live.engine) as db, db.begin():
        # ... but not the absolute one: authenticated 601 s ago, busy all along
        db.execute(
            update(models.Session)
            .where(models.Session.token_sha256 == digest)
            .values(created_at=now - timedelta(seconds=601), expires_at=now + timedelta(hours=1))
        )
    with pytest.raises(Refused) as exc:
        kiosk.menu()
    assert (exc.value.status, exc.value.error) == (401, "session_invalid")


def test_session_expiry_never_passes_the_absolute_limit(live: Live, kiosk: KioskSession) -> None:
    kiosk.login(Card.demo(live.state, "ichiro"))
    kiosk.menu()
    with Session(live.engine) as db:
        sess = db.scalars(
            select(models.Session).order_by(models.Session.id.desc()).limit(1)
        ).one()
        assert sess.created_at is not None
        assert sess.expires_at <= sess.created_at + timedelta(seconds=600)
