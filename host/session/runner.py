"""The thin asyncio runner: executes the machine's actions and feeds results back as events.

Timers, the screen, voice, logging and the spool wipe are handled here; device and center
actions go to an :class:`Executor`. :class:`PortExecutor` calls the real ports (drivers and
the center client behind the Protocols of :mod:`host.session.ports`); the screen simulator
(`sim/screen`) brings an executor that only records, with device and center events injected
from outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from . import actions as A
from . import events as E
from .erase import SpoolError, erase_spool
from .machine import SessionMachine
from .pin import ClerkPin
from .ports import (
    CardFailure,
    CardPort,
    CenterDown,
    CenterPort,
    CenterRefusal,
    ClerkAuthPort,
    ClerkDeskPort,
    ClerkError,
    ClerkLocked,
    CoprocessorPort,
    EventSource,
    PaymentPort,
    PrinterPort,
    PrintError,
    ScreenPort,
    VoicePort,
)

log = logging.getLogger("kofu.session")


class Executor(Protocol):
    async def execute(self, action: A.Action) -> list[E.Event]: ...


@dataclass
class Ports:
    card: CardPort
    center: CenterPort
    payment: PaymentPort
    printer: PrinterPort
    coprocessor: CoprocessorPort
    clerk: ClerkAuthPort
    desk: ClerkDeskPort | None = None  # clerk mode's cash, status and report


class PortExecutor:
    """Calls the real ports and turns each result or failure into session events."""

    def __init__(self, ports: Ports) -> None:
        self.p = ports

    async def execute(self, action: A.Action) -> list[E.Event]:
        p = self.p
        try:
            match action:
                case A.WaitForCard():
                    return [await p.card.wait_for_card()]
                case A.VerifyPin(pin=pin):
                    try:
                        return [await p.card.verify_pin(pin)]
                    finally:
                        pin.wipe()
                case A.SignChallenge(challenge=challenge):
                    return [await p.card.sign(challenge)]
                case A.RequestChallenge():
                    return [E.ChallengeIssued(await p.center.challenge())]
                case A.Authenticate(certificate=cert, signature=sig):
                    return [E.Authenticated(await p.center.authenticate(cert, sig))]
                case A.RequestQuote(order=order):
                    return [E.QuoteReady(await p.center.quote(order))]
                case A.Issue(quote_id=qid, paid_yen=paid, idempotency_key=key):
                    return [E.Issued(await p.center.issue(qid, paid, key))]
                case A.StartPayment(fee_yen=fee):
                    await p.payment.start(fee)
                case A.StopPayment():
                    await p.payment.stop()
                case A.Refund(amount_yen=amount):
                    return [await p.payment.refund(amount)]
                case A.IssueVoucher(amount_yen=amount):
                    await p.printer.print_voucher(amount)
                case A.PrintDocuments(documents=docs):
                    await p.printer.print_documents(docs)
                    return [E.Printed()]
                case A.PrintReceipt(receipt=receipt):
                    await p.printer.print_receipt(receipt)
                case A.ReportPrintResult(certificate_numbers=nums, ok=ok, reason=reason):
                    await p.center.report_print(nums, ok, reason)
                case A.Reprint(certificate_numbers=nums):
                    return [await self._reprint(nums)]
                case A.SoundAlarm(pattern=pattern):
                    await p.coprocessor.sound_alarm(pattern)
                case A.StopAlarm():
                    await p.coprocessor.stop_alarm()
                case A.SetGuide(guide=guide, on=on):
                    await p.coprocessor.set_guide(guide, on)
                case A.CheckClerkPin(pin=pin):
                    return [await self._clerk_pin(p.clerk, p.center, pin)]
                case A.Record() if p.desk is not None:
                    await p.desk.record(action)
                case A.ClerkAudit(event="signout") if p.desk is not None:
                    await p.center.clerk_signout()
                    return await self._clerk(p.desk, action)
                case _ if p.desk is not None:
                    return await self._clerk(p.desk, action)
        except CardFailure:
            return [E.CardError()]
        except CenterRefusal as exc:
            return [E.Refused(exc.reason)]
        except CenterDown:
            return [E.CenterUnavailable()]
        except PrintError as exc:
            return [E.PrintFailed(exc.reason, exc.printed)]
        return []

    async def _reprint(self, numbers: tuple[str, ...]) -> E.Event:
        """One copy at a time: the center re-sends a copy (and sets it back to pending) only
        just before it is printed, so a failure part-way leaves every copy not yet out
        ``failed`` at the center, reprintable again once the printer is fixed."""
        p = self.p
        # A printer still out of paper or jammed: the center is not asked at all, so the
        # copies stay failed there (no reprint used up, no ledger line for nothing printed).
        reason = await p.printer.not_ready()
        if reason:
            return E.PrintFailed(reason)
        done: tuple[str, ...] = ()
        for number in numbers:
            try:
                docs = await p.center.reprint((number,))
            except CenterRefusal as exc:
                return E.PrintFailed(f"center:{exc.reason.value}", done)
            except CenterDown:
                return E.PrintFailed("center:unavailable", done)
            try:
                await p.printer.print_documents(docs)
            except PrintError as exc:
                return E.PrintFailed(exc.reason, done + exc.printed)
            done += (number,)
        return E.Printed()

    @staticmethod
    async def _clerk_pin(
        clerk: ClerkAuthPort, center: CenterPort, pin: ClerkPin
    ) -> E.ClerkPinChecked:
        for_center = pin.copy()  # the kiosk's check takes the PIN and wipes it
        try:
            who = await clerk.check(pin)
            if who is not None:
                # The center verifies the clerk too: without its token no reprint. Cash
                # work does not need the center, so its refusal or absence is only logged.
                try:
                    await center.clerk_signin(who, for_center)
                except (CenterRefusal, CenterDown) as exc:
                    log.warning("center did not sign the clerk in: %s", type(exc).__name__)
        except ClerkLocked:
            return E.ClerkPinChecked(False, locked=True)
        except Exception as exc:
            # e.g. the audit journal cannot be written: no sign-in that is not on record
            log.error("clerk sign-in check failed: %s", type(exc).__name__)
            return E.ClerkPinChecked(False)
        finally:
            pin.wipe()
            for_center.wipe()
        return E.ClerkPinChecked(who is not None, clerk=who or "")

    @staticmethod
    async def _clerk(desk: ClerkDeskPort, action: A.Action) -> list[E.Event]:
        op = ""
        try:
            match action:
                case A.ReadClerkStatus():
                    op = "status"
                    return [E.ClerkStatusRead(await desk.status())]
                case A.RefillHopper(hopper=hopper, coins=coins, clerk=clerk):
                    op = "refill"
                    data = await desk.refill(hopper, coins, clerk=clerk)
                    return [E.ClerkDone(op, True, data=data)]
                case A.CollectCash(through_seq=through, clerk=clerk):
                    op = "collect"
                    return [E.ClerkDone(op, True, data=await desk.collect(through, clerk=clerk))]
                case A.BuildReport(day=day):
                    op = "report"
                    return [E.ClerkDone(op, True, data=await desk.report(day))]
                case A.PrintReport(day=day):
                    op = "print_report"
                    await desk.print_report(day)
                    return [E.ClerkDone(op, True)]
                case A.ClerkAudit(event=event, clerk=clerk, fields=fields):
                    await desk.audit(event, clerk, fields)
        except ClerkError as exc:
            return [E.ClerkDone(op, False, exc.key)] if op else []
        except Exception as exc:
            # The screen must not wait forever on an operation that blew up: say it failed.
            log.error("clerk %s failed: %s", op, type(exc).__name__)
            return [E.ClerkDone(op, False, "clerk_failed")] if op else []
        return []


# Which device (or the center) executes each action: one ordered lane per device.
LANES: dict[type[A.Action], str] = {
    A.WaitForCard: "card",
    A.VerifyPin: "card",
    A.SignChallenge: "card",
    A.RequestChallenge: "center",
    A.Authenticate: "center",
    A.RequestQuote: "center",
    A.Issue: "center",
    A.ReportPrintResult: "center",
    A.StartPayment: "payment",
    A.StopPayment: "payment",
    A.Refund: "payment",
    A.PrintDocuments: "printer",
    A.PrintReceipt: "printer",
    A.IssueVoucher: "printer",
    A.Reprint: "printer",
    A.SoundAlarm: "coprocessor",
    A.StopAlarm: "coprocessor",
    A.SetGuide: "coprocessor",
    A.CheckClerkPin: "clerk",
    A.ReadClerkStatus: "desk",
    A.RefillHopper: "desk",
    A.CollectCash: "desk",
    A.BuildReport: "desk",
    A.PrintReport: "desk",
    A.Record: "desk",
    A.ClerkAudit: "desk",
}


class NullVoice:
    async def play(self, prompt: A.VoicePrompt) -> None:
        return None


class SessionRunner:
    def __init__(
        self,
        machine: SessionMachine,
        executor: Executor,
        screen: ScreenPort,
        voice: VoicePort | None = None,
        spool_dir: Path | None = None,
        clock: Callable[[], datetime] | None = None,
        tick_seconds: float = 30.0,
        on_wipe: Callable[[SessionMachine], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        self.machine = machine
        # Called (as a task) after each Wipe, with the machine already in its next state:
        # the kiosk service releases the card and ends the center session there.
        self.on_wipe = on_wipe
        self.executor = executor
        self.screen = screen
        self.voice = voice or NullVoice()
        self.spool_dir = spool_dir
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.queue: asyncio.Queue[E.Event] = asyncio.Queue()
        self.last_view: dict[str, object] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._lanes: dict[str, asyncio.Task[None]] = {}
        self._voice_task: asyncio.Task[None] | None = None

    def feed(self, event: E.Event) -> None:
        self.queue.put_nowait(event)

    async def handle(self, event: E.Event) -> None:
        """Feed one event and execute the resulting actions (serialised)."""
        async with self._lock:
            actions = self.machine.handle(event)
            await self._run_actions(actions)

    async def start(self) -> None:
        async with self._lock:
            await self._run_actions(self.machine.start_actions())

    async def run(self, sources: Iterable[EventSource] = ()) -> None:
        await self.start()
        for src in sources:
            self._spawn(self._pump(src))
        if self.clock is not None:
            self._spawn(self._ticker())
        while True:
            event = await self.queue.get()
            await self.handle(event)

    async def settle(self) -> None:
        """Wait until every device action issued so far has been executed (or failed)."""
        pending = [t for t in self._lanes.values() if not t.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def close(self) -> None:
        if self._timer:
            self._timer.cancel()
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    async def _pump(self, src: EventSource) -> None:
        async for ev in src.events():
            self.feed(ev)

    async def _ticker(self) -> None:
        assert self.clock is not None
        while True:
            self.feed(E.Tick(self.clock()))
            await asyncio.sleep(self.tick_seconds)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _enqueue(self, action: A.Action) -> None:
        # Actions for one device run in the order the machine emitted them (stop payment
        # before refund, print before report), while different devices work in parallel.
        lane = LANES.get(type(action), "other")
        previous = self._lanes.get(lane)
        task: asyncio.Task[None] = asyncio.ensure_future(self._device(action, previous))
        self._lanes[lane] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _device(self, action: A.Action, after: asyncio.Task[None] | None = None) -> None:
        if after is not None and not after.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(after)
        try:
            events = await self.executor.execute(action)
        except Exception as exc:
            # A port that raises something unexpected must not kill the kiosk. Only the kinds
            # are logged: a message or traceback could carry personal data.
            log.error("action %s failed: %s", type(action).__name__, type(exc).__name__)
            return
        for ev in events:
            self.feed(ev)

    async def _speak(self, prompts: list[A.VoicePrompt]) -> None:
        for prompt in prompts:
            try:
                await self.voice.play(prompt)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("voice %s failed: %s", prompt.value, type(exc).__name__)

    def _say(self, prompts: list[A.VoicePrompt]) -> None:
        # The prompts of one step play in order; a newer step's guidance cuts them short,
        # so the voice never lags behind the screen.
        if self._voice_task is not None and not self._voice_task.done():
            self._voice_task.cancel()
        self._voice_task = asyncio.ensure_future(self._speak(prompts))
        self._tasks.add(self._voice_task)
        self._voice_task.add_done_callback(self._tasks.discard)

    async def _run_actions(self, actions: list[A.Action]) -> None:
        loop = asyncio.get_running_loop()
        prompts = [a.prompt for a in actions if isinstance(a, A.PlayVoice)]
        if prompts:
            self._say(prompts)
        for action in actions:
            match action:
                case A.SetTimer(seconds=seconds, seq=seq):
                    if self._timer:
                        self._timer.cancel()
                    self._timer = loop.call_later(seconds, self.feed, E.Timeout(seq))
                case A.CancelTimer():
                    if self._timer:
                        self._timer.cancel()
                    self._timer = None
                case A.Show(screen=screen, data=data):
                    self.last_view = dict(data)
                    await self.screen.show(screen, dict(data))
                case A.PlayVoice():
                    pass  # played above, as one ordered batch
                case A.Log(event=name, fields=fields):
                    log.info("%s %s", name, " ".join(f"{k}={v}" for k, v in fields.items()))
                    if isinstance(action, A.Record):
                        self._enqueue(action)  # the daily report counts it too
                case A.Wipe():
                    if self.spool_dir is not None:
                        try:
                            erase_spool(self.spool_dir)
                        except SpoolError as exc:
                            log.error("spool erase incomplete: %s", exc)
                    if self.on_wipe is not None:
                        self._spawn(self.on_wipe(self.machine))
                case _:
                    self._enqueue(action)
