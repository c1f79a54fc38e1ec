"""Scripted sessions: a simulated person uses the kiosk through the screen's own input path
(`Kiosk.touch`, what the WebSocket calls) and the simulators' controls (place the card,
drop coins, take pages and change); real drivers and the real center underneath.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from host.kiosk.center_client import tls_context
from host.kiosk.config import load
from host.kiosk.fixed_clock import running_from
from host.kiosk.service import KioskService
from host.session.states import State
from sim.card.virtual import DEFAULT_PIN
from sim.whole import SIM_CLERK_PIN as CLERK_PIN
from sim.whole import WholeSim, clock_line


class ScriptFailed(AssertionError):
    """The kiosk did not do what the script expected (the message says where)."""


@dataclass
class Result:
    script: str
    states: list[str] = field(default_factory=list)
    pdf: Path | None = None
    receipt: Path | None = None
    trust: Path | None = None
    refunded_yen: int = 0
    figures: dict[str, float] = field(default_factory=dict)


class Person:
    """What a person at the kiosk can do, and what a script can check."""

    def __init__(self, sim: WholeSim, service: KioskService, result: Result) -> None:
        self.sim = sim
        self.service = service
        self.result = result
        self.device_wait_s = 0.0  # time spent waiting for devices, center, person

    @property
    def kiosk(self) -> Any:
        assert self.service.kiosk is not None
        return self.service.kiosk

    @property
    def state(self) -> State:
        s: State = self.kiosk.state
        return s

    @property
    def view(self) -> dict[str, Any]:
        v: dict[str, Any] = self.kiosk.hub.last
        return v

    async def touch(self, event: str, **fields: Any) -> None:
        await self.kiosk.touch({"event": event, **fields})

    async def wait(self, *states: State, timeout: float = 60.0) -> State:
        t0 = time.monotonic()
        deadline = t0 + timeout
        while self.state not in states:
            if time.monotonic() > deadline:
                raise ScriptFailed(
                    f"waited for {[s.value for s in states]}, kiosk is in {self.state.value} "
                    f"(view {self.view.get('notice') or self.view.get('screen')})"
                )
            await asyncio.sleep(0.02)
        self.device_wait_s += time.monotonic() - t0
        self.result.states.append(self.state.value)
        return self.state

    async def enter_pin(self, digits: str) -> None:
        for d in digits:
            await self.touch("pin_digit", digit=d)
        await self.touch("pin_submit")

    async def place_card(self, persona: str) -> None:
        await asyncio.to_thread(self.sim.card.place, persona)

    async def lift_card(self) -> None:
        await asyncio.to_thread(self.sim.card.remove)

    async def insert_coins(self, *values: int) -> None:
        for v in values:
            deadline = time.monotonic() + 10
            while not self.sim.cash.insert_coin(v):
                if time.monotonic() > deadline:
                    raise ScriptFailed(f"the acceptor did not take a {v}-yen coin")
                await asyncio.sleep(0.05)

    async def take_trays(self) -> None:
        coproc = self.sim.coproc
        for tray in ("certificate", "change"):
            await asyncio.to_thread(coproc.set_tray, tray, True)
        await asyncio.sleep(0.2)
        for tray in ("certificate", "change"):
            await asyncio.to_thread(coproc.set_tray, tray, False)

    async def start_session(self, persona: str = "valid") -> None:
        await self.wait(State.IDLE)
        await self.touch("start")
        await self.wait(State.LANGUAGE)
        await self.touch("language", lang="ja")
        await self.wait(State.CARD)
        await self.place_card(persona)

    async def login(self, persona: str = "valid", pin: str = DEFAULT_PIN) -> None:
        await self.start_session(persona)
        await self.wait(State.PIN)
        await self.enter_pin(pin)
        await self.wait(State.CERTIFICATE)

    async def order_juminhyo(self, copies: int = 1) -> int:
        await self.touch("certificate", kind="juminhyo")
        await self.wait(State.SUBJECT)
        me = next(m["id"] for m in self.view["members"] if m["is_self"])
        await self.touch("subjects", ids=[me])
        await self.wait(State.OPTIONS)
        await self.touch("options", options=["household"])
        await self.wait(State.COPIES)
        await self.touch("copies", copies=copies)
        await self.wait(State.FEE)
        fee = int(self.view["fee_yen"])
        await self.touch("fee_ok")
        await self.wait(State.PAYMENT)
        return fee

    async def finish(self) -> None:
        slips = len(self.sim.receipt.slips())
        await self.wait(State.COLLECT, timeout=120)
        # The receipt follows the pages: the person takes both.
        deadline = time.monotonic() + 20
        while len(self.sim.receipt.slips()) <= slips:
            if time.monotonic() > deadline:
                raise ScriptFailed("no receipt came out")
            await asyncio.sleep(0.05)
        await self.take_trays()
        await self.lift_card()
        await self.wait(State.THANKS, State.IDLE)


def write_trust(sim: WholeSim, path: Path) -> Path:
    """The center's signing keys as a verifier trust store (`kofu verify --trust`)."""
    cfg = load(sim.config_path).center
    with httpx.Client(base_url=cfg.url, verify=tls_context(cfg), timeout=10) as http:
        keys = http.get("/v1/public-keys").raise_for_status().json()
    issuers = {
        code: {"name": code, "public_key_hex": base64.b64decode(key).hex()}
        for code, key in keys.items()
    }
    path.write_text(json.dumps({"issuers": issuers}, indent=1), encoding="utf-8")
    return path


