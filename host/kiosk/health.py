"""The kiosk's health board: per device ok, a short reason and since when; overall ready.

Reasons are short codes (an IPP keyword, ``unreachable``, ``start failed: OSError``), never
personal data: the board is served on ``/health``, sent to the center and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from host.session.events import Device

log = logging.getLogger("kofu.kiosk.health")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DeviceStatus:
    ok: bool
    reason: str
    since: datetime  # when ``ok`` last changed

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason, "since": self.since.isoformat()}


class HealthBoard:
    """``on_change(device, status)`` is called when a device's ``ok`` flips (or it is first
    reported unhealthy); a new reason for a device that stays unhealthy only updates it."""

    def __init__(
        self,
        on_change: Callable[[Device, DeviceStatus], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.on_change = on_change
        self.clock = clock
        self.devices: dict[Device, DeviceStatus] = {}

    def report(self, device: Device, ok: bool, reason: str = "") -> bool:
        """Record one observation; True when ``ok`` changed."""
        reason = "" if ok else (reason or "unusable")[:80]
        old = self.devices.get(device)
        if old is not None and old.ok == ok:
            if old.reason != reason:
                self.devices[device] = DeviceStatus(ok, reason, old.since)
            return False
        status = DeviceStatus(ok, reason, self.clock())
        self.devices[device] = status
        if old is None and ok:
            return False  # first report, healthy: nothing to announce
        if ok:
            log.info("device %s usable again", device.value)
        else:
            log.warning("device %s unusable: %s", device.value, reason)
        if self.on_change is not None:
            self.on_change(device, status)
        return True

    def faults(self) -> set[Device]:
        return {d for d, s in self.devices.items() if not s.ok}

    @property
    def ready(self) -> bool:
        return not self.faults()

    def snapshot(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "devices": {d.value: s.as_json() for d, s in sorted(self.devices.items())},
        }

    def summary(self) -> str:
        """One line for systemd's STATUS= and the log."""
        bad = sorted(self.faults())
        if not bad:
            return "ready"
        return "out of service: " + ", ".join(f"{d.value} ({self.devices[d].reason})" for d in bad)
