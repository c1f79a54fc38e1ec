"""Clerks the center verifies itself, so that a reprint names a real, signed-in clerk.

A clerk is an id and a salted scrypt hash of a 6-12 digit PIN, in the same
``scrypt$N$r$p$salt$hash`` text that `kofu kiosk clerk-pin` prints, so one credential serves
the kiosk's own sign-in and the center's check. Wrong PINs lock the clerk for a time that
doubles from 30 s to an hour, kept in the database (every worker and restart sees it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from center import audit, models
from center.reasons import Reason, Refusal

CLERK_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
PIN = re.compile(r"[0-9]{6,12}")
_HASH = re.compile(
    r"scrypt\$(?P<n>[0-9]{1,8})\$(?P<r>[0-9]{1,3})\$(?P<p>[0-9]{1,2})"
    r"\$(?P<salt>[A-Za-z0-9+/]{22,88}={0,2})\$(?P<digest>[A-Za-z0-9+/]{43,88}={0,2})"
)
LOCK_AFTER = 3
FIRST_LOCK_S = 30.0
MAX_LOCK_S = 3600.0
# A dummy hash run for unknown ids, so the answer time does not tell which ids exist.
_DUMMY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43


class ClerkHashError(ValueError):
    """A stored or given PIN hash is not one we accept (the message never holds a PIN)."""


@dataclass(frozen=True)
class ScryptHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    @classmethod
    def parse(cls, text: str) -> ScryptHash:
        m = _HASH.fullmatch(text.strip())
        if m is None:
            raise ClerkHashError("not scrypt$N$r$p$salt$hash (`kofu kiosk clerk-pin` makes one)")
        n, r, p = int(m["n"]), int(m["r"]), int(m["p"])
        # the kiosk's floor: N >= 2^14, r >= 8, at most 64 MiB
        if n < 2**14 or n & (n - 1) or r < 8 or not 1 <= p <= 4 or 128 * n * r > 64 * 2**20:
            raise ClerkHashError("scrypt cost below N=16384, r=8, or above 64 MiB")
        try:
            salt, digest = (
                base64.b64decode(x + "=" * (-len(x) % 4), validate=True)
                for x in (m["salt"].rstrip("="), m["digest"].rstrip("="))
            )
        except (ValueError, binascii.Error):
            raise ClerkHashError("salt and hash must be base64") from None
        return cls(n, r, p, salt, digest)

    def matches(self, pin: bytearray) -> bool:
        maxmem = 128 * self.r * (self.n + self.p + 2) + 2**20
        derived = hashlib.scrypt(
            pin, salt=self.salt, n=self.n, r=self.r, p=self.p, maxmem=maxmem,
            dklen=len(self.digest),
        )  # fmt: skip
        return hmac.compare_digest(derived, self.digest)


def hash_pin(pin: bytearray, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    """A ``scrypt$N$r$p$salt$hash`` for a PIN (tests and tools; operators use
    `kofu kiosk clerk-pin`, whose output is the same text)."""
    if not PIN.fullmatch(pin.decode("ascii", "replace")):
        raise ClerkHashError("a clerk PIN is 6 to 12 digits")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin, salt=salt, n=n, r=r, p=p, maxmem=128 * r * (n + p + 2) + 2**20,
                            dklen=32)  # fmt: skip
    b64 = [base64.b64encode(x).decode().rstrip("=") for x in (salt, digest)]
    return f"scrypt${n}${r}${p}${b64[0]}${b64[1]}"


def lock_seconds(failures: int) -> float:
    if failures < LOCK_AFTER:
        return 0.0
    return min(MAX_LOCK_S, FIRST_LOCK_S * 2.0 ** min(failures - LOCK_AFTER, 32))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(
    db: DbSession, now: datetime, kiosk_id: int, clerk_id: str, pin: bytearray, ttl_s: int
) -> tuple[str, datetime]:
    """A clerk token for this kiosk, or a refusal (unknown id and wrong PIN look alike).
    The caller wipes ``pin``, and commits its transaction even on refusal: the failure count
    is the lockout."""
    clerk = db.get(models.Clerk, clerk_id, with_for_update=True)
    if clerk is not None and clerk.locked_until is not None and now < clerk.locked_until:
        audit.record(db, now, "clerk_signin_refused", kiosk_id=kiosk_id, actor=clerk_id,
                     reason=Reason.CLERK_LOCKED.value)  # fmt: skip
        raise Refusal(Reason.CLERK_LOCKED, 423)
    ok = clerk is not None and clerk.active and ScryptHash.parse(clerk.pin_hash).matches(pin)
    if clerk is None:
        ScryptHash.parse(_DUMMY).matches(pin)
    if not ok:
        if clerk is not None:
            clerk.failures += 1
            seconds = lock_seconds(clerk.failures)
            clerk.locked_until = now + timedelta(seconds=seconds) if seconds else None
        audit.record(db, now, "clerk_signin_refused", kiosk_id=kiosk_id,
                     actor=clerk_id if clerk is not None else "",
                     reason=Reason.CLERK_INVALID.value)  # fmt: skip
        raise Refusal(Reason.CLERK_INVALID, 401)
    assert clerk is not None
    clerk.failures, clerk.locked_until = 0, None
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=ttl_s)
    db.add(models.ClerkSession(token_sha256=token_digest(token), clerk_id=clerk.id,
                               kiosk_id=kiosk_id, expires_at=expires))  # fmt: skip
    audit.record(db, now, "clerk_signin", kiosk_id=kiosk_id, actor=clerk.id)
    return token, expires


def signed_in(db: DbSession, now: datetime, kiosk_id: int, token: str) -> str:
    """The clerk id behind a live token of this kiosk, or a refusal."""
    row = db.scalar(
        select(models.ClerkSession).where(models.ClerkSession.token_sha256 == token_digest(token))
    )
    if row is None or row.ended or row.kiosk_id != kiosk_id or now >= row.expires_at:
        raise Refusal(Reason.CLERK_INVALID, 401)
    clerk = db.get(models.Clerk, row.clerk_id)
    if clerk is None or not clerk.active:
        raise Refusal(Reason.CLERK_INVALID, 401)
    return clerk.id


def sign_out(db: DbSession, now: datetime, kiosk_id: int, token: str) -> None:
    row = db.scalar(
        select(models.ClerkSession).where(models.ClerkSession.token_sha256 == token_digest(token))
    )
    if row is not None and row.kiosk_id == kiosk_id and not row.ended:
        row.ended = True
        audit.record(db, now, "clerk_signout", kiosk_id=kiosk_id, actor=row.clerk_id)


def add_or_replace(db: DbSession, clerk_id: str, pin_hash: str) -> None:
    if not CLERK_ID.fullmatch(clerk_id):
        raise ClerkHashError("clerk id: 1-40 of A-Z a-z 0-9 _ -")
    ScryptHash.parse(pin_hash)
    row = db.get(models.Clerk, clerk_id)
    if row is None:
        db.add(models.Clerk(id=clerk_id, pin_hash=pin_hash.strip(), active=True, failures=0))
    else:
        row.pin_hash, row.active, row.failures, row.locked_until = pin_hash.strip(), True, 0, None


def remove(db: DbSession, clerk_id: str) -> bool:
    row = db.get(models.Clerk, clerk_id)
    if row is None:
        return False
    row.active = False
    return True