def _printed(sim: WholeSim) -> set[Path]:
    return {*sim.a4.printed_dir.glob("*.pdf"), *sim.receipt.out_dir.glob("receipt-*.png")}


def _collect_outputs(sim: WholeSim, out: Path, result: Result, before: set[Path]) -> None:
    """What this session printed (files that were not there at its start) lands in ``out``.
    New files, not newer ones: the file system stamps them with the machine's clock, which
    need not be the clock the session runs by."""
    out.mkdir(parents=True, exist_ok=True)
    result.trust = write_trust(sim, out / "trust.json")
    new = _printed(sim) - before
    pdfs = sorted((p for p in new if p.suffix == ".pdf"), key=lambda p: p.stat().st_mtime)
    if pdfs:
        result.pdf = Path(shutil.copy2(pdfs[-1], out / "certificate.pdf"))
    slips = sorted(p for p in new if p.name.startswith("receipt-"))
    if slips:
        result.receipt = Path(shutil.copy2(slips[-1], out / "receipt.png"))


# --- the scripts ------------------------------------------------------------------------


async def happy_path(p: Person) -> None:
    await p.login()
    fee = await p.order_juminhyo()
    await p.insert_coins(*([500] if fee <= 500 else [500] * (fee // 500 + 1)))
    await p.finish()


async def wrong_pin(p: Person) -> None:
    await p.start_session()
    await p.wait(State.PIN)
    await p.enter_pin("0000" if DEFAULT_PIN != "0000" else "1111")
    await p.wait(State.PIN, State.PIN_CHECK)
    await p.wait(State.PIN)
    t0 = time.monotonic()
    while p.view.get("tries_left") != 2 and time.monotonic() < t0 + 10:
        await asyncio.sleep(0.02)
    if p.view.get("tries_left") != 2:
        raise ScriptFailed(f"tries left after one wrong PIN: {p.view.get('tries_left')}")
    await p.enter_pin(DEFAULT_PIN)
    await p.wait(State.CERTIFICATE)
    await p.touch("cancel")
    await p.lift_card()
    await p.wait(State.IDLE, State.THANKS)


async def blocked_card(p: Person) -> None:
    await p.start_session("blocked")
    await p.wait(State.NOTICE)
    await p.lift_card()
    await p.touch("notice_ok")
    await p.wait(State.IDLE, State.THANKS, State.LEFT_BEHIND_SCREEN)


async def refusal(p: Person) -> None:
    await p.start_session("expired")
    await p.wait(State.PIN)
    await p.enter_pin(DEFAULT_PIN)
    await p.wait(State.NOTICE)
    if p.view.get("notice") in (None, ""):
        raise ScriptFailed("a refusal without a notice")
    await p.lift_card()
    await p.touch("notice_ok")
    await p.wait(State.IDLE, State.THANKS, State.LEFT_BEHIND_SCREEN)


async def cancel_refund(p: Person) -> None:
    before = dict(p.sim.cash.totals())
    await p.login()
    await p.order_juminhyo()
    await p.insert_coins(100)
    t0 = time.monotonic()
    while p.view.get("inserted_yen", 0) < 100 and time.monotonic() < t0 + 10:
        await asyncio.sleep(0.02)
    await p.touch("cancel")
    await p.wait(State.REFUNDING, State.LEFT_BEHIND_SCREEN, State.THANKS, State.IDLE)
    await p.take_trays()
    await p.lift_card()
    await p.wait(State.IDLE, State.THANKS)
    after = p.sim.cash.totals()
    p.result.figures["totals_before"] = float(sum(before.values()))
    p.result.figures["totals_after"] = float(sum(after.values()))
    p.result.refunded_yen = 100


async def paper_out_reprint(p: Person) -> None:
    """Paper runs out before the first sheet: the clerk refills and reprints, no second fee."""
    await p.login()
    await asyncio.to_thread(p.sim.a4.set_fault, "paper_out", 0)
    await p.order_juminhyo()
    await p.insert_coins(500)
    await p.wait(State.PRINT_FAILED, timeout=60)
    await asyncio.to_thread(p.sim.a4.service)  # the clerk refills the paper
    await p.touch("clerk")
    await p.wait(State.CLERK_PIN)
    await p.enter_pin(CLERK_PIN)
    await p.wait(State.CLERK)
    await p.touch("clerk_reprint")
    deadline = time.monotonic() + 60
    while p.view.get("reprint_pending", 1) != 0:
        if time.monotonic() > deadline:
            raise ScriptFailed(f"reprint still pending: {p.view}")
        await asyncio.sleep(0.05)
    await p.touch("clerk_exit")
    await p.take_trays()
    await p.lift_card()
    await p.wait(State.IDLE, State.THANKS)


async def center_down(p: Person) -> None:
    """The center goes away while the person pays: the money comes back and the kiosk goes
    out of service until the center answers again."""
    await p.login()
    await p.order_juminhyo()
    await p.insert_coins(100)
    t0 = time.monotonic()
    while p.view.get("inserted_yen", 0) < 100 and time.monotonic() < t0 + 10:
        await asyncio.sleep(0.02)
    await asyncio.to_thread(p.sim.center_outage)
    try:
        await p.wait(State.REFUNDING, State.NOTICE, State.LEFT_BEHIND_SCREEN, timeout=60)
        await p.take_trays()
        await p.lift_card()
        if p.state is State.NOTICE:
            await p.touch("notice_ok")
        await p.wait(State.OUT_OF_SERVICE, timeout=60)
    finally:
        await asyncio.to_thread(p.sim.center_restore)
    await p.wait(State.IDLE, timeout=30)
    p.result.refunded_yen = 100


SCRIPTS: dict[str, Callable[[Person], Awaitable[None]]] = {
    "happy-path": happy_path,
    "wrong-pin": wrong_pin,
    "blocked-card": blocked_card,
    "refusal": refusal,
    "cancel-refund": cancel_refund,
    "paper-out-reprint": paper_out_reprint,
    "center-down": center_down,
}


async def run_on(sim: WholeSim, name: str, out: Path, clock: datetime | None = None) -> Result:
    """One script on an already started simulation, with a fresh kiosk service."""
    if name not in SCRIPTS:
        raise ScriptFailed(f"unknown script {name!r}; scripts: {', '.join(SCRIPTS)}")
    result = Result(name)
    before = _printed(sim)
    cfg = load(sim.config_path)
    # a sim started at night runs its scripts at its pinned time
    service = sim.kiosk_service(cfg, clock=running_from(clock) if clock else None)
    await service.start()
    person = Person(sim, service, result)
    t0 = time.monotonic()
    try:
        await SCRIPTS[name](person)
        await service.kiosk.runner.settle() if service.kiosk else None
    finally:
        await service.stop()
    result.figures["session_s"] = time.monotonic() - t0
    result.figures["waiting_s"] = person.device_wait_s
    _collect_outputs(sim, out, result, before)
    return result


async def run_script(
    name: str, state: Path, out: Path, clock: datetime | None = None, real_clock: bool = False
) -> int:
    if name not in SCRIPTS:
        print(f"kofu sim: unknown script {name!r}; scripts: {', '.join(SCRIPTS)}")
        return 2
    whole = WholeSim(state, clock=clock, real_clock=real_clock)
    print(clock_line(whole.clock), flush=True)
    sim = await asyncio.to_thread(whole.start)
    try:
        result = await run_on(sim, name, out, clock)
    except ScriptFailed as exc:
        print(f"kofu sim: script {name} FAILED: {exc}", flush=True)
        return 1
    finally:
        await asyncio.to_thread(sim.stop)
    print(f"kofu sim: script {name} passed: {' → '.join(result.states)}", flush=True)
    if result.pdf:
        print(f"certificate PDF: {result.pdf}", flush=True)
        print(f"verify it: kofu verify {result.pdf} --trust {result.trust}", flush=True)
    if result.receipt:
        print(f"receipt PNG: {result.receipt}", flush=True)
    return 0
