"""The citizen of `kofu bench kiosk-crash`: taps the kiosk's screen over its WebSocket
(`bench/screen_client.py`) and uses the simulators with their hands (card, coins, bill,
trays); after a crash they wait at the machine and take whatever it puts out."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from bench.crash_world import snapshot
from bench.screen_client import Screen, ScreenGone, ScreenTimeout
from sim.card.virtual import DEFAULT_PIN

RESTING = ("idle", "out_of_service", "closed")
# Screens where the citizen (or the timeout) is asked to act: cancel ends the session.
CANCELLABLE = ("language", "card", "pin", "certificate", "subject", "options",
               "my_number_warning", "fiscal_year", "copies", "fee", "payment")  # fmt: skip
TAKE = ("collect", "left_behind_screen", "left_behind_voice", "left_behind_alarm", "notice",
        "refunding", "print_failed")  # fmt: skip


@dataclass(frozen=True)
class Scenario:
    name: str
    copies: int
    coins: tuple[int, ...] = ()  # dropped one by one, in this order
    bill: int = 0  # one bill instead of coins


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("coins", 1, coins=(100, 50, 50)),  # the fee in three coins, no change
        Scenario("bill", 1, bill=1000),  # 800 yen change from the hoppers
        Scenario("two-copies", 2, coins=(100, 100, 500)),  # 300 yen change
    )
}
COIN_PAUSE_S = 0.6  # between two coins: "coins partially inserted" lasts a while


@dataclass
class Citizen:
    sim: Any
    scenario: Scenario
    rng: random.Random
    walk_away: bool = False  # leaves everything at collect (the left-behind escalation)
    card_placed: bool = False
    fee: int = 0
    coins_left: list[int] = field(default_factory=list)
    coins_dropped_while_down: list[int] = field(default_factory=list)
    took: int = 0  # times the citizen reached into the trays

    def __post_init__(self) -> None:
        self.coins_left = list(self.scenario.coins)

    # --- hands -----------------------------------------------------------------------
    async def place_card(self) -> None:
        await asyncio.to_thread(self.sim.card.place, "valid")
        self.card_placed = True

    async def lift_card(self) -> None:
        # Always: a placing cut short by the crash may have put the card down all the same.
        await asyncio.to_thread(self.sim.card.remove)
        self.card_placed = False

    async def take_trays(self) -> None:
        coproc = self.sim.coproc
        for tray in ("certificate", "change"):
            await asyncio.to_thread(coproc.set_tray, tray, True)
        await asyncio.sleep(0.2)
        for tray in ("certificate", "change"):
            await asyncio.to_thread(coproc.set_tray, tray, False)
        self.took += 1

    async def drop_coin(self, value: int, patience_s: float = 10.0) -> bool:
        """Drop one coin; one the acceptor gives back is tried again for a while."""
        deadline = time.monotonic() + patience_s
        while True:
            with self.sim.cash.lock:
                taken = bool(self.sim.cash.acceptor.insert(value))
            if taken or time.monotonic() > deadline:
                return taken
            await asyncio.sleep(0.1)

    def take_back_waiting_bill(self) -> None:
        """A bill the validator never drew in is still in the citizen's hand."""
        with self.sim.cash.lock:
            self.sim.cash.validator.bills.clear()

    # --- the session -----------------------------------------------------------------
    async def session(self, s: Screen) -> None:
        await s.wait("idle", timeout=60)
        await asyncio.sleep(self.rng.uniform(0.0, 0.5))
        await s.touch("start")
        await s.wait("language")
        await s.touch("language", lang="ja")
        await s.wait("card")
        await asyncio.sleep(self.rng.uniform(0.0, 0.8))
        await self.place_card()
        await s.wait("pin")
        for d in DEFAULT_PIN:
            await s.touch("pin_digit", digit=d)
        await s.touch("pin_submit")
        await s.wait("certificate")
        await s.touch("certificate", kind="juminhyo")
        await s.wait("subject")
        me = next(m["id"] for m in s.view["members"] if m["is_self"])
        await s.touch("subjects", ids=[me])
        await s.wait("options")
        await s.touch("options", options=["household"])
        await s.wait("copies")
        await s.touch("copies", copies=self.scenario.copies)
        await s.wait("fee")
        self.fee = int(s.view["fee_yen"])
        await s.touch("fee_ok")
        await s.wait("payment")
        await self.pay(s)
        await s.wait("collect", timeout=120)
        if self.walk_away:
            await s.wait("left_behind_screen", "left_behind_voice", "left_behind_alarm",
                         timeout=60)  # fmt: skip
            await asyncio.sleep(self.rng.uniform(0.5, 3.0))
        await self.take_trays()
        await self.lift_card()
        await s.wait(*RESTING, "thanks", timeout=60)

    async def pay(self, s: Screen) -> None:
        if self.scenario.bill:
            await asyncio.to_thread(self.sim.cash.insert_bill, self.scenario.bill)
            return
        while self.coins_left:
            if s.closed.is_set():
                raise ScreenGone("paying")
            value = self.coins_left[0]
            if not await self.drop_coin(value):
                raise ScreenTimeout(f"the acceptor did not take a {value}-yen coin")
            self.coins_left.pop(0)
            if self.coins_left:
                await asyncio.sleep(COIN_PAUSE_S * self.rng.uniform(0.5, 1.5))

    async def drop_rest_while_down(self) -> None:
        """The citizen did not notice the kiosk died and drops the coins still in hand."""
        while self.coins_left:
            value = self.coins_left.pop(0)
            with self.sim.cash.lock:
                if self.sim.cash.acceptor.insert(value):
                    self.coins_dropped_while_down.append(value)
            await asyncio.sleep(0.3)

    # --- after the end (or the crash) ---------------------------------------------------
    async def settle(self, s: Screen, quiet_s: float = 3.0, limit_s: float = 90.0) -> list[str]:
        """Stay at the kiosk until it rests and nothing more comes out for ``quiet_s``:
        take what it puts out, acknowledge notices, cancel what it asks of a new session.
        Returns the screens seen meanwhile."""
        seen: list[str] = []
        last = snapshot(self.sim)
        quiet_since = time.monotonic()
        deadline = quiet_since + limit_s
        handled = ""
        while time.monotonic() < deadline and not s.closed.is_set():
            state = s.state
            if not seen or seen[-1] != state:
                seen.append(state)
            now = snapshot(self.sim)
            if now != last:
                last, quiet_since = now, time.monotonic()
            if state != handled:
                handled = state
                if state in TAKE:
                    await self.take_trays()
                    await self.lift_card()
                    if state == "notice":
                        await s.touch("notice_ok")
                elif state in CANCELLABLE:
                    await s.touch("cancel")
            if state in RESTING and time.monotonic() - quiet_since >= quiet_s:
                break
            await asyncio.sleep(0.1)
        # Whatever lies in the trays or on the reader goes home with the citizen.
        await self.take_trays()
        await self.lift_card()
        self.take_back_waiting_bill()
        return seen
