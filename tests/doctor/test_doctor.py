"""`kofu doctor` against the simulators: each check healthy, and each failing the way a
kiosk fails in the field (the device is missing, silent, out of paper, the center is away)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from center.launch import RunningCenter
from center.pki import CenterPki, issue, load_pair, write_pair
from drivers.coin.id003_validator import Id003Validator
from drivers.nfc.pcsc import PcscReader
from host import doctor
from host.doctor import FAIL, OK, SKIP, WARN, Finding, Options
from sim.card.harness import TEST_SLOT, reader_pattern, virtual_card_on_pcscd
from sim.card.pcscd import ensure_pcscd, stop_pcscd
from sim.card.virtual import Latency
from sim.cash.server import CashSim
from sim.coproc import SimCoproc
from sim.printer.escpos_sink import EscposSink
from sim.printer.ipp_sim import IppPrinterSim


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- fixtures: the simulators, started here and stopped here -----------------------------------


@pytest.fixture(scope="module")
def cash() -> Iterator[CashSim]:
    with CashSim() as sim:
        yield sim


@pytest.fixture(scope="module")
def coproc() -> Iterator[SimCoproc]:
    with SimCoproc() as sim:
        yield sim


@pytest.fixture(scope="module")
def a4(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IppPrinterSim]:
    with IppPrinterSim(tmp_path_factory.mktemp("doctor-a4")) as sim:
        yield sim


@pytest.fixture(scope="module")
def receipt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EscposSink]:
    sink = EscposSink(tmp_path_factory.mktemp("doctor-receipt"), port=0).start()
    yield sink
    sink.stop()


@pytest.fixture
def pcscd() -> Iterator[None]:
    # per test: pcscd is system-wide, and a parallel run that started it may stop it
    proc = ensure_pcscd()
    yield None
    stop_pcscd(proc)


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    state = tmp_path_factory.mktemp("doctor-center")
    with RunningCenter(state) as run:
        yield run.url, state


def center_table(url: str, state: Path, kiosk: str = "demo-kiosk") -> dict[str, Any]:
    return {"url": url, "ca": str(state / "pki" / "center-ca.pem"),
            "cert": str(state / "kiosks" / f"{kiosk}.pem"),
            "key": str(state / "kiosks" / f"{kiosk}.key")}


@pytest.fixture
def opts(tmp_path: Path) -> Options:
    return Options(journal=tmp_path / "state" / "cash-journal.db", spool=tmp_path,
                   timeout_s=5.0)


# --- configuration -----------------------------------------------------------------------------


def test_config_errors_name_the_bad_setting() -> None:
    bad = doctor.check_config({"session": {"max_copies": 0}, "card": {"reader": "(["},
                               "printer": {"uri": "http://x"}, "receipt": {"connection": "lp"},
                               "coproc": {}, "center": {"url": "http://c"}, "ui": {"port": 0},
                               "cash": {"coin_acceptor": "magic"}})
    (finding,) = bad
    assert finding.status == FAIL
    for words in ("session.max_copies", "card.reader", "printer: uri", "receipt: connection",
                  "coproc: port", "center: url", "center: cert", "ui.port", "coin_acceptor"):
        assert words in finding.detail
    sims = {t: {"backend": "sim"} for t in doctor.DEVICE_TABLES}
    tables, unknown = doctor.check_config({**sims, "nfcc": {}})
    assert tables.status == OK and unknown.status == WARN and "'nfcc'" in unknown.detail
    missing = doctor.check_config({"card": {"backend": "sim"}})[0]
    assert missing.status == FAIL and "'printer'" in missing.detail


def test_clerks_are_checked() -> None:
    from host.kiosk.clerk_auth import hash_pin
    from host.session.pin import ClerkPin

    good = hash_pin(ClerkPin(b"135790"))
    (ok,) = doctor.check_clerks({"clerks": [{"id": "c01", "pin_hash": good}]})
    assert ok.status == OK and "c01" in ok.detail and "135790" not in ok.detail
    (none,) = doctor.check_clerks({})
    assert none.status == WARN and "clerk-pin" in none.fix
    weak_hash = "scrypt$1024$1$1$AAAA$BBBB"
    (weak,) = doctor.check_clerks({"clerks": [{"id": "c01", "pin_hash": weak_hash}]})
    assert weak.status == FAIL and "kiosk.clerks[0].pin_hash" in weak.detail
    (twice,) = doctor.check_clerks({"clerks": [{"id": "c01", "pin_hash": good}] * 2})
    assert twice.status == FAIL and "twice" in twice.detail
    (legacy,) = doctor.check_clerks({"clerk_pin_sha256": "ab" * 32})
    assert legacy.status == FAIL and "clerk_pin_sha256" in legacy.detail


def test_the_doctor_refuses_a_simulator_switch() -> None:
    sims = {t: {"backend": "sim"} for t in doctor.DEVICE_TABLES}
    panel = doctor.check_config({**sims, "ui": {"sim_panel": True}})[0]
    assert panel.status == FAIL and "ui.sim_panel" in panel.detail
    voice = doctor.check_config({**sims, "voice": {"backend": "sim"}})[0]
    assert voice.status == FAIL and "voice.backend" in voice.detail


def test_missing_and_broken_config_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    assert doctor.main(["--config", str(tmp_path / "none.toml"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert not report["ok"] and "does not exist" in report["checks"][0]["detail"]
    broken = tmp_path / "broken.toml"
    broken.write_text("[card\n")
    assert doctor.main(["--config", str(broken)]) == 1
    assert "not valid TOML" in capsys.readouterr().out


# --- card reader -------------------------------------------------------------------------------


def test_reader_found_and_no_card(pcscd: None) -> None:
    found = by_check(doctor.check_card({"reader": reader_pattern(TEST_SLOT)}))
    assert found["card.pcscd"].status == OK
    assert found["card.reader"].status == OK
    assert "Virtual PCD 00 01" in found["card.reader"].detail
    # (a parallel test run may have a card on this slot: the detail must say which it is)
    present = found["card.present"]
    assert (present.status, present.detail) in ((OK, "no card on the reader"),
                                                (WARN, "a card is on the reader"))


def test_card_left_on_the_reader(pcscd: None, tmp_path: Path) -> None:
    with virtual_card_on_pcscd(tmp_path, slot=TEST_SLOT, latency=Latency.zero()) as card:
        card.place("valid")
        with PcscReader(reader_pattern(TEST_SLOT)) as reader:
            assert reader.wait_for_card(5.0)
        found = by_check(doctor.check_card({"reader": reader_pattern(TEST_SLOT)}))
    assert found["card.present"].status == WARN
    assert "take the card" in found["card.present"].fix


def test_wrong_reader_pattern_lists_the_readers(pcscd: None) -> None:
    found = by_check(doctor.check_card({"reader": "^RC-S380"}))
    reader = found["card.reader"]
    assert reader.status == FAIL
    assert "Virtual PCD 00 00" in reader.detail and "pcsc_scan" in reader.fix


# --- cash devices ------------------------------------------------------------------------------


def cash_table(cash: CashSim, hoppers: list[int] | None = None) -> dict[str, Any]:
    return {"cctalk": {"port": cash.cctalk_path}, "id003": {"port": cash.id003_path},
            "hoppers": [{"address": a, "value": v, "count": 10}
                        for a, v in zip(hoppers or [3, 4], [100, 500, 10], strict=False)]}


def test_cash_devices_answer(cash: CashSim) -> None:
    found = by_check(doctor.check_cash(cash_table(cash)))
    for check in ("cash.cctalk.port", "cash.cctalk.2", "cash.cctalk.3", "cash.cctalk.4",
                  "cash.id003.port", "cash.id003"):
        assert found[check].status == OK, found[check]
    assert "answers simple poll" in found["cash.cctalk.3"].detail


def test_missing_port_and_silent_hopper(cash: CashSim, tmp_path: Path) -> None:
    table = cash_table(cash, hoppers=[3, 7])
    table["id003"]["port"] = str(tmp_path / "kofu-id003")
    found = by_check(doctor.check_cash(table))
    assert found["cash.cctalk.3"].status == OK
    assert found["cash.cctalk.7"].status == FAIL
    assert "address 7" in found["cash.cctalk.7"].detail
    assert found["cash.id003.port"].status == FAIL
    assert "does not exist" in found["cash.id003.port"].detail
    assert "udev" in found["cash.id003.port"].fix


def test_validator_fault_is_reported(cash: CashSim) -> None:
    # A validator reports faults only once initialised (until then: power-up), as the kiosk
    # service does at start.
    validator = Id003Validator.open(cash.id003_path)
    try:
        validator.start()
    finally:
        validator.close()
    cash.stacker_open(True)
    try:
        found = by_check(doctor.check_cash(cash_table(cash)))
    finally:
        cash.stacker_open(False)
    assert found["cash.id003"].status == FAIL
    assert "stacker open" in found["cash.id003"].detail and "stacker" in found["cash.id003"].fix


# --- coprocessor -------------------------------------------------------------------------------


def test_coproc_handshake(coproc: SimCoproc, opts: Options) -> None:
    found = by_check(doctor.check_coproc({"port": coproc.port}, opts))
    assert found["coproc.link"].status == OK, found["coproc.link"]
    assert "firmware" in found["coproc.link"].detail


def test_coproc_port_missing(tmp_path: Path, opts: Options) -> None:
    (finding,) = doctor.check_coproc({"port": str(tmp_path / "kofu-coproc")}, opts)
    assert finding.status == FAIL and "does not exist" in finding.detail


def test_coproc_silent_port_fails_the_handshake(opts: Options) -> None:
    # a pty nobody answers on: present, opens, but no HELLO
    import os

    master, slave = os.openpty()
    try:
        found = by_check(doctor.check_coproc({"port": os.ttyname(slave)},
                                             Options(timeout_s=1.0)))
    finally:
        os.close(master)
        os.close(slave)
    assert found["coproc.link"].status == FAIL
    assert "HELLO" in found["coproc.link"].detail


# --- printers ----------------------------------------------------------------------------------


def test_a4_printer_ready_then_out_of_paper(a4: IppPrinterSim) -> None:
    (ready,) = doctor.check_printer({"uri": a4.uri})
    assert ready.status == OK and "ready" in ready.detail
    a4.set_tray(0)
    try:
        (empty,) = doctor.check_printer({"uri": a4.uri})
    finally:
        a4.service()
    assert empty.status == FAIL
    assert "paper_out" in empty.detail and "media-empty" in empty.detail
    assert "paper" in empty.fix


def test_a4_printer_unreachable() -> None:
    (finding,) = doctor.check_printer({"uri": f"ipp://127.0.0.1:{closed_port()}/ipp/print"})
    assert finding.status == FAIL and "offline" in finding.detail


def test_receipt_printer_states(receipt: EscposSink) -> None:
    table = {"connection": "network", "host": "127.0.0.1", "port": receipt.port, "timeout": 2}
    assert doctor.check_receipt(table)[0].status == OK
    receipt.set_paper("near_end")
    assert doctor.check_receipt(table)[0].status == WARN
    receipt.set_paper("out")
    try:
        (out,) = doctor.check_receipt(table)
    finally:
        receipt.set_paper("ok")
    assert out.status == FAIL and "out of paper" in out.detail
    gone = dict(table, port=closed_port())
    assert doctor.check_receipt(gone)[0].status == FAIL
    serial = {"connection": "serial", "device": "/dev/kofu-receipt-absent"}
    assert "does not exist" in doctor.check_receipt(serial)[0].detail


# --- center ------------------------------------------------------------------------------------


def test_center_mutual_tls(center: tuple[str, Path], opts: Options) -> None:
    url, state = center
    found = by_check(doctor.check_center(center_table(url, state), opts))
    assert found["center.tls"].status == OK, found["center.tls"]
    assert found["center.cert"].status == OK and "valid" in found["center.cert"].detail
    assert found["clock.center"].status == OK


def test_center_unreachable(center: tuple[str, Path], opts: Options) -> None:
    _, state = center
    table = center_table(f"https://127.0.0.1:{closed_port()}", state)
    found = by_check(doctor.check_center(table, opts))
    assert found["center.reach"].status == FAIL and "unreachable" in found["center.reach"].detail


def test_expired_kiosk_certificate(center: tuple[str, Path], opts: Options,
                                   tmp_path: Path) -> None:
    url, state = center
    ca_key, ca = load_pair(CenterPki(state).kiosk_ca)
    now = datetime.now(UTC)
    key, cert = issue(ca_key, ca, "old-kiosk", client=True,
                      not_before=now - timedelta(days=900), not_after=now - timedelta(days=2))
    write_pair(tmp_path / "old", key, cert)
    table = dict(center_table(url, state), cert=str(tmp_path / "old.pem"),
                 key=str(tmp_path / "old.key"))
    found = by_check(doctor.check_center(table, opts))
    assert found["center.cert"].status == FAIL and "expired on" in found["center.cert"].detail
    assert "register-kiosk" in found["center.cert"].fix
    # one about to expire is a warning (the demo kiosk's is valid 825 days), one not yet
    # valid a failure: both judged by the doctor's clock
    later = Options(now=lambda: datetime.now(UTC) + timedelta(days=820))
    kiosk = doctor._cert_finding("center.cert", center_table(url, state)["cert"], later)
    assert kiosk.status == WARN and "expires in" in kiosk.detail
    early = Options(now=lambda: datetime.now(UTC) - timedelta(days=30))
    assert doctor._cert_finding("c", center_table(url, state)["cert"], early).status == FAIL


def test_unregistered_kiosk_is_refused(center: tuple[str, Path], opts: Options) -> None:
    url, state = center
    CenterPki(state).issue_kiosk("stranger")
    found = by_check(doctor.check_center(center_table(url, state, "stranger"), opts))
    assert found["center.tls"].status == FAIL
    assert "register" in found["center.tls"].fix


# --- host: fonts, disk, clock ------------------------------------------------------------------


def test_fonts(tmp_path: Path) -> None:
    assert all(f.status == OK for f in doctor.check_fonts(Options()))
    missing = doctor.check_fonts(Options(font_dirs=(tmp_path,)))
    assert [f.status for f in missing] == [FAIL, FAIL]
    assert "fonts-ipaexfont-mincho" in missing[0].fix


def test_disk_and_spool(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    found = by_check(doctor.check_disk(Options(journal=tmp_path / "j.db", spool=spool)))
    assert found["disk.journal"].status == OK and found["disk.spool"].status == OK
    expected = OK if doctor._fs_type(spool) in ("tmpfs", "ramfs") else WARN
    assert found["spool"].status == expected
    full = by_check(doctor.check_disk(Options(journal=tmp_path / "j.db", spool=spool,
                                              min_free_journal_mb=1 << 40)))
    assert full["disk.journal"].status == FAIL
    gone = by_check(doctor.check_disk(Options(spool=tmp_path / "absent")))
    assert gone["spool"].status == FAIL and "tmpfiles" in gone["spool"].fix


def test_spool_on_tmpfs_is_ok() -> None:
    shm = Path("/dev/shm")
    if doctor._fs_type(shm) != "tmpfs":
        pytest.skip("no tmpfs at /dev/shm here")
    assert by_check(doctor.check_disk(Options(spool=shm)))["spool"].status == OK


def test_clock() -> None:
    fine = by_check(doctor.check_clock(Options()))
    assert fine["clock.time"].status == OK and "in Japan" in fine["clock.time"].detail
    epoch = by_check(doctor.check_clock(Options(now=lambda: datetime(1970, 1, 1, tzinfo=UTC))))
    assert epoch["clock.time"].status == FAIL and "NTP" in epoch["clock.time"].fix


# --- the whole round, as an operator runs it ---------------------------------------------------


def test_whole_kiosk_healthy_then_sick(
    cash: CashSim, coproc: SimCoproc, a4: IppPrinterSim, receipt: EscposSink, pcscd: None,
    center: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    url, state = center
    c = center_table(url, state)
    config = tmp_path / "kiosk.toml"
    spool = tmp_path / "spool"
    spool.mkdir()
    body = f"""
