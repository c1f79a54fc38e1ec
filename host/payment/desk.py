"""The cash desk: the payment state machine per transaction, and recovery at start.

Rules it keeps:
- A credit is journaled (committed) before anyone is told of it; ccTalk credits carry the
  acceptor's event counter, so a credit seen again after a restart is not counted twice.
- A bill is stacked only after a ``bill_stack`` intent is journaled, and credited only at
  VEND VALID, journaled, then acknowledged.
- A coin or bill is accepted only if the hoppers could still give the change it would need;
  otherwise that denomination is inhibited ("exact change only" when nothing but exact money
  is left).
- A hopper payout is journaled as an intent (with the hopper's event counter) before the
  dispense command, and resolved with what the hopper says came out. A payout whose outcome
  is unknown stays open until recovery reads the hopper: never re-issued blindly.
- At the end every transaction balances: money in = fee captured + paid out + owed, and what
  is owed has a refund voucher.

Recovery gives back at once what a transaction took in and never captured (a host that died
mid-payment): in coins where the hoppers can, the rest on a printed voucher, because the
citizen may still be standing at the kiosk (the screen tells them, `host/kiosk/recovery.py`).
Change already owed stays a voucher. A payout whose outcome is unknown is never repeated.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from drivers.coin.errors import CashDeviceError, PayoutUncertain
from drivers.coin.interfaces import (
    BillReturned,
    CashEvent,
    Credit,
    DeviceReady,
    DeviceReset,
    Escrow,
    Fault,
    Hopper,
    HopperStatus,
    PowerUp,
    Rejected,
    VendValid,
)
from host.payment.change import make_change
from host.payment.config import CashConfig
from host.payment.devices import CashDevices
from host.payment.journal import Entry, Journal
from host.payment.slips import SlipPrinter

log = logging.getLogger(__name__)


class PaymentState(Enum):
    COLLECTING = "collecting"
    PAID = "paid"
    CAPTURED = "captured"
    SETTLING = "settling"
    CLOSED = "closed"
    OPEN_ITEM = "open_item"  # a payout's outcome is unknown: recovery finishes it


@dataclass(frozen=True)
class Settlement:
    """What a give-back (change or refund) achieved."""

    requested: int
    paid: int
    owed: int
    voucher: str | None = None
    uncertain: bool = False


class PaymentError(Exception):
    """A payment operation called in a state that does not allow it."""


@dataclass
class RecoveryReport:
    credits_recovered: int = 0
    bills_resolved: int = 0
    dispenses_resolved: int = 0
    closed: list[str] = field(default_factory=list)
    still_open: list[str] = field(default_factory=list)


class CashDesk:
    def __init__(
        self,
        journal: Journal,
        devices: CashDevices,
        config: CashConfig,
        *,
        slips: SlipPrinter | None = None,
    ) -> None:
        self.journal = journal
        self.slips = slips  # the receipt printer: each voucher is printed as it is issued
        self.devices = devices
        self.config = config
        self.out_of_service: set[str] = set()  # takes no money / pays none
        self.unstarted: set[str] = set()  # failed to start: not polled either
        self.current: Payment | None = None
        self.inventory: dict[str, int] = {}
        self._load_inventory()

    # -- inventory -----------------------------------------------------------------------
    def _load_inventory(self) -> None:
        loaded = {f"hopper{h.address}": h.count for h in self.config.hoppers}
        moved = self.journal.hopper_coins()
        for hopper in self.devices.hoppers:
            self.inventory[hopper.name] = loaded.get(hopper.name, 0) + moved.get(hopper.name, 0)

    def refill(self, hopper_name: str, coins: int, clerk: str = "") -> None:
        """The clerk loaded ``coins`` more into a hopper (journaled; no transaction).
        ``clerk``: who (clerk mode's signed-in id), journaled with it."""
        hopper = next((h for h in self.devices.hoppers if h.name == hopper_name), None)
        if hopper is None or coins <= 0:
            raise PaymentError(f"cannot refill {hopper_name!r} with {coins} coins")
        who: dict[str, Any] = {"clerk": clerk} if clerk else {}
        self.journal.append(
            "refill", device=hopper_name, amount=coins * hopper.value, coins=coins, **who
        )
        self.inventory[hopper_name] = self.inventory.get(hopper_name, 0) + coins

    def available(self) -> dict[int, int]:
        """Coins per value that change may count on (minus the sensor margin)."""
        out: dict[int, int] = {}
        for hopper in self.devices.hoppers:
            if hopper.name in self.out_of_service:
                continue
            usable = max(0, self.inventory.get(hopper.name, 0) - self.config.change_margin)
            out[hopper.value] = out.get(hopper.value, 0) + usable
        return out

    def _hopper_for(self, value: int) -> Hopper | None:
        for hopper in self.devices.hoppers:
            if (
                hopper.value == value
                and hopper.name not in self.out_of_service
                and self.inventory.get(hopper.name, 0) > self.config.change_margin
            ):
                return hopper
        return None

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> RecoveryReport:
        """Start every device (a failing one goes out of service), then recover."""
        for hopper in self.devices.hoppers:
            self._start_device(hopper.name, hopper.start)
        acceptor = self.devices.acceptor
        if acceptor is not None and self._start_device(acceptor.name, acceptor.start):
            acceptor.resume_after(self.journal.last_counter(acceptor.name))
        power_up: PowerUp | None = None
        validator = self.devices.validator
        if validator is not None:
            try:
                power_up = validator.start()
            except CashDeviceError as exc:
                self.unstarted.add(validator.name)
                self._fault(None, validator.name, f"start failed: {exc}", out_of_service=True)
        return self.recover(power_up)

    def _start_device(self, name: str, start: Callable[[], None]) -> bool:
        try:
            start()
            return True
        except CashDeviceError as exc:
            self.unstarted.add(name)
            self._fault(None, name, f"start failed: {exc}", out_of_service=True)
            return False

    def _fault(
        self,
        tx: str | None,
        device: str,
        code: str,
        *,
        out_of_service: bool = False,
        counter: int | None = None,
        **detail: Any,
    ) -> None:
        self.journal.append(
            "device_fault",
            tx=tx,
            device=device,
            counter=counter,
            code=code,
            out_of_service=out_of_service,
            **detail,
        )
        if out_of_service:
            self.out_of_service.add(device)
        log.warning("cash device %s: %s", device, code)

    def begin(self, fee: int, *, municipality: str | None = None) -> Payment:
        if self.current is not None and self.current.state not in (
            PaymentState.CLOSED,
            PaymentState.OPEN_ITEM,
        ):
            raise PaymentError("a payment is already in progress")
        if fee <= 0:
            raise PaymentError("the fee must be positive")
        tx = uuid.uuid4().hex[:16]
        self.journal.append("tx_open", tx=tx, amount=fee, municipality=municipality)
        self.current = Payment(self, tx, fee)
        self.current.update_inhibits()
        return self.current

    def refund_fee(self, tx: str, amount: int) -> Settlement:
        """Give back ``amount`` of the fee ``tx`` captured (the center did not issue what it
        paid for), as a transaction of its own: ``fee_refunded`` moves that money out of the
        fees, then it is paid out in coins (or owed on a voucher). Once per transaction, and
        never more than was captured."""
        captured = self.journal.balance(tx).fee_captured
        rtx = f"refund-{tx}"[:32]
        if captured <= 0:
            raise PaymentError(f"transaction {tx} has no captured fee to refund")
        if any(True for _ in self.journal.entries(rtx)):
            raise PaymentError(f"the fee of transaction {tx} was already refunded")
        if not 0 < amount <= captured:
            raise PaymentError(f"cannot refund {amount} yen of a {captured} yen fee")
        opened = next(e for e in self.journal.entries(tx) if e.kind == "tx_open")
        # Opened and charged against the fees as one write: a host that dies between the two
        # would leave an empty refund transaction that refuses the refund ever after.
        self.journal.append_together(
            ("tx_open", {"tx": rtx, "amount": amount,
                         "municipality": opened.detail.get("municipality"), "refunds": tx}),
            ("fee_refunded", {"tx": rtx, "amount": amount, "refunds": tx}),
        )  # fmt: skip
        back = Payment(self, rtx, amount)
        back.paid = amount
        return back._settle(amount, purpose="refund")

    def poll(self) -> None:
        """Poll the money-taking devices once and route what they report."""
        current = self.current
        self.poll_for(current if current is not None and current.live else None)

    def poll_for(self, target: Payment | None) -> None:
        for device in (self.devices.acceptor, self.devices.validator):
            # Out-of-service devices are still polled: late events are still money, and
            # acceptors self-inhibit when the host stops polling.
            if device is None or device.name in self.unstarted:
                continue
            try:
                events = device.poll()
            except CashDeviceError as exc:
                log.warning("cash device %s: poll failed: %s", device.name, exc)
                continue
            for event in events:
                self._route(event, target)
        if target is not None and target.state is PaymentState.COLLECTING:
            target.update_inhibits()
        else:
            self._inhibit_all()

    def check_hoppers(self) -> None:
        """Idle health check: a hopper that stops answering goes out of service (and one
        that answers again comes back), so "exact change only" shows before a customer pays."""
        for hopper in self.devices.hoppers:
            try:
                hopper.status()
            except CashDeviceError:
                if hopper.name not in self.out_of_service:
                    self._fault(None, hopper.name, "not answering", out_of_service=True)
                continue
            if hopper.name in self.out_of_service and not self._open_intents_for(hopper.name):
                try:
                    hopper.start()
                    self.out_of_service.discard(hopper.name)
                except CashDeviceError:
                    pass

    def _open_intents_for(self, device: str) -> bool:
        return any(e.device == device for e in self._open_intents("dispense"))

    def _inhibit_all(self) -> None:
        for device in (self.devices.acceptor, self.devices.validator):
            if device is not None and device.name not in self.unstarted:
                try:
                    device.set_enabled(frozenset())
                except CashDeviceError:
                    pass

    def _route(
        self, event: CashEvent, payment: Payment | None, *, recovering: bool = False
    ) -> None:
        # A live payment (collecting, paid, fee captured) takes late money too: it becomes
        # part of that customer's change.
        if payment is not None:
            payment.handle(event)
            return
        if isinstance(event, Credit):
            if recovering:
                # Caught up after a restart: it belongs to the transaction that was open.
                tx = self._orphan_tx()
                self.journal.append(
                    "credit",
                    tx=tx,
                    amount=event.value,
                    device=event.device,
                    counter=event.counter,
                )
            else:
                self._stray_credit(event)
        elif isinstance(event, VendValid):
            self._vend_valid_without_request(event.device, event.value)
        elif isinstance(event, Escrow) and self.devices.validator is not None:
            self.devices.validator.return_bill()
        else:
            Payment.journal_event(self, None, event)

    def _stray_credit(self, event: Credit) -> None:
        # Money with no payment to take it (a coin in flight as the slot closed): its own
        # transaction, owed back at once on a voucher.
        tx = uuid.uuid4().hex[:16]
        self.journal.append("tx_open", tx=tx, amount=0, orphan=True)
        self.journal.append(
            "credit", tx=tx, amount=event.value, device=event.device, counter=event.counter
        )
        self._owe(tx, event.value, reason="stray credit")
        self.journal.append("tx_closed", tx=tx)

    def _orphan_tx(self) -> str:
        open_txs = self.journal.open_transactions()
        if open_txs:
            return open_txs[-1]
        tx = uuid.uuid4().hex[:16]
        self.journal.append("tx_open", tx=tx, amount=0, orphan=True)
        return tx

    def _vend_valid_without_request(self, device: str, value: int | None) -> None:
        # Only our STACK puts a bill in the stacker; a VEND VALID with no open stack intent is
        # the repeat of one already credited whose ACK was lost. Acknowledge, do not credit.
        self.journal.append("device_event", device=device, event="vend valid re-acknowledged")
        if self.devices.validator is not None:
            self.devices.validator.acknowledge_vend()

    # -- recovery --------------------------------------------------------------------------
    def recover(self, power_up: PowerUp | None = None) -> RecoveryReport:
        report = RecoveryReport()
        acceptor = self.devices.acceptor
        if acceptor is not None and acceptor.name not in self.unstarted:
            try:
                events = acceptor.poll()
            except CashDeviceError:
                events = []
            for event in events:
                if isinstance(event, Credit):
                    report.credits_recovered += 1
                self._route(event, None, recovering=True)
            if self.journal.last_counter(acceptor.name) is None and acceptor.counter is not None:
                # A journal that never saw this acceptor takes its counter as the baseline,
                # so a credit lost in a crash later is found by counting from here.
                self.journal.append(
                    "device_event",
                    device=acceptor.name,
                    counter=acceptor.counter,
                    event="counter baseline",
                )
        self._recover_bill(power_up, report)
        self._recover_dispenses(report)
        for tx in self.journal.open_transactions():
            if self.current is not None and self.current.tx == tx and self.current.live:
                continue
            b = self.journal.balance(tx)
            if b.open_dispenses or b.open_stacks:
                if tx not in report.still_open:
                    report.still_open.append(tx)
                continue
            if b.owed > b.vouchered:
                self._voucher(tx, b.owed - b.vouchered, reason="recovery")
            if b.unresolved > 0:
                back = Payment(self, tx, b.fee)
                back.paid = b.unresolved
                if back._settle(b.unresolved, purpose="refund").uncertain:
                    report.still_open.append(tx)  # the payout's outcome: next recovery
                else:
                    report.closed.append(tx)  # _settle closed it
                continue
            elif b.unresolved < 0:
                self._fault(tx, "journal", "more paid out than taken in", excess=-b.unresolved)
            self.journal.append("tx_closed", tx=tx, by="recovery")
            report.closed.append(tx)
        self._inhibit_all()
        return report

    def _open_intents(self, kind: str) -> list[Entry]:
        return self.journal.open_intents(kind)

    def _recover_bill(self, power_up: PowerUp | None, report: RecoveryReport) -> None:
        validator = self.devices.validator
        intents = self._open_intents("bill_stack")
        if validator is None or power_up is None:
            return
        intent = intents[-1] if intents else None
        stacked = power_up in (PowerUp.VEND_VALID, PowerUp.BILL_IN_STACKER)
        if intent is not None:
            if stacked:
                self.journal.append(
                    "credit",
                    tx=intent.tx,
                    amount=intent.amount,
                    device=intent.device,
                    resolves="bill_stack",
                    intent=intent.seq,
                    via=f"recovery: {power_up.value}",
                )
            else:
                self.journal.append(
                    "device_event",
                    tx=intent.tx,
                    device=intent.device,
                    resolves="bill_stack",
                    intent=intent.seq,
                    event=f"bill not stacked ({power_up.value})",
                )
            report.bills_resolved += 1
        elif stacked:
            self.journal.append(
                "device_event", device=validator.name, event=f"{power_up.value}: already credited"
            )
        for stale in intents[:-1]:
            self._fault(
                stale.tx, stale.device or "bill", "unresolved stack request", intent=stale.seq
            )
        if power_up is PowerUp.VEND_VALID:
            try:
                validator.acknowledge_vend()
                validator.start()
            except CashDeviceError as exc:
                self._fault(None, validator.name, f"restart failed: {exc}", out_of_service=True)

    def _recover_dispenses(self, report: RecoveryReport) -> None:
        hoppers = {h.name: h for h in self.devices.hoppers}
        for intent in self._open_intents("dispense"):
            hopper = hoppers.get(intent.device or "")
            if hopper is None:
                continue
            try:
                status = self._settled_status(hopper)
            except CashDeviceError:
                report.still_open.append(intent.tx or "")
                continue  # still unknown: leave the intent open for the next recovery
            before = intent.counter or 0
            count = int(intent.detail.get("count", 0))
            if status.event_counter == before:
                paid = 0
            elif status.event_counter == (1 if before == 255 else before + 1):
                paid = min(status.paid, count)
            else:
                self._fault(intent.tx, hopper.name, "hopper counter moved unexpectedly")
                paid = min(status.paid, count)
            self._resolve_dispense(intent, hopper, paid, via="recovery")
            report.dispenses_resolved += 1

    def _settled_status(self, hopper: Hopper) -> HopperStatus:
        deadline = time.monotonic() + 5.0
        status = hopper.status()
        while status.remaining and time.monotonic() < deadline:
            time.sleep(self.config.hopper_poll_s)
            status = hopper.status()
        if status.remaining:
            hopper.emergency_stop()
            status = hopper.status()
        return status

    def _resolve_dispense(self, intent: Entry, hopper: Hopper, paid: int, *, via: str) -> None:
        kind = "refund_paid" if intent.detail.get("purpose") == "refund" else "change_paid"
        self.journal.append(
            kind,
            tx=intent.tx,
            amount=paid * hopper.value,
            device=hopper.name,
            coins=paid,
            resolves="dispense",
            intent=intent.seq,
            via=via,
        )
        self.inventory[hopper.name] = self.inventory.get(hopper.name, 0) - paid

    def _owe(self, tx: str, amount: int, *, reason: str) -> str:
        self.journal.append("change_owed", tx=tx, amount=amount, reason=reason)
        return self._voucher(tx, amount, reason=reason)

    def _voucher(self, tx: str, amount: int, *, reason: str) -> str:
        # Recorded first, then printed: a failed print is journaled for the clerk to reprint.
        voucher = f"V-{tx}-{amount}"
        self.journal.append("voucher", tx=tx, amount=amount, voucher=voucher, reason=reason)
        if self.slips is not None:
            self.slips.print_voucher(voucher)
        return voucher


class Payment:
    """One transaction: collect >= fee, capture the fee, give change; or cancel."""

    def __init__(self, desk: CashDesk, tx: str, fee: int) -> None:
        self.desk = desk
        self.tx = tx
        self.fee = fee
        self.paid = 0
        self.state = PaymentState.COLLECTING
        self.exact_change_only = False
        self.enabled: frozenset[int] = frozenset()
        self._pending_bill: Entry | None = None
        self.listeners: list[Callable[[Payment], None]] = []
        self.last_credit_at = time.monotonic()

    @property
    def live(self) -> bool:
        return self.state not in (PaymentState.CLOSED, PaymentState.OPEN_ITEM)

    @property
    def journal(self) -> Journal:
        return self.desk.journal

    # -- accepting ---------------------------------------------------------------------------
    def _accepts(self, value: int, available: dict[int, int]) -> bool:
        return make_change(max(0, self.paid + value - self.fee), available) is not None

    def update_inhibits(self) -> None:
        desk = self.desk
        acceptor, validator = desk.devices.acceptor, desk.devices.validator
        collecting = self.state is PaymentState.COLLECTING and self.paid < self.fee
        available = desk.available()
        coins: frozenset[int] = frozenset()
        bills: frozenset[int] = frozenset()
        if acceptor is not None and acceptor.name not in desk.out_of_service:
            coins = acceptor.denominations() & desk.config.coins
        if validator is not None and validator.name not in desk.out_of_service:
            bills = validator.denominations() & desk.config.bills
        remaining = self.fee - self.paid
        overshooting = [v for v in coins | bills if v > remaining]
        ok_coins = frozenset(v for v in coins if self._accepts(v, available))
        ok_bills = frozenset(v for v in bills if self._accepts(v, available))
        self.exact_change_only = (
            collecting
            and bool(overshooting)
            and not any(v in ok_coins | ok_bills for v in overshooting)
        )
        if not collecting or self._pending_bill is not None:
            ok_coins = ok_bills = frozenset()  # nothing new while a bill is being stacked
        self.enabled = ok_coins | ok_bills
        for device, values in ((acceptor, ok_coins), (validator, ok_bills)):
            if device is not None and device.name not in desk.unstarted:
                try:
                    device.set_enabled(values)
                except CashDeviceError as exc:
                    log.warning("cash device %s: inhibit failed: %s", device.name, exc)

    @staticmethod
    def journal_event(desk: CashDesk, tx: str | None, event: CashEvent) -> None:
        if isinstance(event, Rejected):
            desk.journal.append(
                "device_event",
                tx=tx,
                device=event.device,
                counter=event.counter,
                event=event.reason,
            )
        elif isinstance(event, Fault):
            desk._fault(
                tx,
                event.device,
                event.code,
                out_of_service=event.out_of_service,
                counter=event.counter,
            )
        elif isinstance(event, DeviceReset):
            acceptor = desk.devices.acceptor
            counter = 0 if acceptor is not None and event.device == acceptor.name else None
            desk._fault(tx, event.device, "device reset", counter=counter)
        elif isinstance(event, BillReturned):
            desk.journal.append("device_event", tx=tx, device=event.device, event="bill returned")
        elif isinstance(event, DeviceReady):
            desk.out_of_service.discard(event.device)
            desk.journal.append("device_event", tx=tx, device=event.device, event="back in service")

    def handle(self, event: CashEvent) -> None:
        if isinstance(event, Credit):
            self.journal.append(
                "credit",
                tx=self.tx,
                amount=event.value,
                device=event.device,
                counter=event.counter,
            )
            self._credited(event.value)
        elif isinstance(event, Escrow):
            self._escrow(event)
        elif isinstance(event, VendValid):
            self._vend_valid(event)
        elif isinstance(event, DeviceReset) and self._pending_bill is not None:
            Payment.journal_event(self.desk, self.tx, event)
            self._bill_after_power_up()
        elif isinstance(event, BillReturned) and self._pending_bill is not None:
            intent = self._pending_bill
            self.journal.append(
                "device_event",
                tx=self.tx,
                device=event.device,
                resolves="bill_stack",
                intent=intent.seq,
                event="bill returned instead of stacked",
            )
            self._pending_bill = None
        else:
            Payment.journal_event(self.desk, self.tx, event)

    def _bill_after_power_up(self) -> None:
        # The validator lost power with our bill between STACK and the ACKed VEND VALID:
        # 'bill in stacker' makes it money, anything else means it went back.
        validator = self.desk.devices.validator
        intent = self._pending_bill
        if validator is None or intent is None or validator.name != intent.device:
            return
        self._pending_bill = None
        if validator.power_up_seen is PowerUp.BILL_IN_STACKER:
            self.journal.append(
                "credit",
                tx=self.tx,
                amount=intent.amount,
                device=intent.device,
                resolves="bill_stack",
                intent=intent.seq,
                via="power up with bill in stacker",
            )
            self._credited(intent.amount)
        else:
            self.journal.append(
                "device_event",
                tx=self.tx,
                device=intent.device,
                resolves="bill_stack",
                intent=intent.seq,
                event="bill not stacked (power up)",
            )

    def _credited(self, value: int) -> None:
        # Only now, with the credit durable, is anyone told.
        self.paid += value
        self.last_credit_at = time.monotonic()
        if self.state is PaymentState.COLLECTING and self.paid >= self.fee:
            self.state = PaymentState.PAID
        for listener in self.listeners:
            listener(self)

    def _escrow(self, event: Escrow) -> None:
        validator = self.desk.devices.validator
        assert validator is not None
        if self._pending_bill is not None:
            # Still in escrow after our stack request (its ACK was lost): ask again.
            try:
                validator.stack()
            except CashDeviceError:
                pass
            return
        collecting = self.state is PaymentState.COLLECTING and self.paid < self.fee
        if collecting and self._accepts(event.value, self.desk.available()):
            seq = self.journal.append(
                "bill_stack", tx=self.tx, amount=event.value, device=event.device
            )
            self._pending_bill = self.journal.entry(seq)
            try:
                validator.stack()
            except CashDeviceError:
                pass  # the next polls tell: escrow again (ask again), VEND VALID, or returned
        else:
            try:
                validator.return_bill()
            except CashDeviceError:
                pass
            self.journal.append(
                "device_event",
                tx=self.tx,
                device=event.device,
                event="escrow returned",
                value=event.value,
            )

    def _vend_valid(self, event: VendValid) -> None:
        validator = self.desk.devices.validator
        assert validator is not None
        intent = self._pending_bill
        if intent is None:
            self.desk._vend_valid_without_request(event.device, event.value)
            return
        self.journal.append(
            "credit",
            tx=self.tx,
            amount=intent.amount,
            device=event.device,
            resolves="bill_stack",
            intent=intent.seq,
        )
        self._pending_bill = None
        validator.acknowledge_vend()
        self._credited(intent.amount)

    def collect(self, timeout_s: float | None = None) -> bool:
        """Poll until paid >= fee (True) or no money came for ``timeout_s`` (False)."""
        timeout = self.desk.config.session_timeout_s if timeout_s is None else timeout_s
        self.last_credit_at = time.monotonic()
        while self.state is PaymentState.COLLECTING:
            self.desk.poll()
            if self.state is not PaymentState.COLLECTING:
                break
            idle = time.monotonic() - self.last_credit_at
            # A bill being stacked is waited for, but not forever (a dead validator).
            if idle > timeout and (self._pending_bill is None or idle > 2 * timeout):
                return False
            time.sleep(self.desk.config.poll_interval_s)
        self.update_inhibits()
        return True

    # -- settling ----------------------------------------------------------------------------
    def capture_fee(self) -> None:
        if self.state is not PaymentState.PAID:
            raise PaymentError(f"cannot capture the fee while {self.state.value}")
        self.journal.append("fee_captured", tx=self.tx, amount=self.fee)
        self.state = PaymentState.CAPTURED

    def give_change(self) -> Settlement:
        if self.state is not PaymentState.CAPTURED:
            raise PaymentError(f"cannot give change while {self.state.value}")
        return self._settle(self.paid - self.fee, purpose="change")

    def cancel(self) -> Settlement:
        """Return the money: a bill in escrow goes back, credits are paid back in coins."""
        if self.state not in (PaymentState.COLLECTING, PaymentState.PAID):
            raise PaymentError(f"cannot cancel while {self.state.value}")
        self.state = PaymentState.SETTLING
        self.update_inhibits()
        validator = self.desk.devices.validator
        # Drain what is in flight: a bill being stacked becomes money first.
        for _ in range(20):
            self.desk.poll_for(self)
            if self._pending_bill is None:
                break
            time.sleep(self.desk.config.poll_interval_s)
        if validator is not None and validator.name not in self.desk.unstarted:
            try:
                validator.set_enabled(frozenset())
            except CashDeviceError:
                pass
        if self._pending_bill is not None:
            # Whether the bill was stacked is unknown: no refund on a guess. The transaction
            # stays open; recovery resolves it from the validator and vouchers what is due.
            self.desk._fault(
                self.tx,
                self._pending_bill.device or "bill",
                "stack outcome unknown",
                intent=self._pending_bill.seq,
            )
            self.state = PaymentState.OPEN_ITEM
            return Settlement(self.paid, 0, 0, None, uncertain=True)
        return self._settle(self.paid, purpose="refund")

    def _settle(self, amount: int, *, purpose: str) -> Settlement:
        self.state = PaymentState.SETTLING
        desk = self.desk
        remaining = amount
        while remaining > 0:
            plan = make_change(remaining, desk.available())
            if plan is None:
                break
            for value, count in sorted(plan.items(), reverse=True):
                hopper = desk._hopper_for(value)
                if hopper is None:
                    break
                outcome = self._dispense(hopper, count, purpose)
                if outcome is None:
                    self.state = PaymentState.OPEN_ITEM
                    return Settlement(amount, amount - remaining, 0, None, uncertain=True)
                remaining -= outcome * value
                if outcome < count:
                    break  # that hopper is out: plan again with the others
        voucher = None
        if remaining > 0:
            voucher = desk._owe(self.tx, remaining, reason=purpose)
        self.journal.append("tx_closed", tx=self.tx)
        self.state = PaymentState.CLOSED
        return Settlement(amount, amount - remaining, remaining, voucher)

    def _dispense(self, hopper: Hopper, count: int, purpose: str) -> int | None:
        """Coins paid, or None when it is unknown (the intent stays open for recovery)."""
        desk = self.desk
        try:
            before = hopper.status()
        except CashDeviceError as exc:
            desk._fault(self.tx, hopper.name, f"status failed: {exc}", out_of_service=True)
            return 0
        seq = self.journal.append(
            "dispense",
            tx=self.tx,
            amount=count * hopper.value,
            device=hopper.name,
            counter=before.event_counter,
            count=count,
            purpose=purpose,
        )
        intent = self.journal.entry(seq)
        try:
            result = hopper.dispense(count)
        except PayoutUncertain as exc:
            desk._fault(
                self.tx,
                hopper.name,
                "payout uncertain",
                out_of_service=True,
                intent=seq,
                paid_at_least=exc.paid_at_least,
            )
            return None
        except CashDeviceError as exc:
            desk._fault(self.tx, hopper.name, f"dispense failed: {exc}", out_of_service=True)
            result_paid = 0
            desk._resolve_dispense(intent, hopper, result_paid, via="payout")
            return 0
        desk._resolve_dispense(intent, hopper, result.paid, via="payout")
        if result.fault is not None:
            desk._fault(self.tx, hopper.name, result.fault, out_of_service=True)
            if result.paid < count:
                desk.inventory[hopper.name] = 0
        return result.paid
