"""The device manager's pure parts: health board, readiness rules (A4, receipt, change),
backoff and supervision order, sd_notify on a real unix datagram socket, config keys."""

from __future__ import annotations

import asyncio
import os
import socket
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drivers.printer.receipt import ReceiptStatus
from drivers.printer.states import PrinterCondition, PrinterState
from host.kiosk.config import KioskConfigError, load, parse
from host.kiosk.devices import Backoff, DeviceManager, UnitDown
from host.kiosk.health import HealthBoard
from host.kiosk.readiness import (
    a4_reasons,
    change_reasons,
    change_shortfall,
    fee_amounts,
    receipt_reasons,
)
from host.kiosk.sdnotify import Notifier, notify, watchdog_period
from host.kiosk.voice_port import make_voice
from host.session.actions import VoicePrompt
from host.session.events import Device
from host.voice.player import SilentPlayer
from sim.voice import RecordingVoice

EXAMPLE = Path(__file__).resolve().parents[2] / "kiosk.example.toml"


# --- health board ------------------------------------------------------------------------


def test_board_announces_flips_only_and_keeps_since() -> None:
    t = [datetime(2026, 11, 23, 1, 0, tzinfo=UTC)]
    seen: list[tuple[Device, bool, str]] = []
    board = HealthBoard(lambda d, s: seen.append((d, s.ok, s.reason)), clock=lambda: t[0])
    assert board.report(Device.PRINTER, True) is False  # first report, healthy: silent
    assert seen == [] and board.ready
    t[0] += timedelta(seconds=5)
    assert board.report(Device.PAPER, False, "media-empty") is True
    since = board.devices[Device.PAPER].since
    t[0] += timedelta(seconds=5)
    assert board.report(Device.PAPER, False, "media-needed") is False  # reason only
    assert board.devices[Device.PAPER].reason == "media-needed"
    assert board.devices[Device.PAPER].since == since
    assert board.report(Device.PAPER, True) is True
    assert seen == [(Device.PAPER, False, "media-empty"), (Device.PAPER, True, "")]
    board.report(Device.CENTER, False, "unreachable")
    snap = board.snapshot()
    assert snap["ready"] is False
    assert snap["devices"]["center"] == {
        "ok": False, "reason": "unreachable", "since": t[0].isoformat(),
    }  # fmt: skip
    assert board.summary() == "out of service: center (unreachable)"


# --- readiness rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        (PrinterCondition(PrinterState.READY, reasons=("none",)), {}),
        (PrinterCondition(PrinterState.PRINTING), {}),
        (
            PrinterCondition(PrinterState.PAPER_OUT, reasons=("media-empty-error",)),
            {Device.PAPER: "media-empty"},
        ),
        (
            PrinterCondition(PrinterState.JAM, reasons=("media-jam-error",)),
            {Device.PRINTER: "media-jam"},
        ),
        (
            PrinterCondition(PrinterState.TONER_OUT, reasons=("toner-empty-error",)),
            {Device.PRINTER: "toner-empty"},
        ),
        (PrinterCondition(PrinterState.OFFLINE), {Device.PRINTER: "offline"}),
    ],
)
def test_a4_condition_to_health(cond: PrinterCondition, expected: dict[Device, str]) -> None:
    assert a4_reasons(cond) == expected


def test_receipt_paper_out_is_unusable_low_is_not() -> None:
    assert receipt_reasons(ReceiptStatus.READY) == {}
    assert receipt_reasons(ReceiptStatus.PAPER_LOW) == {}
    assert receipt_reasons(ReceiptStatus.PAPER_OUT) == {Device.RECEIPT_PRINTER: "paper_out"}
    assert receipt_reasons(ReceiptStatus.OFFLINE) == {Device.RECEIPT_PRINTER: "offline"}


def test_change_rule_one_copy_of_each_fee_paid_with_any_larger_coin_or_bill() -> None:
    accepted = [10, 50, 100, 500, 1000]
    fees = [200, 300]  # needed: 300, 200 (500-yen coin); 800, 700 (1000-yen bill)
    assert change_shortfall({100: 3, 500: 1}, accepted, fees) == 0  # 800 = 500 + 3x100
    assert change_shortfall({100: 2, 500: 1}, accepted, fees) == 300
    assert change_shortfall({100: 50}, accepted, fees) == 0
    assert change_shortfall({500: 20}, accepted, fees) == 200
    assert change_reasons({}, accepted, fees) == {Device.CHANGE: "cannot pay 200 yen"}
    assert change_shortfall({}, [10, 50, 100], fees) == 0  # nothing overshoots a fee
    assert fee_amounts({"masuda": {"default": 200}, "x": {"juminhyo": 300, "inkan": 200}}) == {
        200,
        300,
    }


# --- supervision -------------------------------------------------------------------------


