"""Change making, configuration, and the journal's append-only guarantees."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from host.payment.change import make_change
from host.payment.config import CashConfig, ConfigError
from host.payment.journal import Journal, JournalError


@pytest.mark.parametrize(
    ("amount", "available", "expected"),
    [
        (700, {500: 5, 100: 5}, {500: 1, 100: 2}),
        (700, {500: 0, 100: 7}, {100: 7}),
        (700, {500: 1, 100: 1}, None),
        (200, {500: 2, 100: 1, 50: 2}, {100: 1, 50: 2}),
        (0, {}, {}),
        (60, {50: 1}, None),
    ],
)
def test_make_change(amount: int, available: dict[int, int], expected: object) -> None:
    assert make_change(amount, available) == expected


def test_fees_per_municipality_and_certificate_type() -> None:
    cfg = CashConfig()
    assert cfg.fee("masuda", "juminhyo") == 200
    assert cfg.fee("shibukawa", "inkan", copies=2) == 600
    with pytest.raises(ConfigError):
        cfg.fee("tokyo")
    cfg = CashConfig.from_dict({"fees": {"masuda": {"juminhyo": 200, "shotoku": 300}}})
    assert cfg.fee("masuda", "shotoku") == 300
    with pytest.raises(ConfigError):
        cfg.fee("masuda", "inkan")  # no default for that city
    with pytest.raises(ConfigError):
        cfg.fee("masuda", "juminhyo", copies=0)


def test_config_from_toml_table() -> None:
    cfg = CashConfig.from_dict(
        {
            "coins": [100, 500],
            "hoppers": [{"address": 3, "value": 100, "count": 10}],
            "cctalk": {"port": "/dev/ttyUSB0", "checksum": "crc16"},
            "fees": {"masuda": 200},
        }
    )
    assert cfg.coins == frozenset({100, 500}) and cfg.hoppers[0].count == 10
    assert cfg.cctalk_checksum == "crc16"
    with pytest.raises(ConfigError):
        CashConfig.from_dict({"hoppers": [{"value": 100}]})
    with pytest.raises(ConfigError):
        CashConfig.from_dict({"cctalk": {"checksum": "md5"}})


def test_journal_is_append_only_wal_and_synchronous_full(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    seq = journal.append("tx_open", tx="t1", amount=300)
    assert journal.entry(seq).amount == 300
    db = sqlite3.connect(tmp_path / "j.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE entries SET amount = 0")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM entries")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    db.close()
    journal.close()


def test_journal_refuses_bad_entries(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    with pytest.raises(JournalError):
        journal.append("credit_maybe", tx="t")
    with pytest.raises(JournalError):
        journal.append("credit", tx="t", amount=-100)
    assert list(journal.entries()) == []
    journal.close()


def test_balances(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.db")
    j.append("tx_open", tx="t", amount=300)
    j.append("credit", tx="t", amount=1000, device="bill")
    j.append("fee_captured", tx="t", amount=300)
    j.append("change_paid", tx="t", amount=500, device="hopper4", coins=1)
    b = j.balances()["t"]
    assert b.unresolved == 200 and not b.balanced
    j.append("change_owed", tx="t", amount=200)
    assert not j.balances()["t"].balanced  # owed without a voucher
    j.append("voucher", tx="t", amount=200, voucher="V")
    assert j.balances()["t"].balanced
    j.close()
