"""Clerk sign-in: one salted, slow hash per clerk in kiosk.toml, a lockout that grows with
wrong PINs and survives restarts, and every sign-in, failure and lockout in the journal.

kiosk.toml holds, per clerk (``kofu kiosk clerk-pin --id c01`` prints the entry)::

    [[kiosk.clerks]]
    id = "c01"                                   # who, in the audit trail (A-Z a-z 0-9 _ -)
    pin_hash = "scrypt$16384$8$1$<salt>$<hash>"  # scrypt $ N $ r $ p $ base64 salt $ base64 hash

A clerk PIN is 6 to 12 digits (`host.session.pin.ClerkPin`). The cost parameters are part of
each hash, so they can be raised later (a new hash per clerk) without a code change; hashes
cheaper than N=2^14, r=8 are refused at load. The screen asks for the PIN only, so the PINs of
two clerks must differ: the first clerk whose hash matches signs in.

Lockout (`LockoutPolicy`): after 3 wrong PINs in a row sign-in is refused for 30 s, doubling
with each further wrong PIN (60 s, 120 s…) up to an hour; a correct PIN resets the count.
While locked, any PIN (the right one too) is refused without being hashed, so the lockout
bounds the CPU an attacker can burn as well. The count and the end of the lock are journal
entries (kind ``clerk``), read back at start: restarting the service resets nothing. The
lockout's clock is given (the service's), never read from the machine here.

The digits never reach a log line, an exception message or a file: they stay in the
`ClerkPin`'s bytearray, hashed through a read-only view of it, and are wiped after the check.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import math
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, cast

from host.payment.journal import Journal
from host.session.pin import ClerkPin
from host.session.ports import ClerkLocked

log = logging.getLogger("kofu.kiosk.clerk")

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1  # ~50 ms on a desktop core, ~100-200 ms on a Raspberry Pi 4
MIN_N, MIN_R = 2**14, 8  # weaker hashes are refused at load
MAX_MEMORY = 256 * 1024 * 1024  # 128 * N * r bytes of scrypt's memory, at most
MAX_P = 16
SALT_BYTES = 16
HASH_BYTES = 32
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAX_CLERKS = 20  # a wrong PIN is hashed once per clerk


class ClerkConfigError(ValueError):
    """A clerk entry of kiosk.toml is wrong: the message names it (never a PIN)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", text):
        raise ValueError("not base64")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _scrypt(digits: memoryview, salt: bytes, n: int, r: int, p: int, size: int) -> bytes:
    # OpenSSL needs 128 * r * (N + p + 2) bytes; the margin is for its bookkeeping.
    maxmem = 128 * r * (n + p + 2) + 1024 * 1024
    return hashlib.scrypt(digits, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=size)


@dataclass(frozen=True)
class PinHash:
    """``scrypt$N$r$p$salt$hash`` (salt and hash in base64, padding optional)."""

    n: int
    r: int
    p: int
    salt: bytes = field(repr=False)
    digest: bytes = field(repr=False)

    @classmethod
    def parse(cls, text: object) -> PinHash:
        if not isinstance(text, str):
            raise ClerkConfigError("a string scrypt$N$r$p$salt$hash")
        parts = text.split("$")
        if len(parts) != 6 or parts[0] != SCHEME:
            raise ClerkConfigError(
                "not scrypt$N$r$p$salt$hash (`kofu kiosk clerk-pin --id ID` makes one)"
            )
        if not all(x.isascii() and x.isdigit() and len(x) <= 8 for x in parts[1:4]):
            raise ClerkConfigError("N, r and p: decimal integers")
        n, r, p = (int(x) for x in parts[1:4])
        if n < MIN_N or n & (n - 1):
            raise ClerkConfigError(f"N: a power of two, at least {MIN_N}")
        if r < MIN_R:
            raise ClerkConfigError(f"r: at least {MIN_R}")
        if not 1 <= p <= MAX_P:
            raise ClerkConfigError(f"p: 1 to {MAX_P}")
        if 128 * n * r > MAX_MEMORY:
            raise ClerkConfigError(f"N * r * 128: at most {MAX_MEMORY // 2**20} MiB")
        try:
            salt, digest = _unb64(parts[4]), _unb64(parts[5])
        except (ValueError, binascii.Error):
            raise ClerkConfigError("salt and hash: base64") from None
        if len(salt) < SALT_BYTES:
            raise ClerkConfigError(f"salt: at least {SALT_BYTES} bytes")
        if not HASH_BYTES <= len(digest) <= 64:
            raise ClerkConfigError(f"hash: {HASH_BYTES} to 64 bytes")
        return cls(n, r, p, salt, digest)

    def encode(self) -> str:
        return f"{SCHEME}${self.n}${self.r}${self.p}${_b64(self.salt)}${_b64(self.digest)}"

    def matches(self, pin: ClerkPin) -> bool:
        """Hash the PIN (through a view of its own buffer) with this salt and cost; compare
        in constant time."""
        derived = pin.use(
            lambda digits: _scrypt(digits, self.salt, self.n, self.r, self.p, len(self.digest))
        )
        return hmac.compare_digest(derived, self.digest)