[session]
max_copies = 5
[cash]
coins = [10, 50, 100, 500]
[cash.cctalk]
port = "{cash.cctalk_path}"
[cash.id003]
port = "{cash.id003_path}"
[card]
reader = "{reader_pattern(TEST_SLOT)}"
[printer]
uri = "{a4.uri}"
[receipt]
connection = "network"
host = "127.0.0.1"
port = {receipt.port}
[coproc]
port = "{coproc.port}"
[center]
url = "{url}"
ca = "{c['ca']}"
cert = "{c['cert']}"
key = "{c['key']}"
[ui]
port = 8080
"""
    config.write_text(body)
    argv = ["--config", str(config), "--json", "--journal", str(tmp_path / "j.db"),
            "--spool", str(spool)]
    code = doctor.main(argv)
    report = json.loads(capsys.readouterr().out)
    bad = [c for c in report["checks"] if c["status"] == FAIL]
    assert code == 0 and report["ok"] and not bad, bad
    assert {c["status"] for c in report["checks"]} <= {OK, WARN, SKIP}

    config.write_text(body.replace(coproc.port, str(tmp_path / "unplugged")))
    assert doctor.main(argv[:2] + argv[3:]) == 1  # plain text this time
    text = capsys.readouterr().out
    assert "FAIL" in text and "unplugged does not exist" in text and "-> plug in" in text


def test_cli_entry_point(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text("".join(f'[{t}]\nbackend = "sim"\n' for t in doctor.DEVICE_TABLES))
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from host.cli import main; sys.exit(main())",
         "doctor", "--config", str(config), "--config-only", "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["ok"] is True
