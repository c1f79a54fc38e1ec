"""The kiosk's client of the issuance center (`docs/center.md`): httpx over mutual TLS.

Transport failures and 5xx answers are retried with back-off; the payment call carries the
session's idempotency key, so a retry after a lost answer returns the same certificates
instead of charging twice. The client remembers which order this session paid and which
certificates came back for it: it hands the printer nothing else, and reports and reprints
only those numbers.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from documents.model import CertificateType
from host.session import events as E
from host.session.actions import Order
from host.session.pin import ClerkPin
from host.session.ports import CenterDown, CenterRefusal

from .config import CenterConfig

log = logging.getLogger("kofu.kiosk.center")

# The center's refusal codes (docs/center.md) → the session's reasons.
_REASONS: dict[str, E.RefusalReason] = {
    "card_expired": E.RefusalReason.CERTIFICATE_EXPIRED,
    "card_revoked": E.RefusalReason.CERTIFICATE_REVOKED,
    "card_untrusted": E.RefusalReason.CERTIFICATE_UNTRUSTED,
    "card_malformed": E.RefusalReason.CERTIFICATE_UNTRUSTED,
    "signature_invalid": E.RefusalReason.CERTIFICATE_UNTRUSTED,
    "card_not_yet_valid": E.RefusalReason.CARD_NOT_YET_USABLE,
    "card_too_new": E.RefusalReason.CARD_NOT_YET_USABLE,
    "card_unregistered": E.RefusalReason.NOT_REGISTERED,
}


class NotThisSession(CenterRefusal):
    """The center sent something this session did not order; nothing of it is printed."""

    def __init__(self) -> None:
        super().__init__(E.RefusalReason.OTHER)


def reason_code(reason: str) -> str:
    """The center takes reasons as codes only (IPP keywords, device states)."""
    return re.sub(r"[^A-Za-z0-9_.:-]", "_", reason)[:80]


def refusal_reason(code: str) -> E.RefusalReason:
    return _REASONS.get(code) or E.RefusalReason.parse(code)


def tls_context(cfg: CenterConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cfg.ca))
    ctx.load_cert_chain(str(cfg.cert), str(cfg.key))
    return ctx


def certificate_pem(certificate: bytes) -> str:
    """The card gives DER; the center takes PEM (either is accepted, PEM is unambiguous)."""
    if certificate.lstrip().startswith(b"-----BEGIN"):
        return certificate.decode("ascii")
    return x509.load_der_x509_certificate(certificate).public_bytes(Encoding.PEM).decode()


def menu_from_json(body: dict[str, Any]) -> E.Menu:
    from documents.model import JuminhyoOption

    offers: list[E.Offer] = []
    jumin = body.get("juminhyo")
    if jumin:
        members = tuple(
            E.Member(
                member_id=str(m["member_id"]),
                name=str(m["name"]),
                is_self=bool(m["self"]),
                options=frozenset(JuminhyoOption(o) for o in m["options"]),
                data_as_of=_date(m.get("data_as_of")),
            )
            for m in jumin["members"]
        )
        offers.append(
            E.Offer(CertificateType.JUMINHYO, int(jumin["fee"]), members=members,
                    max_copies=_max_copies(jumin, body))
        )  # fmt: skip
    if body.get("inkan"):
        inkan = body["inkan"]
        offers.append(
            E.Offer(CertificateType.INKAN, int(inkan["fee"]), max_copies=_max_copies(inkan, body))
        )
    for kind in (CertificateType.SHOTOKU, CertificateType.SHOTOKU_KAZEI):
        entry = body.get(kind.value)
        if entry:
            years = tuple(int(y) for y in entry["fiscal_years"])
            offers.append(
                E.Offer(kind, int(entry["fee"]), fiscal_years=years,
                        max_copies=_max_copies(entry, body))
            )  # fmt: skip
    muni = body.get("municipality")
    name = str(muni.get("name", "")) if isinstance(muni, dict) else ""
    return E.Menu(tuple(offers), data_as_of=_date(body.get("data_as_of")), municipality=name)


def _max_copies(entry: dict[str, Any], body: dict[str, Any]) -> int | None:
    """The center's copies limit for a type (its offering), else the menu's one limit."""
    value = entry.get("max_copies", body.get("max_copies"))
    return int(value) if isinstance(value, int) and value >= 1 else None


def _date(text: object) -> date | None:
    try:
        return date.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def order_line(order: Order) -> dict[str, Any]:
    line: dict[str, Any] = {"type": order.kind.value, "copies": order.copies}
    if order.kind is CertificateType.JUMINHYO:
        line["member_ids"] = list(order.member_ids)
        line["options"] = sorted(o.value for o in order.options)
    if order.fiscal_year is not None:
        line["fiscal_year"] = order.fiscal_year
    return line


def document_from_view(view: dict[str, Any], quote_id: str) -> E.IssuedDocument:
    """``payload`` carries the center's whole certificate record (document, signed 2D-code
    payload, seal images) as JSON: the printer adapter renders the PDF from it."""
    return E.IssuedDocument(
        certificate_number=str(view["certificate_number"]),
        pages=1,
        quote_id=quote_id,
        payload=json.dumps(view, ensure_ascii=False).encode(),
    )


@dataclass(frozen=True)
class RecoveredOrder:
    """The center's answer about an order a dead host was paying."""

    issued: bool
    pending: tuple[E.IssuedDocument, ...]  # issued, never confirmed printed: print them now
    printed: tuple[str, ...]  # confirmed printed
    failed: tuple[str, ...]  # reported failed: a clerk's reprint