def hash_pin(
    pin: ClerkPin, *, n: int = N, r: int = R, p: int = P, salt: bytes | None = None
) -> str:
    """The kiosk.toml ``pin_hash`` of a clerk PIN: a fresh random salt each time."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = pin.use(lambda digits: _scrypt(digits, salt, n, r, p, HASH_BYTES))
    return PinHash.parse(PinHash(n, r, p, salt, digest).encode()).encode()  # checks the cost


@dataclass(frozen=True)
class Clerk:
    id: str
    pin_hash: PinHash = field(repr=False)


def check_id(value: object) -> str:
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise ClerkConfigError("1 to 32 of A-Z a-z 0-9 _ -")
    return value


def parse_clerks(value: object, where: str = "kiosk.clerks") -> tuple[Clerk, ...]:
    """``[[kiosk.clerks]]`` → clerks; the error names the entry and the key."""
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ClerkConfigError(f"{where}: an array of tables [[kiosk.clerks]] (id, pin_hash)")
    if len(value) > MAX_CLERKS:
        raise ClerkConfigError(f"{where}: at most {MAX_CLERKS} clerks")
    clerks: list[Clerk] = []
    for i, table in enumerate(value):
        at = f"{where}[{i}]"
        unknown = sorted(set(table) - {"id", "pin_hash"})
        if unknown:
            raise ClerkConfigError(f"{at}.{unknown[0]}: unknown key (id, pin_hash)")
        for key in ("id", "pin_hash"):
            if key not in table:
                raise ClerkConfigError(f"{at}.{key}: missing")
        try:
            clerk_id = check_id(table["id"])
        except ClerkConfigError as exc:
            raise ClerkConfigError(f"{at}.id: {exc}") from None
        if any(c.id == clerk_id for c in clerks):
            raise ClerkConfigError(f"{at}.id: {clerk_id!r} twice (each clerk once)")
        try:
            pin_hash = PinHash.parse(table["pin_hash"])
        except ClerkConfigError as exc:
            raise ClerkConfigError(f"{at}.pin_hash ({clerk_id}): {exc}") from None
        clerks.append(Clerk(clerk_id, pin_hash))
    return tuple(clerks)


@dataclass(frozen=True)
class LockoutPolicy:
    after: int = 3  # wrong PINs in a row before the first lock
    first_s: float = 30.0
    max_s: float = 3600.0

    def seconds(self, failures: int) -> float:
        """How long sign-in locks after the ``failures``-th wrong PIN in a row (0: not)."""
        if failures < self.after:
            return 0.0
        doublings = min(failures - self.after, 64)
        return min(self.max_s, self.first_s * 2.0**doublings)


class Lockout:
    """Wrong PINs in a row and the end of the current lock, kept in the journal (kind
    ``clerk``): every change is durable before the sign-in is answered, and a new instance
    on the same journal (a restarted service) carries on where the last one stopped."""

    EVENTS = ("signin", "signin_failed", "lockout")

    def __init__(
        self, journal: Journal, clock: Callable[[], float], policy: LockoutPolicy | None = None
    ) -> None:
        self.journal = journal
        self.clock = clock
        self.policy = policy or LockoutPolicy()
        self.failures = 0
        self.until = 0.0
        last = journal.last_event("clerk", self.EVENTS)
        if last is not None and last.detail.get("event") != "signin":
            self.failures = int(last.detail.get("failures", 0))
            if last.detail.get("event") == "lockout":
                self.until = float(last.detail.get("until", 0.0))

    def remaining(self) -> float:
        """Seconds until sign-in unlocks (0: not locked)."""
        now = self.clock()
        # A clock set back (or a journal from a kiosk whose clock ran ahead) never locks
        # longer than the policy's longest lock from now.
        self.until = min(self.until, now + self.policy.max_s)
        return max(0.0, self.until - now)

    def succeeded(self, clerk: str) -> None:
        self.journal.append("clerk", event="signin", clerk=clerk)
        self.failures, self.until = 0, 0.0

    def failed(self) -> float:
        """Count a wrong PIN; returns the lock it starts in seconds (0: none)."""
        self.failures += 1
        self.journal.append("clerk", event="signin_failed", failures=self.failures)
        seconds = self.policy.seconds(self.failures)
        if seconds:
            self.until = self.clock() + seconds
            self.journal.append(
                "clerk", event="lockout", failures=self.failures,
                seconds=math.ceil(seconds), until=self.until,
            )  # fmt: skip
            log.warning("clerk sign-in locked for %d s after %d wrong PINs",
                        math.ceil(seconds), self.failures)  # fmt: skip
        return seconds


class ClerkAuth:
    """ClerkAuthPort: which clerk's PIN this is, under the lockout. The hashing and the
    journal writes run on a worker thread of their own (scrypt takes tens of milliseconds)."""

    def __init__(
        self,
        clerks: Sequence[Clerk] | Iterable[Clerk],
        journal: Journal,
        clock: Callable[[], float] | None = None,
        policy: LockoutPolicy | None = None,
    ) -> None:
        self.clerks = tuple(clerks)
        self.journal = journal
        self.lockout = Lockout(journal, clock or journal.now, policy)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="kofu-clerk-auth")
        if not self.clerks:
            log.warning("no [[kiosk.clerks]] in kiosk.toml: clerk mode cannot be opened")

    async def check(self, pin: ClerkPin) -> str | None:
        # The worker owns the digits from here and wipes them when done, even if this
        # coroutine is cancelled meanwhile (the caller's PIN is left empty, not copied).
        owned = pin.move()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._check_owned, owned)

    def _check_owned(self, pin: ClerkPin) -> str | None:
        try:
            return self.check_now(pin)
        finally:
            pin.wipe()

    def check_now(self, pin: ClerkPin) -> str | None:
        """The clerk's id, or None for a wrong PIN; ClerkLocked while locked (unhashed) and
        when this wrong PIN starts a lock. The journal has the outcome before it returns."""
        if self.lockout.remaining() > 0:
            log.info("clerk sign-in refused: locked")
            raise ClerkLocked("locked")
        clerk = next((c.id for c in self.clerks if c.pin_hash.matches(pin)), None)
        if clerk is not None:
            self.lockout.succeeded(clerk)
            log.info("clerk %s signed in", clerk)
            return clerk
        if self.lockout.failed():
            raise ClerkLocked("locked")
        return None

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.journal.close()


# --- `kofu kiosk clerk-pin`: the kiosk.toml entry of one clerk ---------------------------


class Readable(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


def read_pin_stdin(stream: Readable) -> ClerkPin:
    """The first line of a pipe, read into a bytearray (no str or bytes copy of the digits).
    Raises PinFormatError unless it is 6 to 12 digits."""
    buf = bytearray(ClerkPin.MAX_LENGTH + 3)  # room for one digit too many and CR LF
    n = 0
    try:
        with memoryview(buf) as view:
            while n < len(buf) and not any(buf[i] == 0x0A for i in range(n)):
                got = stream.readinto(view[n:])
                if not got:
                    break
                n += got
        end = next((i for i in range(n) if buf[i] in b"\r\n"), n)
        digits = bytearray(end)
        for i in range(end):
            digits[i] = buf[i]
        try:
            return ClerkPin(digits)
        finally:
            for i in range(end):
                digits[i] = 0
    finally:
        for i in range(len(buf)):
            buf[i] = 0


def entry(clerk_id: str, pin_hash: str) -> str:
    return f'[[kiosk.clerks]]\nid = "{clerk_id}"\npin_hash = "{pin_hash}"\n'


def clerk_pin_main(argv: list[str]) -> int:
    import argparse
    import getpass
    import sys

    from host.session.pin import PinFormatError

    parser = argparse.ArgumentParser(
        prog="kofu kiosk clerk-pin",
        description="Read a clerk's PIN (6 to 12 digits; from the terminal without echo, or "
        "one line from stdin) and print the [[kiosk.clerks]] entry of kiosk.toml with its "
        "salted scrypt hash. The digits are never printed or written.",
    )
    parser.add_argument("--id", required=True, help="the clerk's id in the audit trail")
    args = parser.parse_args(argv)
    try:
        clerk_id = check_id(args.id)
    except ClerkConfigError as exc:
        print(f"kofu kiosk clerk-pin: --id: {exc}", file=sys.stderr)
        return 2
    try:
        if sys.stdin.isatty():
            first = ClerkPin.from_text(getpass.getpass("clerk PIN (6-12 digits): "))
            second = ClerkPin.from_text(getpass.getpass("again: "))
            same = first.use(lambda a: second.use(lambda b: hmac.compare_digest(a, b)))
            second.wipe()
            if not same:
                first.wipe()
                print("kofu kiosk clerk-pin: the two PINs differ", file=sys.stderr)
                return 2
            pin = first
        else:
            pin = read_pin_stdin(cast(Readable, sys.stdin.buffer))
    except PinFormatError:
        print(f"kofu kiosk clerk-pin: {ClerkPin.describe()}", file=sys.stderr)
        return 2
    try:
        print(entry(clerk_id, hash_pin(pin)), end="")
    finally:
        pin.wipe()
    return 0
