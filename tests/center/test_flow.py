"""The whole flow against a running center (both databases, two worker processes)."""

from __future__ import annotations

import base64
import concurrent.futures as cf
import csv
import hashlib
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from center import clerks, models
from center.admin_ops import ledger_csv
from center.pki import DemoJpki
from center.simkiosk import Card, KioskSession, Refused, client
from documents.model import CertificateDocument
from documents.signing import verify_payload

from .conftest import Live


@pytest.fixture
def kiosk(live: Live) -> Iterator[KioskSession]:
    with client(live.url, live.state) as http:
        yield KioskSession(http)


def card(live: Live, label: str) -> Card:
    return Card.demo(live.state, label)


def test_household_menu_and_issue_signed_documents(live: Live, kiosk: KioskSession) -> None:
    kiosk.login(card(live, "taro"))
    menu = kiosk.menu()
    members = menu["juminhyo"]["members"]
    assert [m["name"] for m in members] == ["桜井 太郎", "桜井 花子", "桜井 一郎", "桜井 次郎"]
    assert members[0]["self"] and not members[1]["self"]
    assert "honseki" in members[0]["options"] and "nationality" not in members[0]["options"]
    assert menu["inkan"] == {"fee": 200, "max_copies": 10}
    years = menu["shotoku"]["fiscal_years"]
    assert len(years) == 2 and years == sorted(years, reverse=True)
    assert menu["juminhyo"]["fee"] == 200

    quote = kiosk.order(
        [
            {"type": "juminhyo", "member_ids": [m["member_id"] for m in members],
             "options": ["household", "honseki"]},
            {"type": "inkan"},
            {"type": "shotoku_kazei", "fiscal_year": years[1], "copies": 2},
        ]
    )  # fmt: skip
    assert quote["total"] == 200 + 200 + 2 * 200
    issued = kiosk.pay(quote)
    certs = issued["certificates"]
    assert [c["type"] for c in certs] == ["juminhyo", "inkan", "shotoku_kazei", "shotoku_kazei"]
    numbers = [c["certificate_number"] for c in certs]
    assert len(set(numbers)) == 4

    keys = {k: base64.b64decode(v) for k, v in kiosk.http.get("/v1/public-keys").json().items()}
    for c in certs:
        result = verify_payload(base64.b64decode(c["payload_b64"]), keys)
        assert result.valid and result.document is not None
        assert result.document == CertificateDocument.from_dict(c["document"])
        assert result.document.certificate_number == c["certificate_number"]
        assert c["issuer_seal_png_b64"]
    jumin = CertificateDocument.from_dict(certs[0]["document"])
    assert [p.name for p in jumin.members] == [m["name"] for m in members]
    assert jumin.members[0].honseki and jumin.members[0].household_head == "桜井 太郎"
    assert jumin.members[0].my_number is None  # not chosen: left out of the content
    assert certs[1]["seal_image_png_b64"]
    tax = CertificateDocument.from_dict(certs[2]["document"])
    assert tax.income is not None and tax.income.fiscal_year == years[1]
    assert tax.income.municipal_tax is not None

    with live.engine.connect() as db:
        fees = (
            db.execute(
                select(models.LedgerEntry.fee).where(
                    models.LedgerEntry.certificate_number.in_(numbers)
                )
            )
            .scalars()
            .all()
        )
    assert sorted(fees) == [200, 200, 200, 200]
    with Session(live.engine) as db:
        report = ledger_csv(db, "999001", live.day)
    rows = list(csv.reader(io.StringIO(report)))
    mine = [r for r in rows if r[2] in numbers]
    assert len(mine) == 4 and {r[1] for r in mine} == {"demo-kiosk"}
    assert {r[4] for r in mine} == {"issue"} and rows[-1][0] == "total"
    assert int(rows[-1][5]) == sum(int(r[5]) for r in rows[1:-1])


