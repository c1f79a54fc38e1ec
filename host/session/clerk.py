"""What the clerk's screens hold while clerk mode is open: who is signed in (the clerk's id
from kiosk.toml, for the audit trail and the center), the last device status the clerk port
read, the daily report shown, and which operation is waiting for the port.

Nothing here is personal: a staff id, device codes, coin counts, amounts, certificate counts.
It is cleared when clerk mode ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ClerkData:
    clerk_id: str = ""  # who signed in (kiosk.toml `[[kiosk.clerks]] id`)
    status: Mapping[str, Any] = field(default_factory=dict)
    report: Mapping[str, Any] = field(default_factory=dict)
    day: str = ""  # the report's day; empty = today
    busy: str = ""  # the operation sent to the clerk port and not answered yet
    reading: bool = False  # a status read is on its way: refreshes do not pile up behind it
    done: str = ""  # message key of the last operation that succeeded
    done_yen: int = 0

    def clear(self) -> None:
        self.status, self.report = {}, {}
        self.clerk_id = self.day = self.busy = self.done = ""
        self.reading = False
        self.done_yen = 0

    def hopper(self, name: str) -> Mapping[str, Any] | None:
        for h in self.status.get("hoppers", ()):
            if isinstance(h, Mapping) and h.get("name") == name:
                return h
        return None

    def expected_total(self) -> int:
        cashbox = self.status.get("cashbox", {})
        stacker = self.status.get("stacker", {})
        return int(cashbox.get("total", 0)) + int(stacker.get("total", 0))

    def view(self) -> dict[str, Any]:
        return {
            "clerk_status": dict(self.status),
            "clerk_report": dict(self.report),
            "clerk_day": self.day,
            "clerk_busy": self.busy,
            "clerk_done": self.done,
            "clerk_done_yen": self.done_yen,
        }
