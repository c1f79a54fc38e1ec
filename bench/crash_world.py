"""What a person standing at the kiosk can see and hold, read off the simulators: money taken
in and paid out, bills in the validator's head, certificates and slips that came out, and
the moment of the session a kill falls in (its phase)."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.coin.id003 import Status

# The phases of a session a kill is filed under, in session order.
PHASES = (
    "before_card",  # idle, language, card asked for (no card yet)
    "pin",  # card on the reader: PIN pad, PIN check, authentication
    "menu",  # certificate, subject, options, copies, quote, fee shown
    "payment_empty",  # payment screen, nothing inserted yet
    "coins_partial",  # some coins in, the fee not reached
    "bill_escrow",  # a bill in the validator's head, not yet stacked
    "bill_stacking",  # stack commanded / VEND VALID, not yet acknowledged
    "fee_reached",  # money in covers the fee, no change moving yet
    "change_payout",  # the hoppers are paying change (or a refund)
    "issuing",  # the center is asked to issue
    "printing",  # printing, no copy out yet
    "printing_between",  # printing, some copies out, not all
    "collect",  # take card, pages, change; thank-you screen
    "left_behind",  # the left-behind escalation
    "other",  # anything else (notice, print failed, refunding, ...)
)
MENU = {"certificate", "subject", "options", "my_number_warning", "fiscal_year", "copies",
        "quoting", "fee"}  # fmt: skip
PIN = {"pin", "pin_check", "authenticating"}
BILL_HEAD = {Status.ACCEPTING, Status.ESCROW}
BILL_STACKING = {Status.STACKING, Status.VEND_VALID}


@dataclass(frozen=True)
class Snapshot:
    """The simulators' counters at one instant."""

    coins_in: int  # yen the coin acceptor took into the cash box
    bills_stacked: int  # yen of bills in the stacker
    bill_in_head: int  # yen of a bill the validator holds (neither stacked nor given back)
    paid_out: int  # yen the hoppers paid out
    pdfs: frozenset[str]  # A4 printer output files
    slips: int  # receipt printer slips

    @property
    def money_in(self) -> int:
        return self.coins_in + self.bills_stacked + self.bill_in_head


def snapshot(sim: Any) -> Snapshot:
    v = sim.cash.validator
    head = v.escrow if v.escrow is not None and v.state in (BILL_HEAD | BILL_STACKING) else 0
    return Snapshot(
        coins_in=sim.cash.acceptor.accepted_total,
        bills_stacked=v.stacked_total,
        bill_in_head=head or 0,
        paid_out=sum(h.paid_total * h.value for h in sim.cash.hoppers.values()),
        pdfs=frozenset(p.name for p in sim.a4.printed_dir.glob("*.pdf")),
        slips=len(sim.receipt.slips()),
    )


def phase(screen: str, card_placed: bool, fee: int, copies: int, before: Snapshot,
          sim: Any) -> str:  # fmt: skip
    """The phase of the session now, from the last screen and the devices' state."""
    v_state = sim.cash.validator.state
    if screen in ("idle", "language", "card") and not card_placed:
        return "before_card"
    if screen in PIN or screen == "card":
        return "pin"
    if screen in MENU:
        return "menu"
    if _still_paying(sim):  # the hoppers are paying out, whichever screen shows
        return "change_payout"
    if screen == "payment":
        if v_state in BILL_HEAD and sim.cash.validator.escrow is not None:
            return "bill_escrow"
        if v_state in BILL_STACKING:
            return "bill_stacking"
        got = snapshot(sim).money_in - before.money_in
        if fee and got >= fee:
            return "fee_reached"
        return "coins_partial" if got > 0 else "payment_empty"
    if screen == "issuing":
        return "issuing"
    if screen == "printing":
        out = len(snapshot(sim).pdfs - before.pdfs)
        return "printing" if out == 0 else ("printing_between" if out < copies else "collect")
    if screen in ("collect", "thanks"):
        return "collect"
    if screen.startswith("left_behind"):
        return "left_behind"
    if screen == "refunding":
        return "change_payout"
    return "other"


def _still_paying(sim: Any) -> bool:
    return any(getattr(h, "remaining", 0) for h in sim.cash.hoppers.values())


@dataclass
class Received:
    """What came out of the kiosk for the citizen between two snapshots."""

    certificates: list[str] = field(default_factory=list)  # numbers, one per printed copy
    unverified_pdfs: int = 0  # printed files that are not a valid certificate
    change: int = 0  # yen from the hoppers
    vouchers: list[tuple[str, int]] = field(default_factory=list)  # (number, yen) printed
    receipts: int = 0  # other slips (the receipt)


def received(sim: Any, before: Snapshot, after: Snapshot, trust: Path) -> Received:
    out = Received(change=after.paid_out - before.paid_out)
    for name in sorted(after.pdfs - before.pdfs):
        number = certificate_number(sim.a4.printed_dir / name, trust)
        if number is None:
            out.unverified_pdfs += 1
        else:
            out.certificates.append(number)
    for slip in sim.receipt.slips()[before.slips : after.slips]:
        refund = voucher_on(slip)
        if refund is None:
            out.receipts += 1
        else:
            out.vouchers.append(refund)
    return out


def certificate_number(pdf: Path, trust: Path) -> str | None:
    """The certificate number of a printed copy the verifier accepts (`kofu verify`)."""
    from documents.verify_cli import main

    text = io.StringIO()
    with contextlib.redirect_stdout(text), contextlib.redirect_stderr(io.StringIO()):
        code = main([str(pdf), "--trust", str(trust), "--json"])
    if code != 0:
        return None
    try:
        result = json.loads(text.getvalue())
    except json.JSONDecodeError:
        return None
    if result.get("verdict") != "VALID":
        return None
    return str(result["document"]["certificate_number"])


def voucher_on(slip: Any) -> tuple[str, int] | None:
    """(voucher number, yen) from a refund voucher's code (``KOFU-REFUND:NO:YEN``)."""
    import zxingcpp

    for code in zxingcpp.read_barcodes(slip.convert("L")):
        parts = code.text.split(":")
        if len(parts) == 3 and parts[0] == "KOFU-REFUND":
            return parts[1], int(parts[2])
    return None
