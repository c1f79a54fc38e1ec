"""The JPKI user-authentication operations as sans-IO flows.

Each flow is a generator that yields `Command`s and receives `Response`s; its return value
is the result. `run_flow` drives one over any `ApduChannel` (PC/SC, or the virtual card's
engine called directly). The flows decide every status word; the channel only moves bytes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from drivers.nfc import apdu
from drivers.nfc.apdu import Command, Response
from drivers.nfc.errors import (
    BadCardData,
    CardError,
    CardMute,
    NoAuthCertificate,
    NotMyNumberCard,
    PinBlocked,
    PinNotVerified,
    UnexpectedStatus,
    WrongPin,
)
from drivers.nfc.pin import Pin

log = logging.getLogger(__name__)

T = TypeVar("T")
Flow = Generator[Command, Response, T]

HEADER_READ = 4  # as OpenSC: enough for 30 82 LL LL


class ApduChannel(Protocol):
    """Moves one command APDU to the card and its response back."""

    def transmit(self, command: bytes | bytearray) -> bytes: ...


def run_flow(flow: Flow[T], channel: ApduChannel, on_apdu: Callable[[], None] | None = None) -> T:
    """Drive a flow over a channel; sensitive command buffers are wiped once sent."""
    try:
        command = next(flow)
        while True:
            wire = command.encode()
            try:
                raw = channel.transmit(wire)
            finally:
                if command.sensitive:
                    for i in range(len(wire)):
                        wire[i] = 0
            if on_apdu is not None:
                on_apdu()
            try:
                response = Response.parse(raw)
            except ValueError as exc:
                flow.close()
                raise CardMute(str(exc)) from None
            log.debug("apdu %s -> %04X (%d bytes)", command.header, response.sw, len(response.data))
            command = flow.send(response)
    except StopIteration as stop:
        result: T = stop.value
        return result


def select_jpki() -> Flow[None]:
    r = yield apdu.select_ap()
    if not r.ok:
        raise NotMyNumberCard(r.sw)


def read_ef(
    fid: int, *, extended: bool = False, missing: type[CardError] | None = None
) -> Flow[bytes]:
    """Read a DER-encoded EF: the header first, then the rest in chunks of at most 256 bytes,
    or in one extended-length READ BINARY when `extended` (falling back to chunks if refused)."""
    r = yield apdu.select_ef(fid)
    if r.sw == apdu.SW_FILE_NOT_FOUND and missing is not None:
        raise missing()
    if not r.ok:
        raise UnexpectedStatus(f"SELECT EF {fid:04X}", r.sw)
    data = b""
    total: int | None = None
    while total is None:
        r = yield apdu.read_binary(len(data), HEADER_READ)
        if not r.ok or not r.data:
            raise UnexpectedStatus(f"READ BINARY {fid:04X} header", r.sw)
        data += r.data
        if data[0] in (0x00, 0xFF) and missing is not None:
            raise missing()  # an erased EF: the certificate was never written or was declined
        try:
            total = apdu.der_total_length(data)
        except ValueError as exc:
            raise BadCardData(f"EF {fid:04X}: {exc}") from None
    if extended and total - len(data) > apdu.SHORT_MAX_LE:
        r = yield apdu.read_binary(len(data), total - len(data))
        if r.ok and len(r.data) == total - len(data):
            return data + r.data
        log.info("extended READ BINARY refused (%04X): reading in short chunks", r.sw)
    while len(data) < total:
        want = min(apdu.SHORT_MAX_LE, total - len(data))
        r = yield apdu.read_binary(len(data), want)
        if not r.ok or not r.data:
            raise UnexpectedStatus(f"READ BINARY {fid:04X} at {len(data)}", r.sw)
        data += r.data
    return data[:total]


def read_auth_certificate(*, extended: bool = False, select: bool = True) -> Flow[bytes]:
    if select:
        yield from select_jpki()
    return (yield from read_ef(apdu.EF_AUTH_CERT, extended=extended, missing=NoAuthCertificate))


def read_auth_ca_certificate(*, extended: bool = False) -> Flow[bytes]:
    yield from select_jpki()
    return (yield from read_ef(apdu.EF_AUTH_CA, extended=extended, missing=NoAuthCertificate))


def pin_tries_left() -> Flow[int]:
    """Tries left for the user-authentication PIN, without spending one."""
    r = yield apdu.select_ef(apdu.EF_AUTH_PIN)
    if not r.ok:
        raise UnexpectedStatus("SELECT EF 0018", r.sw)
    r = yield apdu.query_pin_tries()
    if r.sw in (apdu.SW_REF_DATA_BLOCKED, apdu.SW_AUTH_BLOCKED):
        return 0
    tries = apdu.tries_from_sw(r.sw)
    if tries is None:
        raise UnexpectedStatus("VERIFY (query tries)", r.sw)
    return tries


def verify_pin(pin: Pin, *, check_tries_first: bool = True) -> Flow[None]:
    """VERIFY the PIN. A blocked card is detected first so no attempt is spent on it."""
    if check_tries_first:
        tries = yield from pin_tries_left()
        if tries == 0:
            raise PinBlocked()
    else:
        r = yield apdu.select_ef(apdu.EF_AUTH_PIN)
        if not r.ok:
            raise UnexpectedStatus("SELECT EF 0018", r.sw)
    r = yield apdu.verify_pin(pin.buffer())
    if r.ok:
        return
    if r.sw in (apdu.SW_REF_DATA_BLOCKED, apdu.SW_AUTH_BLOCKED):
        raise PinBlocked()
    left = apdu.tries_from_sw(r.sw)
    if left is None:
        raise UnexpectedStatus("VERIFY", r.sw)
    if left == 0:
        raise PinBlocked()
    raise WrongPin(left)


def sign_challenge(challenge: bytes) -> Flow[bytes]:
    """RSA PKCS#1 v1.5 signature by key 0017 over DigestInfo(SHA-256(challenge))."""
    digest_info = apdu.sha256_digest_info(hashlib.sha256(challenge).digest())
    r = yield apdu.select_ef(apdu.EF_AUTH_KEY)
    if not r.ok:
        raise UnexpectedStatus("SELECT EF 0017", r.sw)
    r = yield apdu.sign_digest_info(digest_info)
    if r.sw == apdu.SW_SECURITY_NOT_SATISFIED:
        raise PinNotVerified()
    if not r.ok:
        raise UnexpectedStatus("SIGN", r.sw)
    if len(r.data) != 256:
        raise BadCardData(f"signature of {len(r.data)} bytes, expected 256")
    return r.data


def logout() -> Flow[None]:
    """Re-selecting the AP drops the verified state (as OpenSC logs out)."""
    r = yield apdu.select_ap()
    if not r.ok:
        raise UnexpectedStatus("SELECT AP (logout)", r.sw)


@dataclass(frozen=True)
class Authentication:
    certificate: bytes  # DER of the user-authentication certificate (EF 000A)
    signature: bytes  # PKCS#1 v1.5 over SHA-256(challenge), by the certificate's key


def authenticate(
    pin: Pin, challenge: bytes, *, extended: bool = False, select: bool = True
) -> Flow[Authentication]:
    """The whole kiosk sequence: select, read certificate, tries, verify, sign, log out."""
    certificate = yield from read_auth_certificate(extended=extended, select=select)
    yield from verify_pin(pin)
    signature = yield from sign_challenge(challenge)
    yield from logout()
    return Authentication(certificate, signature)
