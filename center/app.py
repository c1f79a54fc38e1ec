"""The HTTP API (FastAPI; OpenAPI at /openapi.json). Thin: validation and mapping of typed
refusals to responses; the flow lives in :mod:`center.service`."""

# No `from __future__ import annotations`: FastAPI must see the local dependency aliases.

import base64
import binascii
import json
import logging
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from center import audit, models, retention
from center.atrest import attach
from center.clock import Clock
from center.config import CenterConfig
from center.db import make_engine, read_only, session_factory
from center.jpki import TrustStore, parse_certificate
from center.offering import COPIES_LIMIT
from center.reasons import Reason, Refusal
from center.service import Center
from center.tls import client_cert_der
from center.token_setup import open_keystore
from documents.model import CertificateType, JuminhyoOption
from documents.verify_web import make_router

VERIFY_PREFIX = "/verify"

log = logging.getLogger(__name__)


class Strict(BaseModel):
    """A request body: no unknown fields. Numbers and booleans are strict too (``"200"`` is
    not an amount, ``"true"`` not a boolean), as the OpenAPI description says; strings stay
    lax only so that JSON strings become the enums they name."""

    model_config = ConfigDict(extra="forbid")


StrictBool = Annotated[bool, Field(strict=True)]


class ChallengeOut(Strict):
    challenge_id: str
    challenge: str = Field(description="32 random bytes, base64")
    expires_at: str


class AuthenticateIn(Strict):
    challenge_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]
    card_certificate: Annotated[
        str, Field(min_length=1, max_length=12000, pattern=r"^[A-Za-z0-9+/=\s-]+$")
    ] = Field(description="the card's user-authentication certificate, PEM or base64 DER")
    signature: Annotated[
        str, Field(min_length=1, max_length=1024, pattern=r"^[A-Za-z0-9+/=]+$")
    ] = Field(description="base64 RSA PKCS#1 v1.5 signature over DigestInfo(SHA-256(challenge))")


class SessionOut(Strict):
    session_token: str
    expires_at: str


class OrderLineIn(Strict):
    type: CertificateType
    # any city's most; the city's own limit is the service's to check
    copies: Annotated[int, Field(strict=True, ge=1, le=COPIES_LIMIT)] = 1
    member_ids: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=10)] = []
    options: Annotated[list[JuminhyoOption], Field(max_length=6)] = []
    fiscal_year: Annotated[int, Field(strict=True, ge=1900, le=2200)] | None = None


class OrderIn(Strict):
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=10)]


class PaymentIn(Strict):
    idempotency_key: Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    amount: Annotated[int, Field(strict=True, ge=0, le=1_000_000)]