class CenterClient:
    """The session's CenterPort."""

    def __init__(self, cfg: CenterConfig, http: httpx.AsyncClient | None = None) -> None:
        self.cfg = cfg
        self.http = http or httpx.AsyncClient(
            base_url=cfg.url,
            transport=httpx.AsyncHTTPTransport(
                verify=tls_context(cfg),
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            ),
            timeout=cfg.timeout_s,
        )
        self.retry_delay_s = 0.2
        self._challenge_id = ""
        self._token = ""
        self._quote_id = ""
        self._issued: dict[str, E.IssuedDocument] = {}
        # Copies whose print failed, by number -> the order they were paid in: a clerk may
        # reprint them after their session ended (the kiosk served others meanwhile). Ids
        # only; the content comes again from the center at reprint time.
        self._reprintable: dict[str, str] = {}
        self._clerk_token = ""  # a clerk the center signed in here (reprints need one)
        # Told (order id, certificate numbers) after each issue, so the cash journal names
        # what the fee paid for; ids go to the journal only, never to a log.
        self.on_issued: Callable[[str, tuple[E.IssuedDocument, ...]], Awaitable[None]] | None
        self.on_issued = None
        # Told (order id, idempotency key) before the payment is sent; it journals them
        # durably (a host that dies mid-request asks the center by key at start) and raises
        # when it cannot, so the center is not asked.
        self.on_paying: Callable[[str, str], Awaitable[None]] | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    def forget(self) -> None:
        """End of session: drop token, order and certificates."""
        self._challenge_id = self._token = self._quote_id = ""
        self._issued.clear()

    async def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        auth: bool = False,
        content: bytes | None = None,
        retries: int | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"} if auth else {}
        if content is not None:
            headers["Content-Type"] = "application/json"
        last = "unreachable"
        for attempt in range((self.cfg.retries if retries is None else retries) + 1):
            if attempt:
                await asyncio.sleep(self.retry_delay_s * 2 ** (attempt - 1))
            try:
                resp = await self.http.request(
                    method, path, json=body, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                last = type(exc).__name__
                continue
            if resp.status_code >= 500:
                last = f"http {resp.status_code}"
                try:  # e.g. crl_stale: the center cannot check cards now
                    last = str(resp.json().get("error", last))
                except ValueError:
                    pass
                continue
            if resp.status_code >= 400:
                try:
                    code = str(resp.json().get("error", "other"))
                except ValueError:
                    code = "other"
                log.info("center refused %s: %s", path.split("/")[2], code)
                raise CenterRefusal(refusal_reason(code))
            return resp.json() if resp.content else None
        log.warning("center unavailable: %s", last)
        raise CenterDown(last)

    async def healthy(self) -> bool:
        try:
            resp = await self.http.get("/v1/public-keys")
        except httpx.TransportError:
            return False
        return resp.status_code < 500

    async def challenge(self) -> bytes:
        self.forget()
        body = await self._call("POST", "/v1/challenge")
        self._challenge_id = str(body["challenge_id"])
        return base64.b64decode(body["challenge"])

    async def authenticate(self, certificate: bytes, signature: bytes) -> E.Menu:
        body = await self._call(
            "POST",
            "/v1/authenticate",
            {
                "challenge_id": self._challenge_id,
                "card_certificate": certificate_pem(certificate),
                "signature": base64.b64encode(signature).decode(),
            },
        )
        self._token = str(body["session_token"])
        return menu_from_json(await self._call("GET", "/v1/session/menu", auth=True))

    async def quote(self, order: Order) -> E.Quote:
        body = await self._call(
            "POST", "/v1/session/orders", {"lines": [order_line(order)]}, auth=True
        )
        self._quote_id = str(body["order_id"])
        return E.Quote(self._quote_id, int(body["total"]))

    async def issue(
        self, quote_id: str, paid_yen: int, idempotency_key: str
    ) -> tuple[E.IssuedDocument, ...]:
        if not quote_id or quote_id != self._quote_id:
            raise NotThisSession()
        if self.on_paying is not None:
            try:
                await self.on_paying(quote_id, idempotency_key)
            except Exception as exc:
                log.warning("payment intent not journaled: %s", type(exc).__name__)
                raise CenterDown("journal") from None
        body = await self._call(
            "POST",
            f"/v1/session/orders/{quote_id}/payment",
            {"idempotency_key": idempotency_key, "amount": paid_yen},
            auth=True,
        )
        if str(body.get("order_id")) != quote_id:
            raise NotThisSession()
        docs = tuple(document_from_view(v, quote_id) for v in body["certificates"])
        self._issued = {d.certificate_number: d for d in docs}
        if self.on_issued is not None:
            await self.on_issued(quote_id, docs)
        return docs

    @property
    def order_id(self) -> str:
        """The order this session quoted (and may pay for), or ""."""
        return self._quote_id

    async def report_print(
        self, certificate_numbers: tuple[str, ...], ok: bool, reason: str
    ) -> None:
        for number in certificate_numbers:
            quote_id = self._order_of(number)
            if quote_id is None:
                continue
            if not ok:
                self._reprintable[number] = quote_id  # even if the report must be retried
            await self._call(
                "POST",
                f"/v1/certificates/{number}/print-result",
                {"ok": ok, "error": reason_code(reason)},
            )
            if ok:
                self._reprintable.pop(number, None)

    def _order_of(self, number: str) -> str | None:
        if number in self._issued:
            return self._issued[number].quote_id
        return self._reprintable.get(number)

    async def reprint(self, certificate_numbers: tuple[str, ...]) -> tuple[E.IssuedDocument, ...]:
        out: list[E.IssuedDocument] = []
        for number in certificate_numbers:
            quote_id = self._order_of(number)
            if quote_id is None:
                raise NotThisSession()
            if not self._clerk_token:
                raise CenterRefusal(E.RefusalReason.parse("clerk_invalid"))
            view = await self._call(
                "POST", f"/v1/certificates/{number}/reprint", {"clerk_token": self._clerk_token}
            )
            out.append(document_from_view(view, quote_id))
        return tuple(out)

    async def recover(self, order_id: str, key: str) -> RecoveredOrder:
        """What became of an order a host that died was paying (`POST /v1/orders/{id}/
        recovery`, no session): ``void`` (never issued: the center voided it, so the money
        goes back) or ``issued``. Copies whose print failed become reprintable by a clerk."""
        body = await self._call(
            "POST", f"/v1/orders/{order_id}/recovery", {"idempotency_key": key}
        )
        if str(body.get("order_id")) != order_id or body.get("state") not in ("void", "issued"):
            raise NotThisSession()
        pending, ok, failed = [], [], []
        for entry in body["certificates"]:
            number, status = str(entry["certificate_number"]), str(entry["print_status"])
            if status == "ok":
                ok.append(number)
            elif status == "failed":
                failed.append(number)
                self._reprintable[number] = order_id
            elif "view" in entry:
                pending.append(document_from_view(entry["view"], order_id))
                # known by number from now on: report_print names it, a clerk may reprint it
                self._reprintable[number] = order_id
        return RecoveredOrder(
            str(body["state"]) == "issued", tuple(pending), tuple(ok), tuple(failed)
        )

    async def clerk_signin(self, clerk_id: str, pin: ClerkPin) -> None:
        """Have the center sign the clerk in too (its own check of id and PIN): a reprint
        needs it. One try: a wrong PIN must not count three times. The body is built in a
        buffer that is zeroed after sending (httpx still holds a bytes copy until it is
        collected)."""
        self._clerk_token = ""
        buf = bytearray(b'{"clerk_id":' + json.dumps(clerk_id).encode() + b',"pin":"')
        pin.use(buf.extend)
        buf += b'"}'
        try:
            body = await self._call("POST", "/v1/clerk/session", content=bytes(buf), retries=0)
        finally:
            buf[:] = bytes(len(buf))
        self._clerk_token = str(body["clerk_token"])

    async def clerk_signout(self) -> None:
        token, self._clerk_token = self._clerk_token, ""
        if token:
            try:
                await self._call(
                    "POST", "/v1/clerk/session/end", {"clerk_token": token}, retries=0
                )
            except (CenterDown, CenterRefusal):
                pass

    async def end_session(self) -> None:
        if self._token:
            try:
                await self._call("DELETE", "/v1/session", auth=True)
            except (CenterDown, CenterRefusal):
                pass
        self.forget()

    async def report_health(self, snapshot: dict[str, Any]) -> bool:
        """Send the kiosk's health board (codes only) to the center; one try, no retries:
        the next report follows soon. False when it did not arrive."""
        devices = {
            name: {**d, "reason": reason_code(str(d.get("reason", "")))}
            for name, d in (snapshot.get("devices") or {}).items()
        }
        snapshot = {**snapshot, "devices": devices}
        try:
            resp = await self.http.post("/v1/kiosk/health", json=snapshot)
        except httpx.TransportError as exc:
            log.debug("health report not sent: %s", type(exc).__name__)
            return False
        if resp.status_code >= 300:
            log.info("health report refused: http %d", resp.status_code)
            return False
        return True