def test_foreign_resident_options(live: Live, kiosk: KioskSession) -> None:
    kiosk.login(card(live, "foreign"))
    me = kiosk.menu()["juminhyo"]["members"][0]
    assert set(me["options"]) == {
        "household", "my_number", "nationality", "residence_card", "residence_status"
    }  # fmt: skip
    with pytest.raises(Refused) as exc:
        kiosk.order([{"type": "juminhyo", "options": ["honseki"]}])
    assert exc.value.error == "order_invalid"
    quote = kiosk.order([{"type": "juminhyo", "options": ["nationality", "residence_status"]}])
    doc = CertificateDocument.from_dict(kiosk.pay(quote)["certificates"][0]["document"])
    person = doc.members[0]
    assert person.nationality and person.residence_status and person.period_of_stay
    assert person.residence_card_number is None and person.honseki is None


def test_no_seal_no_inkan_and_second_municipality_fee(live: Live, kiosk: KioskSession) -> None:
    kiosk.login(card(live, "sato"))
    menu = kiosk.menu()
    assert menu["inkan"] is None and menu["shotoku"] is None
    with pytest.raises(Refused) as exc:
        kiosk.order([{"type": "inkan"}])
    assert exc.value.error == "order_invalid"
    with client(live.url, live.state) as http:
        other = KioskSession(http)
        other.login(card(live, "wakaba"))
        menu = other.menu()
        assert menu["municipality"]["code"] == "999002" and menu["juminhyo"]["fee"] == 300


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("jiro", "under_15"),
        ("support", "support_measures"),
        ("movedout", "moved_out"),
        ("moveoutfiled", "move_out_filed"),
        ("deceased", "deceased"),
        ("longaddr", "character_limit"),
        ("movedin", "moved_in_today"),
        ("gaiji", "gaiji_pending"),
        ("unregistered", "not_registered"),
        ("newcard", "card_too_new"),
        ("expiredcard", "card_expired"),
        ("revoked", "card_revoked"),
        ("lostcard", "card_revoked"),
    ],
)
def test_refusals_name_their_reason(
    live: Live, kiosk: KioskSession, label: str, reason: str
) -> None:
    with pytest.raises(Refused) as exc:
        kiosk.login(card(live, label))
    assert exc.value.status == 403
    assert exc.value.error == reason
    assert exc.value.body["message_ja"] and exc.value.body["message_en"]


def test_fifteen_today_is_served(live: Live, kiosk: KioskSession) -> None:
    kiosk.login(card(live, "turning15"))
    assert kiosk.menu()["applicant"]["name"] == "青木 陽菜"


def test_idempotent_payment(live: Live, kiosk: KioskSession) -> None:
    kiosk.login(card(live, "hanako"))
    quote = kiosk.order([{"type": "juminhyo", "copies": 2}])
    key = uuid.uuid4().hex
    with cf.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: kiosk.pay(quote, key), range(4)))
    numbers = {tuple(c["certificate_number"] for c in r["certificates"]) for r in results}
    assert len(numbers) == 1 and len(next(iter(numbers))) == 2
    with pytest.raises(Refused) as exc:
        kiosk.pay(quote, uuid.uuid4().hex)
    assert exc.value.status == 409 and exc.value.error == "already_paid"
    with live.engine.connect() as db:
        count = len(
            db.execute(
                select(models.Certificate.number).where(
                    models.Certificate.order_id == quote["order_id"]
                )
            ).all()
        )
    assert count == 2


def test_payment_must_match_quote(live: Live, kiosk: KioskSession) -> None:
    kiosk.login(card(live, "ichiro"))
    quote = kiosk.order([{"type": "juminhyo"}])
    with pytest.raises(Refused) as exc:
        kiosk.pay({**quote, "total": quote["total"] - 1})
    assert exc.value.error == "payment_mismatch"
    assert kiosk.pay(quote)["certificates"]  # nothing was lost: the order is still payable


