"""Entries written together are durable together or not at all: a refund's opening and the
fee it gives back (issue 15's cash-crash bench found a host dying between the two left an
empty refund transaction that refused the refund ever after)."""

from __future__ import annotations

from pathlib import Path

import pytest

from host.payment.journal import Journal, JournalError


def test_all_or_nothing(tmp_path: Path) -> None:
    j = Journal(tmp_path / "cash.db")
    seqs = j.append_together(
        ("tx_open", {"tx": "r1", "amount": 200, "refunds": "t1"}),
        ("fee_refunded", {"tx": "r1", "amount": 200, "refunds": "t1"}),
    )
    assert [e.seq for e in j.entries("r1")] == seqs and len(seqs) == 2
    with pytest.raises(JournalError):
        j.append_together(
            ("tx_open", {"tx": "r2", "amount": 200}),
            ("no_such_kind", {"tx": "r2"}),
        )
    with pytest.raises(JournalError):
        j.append_together(
            ("tx_open", {"tx": "r3", "amount": 200}),
            ("fee_refunded", {"tx": "r3", "amount": -1}),
        )
    assert list(j.entries("r2")) == [] and list(j.entries("r3")) == []
    assert j.balance("r1").fee_captured == -200  # the refund counts against the fees
