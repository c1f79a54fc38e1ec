"""A kiosk host for the clerk crash test: confirm one cash collection, and be killed (SIGKILL)
just before the collection is written to the journal or just after it is durable.

    python clerk_crash_host.py JOURNAL THROUGH before|after
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from host.kiosk.clerk_port import ClerkDesk
from host.payment.config import CashConfig
from host.payment.desk import CashDesk
from host.payment.devices import CashDevices
from host.payment.journal import Journal


class CrashingJournal(Journal):
    def __init__(self, path: str, when: str) -> None:
        super().__init__(path)
        self.when = when

    def append(self, kind: str, **kwargs: Any) -> int:
        if kind == "collection" and self.when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        seq = super().append(kind, **kwargs)
        return seq

    def append_collection(self, through: int, amount: int, **detail: Any) -> int:
        seq = super().append_collection(through, amount, **detail)
        if self.when == "after":
            os.kill(os.getpid(), signal.SIGKILL)  # durable, but the screen never heard of it
        return seq


def main() -> int:
    path, through, when = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    journal = Journal(path)
    desk = CashDesk(journal, CashDevices(hoppers=[]), CashConfig(hoppers=()))
    clerk = ClerkDesk(desk, None, {}, journal=CrashingJournal(path, when))
    clerk.do_collect(through)
    print("collected: the kill did not happen", flush=True)
    return 3


if __name__ == "__main__":
    raise SystemExit(main())