def test_print_failure_reprint_reuses_number_free_and_audited(
    live: Live, kiosk: KioskSession
) -> None:
    kiosk.login(card(live, "sato"))
    cert = kiosk.pay(kiosk.order([{"type": "juminhyo"}]))["certificates"][0]
    number = cert["certificate_number"]
    with live.engine.begin() as db:
        db.execute(delete(models.Clerk).where(models.Clerk.id == "flow-clerk"))
        db.execute(
            insert(models.Clerk).values(
                id="flow-clerk", pin_hash=clerks.hash_pin(bytearray(b"864209")), active=True,
                failures=0,
            )
        )  # fmt: skip
    token = kiosk.clerk_signin("flow-clerk", "864209")
    reprint = kiosk.http.post(f"/v1/certificates/{number}/reprint", json={"clerk_token": token})
    assert reprint.status_code == 409  # nothing failed yet
    kiosk.print_result(number, False, "media-jam")
    body = kiosk.reprint(number, token)
    assert body["certificate_number"] == number and body["fee"] == 0
    assert body["payload_b64"] == cert["payload_b64"]
    with client(live.url, live.state, "demo-kiosk-2") as other:
        resp = other.post(f"/v1/certificates/{number}/reprint", json={"clerk_token": token})
        assert resp.status_code == 401  # the clerk signed in at the other kiosk
    with live.engine.connect() as db:
        ledger = db.execute(
            select(models.LedgerEntry.kind, models.LedgerEntry.fee).where(
                models.LedgerEntry.certificate_number == number
            )
        ).all()
        audit = (
            db.execute(
                select(models.AuditEntry.action).where(
                    models.AuditEntry.certificate_number == number
                )
            )
            .scalars()
            .all()
        )
    assert sorted(ledger) == [("issue", 200), ("reprint", 0)]
    assert "clerk_reprint" in audit and "print_failed" in audit


def test_challenge_single_use_and_bound_to_kiosk(live: Live, kiosk: KioskSession) -> None:
    c = card(live, "sato")
    ch = kiosk.http.post("/v1/challenge").json()
    body = {
        "challenge_id": ch["challenge_id"],
        "card_certificate": c.cert_pem,
        "signature": base64.b64encode(c.sign(base64.b64decode(ch["challenge"]))).decode(),
    }
    with client(live.url, live.state, "demo-kiosk-2") as other:
        resp = other.post("/v1/authenticate", json=body)
        assert resp.json()["error"] == "challenge_other_kiosk"
    assert kiosk.http.post("/v1/authenticate", json=body).status_code == 200
    replay = kiosk.http.post("/v1/authenticate", json=body)
    assert replay.status_code == 403 and replay.json()["error"] == "challenge_used"