def test_backoff_doubles_and_is_capped() -> None:
    b = Backoff(first_s=0.5, cap_s=3.0)
    assert [b.delay(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


class FlakyUnit:
    """A unit whose driver is down for a number of start attempts (its device unplugged)."""

    name = "flaky"
    devices = (Device.RECEIPT_PRINTER,)
    idle_only = True

    def __init__(self, fail_starts: int) -> None:
        self.fail_starts = fail_starts
        self.starts: list[float] = []
        self.dead = False

    async def start(self) -> None:
        self.starts.append(asyncio.get_running_loop().time())
        if len(self.starts) <= self.fail_starts:
            raise FileNotFoundError("/dev/kofu-receipt")
        self.dead = False

    async def check(self) -> dict[Device, str]:
        if self.dead:
            raise UnitDown("port gone")
        return {}

    async def stop(self) -> None:
        return None


def test_manager_restarts_with_backoff_and_defers_while_busy() -> None:
    async def scenario() -> None:
        unit = FlakyUnit(fail_starts=3)
        board = HealthBoard()
        busy = [False]
        mgr = DeviceManager([unit], board, lambda: busy[0], poll_s=0.02, backoff=Backoff(0.05, 0.2))
        await mgr.start()
        assert board.devices[Device.RECEIPT_PRINTER].reason == "start failed: FileNotFoundError"
        while len(unit.starts) < 4:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        gaps = [b - a for a, b in zip(unit.starts, unit.starts[1:], strict=False)]
        assert gaps[0] >= 0.045 and gaps[1] >= 0.095 and gaps[2] >= 0.19  # doubling
        assert board.ready and mgr.unit("flaky").restarts == 1
        # The driver dies during a session: nothing is restarted until the session ends.
        busy[0] = True
        unit.dead = True
        await asyncio.sleep(0.2)
        assert len(unit.starts) == 4 and board.ready  # idle-only unit: not even checked
        busy[0] = False
        while board.ready:
            await asyncio.sleep(0.01)
        assert board.devices[Device.RECEIPT_PRINTER].reason == "port gone"
        while not board.ready:
            await asyncio.sleep(0.01)
        assert len(unit.starts) == 5
        await mgr.stop()

    asyncio.run(asyncio.wait_for(scenario(), 10))


# --- sd_notify ---------------------------------------------------------------------------


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(5)
    yield sock
    sock.close()


def test_sd_notify_ready_status_and_watchdog(notify_socket: socket.socket) -> None:
    env = {
        "NOTIFY_SOCKET": notify_socket.getsockname(),
        "WATCHDOG_USEC": "100000",
        "WATCHDOG_PID": str(os.getpid()),
    }
    assert watchdog_period(env) == pytest.approx(0.05)
    assert watchdog_period({**env, "WATCHDOG_PID": "1"}) is None
    n = Notifier(env)
    assert n.ready("ready")
    assert notify_socket.recv(4096) == b"READY=1\nSTATUS=ready"
    assert n.status("out of service: paper (media-empty)")
    assert n.status("out of service: paper (media-empty)") is False  # unchanged: not resent
    assert notify_socket.recv(4096) == b"STATUS=out of service: paper (media-empty)"

    async def pings() -> int:
        n.start_watchdog()
        await asyncio.sleep(0.22)
        await n.stop()
        return 0

    asyncio.run(pings())
    got = []
    notify_socket.settimeout(0.2)
    with pytest.raises(TimeoutError):
        while True:
            got.append(notify_socket.recv(4096))
    assert got.count(b"WATCHDOG=1") >= 3


def test_sd_notify_abstract_socket_and_outside_systemd() -> None:
    name = f"kofu-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert notify("READY=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"READY=1"
    assert notify("READY=1", {}) is False  # not under systemd: nothing, no error
    assert notify("READY=1", {"NOTIFY_SOCKET": "/nonexistent/socket"}) is False


# --- voice and config --------------------------------------------------------------------


def test_voice_backends() -> None:
    rec = RecordingVoice()  # the simulation's (sim/voice.py), handed to the service
    asyncio.run(rec.play(VoicePrompt.WELCOME))
    asyncio.run(rec.play(VoicePrompt.TAKE_CARD))
    assert rec.prompts() == ["welcome", "take_card"]
    assert isinstance(make_voice("none"), SilentPlayer)


def _example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def test_spool_and_journal_overridable_by_environment(tmp_path: Path) -> None:
    cfg = parse(_example(), EXAMPLE.parent, env={})
    assert cfg.spool_dir == EXAMPLE.parent / "spool"
    assert cfg.journal_path == EXAMPLE.parent / "cash-journal.db"
    env = {"KOFU_SPOOL_DIR": str(tmp_path / "run"), "KOFU_CASH_JOURNAL": str(tmp_path / "j.db")}
    cfg = parse(_example(), EXAMPLE.parent, env=env)
    assert cfg.spool_dir == tmp_path / "run"
    assert cfg.journal_path == tmp_path / "j.db"
    assert cfg.voice == "real" and cfg.health.poll_s == 5.0
    assert load(EXAMPLE).health.report_s == 60.0


@pytest.mark.parametrize(
    ("table", "value", "named"),
    [
        ("voice", {"backend": "loud"}, "voice.backend"),
        ("health", {"poll_s": 0}, "health.poll_s"),
        ("health", {"pol_s": 1}, "health.pol_s"),
        ("health", {"restart_first_s": 5, "restart_max_s": 1}, "health.restart_max_s"),
    ],
)
def test_bad_health_and_voice_keys_are_named(table: str, value: dict[str, Any], named: str) -> None:
    raw = _example()
    raw[table] = value
    with pytest.raises(KioskConfigError, match=named.replace(".", r"\.")):
        parse(raw, EXAMPLE.parent, env={})


def test_doctor_applies_the_same_change_rule(tmp_path: Path) -> None:
    from host import doctor

    opts = doctor.Options(journal=tmp_path / "none.db", spool=tmp_path)
    cash = {"coins": [10, 50, 100, 500], "bills": [1000],
            "hoppers": [{"address": 4, "value": 500, "count": 20}]}  # fmt: skip
    [finding] = doctor.check_change(cash, opts)
    assert finding.status == doctor.FAIL and "200 yen" in finding.detail
    cash["hoppers"] = [{"address": 3, "value": 100, "count": 50}]
    assert doctor.check_change(cash, opts)[0].status == doctor.OK