# Reasons are codes (IPP keywords, device states), never text a person typed or a name.
ReasonCode = Annotated[str, Field(max_length=80, pattern=r"^[A-Za-z0-9_.:-]*$")]
Secret = Annotated[str, Field(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
# Path ids: exactly what the center hands out (a NUL or anything else never reaches the db).
CertificateNumber = Annotated[str, Field(pattern=r"^[0-9]{6}-[0-9]{8}-[0-9A-F]{12}$")]
OrderId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
MunicipalityCode = Annotated[str, Field(pattern=r"^[0-9]{6}$")]


class PrintResultIn(Strict):
    ok: StrictBool
    error: ReasonCode = ""


class RecoveryIn(Strict):
    idempotency_key: Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class ReprintIn(Strict):
    clerk_token: Secret = Field(description="from POST /v1/clerk/session")


class ClerkSignInIn(Strict):
    clerk_id: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
    pin: Annotated[str, Field(min_length=6, max_length=12, pattern=r"^[0-9]+$")]


class ClerkSignOutIn(Strict):
    clerk_token: Secret


class ClerkSessionOut(Strict):
    clerk_token: str
    clerk_id: str
    expires_at: str


class DeviceHealthIn(Strict):
    ok: StrictBool
    reason: ReasonCode = ""
    since: Annotated[str, Field(max_length=40, pattern=r"^[0-9T:+.Z-]*$")] = ""


DeviceName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")]


def _device_map_schema(schema: dict[str, Any]) -> None:
    """Pydantic describes a dict with constrained keys as ``patternProperties`` and leaves
    every other key allowed (``additionalProperties`` defaults to true), while the validator
    refuses them: say instead that every key must match and every value is a device."""
    devices = schema["properties"]["devices"]
    (pattern, value), = devices.pop("patternProperties").items()
    devices["propertyNames"] = {**devices.get("propertyNames", {}), "pattern": pattern}
    devices["additionalProperties"] = value


class KioskHealthIn(Strict):
    """A kiosk's health board: codes only (device names, IPP keywords), no personal data."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_device_map_schema)

    ready: StrictBool
    state: Annotated[str, Field(max_length=40, pattern=r"^[a-z_]*$")] = ""
    devices: Annotated[dict[DeviceName, DeviceHealthIn], Field(max_length=20)] = {}


class ErrorOut(Strict):
    error: str
    message_ja: str
    message_en: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 413, 422, 423, 503)
}


def refusal_response(r: Refusal) -> JSONResponse:
    return JSONResponse(
        status_code=r.status,
        content={
            "error": r.reason.value,
            "message_ja": r.message_ja,
            "message_en": r.message_en,
        },
    )


class BodyLimit:
    """Refuse bodies over the limit before the application sees them. Bodies are small
    (a few KiB), so the whole body is read first and then handed on in one piece."""

    def __init__(self, app: Any, limit: int, on_refused: Any = None) -> None:
        self.app, self.limit, self.on_refused = app, limit, on_refused

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = refusal_response(Refusal(Reason.BODY_TOO_LARGE, 413))

        async def too_big(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if self.on_refused is not None:
                await self.on_refused(scope)  # the audit line of this refusal too
            await refusal(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await too_big(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if len(body) > self.limit:
                await too_big(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        delivered = False

        async def replay() -> Any:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(config: CenterConfig) -> FastAPI:
    # each worker process opens its own session with the key token (center/keystore.py)
    engine = attach(make_engine(config.db_url), open_keystore(config))
    trust = TrustStore(config.jpki_ca_files, config.jpki_crl_files)
    trust.refresh()
    center = Center(
        config,
        session_factory(engine),
        session_factory(read_only(engine)),
        trust,
        Clock(config.clock_offset_s),
    )

    app = FastAPI(
        title="kofu issuance center",
        version="1",
        description="Card authentication, eligibility, fees and certificate issuance for "
        "kiosks. Every call needs a kiosk client certificate (mutual TLS).",
    )
    app.state.center = center
    sweeper = retention.Sweeper(
        center.sessions,
        center.clock,
        max(config.content_retention_s, config.reprint_window_s),  # never cut a reprint short
    )

    @app.exception_handler(Refusal)
    async def _refused(request: Request, exc: Refusal) -> JSONResponse:
        await _audit_refusal(request, exc.reason)
        log.info("refused: %s", exc.reason.value)
        return refusal_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        await _audit_refusal(request, Reason.BAD_REQUEST)
        # the validator's detail may echo input (a name, a number): keep it out of responses
        return refusal_response(Refusal(Reason.BAD_REQUEST, 422))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own refusals (a body that is not UTF-8 or nests too deep: 400), unknown
        # paths and methods: the same envelope as every other refusal, no echo of the input
        reason = Reason.NOT_FOUND if exc.status_code in (404, 405) else Reason.BAD_REQUEST
        return refusal_response(Refusal(reason, exc.status_code))

    @app.exception_handler(Exception)
    async def _internal(_request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error: %s", type(exc).__name__)
        return refusal_response(Refusal(Reason.INTERNAL, 500))

    async def _audit_refusal(request: Request, reason: Reason) -> None:
        # every refusal leaves an audit line (reason code and kiosk id, nothing of the body)
        await run_in_threadpool(
            audit.refusal, center.sessions, center.clock.now(), reason.value,
            getattr(request.state, "kiosk_id", None), client_cert_der(request.scope),
        )  # fmt: skip

    def kiosk(request: Request) -> int:
        request.state.kiosk_id = center.kiosk_for(client_cert_der(request.scope))
        return int(request.state.kiosk_id)

    Kiosk = Annotated[int, Depends(kiosk)]

    def bearer(authorization: Annotated[str | None, Header()] = None) -> str:
        if not authorization or not authorization.startswith("Bearer "):
            raise Refusal(Reason.SESSION_INVALID, 401)
        return authorization[len("Bearer ") :]

    Token = Annotated[str, Depends(bearer)]

    @app.get("/v1/health")
    def health(kiosk_id: Kiosk) -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/challenge", responses=ERRORS)
    def challenge(kiosk_id: Kiosk) -> ChallengeOut:
        return ChallengeOut(**center.challenge(kiosk_id))

    @app.post("/v1/authenticate", responses=ERRORS)
    def authenticate(body: AuthenticateIn, kiosk_id: Kiosk) -> SessionOut:
        cert = parse_certificate(body.card_certificate)
        try:
            signature = base64.b64decode(body.signature, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Refusal(Reason.SIGNATURE_INVALID, 403, "signature is not base64") from exc
        return SessionOut(**center.authenticate(kiosk_id, body.challenge_id, cert, signature))

    @app.get("/v1/session/menu", responses=ERRORS)
    def menu(kiosk_id: Kiosk, token: Token) -> dict[str, Any]:
        return center.menu(kiosk_id, token)

    @app.delete("/v1/session", status_code=204, responses=ERRORS)
    def end_session(kiosk_id: Kiosk, token: Token) -> Response:
        center.end_session(kiosk_id, token)
        return Response(status_code=204)

    @app.post("/v1/session/orders", responses=ERRORS)
    def order(body: OrderIn, kiosk_id: Kiosk, token: Token) -> dict[str, Any]:
        lines = [line.model_dump(mode="json") for line in body.lines]
        return center.order(kiosk_id, token, lines)

    @app.post("/v1/session/orders/{order_id}/payment", responses=ERRORS)
    def pay(
        order_id: OrderId,
        body: PaymentIn,
        kiosk_id: Kiosk,
        token: Token,
    ) -> dict[str, Any]:
        return center.pay(kiosk_id, token, order_id, body.idempotency_key, body.amount)

    @app.post("/v1/orders/{order_id}/recovery", responses=ERRORS)
    def recover(order_id: OrderId, body: RecoveryIn, kiosk_id: Kiosk) -> dict[str, Any]:
        """A kiosk that restarted mid-session asks what became of an order it was paying:
        ``issued`` (with the copies not yet confirmed printed, to print them now) or
        ``void`` — an order not paid is voided here, so a payment still in flight from the
        dead process can never issue it after the kiosk gave the money back."""
        return center.recover_order(kiosk_id, order_id, body.idempotency_key)

    @app.post("/v1/certificates/{number}/print-result", responses=ERRORS)
    def print_result(
        number: CertificateNumber, body: PrintResultIn, kiosk_id: Kiosk
    ) -> dict[str, Any]:
        return center.print_result(kiosk_id, number, body.ok, body.error)

    @app.post("/v1/certificates/{number}/reprint", responses=ERRORS)
    def reprint(number: CertificateNumber, body: ReprintIn, kiosk_id: Kiosk) -> dict[str, Any]:
        """A copy whose print failed, again, at no fee: needs a clerk signed in at the
        center (`POST /v1/clerk/session`), within the reprint window, once per failure."""
        return center.reprint(kiosk_id, number, body.clerk_token)

    @app.post("/v1/clerk/session", responses=ERRORS)
    def clerk_signin(body: ClerkSignInIn, kiosk_id: Kiosk) -> ClerkSessionOut:
        """A clerk signs in at this kiosk with id and PIN (checked against the center's own
        scrypt hash, locked for a growing time after 3 wrong PINs)."""
        pin = bytearray(body.pin.encode("ascii"))
        return ClerkSessionOut(**center.clerk_signin(kiosk_id, body.clerk_id, pin))

    @app.post("/v1/clerk/session/end", status_code=204, responses=ERRORS)
    def clerk_signout(body: ClerkSignOutIn, kiosk_id: Kiosk) -> Response:
        center.clerk_signout(kiosk_id, body.clerk_token)
        return Response(status_code=204)

    @app.post("/v1/kiosk/health", status_code=204, responses=ERRORS)
    def kiosk_health(body: KioskHealthIn, kiosk_id: Kiosk) -> Response:
        """The kiosk's device health, sent periodically and on each change."""
        devices = {name: d.model_dump() for name, d in body.devices.items()}
        center.record_health(kiosk_id, body.ready, body.state, devices)
        sweeper.maybe()  # kiosks report periodically: the retention sweep rides on that
        return Response(status_code=204)

    @app.get("/v1/public-keys")
    def public_keys(kiosk_id: Kiosk) -> dict[str, str]:
        """Raw Ed25519 public keys (base64) by municipality code, for verifiers."""
        return center.public_keys()

    @app.get(
        "/v1/municipalities/{code}/seal.png",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}, **ERRORS},
    )
    def seal(code: MunicipalityCode, kiosk_id: Kiosk) -> Response:
        return Response(center.seal_png(code), media_type="image/png")

    # No certificate check page here: it decodes uploads from anyone, so it runs in its own
    # process on `kofu center --verify-port` (center.verify_server), never beside this API.
    return app


