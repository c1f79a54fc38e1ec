"""`kofu cash report|recover` and `kofu sim cash` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from host import cash_cli
from host.payment.desk import CashDesk
from host.payment.journal import Journal
from host.payment.report import tokyo_today
from sim.cash.server import CashSim


def test_report_after_real_payments(
    desk: CashDesk, sim: CashSim, journal_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.insert_bill(1000)
    pay = desk.begin(200, municipality="masuda")
    assert pay.collect()
    pay.capture_fee()
    pay.give_change()
    sim.queue_coins(100)
    pay = desk.begin(300, municipality="shibukawa")
    assert not pay.collect(timeout_s=0.2)
    pay.cancel()
    assert cash_cli.main(["report", "--journal", str(journal_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["money_in"] == 1100 and out["fees_captured"] == 200
    assert out["fees_by_municipality"] == {"masuda": 200}
    assert out["paid_out"] == 900 and out["owed"] == 0 and out["balanced"]
    assert cash_cli.main(["report", "--journal", str(journal_path)]) == 0
    text = capsys.readouterr().out
    assert "balanced          yes" in text and "masuda" in text


def test_report_shows_open_items(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    j = Journal(tmp_path / "j.db")
    j.append("tx_open", tx="t1", amount=300)
    j.append("credit", tx="t1", amount=500, device="coin", counter=1)
    j.close()
    assert cash_cli.main(["report", "--journal", str(tmp_path / "j.db")]) == 1
    assert "open transactions" in capsys.readouterr().out


def test_report_without_journal_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cash_cli.main(["report", "--journal", str(tmp_path / "none.db")]) == 2
    assert "no journal" in capsys.readouterr().err


def test_recover_with_a_config(
    sim: CashSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[cash]\n[cash.cctalk]\nport = "{sim.cctalk_path}"\n'
        f'[cash.id003]\nport = "{sim.id003_path}"\n'
    )
    j = Journal(tmp_path / "j.db")
    j.append("tx_open", tx="t1", amount=300)
    j.append("credit", tx="t1", amount=100, device="coin", counter=1)
    j.append("tx_open", tx="t2", amount=300)
    j.append("credit", tx="t2", amount=50, device="coin", counter=2)
    j.close()
    paid_before = sim.totals()["paid_out"]
    args = ["recover", "--config", str(config), "--journal", str(tmp_path / "j.db"), "--json"]
    assert cash_cli.main(args) == 0
    assert json.loads(capsys.readouterr().out)["closed"] == ["t1", "t2"]
    # 100 yen back in a coin at once (the citizen may still be there); 50 yen the hoppers
    # (100s and 500s) cannot pay goes on a voucher — with no [receipt] table it is recorded
    # but in no one's hand, an open item until `kofu cash reprint` (issue 20).
    assert sim.totals()["paid_out"] - paid_before == 100
    assert cash_cli.main(["report", "--journal", str(tmp_path / "j.db")]) == 1
    assert "OPEN: vouchers not printed: 1" in capsys.readouterr().out


def test_sim_cash_cli_prints_ptys_and_takes_commands() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from host.cli import main; raise SystemExit(main(['sim', 'cash']))",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        paths = json.loads(proc.stdout.readline())
        assert Path(paths["cctalk"]).exists() and Path(paths["id003"]).exists()
        proc.stdin.write("totals\nbogus\nquit\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline()) == {"coins_in": 0, "bills_in": 0, "paid_out": 0}
        assert "error" in json.loads(proc.stdout.readline())
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_refill_is_journaled_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(tmp_path / "j.db")
    args = ["refill", "--hopper", "3", "--value", "100", "--coins", "40", "--journal", path]
    assert cash_cli.main(args) == 0
    assert (
        cash_cli.main(
            ["refill", "--hopper", "3", "--value", "100", "--coins", "0", "--journal", path]
        )
        == 2
    )
    assert cash_cli.main(["report", "--journal", path, "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(out)["hopper_coins_refilled"] == {"hopper3": 40}


def test_bench_cash_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import cash as bench_cash

    assert bench_cash.main(["--seconds", "0.5", "--coins", "20"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["credit_samples"] == 20
    assert result["idle_cpu_pct"] >= 0 and result["credit_commit_ms_p99"] > 0


def test_recover_with_a_wrong_port_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[cash.cctalk]\nport = "{tmp_path / "no-such-tty"}"\n')
    args = ["recover", "--config", str(config), "--journal", str(tmp_path / "j.db")]
    assert cash_cli.main(args) == 2
    assert "cannot open cash device port" in capsys.readouterr().err
    assert not (tmp_path / "j.db").exists()


def test_recover_with_a_pulse_acceptor_recovers_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim.cash.server import CashSim

    with CashSim() as sim:
        config = tmp_path / "kiosk.toml"
        config.write_text(
            f'[cash]\ncoin_acceptor = "pulse"\n[cash.cctalk]\nport = "{sim.cctalk_path}"\n'
        )
        args = ["recover", "--config", str(config), "--journal", str(tmp_path / "j.db"), "--json"]
        assert cash_cli.main(args) == 0
    captured = capsys.readouterr()
    assert "via the coprocessor" in captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["still_open"] == []


def test_day_report_today_is_the_kiosk_day_not_the_machines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A kiosk whose clock runs three days and a half ahead of the machine (a simulation
    started at the next opening): its journal's stamps and `--day today` follow the kiosk."""
    ahead = 3.5 * 86400
    j = Journal(tmp_path / "j.db", clock=lambda: time.time() + ahead)
    j.append("tx_open", tx="t1", amount=200)
    j.append("credit", tx="t1", amount=500, device="coin", counter=1)
    j.append("fee_captured", tx="t1", amount=200)
    j.close()
    kiosk_day = tokyo_today(time.time() + ahead).isoformat()
    assert kiosk_day != tokyo_today().isoformat()
    assert cash_cli.main(["report", "--journal", str(tmp_path / "j.db"), "--day", "today"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["day"] == kiosk_day and report["cash_fees_captured_yen"] == 200
    # a reader's connection (no clock of its own) stamps nothing new, and reads the same day
    reader = Journal(tmp_path / "j.db")
    assert tokyo_today(reader.now()).isoformat() == kiosk_day
    reader.close()
