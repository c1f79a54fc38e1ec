"""Clerk credentials: per-clerk salted scrypt hashes in kiosk.toml (the legacy single SHA-256
refused), 6 to 12 digit PINs, the lockout that grows with wrong PINs, refuses even the right
PIN unhashed while locked and survives a restart, and the audit trail in the journal (who,
never the digits). Time is a fake clock: nothing here sleeps."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from host.kiosk import clerk_auth
from host.kiosk.clerk_auth import (
    ClerkAuth,
    ClerkConfigError,
    Lockout,
    LockoutPolicy,
    PinHash,
    hash_pin,
    parse_clerks,
)
from host.kiosk.clerk_port import ClerkDesk
from host.kiosk.config import KioskConfigError, parse
from host.payment.journal import Journal
from host.session import actions as A
from host.session import events as E
from host.session.pin import ClerkPin, Pin, PinFormatError
from host.session.ports import CenterDown, ClerkLocked
from host.session.runner import PortExecutor

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "kiosk.example.toml"
PIN = b"246810"
OTHER = b"97531086"
WRONG = b"135792"
T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC: the fake clock's start


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def hashes() -> dict[str, str]:
    # scrypt costs ~50 ms a hash: make the two clerks' once for the module
    return {"c01": hash_pin(ClerkPin(PIN)), "night-2": hash_pin(ClerkPin(OTHER))}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "cash-journal.db"


def auth(journal_path: Path, clock: Clock, hashes: dict[str, str]) -> ClerkAuth:
    clerks = parse_clerks([{"id": i, "pin_hash": h} for i, h in hashes.items()])
    return ClerkAuth(clerks, Journal(journal_path, clock=clock), clock=clock)


@pytest.fixture
def clerks(journal_path: Path, clock: Clock, hashes: dict[str, str]) -> Iterator[ClerkAuth]:
    a = auth(journal_path, clock, hashes)
    yield a
    a.close()


def check(a: ClerkAuth, digits: bytes) -> str | None:
    return a.check_now(ClerkPin(digits))


def audit(journal_path: Path) -> list[dict[str, Any]]:
    j = Journal(journal_path)
    try:
        return [e.detail for e in j.entries() if e.kind == "clerk"]
    finally:
        j.close()


# --- the hash -----------------------------------------------------------------------------


def test_hash_format_round_trips_and_tells_a_wrong_pin(hashes: dict[str, str]) -> None:
    text = hashes["c01"]
    assert re.fullmatch(r"scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}", text)
    h = PinHash.parse(text)
    assert (h.n, h.r, h.p, len(h.salt), len(h.digest)) == (2**14, 8, 1, 16, 32)
    assert h.encode() == text
    assert h.matches(ClerkPin(PIN))
    assert not h.matches(ClerkPin(WRONG)) and not h.matches(ClerkPin(PIN + b"0"))
    assert "246810" not in repr(h) and h.salt.hex() not in repr(h)


def test_every_hash_has_its_own_salt() -> None:
    a, b = hash_pin(ClerkPin(PIN)), hash_pin(ClerkPin(PIN))
    ha, hb = PinHash.parse(a), PinHash.parse(b)
    assert ha.salt != hb.salt and ha.digest != hb.digest
    assert ha.matches(ClerkPin(PIN)) and hb.matches(ClerkPin(PIN))


def test_the_cost_lives_in_the_string_and_can_be_raised() -> None:
    text = hash_pin(ClerkPin(PIN), n=2**15)
    assert text.startswith("scrypt$32768$8$1$")
    assert PinHash.parse(text).matches(ClerkPin(PIN))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "scrypt\\$N"),
        ("8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92", "scrypt\\$N"),
        ("sha256$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA", "scrypt\\$N"),
        ("scrypt$16384$8$1$c2FsdA", "scrypt\\$N"),  # too few parts
        ("scrypt$1024$8$1$MDEyMzQ1Njc4OWFiY2RlZg$" + "A" * 43, "N: a power of two"),  # weak
        ("scrypt$16385$8$1$MDEyMzQ1Njc4OWFiY2RlZg$" + "A" * 43, "N: a power of two"),
        ("scrypt$16384$1$1$MDEyMzQ1Njc4OWFiY2RlZg$" + "A" * 43, "r: at least 8"),
        ("scrypt$16384$8$0$MDEyMzQ1Njc4OWFiY2RlZg$" + "A" * 43, "p: 1 to"),
        ("scrypt$1048576$16$1$MDEyMzQ1Njc4OWFiY2RlZg$" + "A" * 43, "MiB"),  # 2 GiB of memory
        ("scrypt$-16384$8$1$MDEyMzQ1Njc4OWFiY2RlZg$" + "A" * 43, "integers"),
        ("scrypt$16384$8$1$c2FsdA$" + "A" * 43, "salt: at least 16"),
        ("scrypt$16384$8$1$MDEyMzQ1Njc4OWFiY2RlZg$aGFzaA", "hash: 32 to 64"),
        ("scrypt$16384$8$1$not base64!$" + "A" * 43, "base64"),
    ],
)
def test_bad_hashes_are_refused(text: str, why: str) -> None:
    with pytest.raises(ClerkConfigError, match=why):
        PinHash.parse(text)


def test_clerk_pins_are_6_to_12_digits_and_never_show() -> None:
    for bad in (b"", b"1234", b"12345", b"1234567890123", b"12345a", b"123 456"):
        with pytest.raises(PinFormatError) as info:
            ClerkPin(bad)
        if bad:
            assert bad.decode() not in str(info.value)
    for good in (b"123456", b"123456789012"):
        pin = ClerkPin(good)
        assert repr(pin) == "ClerkPin(****)" and good.decode() not in str(pin)
        pin.wipe()
        assert pin.wiped and repr(pin) == "ClerkPin(wiped)"
    assert Pin(b"1234").use(bytes) == b"1234"  # the card's PIN stays exactly 4
    with pytest.raises(PinFormatError):
        Pin(b"123456")


def test_a_moved_pin_leaves_nothing_behind_and_use_lends_no_copy() -> None:
    pin = ClerkPin(PIN)
    moved = pin.move()
    assert pin.wiped and not moved.wiped and isinstance(moved, ClerkPin)
    seen: list[bytes] = []
    assert moved.use(lambda view: seen.append(bytes(view)) or len(view)) == 6
    assert seen == [PIN]
    moved.wipe()  # no view is left open: the buffer can be emptied
    assert moved.wiped
    with pytest.raises(ValueError):
        moved.use(len)


# --- kiosk.toml ---------------------------------------------------------------------------


def example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def test_config_reads_the_clerks(hashes: dict[str, str]) -> None:
    raw = example()
    raw["kiosk"]["clerks"] = [{"id": i, "pin_hash": h} for i, h in hashes.items()]
    cfg = parse(raw, EXAMPLE.parent)
    assert [c.id for c in cfg.clerks] == ["c01", "night-2"]
    assert cfg.clerks[0].pin_hash.matches(ClerkPin(PIN))
    assert parse(example(), EXAMPLE.parent).clerks == ()  # none: clerk mode stays shut


def test_config_refuses_the_legacy_sha256_key() -> None:
    raw = example()
    raw["kiosk"]["clerk_pin_sha256"] = (
        "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92"
    )
    with pytest.raises(KioskConfigError) as info:
        parse(raw, EXAMPLE.parent)
    message = str(info.value)
    assert "kiosk.clerk_pin_sha256" in message
    assert "[[kiosk.clerks]]" in message and "kofu kiosk clerk-pin" in message


@pytest.mark.parametrize(
    ("clerks", "named"),
    [
        ("c01", r"kiosk\.clerks: an array of tables"),
        ([{"id": "c01"}], r"kiosk\.clerks\[0\]\.pin_hash: missing"),
        ([{"pin_hash": "H"}], r"kiosk\.clerks\[0\]\.id: missing"),
        ([{"id": "bad id", "pin_hash": "H"}], r"kiosk\.clerks\[0\]\.id: 1 to 32"),
        ([{"id": "", "pin_hash": "H"}], r"kiosk\.clerks\[0\]\.id"),
        ([{"id": "x" * 33, "pin_hash": "H"}], r"kiosk\.clerks\[0\]\.id"),
        ([{"id": "kéy", "pin_hash": "H"}], r"kiosk\.clerks\[0\]\.id"),
        ([{"id": 7, "pin_hash": "H"}], r"kiosk\.clerks\[0\]\.id"),
        ([{"id": "c01", "pin_hash": "H", "pin": "123456"}], r"kiosk\.clerks\[0\]\.pin: unknown"),
        ([{"id": "c01", "pin_hash": "nope"}], r"kiosk\.clerks\[0\]\.pin_hash \(c01\)"),
        ([{"id": "c01", "pin_hash": 5}], r"kiosk\.clerks\[0\]\.pin_hash \(c01\)"),
        ("DUP", r"kiosk\.clerks\[1\]\.id: 'c01' twice"),
        ("BAD2", r"kiosk\.clerks\[1\]\.pin_hash \(c02\): N: a power of two"),
    ],
)
def test_config_refuses_bad_clerk_entries(
    hashes: dict[str, str], clerks: object, named: str
) -> None:
    good = {"id": "c01", "pin_hash": hashes["c01"]}
    if clerks == "DUP":
        clerks = [good, {"id": "c01", "pin_hash": hashes["night-2"]}]
    elif clerks == "BAD2":
        weak = hashes["c01"].replace("$16384$", "$1024$")
        clerks = [good, {"id": "c02", "pin_hash": weak}]
    raw = example()
    raw["kiosk"]["clerks"] = clerks
    with pytest.raises(KioskConfigError, match=named):
        parse(raw, EXAMPLE.parent)


def test_too_many_clerks_are_refused(hashes: dict[str, str]) -> None:
    with pytest.raises(ClerkConfigError, match="at most 20"):
        parse_clerks([{"id": f"c{i}", "pin_hash": hashes["c01"]} for i in range(21)])


# --- `kofu kiosk clerk-pin` ---------------------------------------------------------------


def clerk_pin_cli(stdin: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from host.cli import main; "
         "sys.exit(main(sys.argv[1:]))", "kiosk", "clerk-pin", *args],
        input=stdin, cwd=ROOT, capture_output=True, timeout=60,
    )  # fmt: skip


def test_the_command_prints_an_entry_that_loads_and_matches(tmp_path: Path) -> None:
    out = clerk_pin_cli(b"246810\n", "--id", "c01")
    assert out.returncode == 0, out.stderr
    assert b"246810" not in out.stdout + out.stderr
    text = out.stdout.decode()
    assert text.startswith('[[kiosk.clerks]]\nid = "c01"\npin_hash = "scrypt$16384$8$1$')
    raw = example()
    raw["kiosk"].update(tomllib.loads(text)["kiosk"])
    (clerk,) = parse(raw, EXAMPLE.parent).clerks
    assert clerk.id == "c01" and clerk.pin_hash.matches(ClerkPin(PIN))
    assert not clerk.pin_hash.matches(ClerkPin(WRONG))


@pytest.mark.parametrize(
    "stdin", [b"12345\n", b"1234\n", b"1234567890123\n", b"12a456\n", b"\n", b"", b"12 3456\n"]
)
def test_the_command_refuses_short_long_or_non_digit_pins(stdin: bytes) -> None:
    out = clerk_pin_cli(stdin, "--id", "c01")
    assert out.returncode == 2 and out.stdout == b""
    assert b"6 to 12 digits" in out.stderr
    digits = stdin.strip()
    if digits:
        assert digits not in out.stderr


def test_the_command_refuses_a_bad_id_and_leaves_kofu_kiosk_alone() -> None:
    out = clerk_pin_cli(b"246810\n", "--id", "no spaces")
    assert out.returncode == 2 and b"--id" in out.stderr and out.stdout == b""
    check_run = subprocess.run(
        [sys.executable, "-c", "import sys; from host.cli import main; "
         "sys.exit(main(sys.argv[1:]))", "kiosk", "--config", str(EXAMPLE), "--check"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check_run.returncode == 0 and "is valid" in check_run.stdout


# --- the lockout --------------------------------------------------------------------------


def test_the_lockout_schedule() -> None:
    p = LockoutPolicy()
    assert [p.seconds(n) for n in range(1, 12)] == [
        0, 0, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600,
    ]  # fmt: skip
    assert p.seconds(10_000) == 3600


def test_right_pin_signs_in_the_clerk_it_belongs_to(clerks: ClerkAuth) -> None:
    assert check(clerks, PIN) == "c01"
    assert check(clerks, OTHER) == "night-2"
    assert check(clerks, WRONG) is None


def test_lockout_grows_and_refuses_even_the_right_pin_unhashed(
    clerks: ClerkAuth, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[int] = []
    real = clerk_auth._scrypt

    def counting(*args: Any) -> bytes:
        hashed.append(1)
        return real(*args)

    monkeypatch.setattr(clerk_auth, "_scrypt", counting)
    assert check(clerks, WRONG) is None
    assert check(clerks, WRONG) is None
    with pytest.raises(ClerkLocked):
        check(clerks, WRONG)  # the third in a row locks: the screen says so at once
    assert clerks.lockout.remaining() == 30
    before = len(hashed)
    for _ in range(5):
        with pytest.raises(ClerkLocked):
            check(clerks, PIN)  # the right PIN, while locked
    assert len(hashed) == before  # never hashed: the lockout bounds the CPU too
    clock.now += 29
    with pytest.raises(ClerkLocked):
        check(clerks, PIN)
    clock.now += 1  # 30 s after the lock
    with pytest.raises(ClerkLocked):
        check(clerks, WRONG)  # the fourth wrong PIN locks again, twice as long
    assert clerks.lockout.remaining() == 60
    clock.now += 60
    with pytest.raises(ClerkLocked):
        check(clerks, WRONG)
    assert clerks.lockout.remaining() == 120
    clock.now += 120
    assert check(clerks, PIN) == "c01"  # unlocked, and the count starts again
    assert clerks.lockout.failures == 0
    assert check(clerks, WRONG) is None and check(clerks, WRONG) is None
    with pytest.raises(ClerkLocked):
        check(clerks, WRONG)
    assert clerks.lockout.remaining() == 30


def test_the_lockout_survives_a_restart(
    journal_path: Path, clock: Clock, hashes: dict[str, str]
) -> None:
    first = auth(journal_path, clock, hashes)
    for _ in range(2):
        assert check(first, WRONG) is None
    first.close()
    second = auth(journal_path, clock, hashes)  # restarted: two wrong PINs still count
    assert second.lockout.failures == 2
    with pytest.raises(ClerkLocked):
        check(second, WRONG)
    second.close()
    clock.now += 10
    third = auth(journal_path, clock, hashes)  # restarted while locked: still locked
    assert third.lockout.remaining() == 20
    with pytest.raises(ClerkLocked):
        check(third, PIN)
    clock.now += 20
    with pytest.raises(ClerkLocked):
        check(third, WRONG)  # the count went on: 4 in a row, 60 s
    assert third.lockout.remaining() == 60
    third.close()
    clock.now += 60
    fourth = auth(journal_path, clock, hashes)
    assert check(fourth, PIN) == "c01"
    fourth.close()
    fifth = auth(journal_path, clock, hashes)  # a success is remembered too
    assert fifth.lockout.failures == 0 and fifth.lockout.remaining() == 0
    fifth.close()


def test_a_clock_set_back_never_locks_longer_than_the_longest_lock(
    journal_path: Path, clock: Clock
) -> None:
    j = Journal(journal_path, clock=clock)
    lock = Lockout(j, clock)
    for _ in range(3):
        lock.failed()
    clock.now -= 86_400  # the kiosk's clock went back a day
    again = Lockout(j, clock)
    assert again.remaining() == 3600
    j.close()


# --- the audit trail ----------------------------------------------------------------------


def test_sign_ins_failures_and_lockouts_are_journaled_without_the_digits(
    clerks: ClerkAuth, clock: Clock, journal_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert check(clerks, OTHER) == "night-2"
    for _ in range(2):
        assert check(clerks, WRONG) is None
    with pytest.raises(ClerkLocked):
        check(clerks, WRONG)
    with pytest.raises(ClerkLocked):
        check(clerks, PIN)  # refused while locked: not journaled, not counted
    clock.now += 30
    assert check(clerks, PIN) == "c01"
    trail = audit(journal_path)
    assert [(d["event"], d.get("clerk"), d.get("failures")) for d in trail] == [
        ("signin", "night-2", None),
        ("signin_failed", None, 1),
        ("signin_failed", None, 2),
        ("signin_failed", None, 3),
        ("lockout", None, 3),
        ("signin", "c01", None),
    ]
    assert trail[4]["seconds"] == 30 and trail[4]["until"] == T0 + 30
    clerks.close()
    files = list(journal_path.parent.glob(journal_path.name + "*"))
    assert files
    for path in files:
        data = path.read_bytes()
        for digits in (PIN, OTHER, WRONG):
            assert digits not in data, path.name
    for digits in (PIN, OTHER, WRONG):
        assert digits.decode() not in caplog.text
    clerks.journal = Journal(journal_path)  # the fixture closes it again


def test_the_executor_answers_with_the_clerk_or_the_lock_and_wipes_the_pin(
    clerks: ClerkAuth,
) -> None:
    class CenterAway:
        """The center is down: the kiosk's own sign-in still holds (cash work needs no
        center; only reprints need its token)."""

        signins: list[str] = []

        async def clerk_signin(self, clerk_id: str, pin: ClerkPin) -> None:
            self.signins.append(clerk_id)
            raise CenterDown("unreachable")

    center = CenterAway()

    async def run(digits: bytes) -> tuple[E.ClerkPinChecked, ClerkPin]:
        pin = ClerkPin(digits)
        return await PortExecutor._clerk_pin(clerks, center, pin), pin  # type: ignore[arg-type]

    answer, pin = asyncio.run(run(PIN))
    assert answer == E.ClerkPinChecked(True, clerk="c01") and pin.wiped
    assert center.signins == ["c01"]
    answer, pin = asyncio.run(run(WRONG))
    assert answer == E.ClerkPinChecked(False) and pin.wiped
    asyncio.run(run(WRONG))
    answer, pin = asyncio.run(run(WRONG))
    assert answer == E.ClerkPinChecked(False, locked=True) and pin.wiped
    answer, pin = asyncio.run(run(PIN))
    assert answer == E.ClerkPinChecked(False, locked=True) and pin.wiped
    clerks.journal.close()  # the audit cannot be written: no sign-in off the record
    clerks.lockout.until = 0
    answer, pin = asyncio.run(run(PIN))
    assert answer == E.ClerkPinChecked(False) and pin.wiped
    clerks.journal = Journal(clerks.journal.path)


def test_clerk_operations_are_journaled_with_the_clerk(journal_path: Path) -> None:
    desk = ClerkDesk(lambda: None, None, {}, journal=Journal(journal_path))

    def run(action: A.Action) -> list[E.Event]:
        return asyncio.run(PortExecutor._clerk(desk, action))

    assert run(A.ClerkAudit("op", "c01", {"op": "report", "day": "2026-01-05"})) == []
    assert run(A.ClerkAudit("op", "c01", {"op": "refill", "hopper": "h", "coins": 5})) == []
    run(A.ClerkAudit("signout", "c01", {"reason": "timeout", "event": "x", "amount": 3}))
    desk.close()
    assert audit(journal_path) == [
        {"event": "op", "clerk": "c01", "op": "report", "day": "2026-01-05"},
        {"event": "op", "clerk": "c01", "op": "refill", "hopper": "h", "coins": 5},
        # fields named like the entry's own keys never overwrite them
        {"event": "signout", "clerk": "c01", "reason": "timeout", "what": "x", "yen": 3},
    ]
