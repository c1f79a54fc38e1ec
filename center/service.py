"""The center's flow over the database: challenge, authenticate, menu, order, payment and
issue, print results and clerk reprints.

Every function takes the requesting kiosk (from its verified client certificate) and, inside
a session, loads the resident from the session row only; request bodies never name the
applicant. One database transaction per call.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from center import audit, clerks, issuing, models, offering
from center.clock import Clock
from center.config import CenterConfig
from center.jpki import TrustStore, crl_number, verify_card
from center.offering import TypeOffering
from center.reasons import Reason, Refusal
from center.rules import ResidentFacts, check_resident, over_limit
from documents.model import CertificateType, JuminhyoOption

log = logging.getLogger(__name__)

JAPANESE_OPTIONS = (JuminhyoOption.HOUSEHOLD, JuminhyoOption.MY_NUMBER, JuminhyoOption.HONSEKI)
FOREIGN_OPTIONS = (
    JuminhyoOption.HOUSEHOLD,
    JuminhyoOption.MY_NUMBER,
    JuminhyoOption.NATIONALITY,
    JuminhyoOption.RESIDENCE_CARD,
    JuminhyoOption.RESIDENCE_STATUS,
)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def facts(r: models.Resident, head_name: str | None) -> ResidentFacts:
    return ResidentFacts(
        birth_date=r.birth_date,
        registered=r.registered,
        moved_out=r.moved_out,
        move_out_filed=r.move_out_filed,
        support_measures=r.support_measures,
        deceased=r.deceased,
        gaiji_pending=r.gaiji_pending,
        move_in_filed=r.move_in_filed,
        fields=char_fields(r, head_name),
    )


def char_fields(r: models.Resident, head_name: str | None) -> dict[str, str | None]:
    return {
        "address": r.address,
        "household_head": head_name,
        "name": r.name,
        "alias": r.alias,
        "relationship": r.relationship,
        "honseki": r.honseki,
        "hittosha": r.hittosha,
        "nationality": r.nationality,
        "article_30_45": r.article_30_45,
        "residence_status": r.residence_status,
        "period_of_stay": r.period_of_stay,
        "previous_address": r.previous_address,
    }


def content_digest(document_json: bytes, payload: bytes) -> str:
    """What the ledger keeps of a certificate once its content is purged."""
    h = hashlib.sha256()
    for part in (document_json, payload):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def purge_content(cert: models.Certificate, now: datetime) -> None:
    """Drop a certificate's personal content, keeping number, type, fee, kiosk, time and
    the content digest."""
    if cert.purged_at is None:
        cert.document_json = b""
        cert.payload = b""
        cert.purged_at = now


@dataclass
class Center:
    config: CenterConfig
    sessions: sessionmaker[DbSession]
    readers: sessionmaker[DbSession]  # read-only transactions
    trust: TrustStore
    clock: Clock

    # --- kiosk identity ------------------------------------------------------------------

    def kiosk_for(self, cert_der: bytes | None) -> int:
        if not cert_der:
            raise Refusal(Reason.KIOSK_UNKNOWN, 403)
        digest = hashlib.sha256(cert_der).hexdigest()
        with self.readers() as db:
            kiosk = db.scalar(select(models.Kiosk).where(models.Kiosk.cert_sha256 == digest))
            if kiosk is None:
                raise Refusal(Reason.KIOSK_UNKNOWN, 403)
            if kiosk.status != "active":  # suspended or revoked: `kofu center admin kiosk`
                raise Refusal(
                    Reason.KIOSK_REVOKED if kiosk.status == "revoked" else Reason.KIOSK_SUSPENDED,
                    403,
                )
            return kiosk.id

    # --- 1. challenge ----------------------------------------------------------------------

    def challenge(self, kiosk_id: int) -> dict[str, Any]:
        nonce = secrets.token_bytes(32)
        cid = secrets.token_hex(16)
        now = self.clock.now()
        expires = now + timedelta(seconds=self.config.challenge_ttl_s)
        with self.sessions.begin() as db:
            # spent and expired challenges are worthless: keep the table small
            db.execute(
                delete(models.Challenge).where(
                    models.Challenge.kiosk_id == kiosk_id,
                    models.Challenge.expires_at < now - timedelta(minutes=10),
                )
            )
            db.add(models.Challenge(id=cid, nonce=nonce, kiosk_id=kiosk_id, expires_at=expires))
        return {
            "challenge_id": cid,
            "challenge": base64.b64encode(nonce).decode(),
            "expires_at": expires.isoformat(),
        }

    # --- 2. authenticate ---------------------------------------------------------------

    def authenticate(
        self, kiosk_id: int, challenge_id: str, cert: x509.Certificate, signature: bytes
    ) -> dict[str, Any]:
        now = self.clock.now()
        with self.sessions.begin() as db:
            ch = db.get(models.Challenge, challenge_id)
            if ch is None:
                raise Refusal(Reason.CHALLENGE_UNKNOWN)
            if ch.kiosk_id != kiosk_id:
                raise Refusal(Reason.CHALLENGE_OTHER_KIOSK)
            # Spend the challenge before anything else can fail: single use, even on refusal.
            spent = db.execute(
                update(models.Challenge)
                .where(models.Challenge.id == challenge_id, models.Challenge.used.is_(False))
                .values(used=True)
            )
            if spent.rowcount != 1:  # type: ignore[attr-defined]
                raise Refusal(Reason.CHALLENGE_USED)
            if now >= ch.expires_at:
                raise Refusal(Reason.CHALLENGE_EXPIRED)
            nonce = ch.nonce
        # the spent challenge is committed; a refusal below cannot un-spend it
        ident = verify_card(self.trust, cert, nonce, signature, now)
        with self.sessions.begin() as db:
            self._accept_crl(db, ident.issuer_dn, now)
            if self._center_revoked(db, ident.issuer_dn, ident.serial_hex):
                raise Refusal(Reason.CARD_REVOKED)
            card = db.scalar(
                select(models.CardCertificate).where(
                    models.CardCertificate.issuer_dn == ident.issuer_dn,
                    models.CardCertificate.serial == ident.serial_hex,
                )
            )
            if card is None:
                raise Refusal(Reason.CARD_UNREGISTERED)
            today = self.clock.today()
            if today <= card.issued_on:
                raise Refusal(Reason.CARD_TOO_NEW)
            resident = db.get(models.Resident, card.resident_id)
            assert resident is not None
            self._check_service(db, resident.municipality_code)
            check_resident(facts(resident, self._head_name(db, resident)), today)
            token = secrets.token_urlsafe(32)
            expires = now + timedelta(seconds=self.config.session_ttl_s)
            db.add(
                models.Session(
                    token_sha256=_hash(token),
                    kiosk_id=kiosk_id,
                    resident_id=resident.id,
                    expires_at=expires,
                    created_at=now,
                    card_issuer=ident.issuer_dn,
                    card_serial=ident.serial_hex,
                )
            )
            audit.record(db, now, "authenticated", kiosk_id=kiosk_id,
                         actor=f"resident:{resident.uid}")  # fmt: skip
            return {"session_token": token, "expires_at": expires.isoformat()}

    @staticmethod
    def _center_revoked(db: DbSession, issuer: str, serial: str) -> bool:
        return db.scalar(
            select(models.CardRevocation.id).where(
                models.CardRevocation.issuer_dn == issuer, models.CardRevocation.serial == serial
            )
        ) is not None

    def _accept_crl(self, db: DbSession, issuer: str, now: datetime) -> None:
        """The CRL in use for this CA must not be older than one accepted before (by any
        worker, ever): putting an older CRL back would un-revoke cards. Fails closed."""
        number = crl_number(self.trust.crl_for(issuer, now))
        key = hashlib.sha256(issuer.encode()).hexdigest()
        row = db.get(models.CrlNumber, key, with_for_update=True)
        if row is None:
            if number is None:
                return  # a CA that does not number its CRLs: nothing to compare
            try:
                with db.begin_nested():  # a first insert may race another worker's
                    db.add(models.CrlNumber(issuer_sha256=key, number=str(number),
                                            accepted_at=now))  # fmt: skip
                return
            except IntegrityError:
                row = db.get(models.CrlNumber, key, with_for_update=True, populate_existing=True)
                assert row is not None
        if number is None or number < int(row.number):
            raise Refusal(Reason.CRL_ROLLBACK, 503)
        if number > int(row.number):
            row.number, row.accepted_at = str(number), now

    def _head_name(self, db: DbSession, r: models.Resident) -> str | None:
        if r.household_id is None:
            return None
        hh = db.get(models.Household, r.household_id)
        return hh.head_name if hh else None

    def _check_service(
        self, db: DbSession, muni_code: str
    ) -> tuple[models.Municipality, dict[CertificateType, TypeOffering]]:
        """The municipality and the types it offers and serves now (its offering, hours per
        type): refused in a maintenance window (with the city's notice) or when none is."""
        muni = db.get(models.Municipality, muni_code)
        assert muni is not None
        now = self.clock.now()
        for n in offering.windows_of(db, muni_code):
            if n.window().covers(now):
                raise Refusal(Reason.MAINTENANCE, notice=(n.notice_ja, n.notice_en))
        serving = {
            k: t for k, t in offering.types_of(db, muni_code).items()
            if t.offered and t.open_at(now)
        }  # fmt: skip
        if not serving:
            offered = any(t.offered for t in offering.types_of(db, muni_code).values())
            raise Refusal(Reason.OUT_OF_HOURS if offered else Reason.NOT_OFFERED)
        return muni, serving

    # --- session -----------------------------------------------------------------------

    def _session(
        self, db: DbSession, kiosk_id: int, token: str, recheck: bool = False
    ) -> models.Session:
        """The live session of this kiosk. With ``recheck`` (menu, order, payment) the card
        and the resident are checked again as at authentication: a card revoked or a
        resident moved out or deceased since then ends the session's service."""
        sess = db.scalar(select(models.Session).where(models.Session.token_sha256 == _hash(token)))
        now = self.clock.now()
        if sess is None or sess.ended or sess.kiosk_id != kiosk_id or now >= sess.expires_at:
            raise Refusal(Reason.SESSION_INVALID, 401)
        limit = timedelta(seconds=self.config.session_max_s)
        if sess.created_at is None or now >= sess.created_at + limit:
            raise Refusal(Reason.SESSION_INVALID, 401)
        if recheck:
            self._recheck(db, sess, now)
        sess.expires_at = min(
            now + timedelta(seconds=self.config.session_ttl_s), sess.created_at + limit
        )
        return sess

    def _recheck(self, db: DbSession, sess: models.Session, now: datetime) -> None:
        if sess.card_issuer is None or sess.card_serial is None:
            raise Refusal(Reason.SESSION_INVALID, 401)
        self.trust.refresh()
        self._accept_crl(db, sess.card_issuer, now)
        if self.trust.serial_revoked(
            sess.card_issuer, sess.card_serial, now
        ) or self._center_revoked(db, sess.card_issuer, sess.card_serial):
            raise Refusal(Reason.CARD_REVOKED)
        resident = db.get(models.Resident, sess.resident_id)
        assert resident is not None
        check_resident(facts(resident, self._head_name(db, resident)), self.clock.today())

    def end_session(self, kiosk_id: int, token: str) -> None:
        with self.sessions.begin() as db:
            self._session(db, kiosk_id, token).ended = True

    # --- kiosk health -------------------------------------------------------------------

    def record_health(
        self, kiosk_id: int, ready: bool, state: str, devices: dict[str, Any]
    ) -> None:
        """Keep the kiosk's latest report (one row per kiosk, replaced each time)."""
        with self.sessions.begin() as db:
            row = db.get(models.KioskHealth, kiosk_id)
            if row is None:
                row = models.KioskHealth(kiosk_id=kiosk_id)
                db.add(row)
            row.received_at = self.clock.now()
            row.ready = ready
            row.state = state
            row.devices = devices

    # --- 3. menu -----------------------------------------------------------------------

    def _members(self, db: DbSession, me: models.Resident) -> list[models.Resident]:
        """Self first, then the household members whose 住民票 the kiosk may print."""
        if me.household_id is None:
            return [me]
        head = self._head_name(db, me)
        today = self.clock.today()
        others = db.scalars(
            select(models.Resident)
            .where(models.Resident.household_id == me.household_id, models.Resident.id != me.id)
            .order_by(models.Resident.id)
        ).all()
        keep = [
            r
            for r in others
            if r.registered
            and not (r.moved_out or r.move_out_filed or r.deceased or r.support_measures)
            and not r.gaiji_pending
            and r.move_in_filed != today
            and not over_limit(char_fields(r, head))
        ]
        return [me, *keep]

    def menu(self, kiosk_id: int, token: str) -> dict[str, Any]:
        with self.sessions.begin() as db:
            sess = self._session(db, kiosk_id, token, recheck=True)
            me = db.get(models.Resident, sess.resident_id)
            assert me is not None
            muni, serving = self._check_service(db, me.municipality_code)
            on_record = self._fiscal_years(db, me.id)
            today = self.clock.today()
            has_seal = db.get(models.SealRegistration, me.id) is not None
            # a type the city does not offer, or not at this hour, is not on the menu
            entries: dict[str, dict[str, Any] | None] = {str(k): None for k in CertificateType}
            for kind, t in serving.items():
                entry: dict[str, Any] = {"fee": t.kiosk_fee, "max_copies": t.max_copies}
                if kind is CertificateType.JUMINHYO:
                    entry["members"] = [
                        {
                            "member_id": m.uid,
                            "name": m.name,
                            "self": m.id == me.id,
                            "options": [str(o) for o in self._options(m, t)],
                            "data_as_of": m.data_as_of.isoformat(),
                        }
                        for m in self._members(db, me)
                    ]
                elif kind is CertificateType.INKAN:
                    if not has_seal:
                        continue
                else:
                    entry["fiscal_years"] = t.years(on_record, today)
                    if not entry["fiscal_years"]:
                        continue
                entries[str(kind)] = entry
            return {
                "municipality": {"code": muni.code, "name": muni.name},
                "applicant": {"member_id": me.uid, "name": me.name},
                "data_as_of": me.data_as_of.isoformat(),
                **entries,
                # the largest of the types' limits (each entry has its own)
                "max_copies": max(t.max_copies for t in serving.values()),
            }

    @staticmethod
    def _options(r: models.Resident, t: TypeOffering) -> tuple[JuminhyoOption, ...]:
        """The items of this resident's 住民票 the city allows at the kiosk."""
        mine = FOREIGN_OPTIONS if r.foreign else JAPANESE_OPTIONS
        return tuple(o for o in mine if o in t.kiosk_options)

    def _fiscal_years(self, db: DbSession, resident_id: int) -> list[int]:
        return sorted(
            db.scalars(
                select(models.IncomeRecord.fiscal_year).where(
                    models.IncomeRecord.resident_id == resident_id
                )
            ).all(),
            reverse=True,
        )

    # --- 4. order and quote ------------------------------------------------------------

    def order(self, kiosk_id: int, token: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
        with self.sessions.begin() as db:
            sess = self._session(db, kiosk_id, token, recheck=True)
            me = db.get(models.Resident, sess.resident_id)
            assert me is not None
            muni, serving = self._check_service(db, me.municipality_code)
            members = {m.uid: m for m in self._members(db, me)}
            on_record = self._fiscal_years(db, me.id)
            quoted: list[dict[str, Any]] = []
            for line in lines:
                kind = CertificateType(line["type"])
                t = serving.get(kind)
                if t is None:  # not offered by the city, or not at this hour
                    offered = offering.types_of(db, muni.code)[kind].offered
                    raise Refusal(Reason.OUT_OF_HOURS if offered else Reason.NOT_OFFERED)
                copies = int(line["copies"])
                if not 1 <= copies <= t.max_copies:
                    raise Refusal(Reason.ORDER_INVALID, 422, "copies out of range")
                out: dict[str, Any] = {"type": str(kind), "copies": copies}
                if kind is CertificateType.JUMINHYO:
                    ids = list(line.get("member_ids") or [me.uid])
                    if len(set(ids)) != len(ids):
                        raise Refusal(Reason.ORDER_INVALID, 422, "member listed twice")
                    if any(i not in members for i in ids):
                        # an identifier outside the applicant's household: never served
                        raise Refusal(Reason.NOT_PERMITTED, 403)
                    options = {JuminhyoOption(o) for o in line.get("options") or ()}
                    if not options <= t.kiosk_options:  # the city does not allow it here
                        raise Refusal(Reason.NOT_OFFERED, 403, "item not offered")
                    allowed = {o for i in ids for o in self._options(members[i], t)}
                    if not options <= allowed:
                        raise Refusal(Reason.ORDER_INVALID, 422, "option not available")
                    out["member_ids"] = [i for i in members if i in ids]  # household order
                    out["options"] = sorted(str(o) for o in options)
                elif line.get("member_ids") not in (None, [], [me.uid]):
                    raise Refusal(Reason.NOT_PERMITTED, 403)  # self only
                elif kind is CertificateType.INKAN:
                    if db.get(models.SealRegistration, me.id) is None:
                        raise Refusal(Reason.ORDER_INVALID, 422, "no registered seal")
                else:
                    year = line.get("fiscal_year")
                    if year not in t.years(on_record, self.clock.today()):
                        raise Refusal(Reason.ORDER_INVALID, 422, "fiscal year not on record")
                    out["fiscal_year"] = year
                out["fee_per_copy"] = t.kiosk_fee
                out["amount"] = t.kiosk_fee * copies
                quoted.append(out)
            total = sum(int(q["amount"]) for q in quoted)
            oid = secrets.token_hex(16)
            db.add(
                models.Order(
                    id=oid,
                    session_id=sess.id,
                    kiosk_id=kiosk_id,
                    resident_id=me.id,
                    municipality_code=muni.code,
                    lines=quoted,
                    total=total,
                    created_at=self.clock.now(),
                )
            )
            return {"order_id": oid, "lines": quoted, "total": total, "currency": "JPY"}

    # --- 5. payment and issue ----------------------------------------------------------

    def pay(
        self, kiosk_id: int, token: str, order_id: str, key: str, amount: int
    ) -> dict[str, Any]:
        with self.sessions.begin() as db:
            sess = self._session(db, kiosk_id, token)
            order = db.get(models.Order, order_id)
            if order is None or order.session_id != sess.id:
                raise Refusal(Reason.ORDER_UNKNOWN, 404)
            if amount != order.total:
                raise Refusal(Reason.PAYMENT_MISMATCH, 409)
            if order.status == "quoted":  # a retry of a payment already made re-checks nothing
                self._recheck(db, sess, self.clock.now())
            # Atomic claim: of concurrent confirmations exactly one flips quoted -> paid.
            claimed = db.execute(
                update(models.Order)
                .where(models.Order.id == order_id, models.Order.status == "quoted")
                .values(status="paid", idempotency_key=key, paid_at=self.clock.now())
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                db.refresh(order)
                if order.status == "void":  # the kiosk recovered and gave the money back
                    raise Refusal(Reason.ORDER_VOID, 409)
                if order.idempotency_key != key:
                    raise Refusal(Reason.ALREADY_PAID, 409)
                return self._issued(db, order)  # a retry: the same certificates again
            db.refresh(order)
            self._issue(db, order)
            return self._issued(db, order)

    def _issue(self, db: DbSession, order: models.Order) -> None:
        me = db.get(models.Resident, order.resident_id)
        muni = db.get(models.Municipality, order.municipality_code)
        assert me is not None and muni is not None
        today = self.clock.today()
        now = self.clock.now()
        head = self._head_name(db, me)
        members = {m.uid: m for m in self._members(db, me)}
        position = 0
        for line in order.lines:
            kind = CertificateType(str(line["type"]))
            for _ in range(int(str(line["copies"]))):
                position += 1
                number = f"{muni.code}-{today:%Y%m%d}-{secrets.token_hex(6).upper()}"
                if kind is CertificateType.JUMINHYO:
                    ids = [str(i) for i in line["member_ids"]]  # type: ignore[attr-defined]
                    opts = frozenset(JuminhyoOption(str(o)) for o in line["options"])  # type: ignore[attr-defined]
                    chosen = [members[i] for i in ids if i in members]
                    if len(chosen) != len(ids):  # a member left the household since the quote
                        raise Refusal(Reason.ORDER_INVALID, 409, "household changed")
                    doc = issuing.juminhyo(number, muni, chosen, head, opts, today)
                    subject = chosen[0]
                elif kind is CertificateType.INKAN:
                    seal = db.get(models.SealRegistration, me.id)
                    assert seal is not None
                    doc = issuing.inkan(number, muni, me, seal, today)
                    subject = me
                else:
                    rec = db.get(models.IncomeRecord, (me.id, int(str(line["fiscal_year"]))))
                    assert rec is not None
                    with_tax = kind is CertificateType.SHOTOKU_KAZEI
                    doc = issuing.income(number, muni, me, rec, with_tax, today)
                    subject = me
                fee = int(str(line["fee_per_copy"]))
                document_json = doc.canonical_json()
                payload = issuing.sign(doc, muni)
                db.add(
                    models.Certificate(
                        number=number,
                        order_id=order.id,
                        position=position,
                        kiosk_id=order.kiosk_id,
                        resident_id=me.id,
                        subject_id=subject.id,
                        municipality_code=muni.code,
                        cert_type=str(kind),
                        document_json=document_json,
                        payload=payload,
                        content_sha256=content_digest(document_json, payload),
                        fee=fee,
                        issued_at=now,
                    )
                )
                db.flush()
                db.add(
                    models.LedgerEntry(
                        municipality_code=muni.code,
                        kiosk_id=order.kiosk_id,
                        certificate_number=number,
                        cert_type=str(kind),
                        kind="issue",
                        fee=fee,
                        at=now,
                    )
                )
                # issuance and the use of the municipality's signing key, one line per copy
                audit.record(db, now, "issue", kiosk_id=order.kiosk_id,
                             certificate_number=number, actor=f"sign:{muni.code}")  # fmt: skip
        log.info("order %s issued at kiosk %d, total %d", order.id, order.kiosk_id, order.total)

    def _issued(self, db: DbSession, order: models.Order) -> dict[str, Any]:
        certs = db.scalars(
            select(models.Certificate)
            .where(models.Certificate.order_id == order.id)
            .order_by(models.Certificate.position)
        ).all()
        return {
            "order_id": order.id,
            "total": order.total,
            "certificates": [self._cert_view(db, c) for c in certs],
        }

    def _cert_view(self, db: DbSession, c: models.Certificate) -> dict[str, Any]:
        if c.purged_at is not None:  # printed and confirmed, or past the reprint window
            raise Refusal(Reason.REPRINT_EXPIRED, 409)
        muni = db.get(models.Municipality, c.municipality_code)
        assert muni is not None
        view: dict[str, Any] = {
            "certificate_number": c.number,
            "type": c.cert_type,
            "fee": c.fee,
            "document": json.loads(c.document_json),
            "payload_b64": base64.b64encode(c.payload).decode(),
            "issuer_seal_png_b64": base64.b64encode(muni.seal_png).decode(),
        }
        if c.cert_type == CertificateType.INKAN:
            seal = db.get(models.SealRegistration, c.resident_id)
            assert seal is not None
            view["seal_image_png_b64"] = base64.b64encode(seal.image_png).decode()
        return view

    def recover_order(self, kiosk_id: int, order_id: str, key: str) -> dict[str, Any]:
        """What became of an order the kiosk was paying when it stopped, answered to that
        kiosk only (no session: its process, and the token with it, is gone). Paid with this
        key: ``issued``, every copy's print status, and the content of the copies still
        ``pending`` (never confirmed printed) so the kiosk prints them now without a fee. Not
        paid: voided at once (the same atomic claim the payment makes), so a payment request
        still in flight can no longer issue what the kiosk is about to give the money back for.
        Both sides then agree: the kiosk refunds exactly what the center never issued."""
        now = self.clock.now()
        with self.sessions.begin() as db:
            order = db.get(models.Order, order_id)
            if order is None or order.kiosk_id != kiosk_id:
                raise Refusal(Reason.ORDER_UNKNOWN, 404)
            voided = db.execute(
                update(models.Order)
                .where(models.Order.id == order_id, models.Order.status == "quoted")
                .values(status="void")
            )
            if voided.rowcount == 1:  # type: ignore[attr-defined]
                audit.record(db, now, "recovery_void", kiosk_id=kiosk_id, reason=order_id)
                return {"order_id": order_id, "state": "void", "certificates": []}
            db.refresh(order)
            if order.status == "void":
                return {"order_id": order_id, "state": "void", "certificates": []}
            if order.idempotency_key != key:
                raise Refusal(Reason.ALREADY_PAID, 409)
            certs = db.scalars(
                select(models.Certificate)
                .where(models.Certificate.order_id == order.id)
                .order_by(models.Certificate.position)
            ).all()
            out = []
            for c in certs:
                entry: dict[str, Any] = {"certificate_number": c.number,
                                         "print_status": c.print_status}  # fmt: skip
                if c.print_status == "pending" and c.purged_at is None:
                    entry["view"] = self._cert_view(db, c)
                out.append(entry)
            audit.record(db, now, "recovery_issued", kiosk_id=kiosk_id, reason=order_id)
            return {"order_id": order_id, "state": "issued", "total": order.total,
                    "certificates": out}  # fmt: skip

    # --- 6. print result and clerk reprint -----------------------------------------------

    def _kiosk_cert(
        self, db: DbSession, kiosk_id: int, number: str, lock: bool = False
    ) -> models.Certificate:
        cert = db.get(models.Certificate, number, with_for_update=lock)
        if cert is None or cert.kiosk_id != kiosk_id:
            raise Refusal(Reason.CERTIFICATE_UNKNOWN, 404)
        return cert

    def print_result(self, kiosk_id: int, number: str, ok: bool, error: str) -> dict[str, Any]:
        """Write-once per print attempt: ``pending`` becomes ``ok`` (final: the content is
        purged, the ledger keeps its digest) or ``failed`` (a clerk may reprint it once).
        The same result again is answered as before (a retried request); another is refused."""
        now = self.clock.now()
        with self.sessions.begin() as db:
            cert = self._kiosk_cert(db, kiosk_id, number, lock=True)
            wanted = "ok" if ok else "failed"
            if cert.print_status == wanted:
                return {"certificate_number": number, "print_status": cert.print_status}
            if cert.print_status != "pending":
                raise Refusal(Reason.PRINT_RESULT_FINAL, 409)
            cert.print_status = wanted
            if ok:
                purge_content(cert, now)
            else:
                cert.failed_at = now
            audit.record(db, now, "print_ok" if ok else "print_failed", kiosk_id=kiosk_id,
                         certificate_number=number, reason=error)  # fmt: skip
            return {"certificate_number": number, "print_status": cert.print_status}

    def reprint(self, kiosk_id: int, number: str, clerk_token: str) -> dict[str, Any]:
        """Only a copy whose last print failed, at the kiosk that issued it, within the
        window after that failure, once per failure, for a clerk the center signed in."""
        now = self.clock.now()
        with self.sessions.begin() as db:
            clerk = clerks.signed_in(db, now, kiosk_id, clerk_token)
            cert = self._kiosk_cert(db, kiosk_id, number, lock=True)
            if cert.print_status != "failed" or cert.reprints >= self.config.max_reprints:
                raise Refusal(Reason.REPRINT_NOT_ALLOWED, 409)
            window = timedelta(seconds=self.config.reprint_window_s)
            if cert.failed_at is None or now > cert.failed_at + window:
                raise Refusal(Reason.REPRINT_EXPIRED, 409)
            view = self._cert_view(db, cert)
            cert.print_status = "pending"
            cert.reprints += 1
            db.add(
                models.LedgerEntry(
                    municipality_code=cert.municipality_code,
                    kiosk_id=kiosk_id,
                    certificate_number=number,
                    cert_type=cert.cert_type,
                    kind="reprint",
                    fee=0,
                    at=now,
                )
            )
            audit.record(db, now, "clerk_reprint", kiosk_id=kiosk_id, certificate_number=number,
                         actor=clerk)  # fmt: skip
            view["fee"] = 0
            view["reprint"] = cert.reprints
            return view

    # --- clerks ------------------------------------------------------------------------

    def clerk_signin(self, kiosk_id: int, clerk_id: str, pin: bytearray) -> dict[str, Any]:
        refusal: Refusal | None = None
        now = self.clock.now()
        try:
            with self.sessions.begin() as db:
                try:
                    token, expires = clerks.sign_in(
                        db, now, kiosk_id, clerk_id, pin, self.config.clerk_session_ttl_s
                    )
                except Refusal as exc:
                    refusal = exc  # commit the failure count: it is the lockout
        finally:
            pin[:] = bytes(len(pin))
        if refusal is not None:
            raise refusal
        return {"clerk_token": token, "clerk_id": clerk_id, "expires_at": expires.isoformat()}

    def clerk_signout(self, kiosk_id: int, clerk_token: str) -> None:
        with self.sessions.begin() as db:
            clerks.sign_out(db, self.clock.now(), kiosk_id, clerk_token)

    # --- public keys -------------------------------------------------------------------

    def public_keys(self) -> dict[str, str]:
        with self.readers() as db:
            return {
                m.code: base64.b64encode(m.public_key).decode()
                for m in db.scalars(select(models.Municipality)).all()
            }

    def seal_png(self, code: str) -> bytes:
        with self.readers() as db:
            muni = db.get(models.Municipality, code)
            if muni is None:
                raise Refusal(Reason.BAD_REQUEST, 404, "unknown municipality")
            return muni.seal_png
