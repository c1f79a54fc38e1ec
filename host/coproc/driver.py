"""CoprocDriver: the host side of the coprocessor link, over a serial port with asyncio.

It owns the port (reopening it whenever it disappears), runs the sans-IO link_channel.Channel,
turns messages into typed events for any number of subscribers, and sends commands that
return once the coprocessor acknowledged them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import serial
import serial_asyncio_fast

from host.coproc.messages import (
    BuzzerPattern,
    CoinEventsLost,
    CoinInserted,
    CoinRejected,
    CoprocEvent,
    Led,
    LedMode,
    LinkStatus,
    StatusReport,
    decode_event,
    reset_cause,
)
from protocol import link_catalog as lcat
from protocol import link_channel as lch

log = logging.getLogger("kofu.coproc")

HOST_VERSION = "kofu-host 0.1.0"


class CoprocError(Exception):
    """Base of the driver's errors."""


class LinkDownError(CoprocError):
    """The link is not up (or went down) and the command was not delivered."""


class CommandNotDelivered(CoprocError):
    """The link went down before the coprocessor acknowledged the command; it may or may
    not have been carried out. Commands are idempotent settings: send it again."""


def _now_ms() -> int:
    return int(time.monotonic() * 1000) & (lch.TICKS_PERIOD - 1)


