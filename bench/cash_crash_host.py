"""The kiosk's cash host for `kofu bench cash-crash`: recover, serve one customer, exit — and
die on cue.

Each run is a process of its own, forked from a zygote (``serve``) that imported everything
once, so a thousand customers with a crash and two or three restarts each do not pay a
thousand interpreter starts. A forked run opens its own ports and journal after the fork:
nothing of one run survives into the next but the journal, the center's file and the devices.

A run starts the way the kiosk does: ``CashDesk.start()`` (the desk's recovery), then the
kiosk's own recovery (`host/kiosk/recovery.py`, against the bench's center below) for fees
captured for orders that never finished. Then, if the spec names a customer, it serves them as
`host/kiosk/payment_port.py` does: ``begin`` + ``tx_ref``, collect, capture, change, the
``paying`` step, the center — and on a center failure ``CashDesk.refund_fee``.

The crash hooks live here, never in production code: a journal subclass that SIGKILLs this
process at its N-th append (before or after the write, optionally counted from a phase on),
and wrappers on this run's driver objects that SIGKILL it mid-poll (a device answered, nothing
journaled yet), mid-escrow (the stack command sent) and mid-payout (the N-th hopper status
poll of a payout). The bench also kills runs from outside at random instants (``ready``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from drivers.coin.interfaces import CashEvent
from host.kiosk.center_client import CenterClient, RecoveredOrder
from host.kiosk.payment_port import DeskPayment
from host.kiosk.printer_port import KioskPrinters
from host.kiosk.recovery import Recovery
from host.payment.config import CashConfig, HopperConfig
from host.payment.desk import CashDesk, PaymentError, PaymentState
from host.payment.devices import open_devices
from host.payment.journal import Journal

MUNICIPALITY = "131016"


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def say(event: dict[str, Any]) -> None:
    # One write per line, under PIPE_BUF: lines of the zygote and its runs never interleave.
    os.write(1, (json.dumps(event) + "\n").encode())


class CrashingJournal(Journal):
    """The real journal, killing this process at the ``n``-th append ``when`` (before the
    write or once it is durable), counted from the moment ``phase`` begins (None: from the
    start)."""

    def __init__(self, path: str, n: int, when: str, phase: str | None) -> None:
        super().__init__(path)
        self.n, self.when, self.phase = n, when, phase
        self.counting = phase is None
        self.appends = 0  # appends since counting began

    def enter(self, phase: str) -> None:
        if phase == self.phase:
            self.counting = True

    def append(self, kind: str, **kwargs: Any) -> int:
        if self.counting:
            self.appends += 1
        hit = self.counting and self.appends == self.n
        if hit and self.when == "before":
            die()
        seq = super().append(kind, **kwargs)
        if hit and self.when == "after":
            die()
        return seq

    def append_together(self, *entries: tuple[str, dict[str, Any]]) -> list[int]:
        # one write, one chance to die before or after it (never in the middle)
        if self.counting:
            self.appends += 1
        hit = self.counting and self.appends == self.n
        if hit and self.when == "before":
            die()
        seqs = super().append_together(*entries)
        if hit and self.when == "after":
            die()
        return seqs


class BenchCenter:
    """The issuance center as the kiosk's recovery sees it, kept in an append-only file of
    one-line records the bench reads afterwards: an order is paid (issued) when the center
    wrote so; a recovery asking about one that is not voids it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _write(self, record: dict[str, Any]) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(record) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def records(self, order: str) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = self.path.read_text().splitlines()
        return [r for r in map(json.loads, lines) if r.get("order") == order]

    def pay(self, order: str, key: str, fails: bool) -> bool:
        if fails or any(r.get("void") for r in self.records(order)):
            return False
        self._write({"order": order, "key": key, "issued": True, "certificate": f"C-{order}"})
        return True

    async def recover(self, order_id: str, key: str) -> RecoveredOrder:
        for r in self.records(order_id):
            if r.get("issued"):
                return RecoveredOrder(True, (), (str(r["certificate"]),), ())
        self._write({"order": order_id, "void": True})
        return RecoveredOrder(False, (), (), ())

    async def report_print(self, numbers: tuple[str, ...], ok: bool, reason: str) -> None:
        pass  # every issued copy of the bench is printed: recovery never reports one


@dataclass
class Kill:
    """Where this run dies: ``at`` journal | poll | escrow | payout (None: it does not); the
    ``n``-th such instant."""

    at: str | None = None
    n: int = 1
    when: str = "after"
    phase: str | None = None
    event: str | None = None  # poll: count only polls that returned this event (class name)

    @classmethod
    def of(cls, spec: dict[str, Any] | None) -> Kill:
        return cls(**spec) if spec else cls()


