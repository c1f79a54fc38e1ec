"""A kiosk host process for the crash test: recover, run one transaction, exit.

``--crash-at N --when before|after`` SIGKILLs this very process at the N-th journal append,
just before it is written or just after it is durable. The journal is the real one; the hook
is a subclass here so production code carries no crash switch.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
from typing import Any

from host.payment.config import CashConfig, HopperConfig
from host.payment.desk import CashDesk
from host.payment.devices import open_devices
from host.payment.journal import Journal


class CrashingJournal(Journal):
    def __init__(self, path: str, crash_at: int, when: str) -> None:
        super().__init__(path)
        self.appends = 0
        self.crash_at = crash_at
        self.when = when

    def append(self, kind: str, **kwargs: Any) -> int:
        self.appends += 1
        hit = self.appends == self.crash_at
        if hit and self.when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        seq = super().append(kind, **kwargs)
        if hit and self.when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return seq

    def append_together(self, *entries: tuple[str, dict[str, Any]]) -> list[int]:
        self.appends += 1  # one write: the kill falls before or after it, never inside
        hit = self.appends == self.crash_at
        if hit and self.when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        seqs = super().append_together(*entries)
        if hit and self.when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return seqs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--journal", required=True)
    ap.add_argument("--cctalk", required=True)
    ap.add_argument("--id003", required=True)
    ap.add_argument("--fee", type=int, default=0)
    ap.add_argument("--collect-timeout", type=float, default=2.0)
    ap.add_argument("--crash-at", type=int, default=0)
    ap.add_argument("--when", choices=("before", "after"), default="after")
    args = ap.parse_args()
    cfg = CashConfig(
        hoppers=(HopperConfig(3, 100, 200), HopperConfig(4, 500, 100)),
        cctalk_port=args.cctalk,
        id003_port=args.id003,
        poll_interval_s=0.01,
        hopper_poll_s=0.002,
    )
    journal = CrashingJournal(args.journal, args.crash_at, args.when)
    devices = open_devices(cfg)
    desk = CashDesk(journal, devices, cfg)
    desk.start()
    if args.fee:
        pay = desk.begin(args.fee)
        if pay.collect(timeout_s=args.collect_timeout):
            pay.capture_fee()
            pay.give_change()
        else:
            pay.cancel()
    devices.close()
    print(json.dumps({"appends": journal.appends}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