class _Serial(asyncio.Protocol):
    def __init__(self, driver: CoprocDriver) -> None:
        self.driver = driver
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.driver._on_bytes(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.driver._on_port_lost(exc)


class CoprocDriver:
    """Usage::

    async with CoprocDriver("/dev/ttyACM0") as coproc:
        events = coproc.subscribe()
        await coproc.wait_up()
        await coproc.set_coin_inhibit(False)
        event = await events.get()
    """

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 115200,
        reopen_s: float = 0.2,
        tick_ms: int = 10,
        version: str = HOST_VERSION,
        catalog_hash: int = lcat.CATALOG_HASH,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.reopen_s = reopen_s
        self.tick_ms = tick_ms
        self.channel = lch.Channel(
            lch.ROLE_HOST, version, _now_ms(), lch.RESET_HOST, catalog_hash=catalog_hash
        )
        self._proto: _Serial | None = None
        self._subscribers: list[asyncio.Queue[CoprocEvent]] = []
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self._boot_id: int | None = None
        self._last_coin: int | None = None
        self.duplicates_dropped = 0
        self.health = LinkStatus(up=False, port_open=False, reason="starting")

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        self._running = True
        self._tasks = [
            asyncio.create_task(self._port_keeper(), name="coproc-port"),
            asyncio.create_task(self._ticker(), name="coproc-tick"),
        ]

    async def stop(self) -> None:
        self._running = False
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._close_port()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(LinkDownError("driver stopped"))
        self._pending.clear()

    async def __aenter__(self) -> CoprocDriver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- events ---------------------------------------------------------------------------
    def subscribe(self, maxsize: int = 1000) -> asyncio.Queue[CoprocEvent]:
        """A queue of every event from now on (coins, trays, door, status, link health)."""
        queue: asyncio.Queue[CoprocEvent] = asyncio.Queue(maxsize)
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[CoprocEvent]) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(queue)

    async def events(self) -> AsyncIterator[CoprocEvent]:
        queue = self.subscribe()
        try:
            while True:
                yield await queue.get()
        finally:
            self.unsubscribe(queue)

    def _publish(self, event: CoprocEvent) -> None:
        for queue in self._subscribers:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.error("coproc event subscriber is not reading; event dropped for it")

    def _set_health(self, **changes: Any) -> None:
        health = dataclasses.replace(self.health, **changes)
        if health != self.health:
            self.health = health
            self._publish(health)
            self._changed.set()

    async def wait_up(self, timeout: float = 10.0) -> LinkStatus:
        async def up() -> LinkStatus:
            while not self.health.up:
                self._changed.clear()
                await self._changed.wait()
            return self.health

        try:
            return await asyncio.wait_for(up(), timeout)
        except TimeoutError:
            raise LinkDownError(
                f"coprocessor link not up after {timeout:.1f} s "
                f"({self.health.refused or self.health.reason})"
            ) from None

    # -- commands -------------------------------------------------------------------------
    async def set_coin_inhibit(self, inhibit: bool, timeout: float = 2.0) -> None:
        await self._command(lcat.MSG_COIN_INHIBIT, (1 if inhibit else 0,), timeout)

    async def buzzer(self, pattern: BuzzerPattern, seconds: int = 0, timeout: float = 2.0) -> None:
        """Play a pattern; seconds=0 plays it until changed (CHIME always plays once)."""
        await self._command(lcat.MSG_BUZZER, (int(pattern), seconds), timeout)

    async def led(self, led: Led, mode: LedMode, timeout: float = 2.0) -> None:
        await self._command(lcat.MSG_LED, (int(led), int(mode)), timeout)

    async def service_mode(self, out_of_service: bool, timeout: float = 2.0) -> None:
        await self._command(lcat.MSG_SERVICE_MODE, (1 if out_of_service else 0,), timeout)

    async def request_status(self, timeout: float = 2.0) -> StatusReport:
        queue = self.subscribe()
        try:
            await self._command(lcat.MSG_STATUS_REQUEST, (), timeout)
            async with asyncio.timeout(timeout):
                while True:
                    event = await queue.get()
                    if isinstance(event, StatusReport):
                        return event
        except TimeoutError:
            raise CoprocError("no status report from the coprocessor") from None
        finally:
            self.unsubscribe(queue)

    async def _command(self, msg_id: int, values: tuple[int, ...], timeout: float) -> None:
        body = lcat.encode_message(msg_id, values)  # MessageError for out-of-range values
        try:
            async with asyncio.timeout(timeout):
                while not self.channel.can_send():  # back-pressure: wait for window space
                    if not self.channel.up and self.channel.refused is not None:
                        raise LinkDownError(self.channel.refused.text)
                    self._changed.clear()
                    await self._changed.wait()
                seq = self.channel.send(msg_id, body, _now_ms())
                fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._pending[seq] = fut
                self._flush()
                await fut
        except TimeoutError:
            raise LinkDownError(
                f"{lcat.message_name(msg_id)} not acknowledged within {timeout:.1f} s "
                f"(link {'up' if self.health.up else 'down'})"
            ) from None

    # -- I/O ------------------------------------------------------------------------------
    def _flush(self) -> None:
        data = self.channel.outgoing()
        proto = self._proto
        if data and proto is not None and proto.transport is not None:
            proto.transport.write(data)

    def _on_bytes(self, data: bytes) -> None:
        self._handle(self.channel.receive(data, _now_ms()))
        self._flush()

    def _on_port_lost(self, exc: Exception | None) -> None:
        self._proto = None
        if self._running:
            log.warning("coprocessor port %s lost: %s", self.port, exc or "closed")
            self._set_health(port_open=False)
        self._changed.set()

    def _close_port(self) -> None:
        proto = self._proto
        self._proto = None
        if proto is not None and proto.transport is not None:
            proto.transport.close()

    async def _port_keeper(self) -> None:
        loop = asyncio.get_running_loop()
        while self._running:
            if self._proto is None:
                try:
                    _, proto = await serial_asyncio_fast.create_serial_connection(
                        loop, lambda: _Serial(self), self.port, baudrate=self.baudrate
                    )
                    assert isinstance(proto, _Serial)
                    self._proto = proto
                    self._set_health(port_open=True)
                    log.info("coprocessor port %s open", self.port)
                except (serial.SerialException, OSError) as exc:
                    log.debug("coprocessor port %s: %s", self.port, exc)
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_port_lost(), self.reopen_s)

    async def _wait_port_lost(self) -> None:
        while self._proto is not None:
            await asyncio.sleep(self.reopen_s)

    async def _ticker(self) -> None:
        while self._running:
            self._handle(self.channel.tick(_now_ms()))
            self._flush()
            await asyncio.sleep(self.tick_ms / 1000)

    # -- channel events -------------------------------------------------------------------
    def _handle(self, events: list[object]) -> None:
        for event in events:
            if isinstance(event, lch.Received):
                self._on_message(event.msg_id, event.body)
            elif isinstance(event, lch.Acked):
                fut = self._pending.pop(event.seq, None)
                if fut is not None and not fut.done():
                    fut.set_result(None)
                self._changed.set()
            elif isinstance(event, lch.LinkUp):
                log.info(
                    "coprocessor link up: %s, reset cause %s",
                    event.peer_fw,
                    reset_cause(event.peer_reset_cause).name,
                )
                self._set_health(
                    up=True,
                    reason="",
                    refused="",
                    epoch=event.epoch,
                    peer_epoch=event.peer_epoch,
                    peer_fw=event.peer_fw,
                    peer_reset_cause=reset_cause(event.peer_reset_cause),
                )
            elif isinstance(event, lch.LinkDown):
                log.warning("coprocessor link down: %s", event.reason)
                for fut in self._pending.values():
                    if not fut.done():
                        fut.set_exception(CommandNotDelivered(f"link down: {event.reason}"))
                self._pending.clear()
                self._set_health(up=False, reason=event.reason)
            elif isinstance(event, lch.Refused):
                log.error("coprocessor link refused: %s", event.text)
                self._set_health(up=False, reason="refused", refused=event.text)

    def _on_message(self, msg_id: int, body: bytes) -> None:
        try:
            event = decode_event(msg_id, body, self._boot_id or 0)
        except lcat.MessageError as exc:
            log.error("coprocessor sent a malformed %s: %s", lcat.message_name(msg_id), exc)
            return
        if event is None:
            log.error("coprocessor sent unexpected message id %d", msg_id)
            return
        if isinstance(event, StatusReport):
            if event.boot_id != self._boot_id:
                # a new boot of the chip: its coin counter starts again from zero
                self._last_coin = 0 if self._boot_id is not None else None
                self._boot_id = event.boot_id
        elif isinstance(event, CoinInserted | CoinRejected):
            if not self._fresh_coin(event.counter):
                self.duplicates_dropped += 1
                return
        self._publish(event)

    def _fresh_coin(self, counter: int) -> bool:
        """Coin events carry a per-boot counter: drop repeats, report gaps."""
        last = self._last_coin
        if last is None:  # the first coin event this driver sees from this boot
            self._last_coin = counter
            return True
        ahead = (counter - last) & 0xFFFF
        if ahead == 0 or ahead > 0x8000:
            return False
        if ahead > 1:
            self._publish(CoinEventsLost(ahead - 1, self._boot_id or 0))
        self._last_coin = counter
        return True
