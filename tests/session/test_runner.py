"""The asyncio runner against in-memory ports that honour the Protocols of ports.py.

The real drivers and center client are built in other branches; these fakes stand in for them
only to test the runner's own job (executing actions, feeding results back, timers, wipe).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from documents.model import CertificateType
from host.session import actions as A
from host.session import events as E
from host.session.demo import OPEN_TIME, demo_documents, demo_menu
from host.session.machine import SessionConfig, SessionMachine
from host.session.pin import ClerkPin, Pin
from host.session.ports import CenterDown, CenterRefusal, PrintError
from host.session.runner import PortExecutor, Ports, SessionRunner
from host.session.states import DEFAULT_TIMEOUTS, State
from sim.screen.recording import RecordingExecutor

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: works even if this thread has a loop running."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class Card:
    def __init__(self) -> None:
        self.pins: list[bytes] = []
        self.seen: list[Pin] = []

    async def events(self) -> AsyncIterator[E.Event]:
        return
        yield  # pragma: no cover

    async def wait_for_card(self) -> E.CardInserted | E.CardRejected:
        return E.CardInserted(3)

    async def verify_pin(self, pin: Pin) -> E.PinAccepted | E.PinWrong | E.CardBlocked:
        self.seen.append(pin)
        self.pins.append(pin.use(bytes))
        return E.PinAccepted() if pin.use(bytes) == b"2468" else E.PinWrong(2)

    async def sign(self, challenge: bytes) -> E.ChallengeSigned:
        return E.ChallengeSigned(b"cert", challenge[::-1])


class Center:
    def __init__(self, refuse: E.RefusalReason | None = None, down: bool = False) -> None:
        self.refuse, self.down = refuse, down
        self.issued: list[str] = []
        self.reports: list[bool] = []
        self.clerks: list[str] = []
        self.clerk_pins: list[ClerkPin] = []

    async def challenge(self) -> bytes:
        if self.down:
            raise CenterDown()
        return b"\x07" * 32

    async def authenticate(self, certificate: bytes, signature: bytes) -> E.Menu:
        if self.refuse:
            raise CenterRefusal(self.refuse)
        assert signature == b"\x07" * 32
        return demo_menu()

    async def quote(self, order: A.Order) -> E.Quote:
        return E.Quote("Q-7", 200 * order.copies)

    async def issue(self, quote_id: str, paid_yen: int, key: str) -> tuple[E.IssuedDocument, ...]:
        self.issued.append(key)
        return demo_documents(quote_id=quote_id)

    async def report_print(self, numbers: tuple[str, ...], ok: bool, reason: str) -> None:
        self.reports.append(ok)

    async def reprint(self, numbers: tuple[str, ...]) -> tuple[E.IssuedDocument, ...]:
        return demo_documents()

    async def clerk_signin(self, clerk_id: str, pin: ClerkPin) -> None:
        self.clerks.append(f"{clerk_id}:{pin.use(bytes).decode()}")
        self.clerk_pins.append(pin)

    async def clerk_signout(self) -> None:
        self.clerks.append("-")


class Payment:
    def __init__(self, runner_feed: list[SessionRunner]) -> None:
        self.runner = runner_feed
        self.started: list[int] = []

    async def events(self) -> AsyncIterator[E.Event]:
        return
        yield  # pragma: no cover

    async def start(self, fee_yen: int) -> None:
        self.started.append(fee_yen)

    async def stop(self) -> None:
        return None

    async def refund(self, amount_yen: int) -> E.RefundDone:
        return E.RefundDone(amount_yen)


class Printer:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.printed = 0
        self.receipts = 0

    async def events(self) -> AsyncIterator[E.Event]:
        return
        yield  # pragma: no cover

    async def print_documents(self, documents: tuple[E.IssuedDocument, ...]) -> None:
        if self.fail:
            raise PrintError("media-empty")
        self.printed += len(documents)

    async def not_ready(self) -> str:
        return "media-empty" if self.fail else ""

    async def print_receipt(self, receipt: A.Receipt) -> None:
        self.receipts += 1

    async def print_voucher(self, amount_yen: int) -> None:
        return None


class Coproc:
    def __init__(self) -> None:
        self.alarms: list[str] = []

    async def events(self) -> AsyncIterator[E.Event]:
        return
        yield  # pragma: no cover

    async def sound_alarm(self, pattern: A.AlarmPattern) -> None:
        self.alarms.append(pattern.value)

    async def stop_alarm(self) -> None:
        self.alarms.append("stop")

    async def set_guide(self, guide: A.Guide, on: bool) -> None:
        return None


class Clerk:
    async def check(self, pin: Pin) -> str | None:
        owned = pin.move()  # as the real one: it takes the digits and wipes them
        try:
            return "c01" if owned.use(bytes) == b"999999" else None
        finally:
            owned.wipe()


class Screen:
    def __init__(self) -> None:
        self.screens: list[str] = []

    async def show(self, screen: str, data: dict[str, object]) -> None:
        self.screens.append(screen)


async def settle(runner: SessionRunner) -> None:
    for _ in range(50):
        await asyncio.sleep(0)
        while not runner.queue.empty():
            await runner.handle(runner.queue.get_nowait())


def make(
    tmp_path: Path, center: Center | None = None, printer: Printer | None = None
) -> tuple[SessionRunner, Ports, Screen]:
    ports = Ports(
        card=Card(),
        center=center or Center(),
        payment=Payment([]),
        printer=printer or Printer(),
        coprocessor=Coproc(),
        clerk=Clerk(),
    )
    screen = Screen()
    runner = SessionRunner(
        SessionMachine(OPEN_TIME), PortExecutor(ports), screen, spool_dir=tmp_path / "spool"
    )
    return runner, ports, screen


def test_full_session_through_ports(tmp_path: Path) -> None:
    async def go() -> None:
        runner, ports, screen = make(tmp_path)
        spool = tmp_path / "spool"
        spool.mkdir()
        (spool / "cert.pdf").write_bytes(b"resident data")
        await runner.start()
        for ev in (E.StartPressed(), E.LanguageChosen("en")):
            await runner.handle(ev)
        await settle(runner)
        assert runner.machine.state is State.PIN
        wrong = Pin(b"1111")
        await runner.handle(E.PinEntered(wrong))
        await settle(runner)
        assert runner.machine.state is State.PIN and wrong.wiped
        await runner.handle(E.PinEntered(Pin(b"2468")))
        await settle(runner)
        assert runner.machine.state is State.CERTIFICATE
        assert all(p.wiped for p in ports.card.seen)  # type: ignore[attr-defined]
        for ev in (
            E.CertificateChosen(CertificateType.INKAN),
            E.CopiesChosen(2),
        ):
            await runner.handle(ev)
        await settle(runner)
        assert runner.machine.state is State.FEE
        assert runner.last_view["fee_yen"] == 400
        await runner.handle(E.FeeConfirmed())
        await settle(runner)
        assert ports.payment.started == [400]  # type: ignore[attr-defined]
        await runner.handle(E.PaymentComplete(1000, 600))
        await settle(runner)
        assert runner.machine.state is State.COLLECT
        assert ports.printer.printed == 1 and ports.printer.receipts == 1  # type: ignore[attr-defined]
        assert ports.center.reports == [True]  # type: ignore[attr-defined]
        assert list(spool.iterdir()) == []  # the spool was erased once printed
        await runner.handle(E.CardRemoved())
        await settle(runner)
        assert screen.screens[-1] == "thanks"
        await runner.close()

    run_async(go())


def test_center_refusal_and_outage_become_events(tmp_path: Path) -> None:
    async def go(center: Center) -> SessionRunner:
        runner, _, _ = make(tmp_path, center=center)
        await runner.start()
        for ev in (E.StartPressed(), E.LanguageChosen("ja")):
            await runner.handle(ev)
        await settle(runner)
        await runner.handle(E.PinEntered(Pin(b"2468")))
        await settle(runner)
        await runner.close()
        return runner

    r = run_async(go(Center(refuse=E.RefusalReason.SUPPORT_MEASURES)))
    assert r.machine.state is State.NOTICE and r.last_view["notice"] == "refusal_support_measures"
    r = run_async(go(Center(down=True)))
    assert r.machine.state is State.NOTICE and r.last_view["notice"] == "center_unavailable"


def test_print_error_becomes_print_failed(tmp_path: Path) -> None:
    async def go() -> SessionRunner:
        runner, _, _ = make(tmp_path, printer=Printer(fail=True))
        m = runner.machine
        from host.session.demo import drive, path_to

        drive(m, path_to(State.ISSUING))
        await runner.handle(E.Issued(demo_documents()))
        await settle(runner)
        await runner.close()
        return runner

    r = run_async(go())
    assert r.machine.state is State.PRINT_FAILED


def test_timers_fire_timeouts(tmp_path: Path) -> None:
    async def go() -> SessionMachine:
        timeouts = dict(DEFAULT_TIMEOUTS)
        timeouts[State.LANGUAGE] = 0.05
        m = SessionMachine(OPEN_TIME, SessionConfig(timeouts=timeouts))
        runner = SessionRunner(m, RecordingExecutor(), Screen())
        await runner.start()
        await runner.handle(E.StartPressed())
        assert m.state is State.LANGUAGE
        event = await asyncio.wait_for(runner.queue.get(), 2)
        assert isinstance(event, E.Timeout)
        await runner.handle(event)
        await runner.close()
        return m

    assert run_async(go()).state is State.IDLE


def test_recording_executor_wipes_pins(tmp_path: Path) -> None:
    async def go() -> list[A.Action]:
        rec = RecordingExecutor()
        pin = Pin(b"1234")
        await rec.execute(A.VerifyPin(pin))
        assert pin.wiped
        return rec.actions

    assert len(run_async(go())) == 1


def test_the_center_signs_in_the_clerk_the_kiosk_signed_in(tmp_path: Path) -> None:
    async def go() -> tuple[list[E.Event], list[E.Event], Center]:
        runner, ports, _ = make(tmp_path)
        ex = runner.executor
        right, wrong = ClerkPin(b"999999"), ClerkPin(b"123456")
        ok = await ex.execute(A.CheckClerkPin(right))
        bad = await ex.execute(A.CheckClerkPin(wrong))
        assert right.wiped and wrong.wiped
        assert isinstance(ports.center, Center)
        return ok, bad, ports.center

    ok, bad, center = run_async(go())
    assert ok == [E.ClerkPinChecked(True, clerk="c01")]
    assert bad == [E.ClerkPinChecked(False)]
    assert center.clerks == ["c01:999999"]  # only the signed-in one, with its digits
    assert all(p.wiped for p in center.clerk_pins)  # and wiped once the center answered


def test_a_port_raising_unexpectedly_does_not_kill_the_runner() -> None:
    bad = RuntimeError("boom")

    class Broken:
        async def execute(self, action: A.Action) -> list[E.Event]:
            raise bad

    async def go() -> State:
        m = SessionMachine(OPEN_TIME)
        runner = SessionRunner(m, Broken(), Screen())
        await runner.start()
        await runner.handle(E.StartPressed())
        await runner.handle(E.LanguageChosen("ja"))
        await settle(runner)
        await runner.close()
        return m.state

    assert run_async(go()) is State.CARD


def test_actions_for_one_device_run_in_order() -> None:
    """StopPayment must finish before Refund starts, even when stopping is slow."""
    order: list[str] = []

    class SlowStop:
        async def execute(self, action: A.Action) -> list[E.Event]:
            if isinstance(action, A.StopPayment):
                await asyncio.sleep(0.05)
            order.append(type(action).__name__)
            return []

    async def go() -> None:
        from host.session.demo import drive, path_to

        m = SessionMachine(OPEN_TIME)
        drive(m, [*path_to(State.PAYMENT), E.MoneyInserted(300)])
        runner = SessionRunner(m, SlowStop(), Screen())
        await runner.handle(E.Cancel())
        for _ in range(20):
            await asyncio.sleep(0.01)
            if "Refund" in order:
                break
        await runner.close()

    run_async(go())
    assert order.index("StopPayment") < order.index("Refund")


def test_voice_plays_a_step_in_order_and_newer_guidance_cuts_it_short() -> None:
    played: list[str] = []
    finished: list[str] = []

    class Voice:
        async def play(self, prompt: A.VoicePrompt) -> None:
            played.append(prompt.value)
            await asyncio.sleep(0.02)
            finished.append(prompt.value)

    async def go() -> None:
        from host.session.demo import drive, path_to

        m = SessionMachine(OPEN_TIME)
        drive(m, [*path_to(State.LEFT_BEHIND_SCREEN), E.OutputTray(True), E.ChangeTray(True)])
        runner = SessionRunner(m, RecordingExecutor(), Screen(), voice=Voice())
        await runner.handle(E.Timeout(m.seq))  # -> voice: take card, pages, change
        await asyncio.sleep(0.2)
        assert played == ["take_card", "take_pages", "take_change"] == finished
        played.clear()
        finished.clear()
        await runner.handle(E.Timeout(m.seq))  # -> alarm: the three again
        await asyncio.sleep(0.01)  # ... but 10 ms in, the alarm repeats: newer guidance
        await runner.handle(E.Timeout(m.seq))
        await asyncio.sleep(0.2)
        await runner.close()
        assert played == ["take_card", "take_card", "take_pages", "take_change"]
        assert finished == ["take_card", "take_pages", "take_change"]  # the first was cut

    run_async(go())