def arm(desk: CashDesk, kill: Kill) -> None:
    """Wrap this run's driver objects so that it dies at the chosen instant."""
    devices = desk.devices
    if kill.at == "poll":
        seen = [0]
        for device in (devices.acceptor, devices.validator):
            if device is None:
                continue
            poll: Callable[[], list[CashEvent]] = device.poll

            def polled(poll: Callable[[], list[CashEvent]] = poll) -> list[CashEvent]:
                events = poll()  # the device has answered; nothing is journaled yet
                names = {type(e).__name__ for e in events}
                if names and (kill.event is None or kill.event in names):
                    seen[0] += 1
                    if seen[0] == kill.n:
                        die()
                return events

            device.poll = polled  # type: ignore[method-assign]
    elif kill.at == "escrow" and devices.validator is not None:
        validator = devices.validator
        stack, count = validator.stack, [0]

        def stacking() -> None:
            count[0] += 1
            if count[0] == kill.n and kill.when == "before":
                die()  # the intent is journaled, the stack command never sent
            stack()
            if count[0] == kill.n:
                die()  # the bill is on its way to the stacker

        validator.stack = stacking  # type: ignore[method-assign]
    elif kill.at == "payout":
        polls = [0]
        for hopper in devices.hoppers:
            dispense, status = hopper.dispense, hopper.status
            active = [False]

            def dispensing(count: int, dispense: Any = dispense, active: list[bool] = active
                           ) -> Any:  # fmt: skip
                active[0] = True
                try:
                    return dispense(count)
                finally:
                    active[0] = False

            def polled_status(status: Any = status, active: list[bool] = active) -> Any:
                result = status()
                if active[0]:
                    polls[0] += 1
                    if polls[0] == kill.n:
                        die()  # coins are coming out of the hopper
                return result

            hopper.dispense = dispensing  # type: ignore[method-assign]
            hopper.status = polled_status  # type: ignore[method-assign]


def cash_config(spec: dict[str, Any]) -> CashConfig:
    return CashConfig(
        bills=frozenset({1000, 2000, 5000, 10000}),
        hoppers=tuple(HopperConfig(a, v, c) for a, v, c in spec["hoppers"]),
        cctalk_port=spec["cctalk"],
        id003_port=spec["id003"],
        poll_interval_s=0.005,
        hopper_poll_s=0.002,
    )


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """One host life: start (recovery), then the customer of ``spec``, if any."""
    kill = Kill.of(spec.get("kill"))
    journal = CrashingJournal(
        spec["journal"], kill.n if kill.at == "journal" else 0, kill.when, kill.phase
    )
    center = BenchCenter(Path(spec["center"]))
    cfg = cash_config(spec)
    devices = open_devices(cfg)
    for hopper in devices.hoppers:
        hopper.stall_timeout_s = 0.3  # type: ignore[attr-defined]
    desk = CashDesk(journal, devices, cfg)
    arm(desk, kill)
    journal.enter("recovery")
    report = desk.start()
    port = DeskPayment(desk)
    # The bench center's issued orders have no copy left to print: recovery never prints.
    printers = cast(KioskPrinters, None)
    asyncio.run(Recovery(journal, port, cast(CenterClient, center), printers).run())
    journal.enter("customer")
    say({"event": "ready", "run": spec["run"], "pid": os.getpid()})
    out: dict[str, Any] = {"still_open": report.still_open}
    fee = int(spec.get("fee", 0))
    if fee:
        out.update(serve(desk, journal, center, spec, fee))
    desk.poll_for(None)  # late money of this customer: a transaction of its own
    devices.close()
    out["appends"] = journal.appends
    return out


def serve(
    desk: CashDesk, journal: CrashingJournal, center: BenchCenter, spec: dict[str, Any], fee: int
) -> dict[str, Any]:
    order = str(spec["order"])
    pay = desk.begin(fee, municipality=MUNICIPALITY)
    journal.append("tx_ref", tx=pay.tx, order=order)
    behaviour = spec["behaviour"]
    if behaviour == "cancel":
        # The customer presses cancel once they put in what they meant to (or gave up).
        idle_since = time.monotonic()
        while pay.state is PaymentState.COLLECTING and pay.paid < spec["cancel_at"]:
            paid = pay.paid
            desk.poll()
            if pay.paid != paid:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > spec["collect_timeout"]:
                break
            time.sleep(desk.config.poll_interval_s)
    else:
        pay.collect(timeout_s=spec["collect_timeout"])
    if pay.state is not PaymentState.PAID or behaviour == "cancel":
        if pay.state in (PaymentState.COLLECTING, PaymentState.PAID):
            journal.enter("cancel")
            settled = pay.cancel()
            return {"outcome": "cancelled", "tx": pay.tx, "owed": settled.owed}
        return {"outcome": pay.state.value, "tx": pay.tx}
    journal.enter("change")
    pay.capture_fee()
    change = pay.give_change()
    journal.enter("center")
    key = f"key-{order}"
    journal.append("order", tx=pay.tx, step="paying", order=order, key=key, lang="ja")
    if center.pay(order, key, bool(spec.get("center_fails"))):
        cert = f"C-{order}"
        journal.append("tx_ref", tx=pay.tx, certificates=[cert], municipality=MUNICIPALITY)
        journal.append("order", tx=pay.tx, step="printed", certificate=cert)
        return {"outcome": "issued", "tx": pay.tx, "change_owed": change.owed}
    journal.enter("refund")
    try:
        back = desk.refund_fee(pay.tx, fee)
    except PaymentError as exc:
        return {"outcome": "refund refused", "tx": pay.tx, "error": str(exc)}
    return {"outcome": "refunded", "tx": pay.tx, "refund_owed": back.owed}


def serve_forever() -> int:
    """The zygote: one JSON spec per stdin line, each run in a forked child. Says
    ``started`` (with the child's pid) and ``exit`` (its status) for each."""
    for line in sys.stdin:
        spec = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                say({"event": "done", "run": spec["run"], **run(spec)})
            except BaseException as exc:  # a run that fails says why, and exits non-zero
                say({"event": "error", "run": spec["run"], "error": repr(exc)})
                code = 1
            finally:
                os._exit(code)
        say({"event": "started", "run": spec["run"], "pid": pid})
        _, status = os.waitpid(pid, 0)
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        rc = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -sig
        say({"event": "exit", "run": spec["run"], "rc": rc, "killed": sig == signal.SIGKILL})
    return 0


if __name__ == "__main__":
    raise SystemExit(serve_forever())
