"""Issue 20: a kiosk that restarted mid-session asks the center what became of the order it
was paying, by order id and idempotency key, without a session. Issued: every copy's print
status and the content of those never confirmed printed. Not paid: the order is voided at
once, so the payment still in flight from the dead process can no longer issue it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from center import models
from center.simkiosk import Card, KioskSession, Refused, client

from .conftest import Live


@pytest.fixture
def kiosk(live: Live) -> Iterator[KioskSession]:
    with client(live.url, live.state) as http:
        yield KioskSession(http)


def refused(fn: object, *args: object) -> Refused:
    with pytest.raises(Refused) as exc:
        fn(*args)  # type: ignore[operator]
    return exc.value


def test_an_unpaid_order_is_voided_and_can_no_longer_be_paid(
    live: Live, kiosk: KioskSession
) -> None:
    kiosk.login(Card.demo(live.state, "sato"))
    quote = kiosk.order([{"type": "juminhyo"}])
    key = uuid.uuid4().hex
    assert kiosk.recover(quote["order_id"], key)["state"] == "void"
    assert kiosk.recover(quote["order_id"], key)["state"] == "void"  # asked again: same
    exc = refused(kiosk.pay, quote, key)  # the dead process's request arrives late
    assert (exc.status, exc.error) == (409, "order_void")
    with Session(live.engine) as db:
        assert not db.scalars(
            select(models.Certificate).where(models.Certificate.order_id == quote["order_id"])
        ).all()
        actions = db.scalars(select(models.AuditEntry.action)).all()
    assert "recovery_void" in actions


def test_an_issued_order_hands_back_the_copies_not_confirmed_printed(
    live: Live, kiosk: KioskSession
) -> None:
    kiosk.login(Card.demo(live.state, "sato"))
    quote = kiosk.order([{"type": "juminhyo", "copies": 3}])
    key = uuid.uuid4().hex
    issued = kiosk.pay(quote, key)["certificates"]
    first, second, third = (c["certificate_number"] for c in issued)
    kiosk.print_result(first, True)
    kiosk.print_result(second, False, "media-empty")
    answer = kiosk.recover(quote["order_id"], key)
    assert answer["state"] == "issued" and answer["total"] == quote["total"]
    by_number = {c["certificate_number"]: c for c in answer["certificates"]}
    assert [c["certificate_number"] for c in answer["certificates"]] == [first, second, third]
    assert by_number[first]["print_status"] == "ok" and "view" not in by_number[first]
    assert by_number[second]["print_status"] == "failed" and "view" not in by_number[second]
    assert by_number[third]["print_status"] == "pending"
    assert by_number[third]["view"] == issued[2]  # the same content, same number, no fee
    kiosk.print_result(third, True)
    assert "view" not in kiosk.recover(quote["order_id"], key)["certificates"][2]


def test_only_the_kiosk_that_paid_with_that_key_learns_anything(
    live: Live, kiosk: KioskSession
) -> None:
    kiosk.login(Card.demo(live.state, "sato"))
    quote = kiosk.order([{"type": "juminhyo"}])
    kiosk.pay(quote, key := uuid.uuid4().hex)
    exc = refused(kiosk.recover, quote["order_id"], uuid.uuid4().hex)
    assert (exc.status, exc.error) == (409, "already_paid")
    exc = refused(kiosk.recover, uuid.uuid4().hex, key)
    assert (exc.status, exc.error) == (404, "order_unknown")
    with client(live.url, live.state, kiosk="demo-kiosk-2") as http:
        exc = refused(KioskSession(http).recover, quote["order_id"], key)
    assert (exc.status, exc.error) == (404, "order_unknown")  # not a word to another kiosk