def verify_router(engine: Engine) -> APIRouter:
    """``documents.verify_web``'s page trusting the keys of the municipalities in the database
    (read once: a municipality created later is trusted after a restart)."""
    with session_factory(read_only(engine))() as db:
        issuers = {
            m.code: {"name": m.name, "public_key_hex": m.public_key.hex()}
            for m in db.scalars(select(models.Municipality)).all()
        }
    with tempfile.TemporaryDirectory(prefix="kofu-verify-") as tmp:
        trust = Path(tmp) / "trust.json"
        trust.write_text(json.dumps({"issuers": issuers}, ensure_ascii=False), encoding="utf-8")
        return make_router(trust)


def create_verify_app(config: CenterConfig) -> FastAPI:
    """The public certificate check alone (no kiosk API), for the plain-TLS verify port."""
    engine = make_engine(config.db_url, pool_size=1)
    try:
        router = verify_router(engine)
    finally:
        engine.dispose()
    app = FastAPI(title="kofu certificate check", openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(router, prefix=VERIFY_PREFIX)

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return Response(status_code=307, headers={"location": f"{VERIFY_PREFIX}/"})

    return app


def app_from_env() -> Any:
    """uvicorn factory for worker processes."""
    config = CenterConfig.from_env()
    app = create_app(config)
    center: Center = app.state.center

    async def audit_refused(scope: dict[str, Any]) -> None:
        await run_in_threadpool(
            audit.refusal, center.sessions, center.clock.now(), Reason.BODY_TOO_LARGE.value,
            None, client_cert_der(scope),
        )  # fmt: skip

    return BodyLimit(app, config.max_body_bytes, audit_refused)
