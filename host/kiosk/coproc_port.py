"""The session's CoprocessorPort over `host.coproc.CoprocDriver`: trays, link health, guide
LEDs and the left-behind alarm."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from host.coproc import (
    BuzzerPattern,
    CoprocDriver,
    CoprocError,
    Led,
    LedMode,
    LinkStatus,
    Tray,
    TrayChanged,
)
from host.session import events as E
from host.session.actions import AlarmPattern, Guide

log = logging.getLogger("kofu.kiosk.coproc")

_LEDS = {Guide.CARD: Led.CARD_GUIDE, Guide.OUTPUT_TRAY: Led.TRAY_GUIDE,
         Guide.CHANGE_TRAY: Led.CHANGE_GUIDE}  # fmt: skip
_PATTERNS = {AlarmPattern.LEFT_BEHIND: BuzzerPattern.REMINDER,
             AlarmPattern.CALL_CLERK: BuzzerPattern.ALARM}  # fmt: skip


def translate(event: object) -> E.Event | None:
    match event:
        case TrayChanged(tray=Tray.CERTIFICATE, present=present):
            return E.OutputTray(bool(present))
        case TrayChanged(tray=Tray.CHANGE, present=present):
            return E.ChangeTray(bool(present))
        case LinkStatus(up=up):
            return E.DeviceHealth(E.Device.COPROCESSOR, bool(up))
    return None


class CoprocPort:
    def __init__(self, driver: CoprocDriver) -> None:
        self.driver = driver
        self._up: bool | None = None  # link health last reported to the session

    async def _send(self, what: str, coro: object) -> None:
        try:
            await coro  # type: ignore[misc]
        except CoprocError as exc:
            # A command lost with the link is set again by the session after it comes back.
            log.warning("coprocessor %s not delivered: %s", what, type(exc).__name__)

    async def sound_alarm(self, pattern: AlarmPattern) -> None:
        await self._send("buzzer", self.driver.buzzer(_PATTERNS[pattern]))

    async def stop_alarm(self) -> None:
        await self._send("buzzer", self.driver.buzzer(BuzzerPattern.OFF))

    async def set_guide(self, guide: Guide, on: bool) -> None:
        mode = LedMode.BLINK_SLOW if on else LedMode.OFF
        await self._send("led", self.driver.led(_LEDS[guide], mode))

    async def events(self) -> AsyncIterator[E.Event]:
        async for event in self.driver.events():
            ev = translate(event)
            if isinstance(ev, E.DeviceHealth):
                if ev.ok == self._up:
                    continue  # only changes of link health matter to the session
                self._up = ev.ok
            if ev is not None:
                yield ev
