"""The virtual card's JPKI application: a pure function of APDU bytes to response bytes.

No I/O and no clock: the vpcd transport feeds it commands, and `CardProfile` holds what a
persona's card carries. The PIN counter lives in a `PinCounter` so it can persist across runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from Crypto.PublicKey import RSA

from drivers.nfc import apdu

SIGN_PASSWORD_TRIES = 5
SIGN_PASSWORD = b"KOFUSIGN01"  # 6-16 upper-case alphanumerics; the kiosk never uses it


class PinCounter:
    """Tries left for one PIN; `save` is called after every change (persistence)."""

    def __init__(self, tries: int, save: Callable[[int], None] | None = None) -> None:
        self.tries = tries
        self._save = save

    def set(self, tries: int) -> None:
        self.tries = tries
        if self._save is not None:
            self._save(tries)


@dataclass
class CardProfile:
    """Everything one physical card carries."""

    jpki: bool = True
    auth_cert: bytes | None = None
    auth_ca: bytes | None = None
    auth_key: RSA.RsaKey | None = None
    pin: bytes = b"1234"
    pin_counter: PinCounter = field(default_factory=lambda: PinCounter(3))
    sign_cert: bytes | None = None
    sign_ca: bytes | None = None
    sign_password: bytes = SIGN_PASSWORD
    sign_counter: PinCounter = field(default_factory=lambda: PinCounter(SIGN_PASSWORD_TRIES))
    token_label: bytes = b"JPKIAPICCTOKEN2"
    extended_length: bool = False  # whether READ BINARY accepts an extended Le


def _sw(sw: int, data: bytes = b"") -> bytes:
    return data + sw.to_bytes(2, "big")


def pkcs1_v15_sign(key: RSA.RsaKey, digest_info: bytes) -> bytes:
    """Type-1 padding around what the host sent, then the private-key operation."""
    k = (key.n.bit_length() + 7) // 8
    if len(digest_info) > k - 11:
        raise ValueError("DigestInfo too long for the key")
    em = b"\x00\x01" + b"\xff" * (k - 3 - len(digest_info)) + b"\x00" + digest_info
    m = int.from_bytes(em, "big")
    # CRT for speed; pycryptodome keeps p, q and u = p^-1 mod q.
    p, q = int(key.p), int(key.q)
    d = int(key.d)
    s1 = pow(m, d % (p - 1), p)
    s2 = pow(m, d % (q - 1), q)
    h = (int(key.u) * (s2 - s1)) % q
    s = s1 + h * p
    return s.to_bytes(k, "big")


class JpkiCardEngine:
    """ISO 7816-4 command processing for one card while it is powered."""

    def __init__(self, profile: CardProfile) -> None:
        self.profile = profile
        self.reset()
        self.apdus = 0
        self.signatures = 0

    def reset(self) -> None:
        """Power cycle or leaving the field: nothing selected, nothing verified."""
        self.ap_selected = False
        self.ef: int | None = None
        self.auth_verified = False
        self.sign_verified = False

    def _files(self) -> dict[int, bytes]:
        p = self.profile
        files: dict[int, bytes] = {apdu.EF_TOKEN_INFO: p.token_label.ljust(160, b" ")}
        present = bytes((1 if p.auth_cert else 0, 1 if p.sign_cert else 0, 0))
        files[apdu.EF_PRESENCE] = present
        if p.auth_cert is not None:
            files[apdu.EF_AUTH_CERT] = p.auth_cert
        if p.auth_ca is not None:
            files[apdu.EF_AUTH_CA] = p.auth_ca
        if p.sign_cert is not None:
            files[apdu.EF_SIGN_CERT] = p.sign_cert
        if p.sign_ca is not None:
            files[apdu.EF_SIGN_CA] = p.sign_ca
        return files

    def _exists(self, fid: int) -> bool:
        if fid in (apdu.EF_AUTH_PIN, apdu.EF_SIGN_PIN, apdu.EF_SIGN_KEY):
            return True
        if fid == apdu.EF_AUTH_KEY:
            return self.profile.auth_key is not None
        return fid in self._files()

    def process(self, command: bytes) -> bytes:
        self.apdus += 1
        if len(command) < 4:
            return _sw(apdu.SW_WRONG_LENGTH)
        cla, ins, p1, p2 = command[0], command[1], command[2], command[3]
        body = command[4:]
        if cla not in (0x00, 0x80):
            return _sw(apdu.SW_CLA_NOT_SUPPORTED)
        try:
            lc_data, le = _split_body(body)
        except ValueError:
            return _sw(apdu.SW_WRONG_LENGTH)
        extended = len(body) > 0 and body[0] == 0 and len(body) >= 3
        if ins == apdu.INS_SELECT and cla == 0x00:
            return self._select(p1, p2, lc_data)
        if not self.ap_selected:
            # Without the JPKI AP this card is as good as empty for any command.
            return _sw(apdu.SW_INS_NOT_SUPPORTED if ins not in (0xB0, 0x20, 0x2A) else 0x6986)
        if ins == apdu.INS_READ_BINARY and cla == 0x00:
            return self._read_binary(p1, p2, le, extended)
        if ins == apdu.INS_VERIFY and cla == 0x00:
            return self._verify(p1, p2, lc_data)
        if ins == apdu.INS_SIGN and cla == 0x80:
            return self._sign(p1, p2, lc_data)
        return _sw(apdu.SW_INS_NOT_SUPPORTED)

    def _select(self, p1: int, p2: int, data: bytes) -> bytes:
        if p1 == 0x04:
            if self.profile.jpki and data == apdu.JPKI_AID:
                self.reset()
                self.ap_selected = True
                return _sw(apdu.SW_OK)
            return _sw(apdu.SW_FILE_NOT_FOUND)
        if p1 == 0x02 and self.ap_selected:
            if len(data) != 2:
                return _sw(apdu.SW_WRONG_LENGTH)
            fid = int.from_bytes(data, "big")
            if not self._exists(fid):
                return _sw(apdu.SW_FILE_NOT_FOUND)
            self.ef = fid
            return _sw(apdu.SW_OK)
        return _sw(apdu.SW_FILE_NOT_FOUND)

    def _read_binary(self, p1: int, p2: int, le: int | None, extended: bool) -> bytes:
        if self.ef is None:
            return _sw(apdu.SW_NO_EF_SELECTED)
        if self.ef in (apdu.EF_SIGN_CERT, apdu.EF_SIGN_CA) and not self.sign_verified:
            return _sw(apdu.SW_SECURITY_NOT_SATISFIED)
        content = self._files().get(self.ef)
        if content is None:  # PIN and key files are never readable
            return _sw(apdu.SW_SECURITY_NOT_SATISFIED)
        if extended and not self.profile.extended_length:
            return _sw(apdu.SW_WRONG_LENGTH)
        offset = (p1 << 8) | p2
        if p1 & 0x80 or offset > len(content):
            return _sw(apdu.SW_WRONG_P1P2)
        want = le if le is not None else 0
        chunk = content[offset : offset + want]
        if len(chunk) < want and offset + want > len(content) and not chunk:
            return _sw(apdu.SW_WRONG_P1P2)
        return _sw(apdu.SW_OK, chunk)

    def _verify(self, p1: int, p2: int, data: bytes) -> bytes:
        if p1 != 0x00 or p2 != 0x80:
            return _sw(apdu.SW_WRONG_P1P2)
        if self.ef == apdu.EF_AUTH_PIN:
            counter, secret, kind = self.profile.pin_counter, self.profile.pin, "auth"
        elif self.ef == apdu.EF_SIGN_PIN:
            counter, secret, kind = self.profile.sign_counter, self.profile.sign_password, "sign"
        else:
            return _sw(apdu.SW_NO_EF_SELECTED)
        if not data:  # query: never spends a try
            if counter.tries == 0:
                return _sw(apdu.SW_REF_DATA_BLOCKED)
            return _sw(0x63C0 | counter.tries)
        if counter.tries == 0:
            return _sw(apdu.SW_REF_DATA_BLOCKED)
        if data == secret:
            counter.set(_initial_tries(kind))
            if kind == "auth":
                self.auth_verified = True
            else:
                self.sign_verified = True
            return _sw(apdu.SW_OK)
        counter.set(counter.tries - 1)
        return _sw(0x63C0 | counter.tries)

    def _sign(self, p1: int, p2: int, data: bytes) -> bytes:
        if p1 != 0x00 or p2 != 0x80:
            return _sw(apdu.SW_WRONG_P1P2)
        if self.profile.auth_key is None or self.ef not in (apdu.EF_AUTH_KEY, apdu.EF_SIGN_KEY):
            return _sw(apdu.SW_NO_EF_SELECTED)
        verified = self.auth_verified if self.ef == apdu.EF_AUTH_KEY else self.sign_verified
        if not verified:
            return _sw(apdu.SW_SECURITY_NOT_SATISFIED)
        if not data or len(data) > 245:
            return _sw(apdu.SW_WRONG_LENGTH)
        self.signatures += 1
        return _sw(apdu.SW_OK, pkcs1_v15_sign(self.profile.auth_key, data))


def _initial_tries(kind: str) -> int:
    return 3 if kind == "auth" else SIGN_PASSWORD_TRIES


def _split_body(body: bytes) -> tuple[bytes, int | None]:
    """(data, Le) of an APDU body, short or extended; Le 0 means the maximum."""
    n = len(body)
    if n == 0:
        return b"", None
    if n == 1:
        return b"", body[0] or 256
    if body[0] == 0 and n == 3:  # extended, Le only
        return b"", int.from_bytes(body[1:3], "big") or 65536
    if body[0] == 0 and n >= 3:
        lc = int.from_bytes(body[1:3], "big")
        rest = body[3:]
        if len(rest) == lc:
            return rest, None
        if len(rest) == lc + 2:
            return rest[:lc], int.from_bytes(rest[lc:], "big") or 65536
        raise ValueError("bad extended APDU")
    lc = body[0]
    rest = body[1:]
    if len(rest) == lc:
        return rest, None
    if len(rest) == lc + 1:
        return rest[:lc], rest[lc] or 256
    raise ValueError("bad short APDU")
