"""The pulse-output coin acceptor, counted by the coprocessor, behind :class:`CoinAcceptor`.

The coprocessor driver (host side of the framed link) is wired in through
:class:`CoinEventSource`: an async iterator of ``(value_yen, per-boot event counter)`` and a
callable that sets the acceptor's single inhibit line. The counter lets the driver drop a
repeated event (link retransmission) and notice lost ones or a coprocessor reboot. A rejected
pulse train counts too (the coprocessor numbers coins and rejections alike): the source
reports it as value 0, so the count has no gap and nothing is credited.

A pulse acceptor has one inhibit line for all coins: if any of its denominations must be
refused (no change for it), the whole acceptor is inhibited.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from drivers.coin.interfaces import CashEvent, Credit, DeviceReset, Fault, Rejected

REJECTED = 0  # the value a source reports for a pulse train that was no coin


class CoinEventSource(Protocol):
    def events(self) -> AsyncIterator[tuple[int, int]]: ...

    def set_inhibit(self, inhibited: bool) -> None: ...


class PulseCoinAcceptor:
    def __init__(
        self,
        source: CoinEventSource,
        denominations: frozenset[int] = frozenset({10, 50, 100, 500}),
        *,
        name: str = "pulse",
    ) -> None:
        self.name = name
        self._source = source
        self._denominations = denominations
        # (value, counter) from the source; None: the coprocessor rebooted; an event: as is
        self._queue: collections.deque[tuple[int, int] | CashEvent | None] = collections.deque()
        self._last: int | None = None
        self._inhibited: bool | None = None

    def start(self) -> None:
        self._apply(frozenset())

    async def run(self) -> None:
        """Consume the coprocessor's coin events until the source ends (run it as a task)."""
        async for value, counter in self._source.events():
            self._queue.append((value, counter))

    def feed(self, value: int, counter: int) -> None:
        """Hand one event over directly (for a source that pushes instead of iterating)."""
        self._queue.append((value, counter))

    def denominations(self) -> frozenset[int]:
        return self._denominations

    def set_enabled(self, values: frozenset[int]) -> None:
        self._apply(values)

    def _apply(self, values: frozenset[int]) -> None:
        inhibited = not (self._denominations <= values)
        if inhibited != self._inhibited:
            self._source.set_inhibit(inhibited)
            self._inhibited = inhibited

    def resume_after(self, counter: int | None) -> None:
        self._last = counter

    @property
    def counter(self) -> int | None:
        return self._last

    def coprocessor_rebooted(self) -> None:
        """Called by the coprocessor driver when the link comes up on a fresh boot: the
        per-boot counter restarts, so counting starts again from 0."""
        self._queue.append(None)

    def report(self, event: CashEvent) -> None:
        """Pass a device state change on in order with the coins (e.g. the coprocessor link
        went down: ``Fault(out_of_service=True)``; it came back: ``DeviceReady``)."""
        self._queue.append(event)

    def poll(self) -> list[CashEvent]:
        out: list[CashEvent] = []
        while self._queue:
            item = self._queue.popleft()
            if item is None:
                self._last = 0
                out.append(DeviceReset(self.name))
                continue
            if not isinstance(item, tuple):
                out.append(item)
                continue
            value, counter = item
            if self._last is not None:
                if counter <= self._last:
                    continue  # already seen: a retransmission, never a second credit
                if counter > self._last + 1:
                    out.append(
                        Fault(self.name, f"lost {counter - self._last - 1} events", False, counter)
                    )
            self._last = counter
            if value == REJECTED:
                out.append(Rejected(self.name, "coin rejected", counter))
                continue
            if value not in self._denominations:
                out.append(Fault(self.name, f"unknown coin value {value}", False, counter))
                continue
            out.append(Credit(self.name, value, counter))
        return out

    def close(self) -> None:
        self._apply(frozenset())


def callable_source(
    events: Callable[[], AsyncIterator[tuple[int, int]]], set_inhibit: Callable[[bool], None]
) -> CoinEventSource:
    """Adapt two plain callables to :class:`CoinEventSource` (for wiring at merge time)."""

    class _Source:
        def events(self) -> AsyncIterator[tuple[int, int]]:
            return events()

        def set_inhibit(self, inhibited: bool) -> None:
            set_inhibit(inhibited)

    return _Source()
