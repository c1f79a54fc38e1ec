"""Property: whatever money a customer offers, whatever the hoppers hold and whether they run
dry, every transaction balances and the journal matches the money the devices moved."""

from __future__ import annotations

import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host.payment.config import CashConfig, HopperConfig
from host.payment.desk import CashDesk
from host.payment.devices import open_devices
from host.payment.journal import Journal
from sim.cash.server import CashSim
from tests.fuzzing import examples

offers = st.lists(st.sampled_from([10, 50, 100, 500, 1000]), min_size=1, max_size=5)


@settings(
    max_examples=examples(12),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fee=st.sampled_from([200, 300, 600]),
    offer=offers,
    hundreds=st.integers(0, 8),
    fives=st.integers(0, 4),
    dry_after=st.one_of(st.none(), st.integers(0, 3)),
    give_up=st.booleans(),
)
def test_every_transaction_balances(
    tmp_path: Path,
    fee: int,
    offer: list[int],
    hundreds: int,
    fives: int,
    dry_after: int | None,
    give_up: bool,
) -> None:
    with CashSim(hoppers={3: (100, 50), 4: (500, 50)}) as sim:
        cfg = CashConfig(
            hoppers=(HopperConfig(3, 100, hundreds + 3), HopperConfig(4, 500, fives + 3)),
            cctalk_port=sim.cctalk_path,
            id003_port=sim.id003_path,
            poll_interval_s=0.005,
            hopper_poll_s=0.002,
        )
        # Examples share tmp_path; id() values are reused, so name each journal uniquely.
        journal = Journal(tmp_path / f"j-{uuid.uuid4().hex}.db")
        devices = open_devices(cfg)
        try:
            desk = CashDesk(journal, devices, cfg)
            for hopper in devices.hoppers:
                hopper.stall_timeout_s = 0.3  # type: ignore[attr-defined]
            desk.start()
            if dry_after is not None:
                sim.hopper_empty_after(3, dry_after)
            for money in offer:
                if money == 1000:
                    sim.insert_bill(1000)
                else:
                    sim.queue_coins(money)
            pay = desk.begin(fee)
            paid = pay.collect(timeout_s=0.15)
            if paid and not give_up:
                pay.capture_fee()
                result = pay.give_change()
            else:
                result = pay.cancel()
            assert result.paid + result.owed == result.requested
            for b in journal.balances().values():
                assert b.closed and b.balanced, b
            entries = list(journal.entries())
            totals = sim.totals()
            credited = sum(e.amount for e in entries if e.kind == "credit")
            assert credited == totals["coins_in"] + totals["bills_in"]
            paid_out = sum(e.amount for e in entries if e.kind in ("change_paid", "refund_paid"))
            assert paid_out == totals["paid_out"]
            # Money is only taken when the change it needs could be given (before any fault).
            if dry_after is None and paid and not give_up:
                assert result.owed == 0
        finally:
            devices.close()
            journal.close()