def test_expired_challenge(live: Live, kiosk: KioskSession) -> None:
    c = card(live, "sato")
    ch = kiosk.http.post("/v1/challenge").json()
    with live.engine.begin() as db:  # age it instead of waiting 60 s
        db.execute(
            update(models.Challenge)
            .where(models.Challenge.id == ch["challenge_id"])
            .values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
    body = {
        "challenge_id": ch["challenge_id"],
        "card_certificate": c.cert_pem,
        "signature": base64.b64encode(c.sign(base64.b64decode(ch["challenge"]))).decode(),
    }
    resp = kiosk.http.post("/v1/authenticate", json=body)
    assert resp.status_code == 403 and resp.json()["error"] == "challenge_expired"


def test_wrong_signature_refused(live: Live, kiosk: KioskSession) -> None:
    taro, sato = card(live, "taro"), card(live, "sato")
    ch = kiosk.http.post("/v1/challenge").json()
    body = {
        "challenge_id": ch["challenge_id"],
        "card_certificate": taro.cert_pem,  # taro's certificate, sato's key
        "signature": base64.b64encode(sato.sign(base64.b64decode(ch["challenge"]))).decode(),
    }
    resp = kiosk.http.post("/v1/authenticate", json=body)
    assert resp.json()["error"] == "signature_invalid"


def test_session_bound_to_kiosk_and_ended(live: Live, kiosk: KioskSession) -> None:
    kiosk.login(card(live, "sato"))
    with client(live.url, live.state, "demo-kiosk-2") as other:
        resp = other.get("/v1/session/menu", headers=kiosk.auth)
        assert resp.status_code == 401 and resp.json()["error"] == "session_invalid"
    kiosk.logout()
    resp = kiosk.http.get("/v1/session/menu", headers=kiosk.auth)
    assert resp.status_code == 401


def test_other_residents_identifiers_refused(live: Live, kiosk: KioskSession) -> None:
    with client(live.url, live.state) as http:
        outsider = KioskSession(http)
        outsider.login(card(live, "taro"))
        taro_ids = [m["member_id"] for m in outsider.menu()["juminhyo"]["members"]]
        quote = outsider.order([{"type": "juminhyo"}])
    kiosk.login(card(live, "sato"))
    for line in (
        {"type": "juminhyo", "member_ids": [taro_ids[0]]},
        {"type": "juminhyo", "member_ids": [kiosk.menu()["applicant"]["member_id"], taro_ids[1]]},
        {"type": "inkan", "member_ids": [taro_ids[0]]},
        {"type": "shotoku", "member_ids": [taro_ids[0]], "fiscal_year": 2025},
    ):
        with pytest.raises(Refused) as exc:
            kiosk.order([line])
        assert exc.value.error == "not_permitted", line
    # another session's order cannot be paid from this session
    with pytest.raises(Refused) as exc:
        kiosk.pay(quote)
    assert exc.value.error == "order_unknown"


def test_card_from_another_ca_refused(live: Live, kiosk: KioskSession, tmp_path: Path) -> None:
    other = DemoJpki(tmp_path)
    other.ensure_ca()
    other.issue_card("stranger")
    with pytest.raises(Refused) as exc:
        kiosk.login(Card.load(other.card("stranger")))
    assert exc.value.error == "card_untrusted"


def test_expired_session_refused(live: Live, kiosk: KioskSession) -> None:
    kiosk.login(card(live, "sato"))
    kiosk.menu()
    with live.engine.begin() as db:
        db.execute(
            update(models.Session)
            .where(models.Session.token_sha256 == hashlib.sha256(kiosk.token.encode()).hexdigest())
            .values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
    with pytest.raises(Refused) as exc:
        kiosk.menu()
    assert exc.value.status == 401 and exc.value.error == "session_invalid"


def test_maintenance_window_closes_the_service(live: Live, kiosk: KioskSession) -> None:
    with Session(live.engine) as db, db.begin():
        db.add(
            models.MaintenanceWindow(
                municipality_code="999002",
                starts_at=datetime(2000, 1, 1, tzinfo=UTC),
                ends_at=datetime(2100, 1, 1, tzinfo=UTC),
                note="test",
            )
        )
    try:
        with pytest.raises(Refused) as exc:
            kiosk.login(card(live, "wakaba"))
        assert exc.value.error == "maintenance"
        kiosk.login(card(live, "sato"))  # the other municipality is open
    finally:
        with live.engine.begin() as db:
            db.execute(
                delete(models.MaintenanceWindow).where(models.MaintenanceWindow.note == "test")
            )


def test_print_result_only_for_own_kiosk(live: Live, kiosk: KioskSession) -> None:
    kiosk.login(card(live, "sato"))
    number = kiosk.pay(kiosk.order([{"type": "juminhyo"}]))["certificates"][0]["certificate_number"]
    with client(live.url, live.state, "demo-kiosk-2") as other:
        resp = other.post(f"/v1/certificates/{number}/print-result", json={"ok": False})
    assert resp.status_code == 404 and resp.json()["error"] == "certificate_unknown"
    assert kiosk.print_result(number, True)["print_status"] == "ok"
