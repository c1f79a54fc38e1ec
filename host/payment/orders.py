"""What each paid order still owes the citizen, from the cash journal alone.

A transaction that captured a fee for a center order (``tx_ref`` ``order``) is finished when
every certificate it paid for came out (``order`` steps ``printed``), when its fee was given
back (``fee_refunded``), or when start-up recovery settled it (``order`` step ``settled``).
Anything else is unfinished: the host died mid-session, or a copy waits for a clerk's reprint.
`host/kiosk/recovery.py` finishes them at start; `kofu cash report` lists them as open items.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .journal import Journal


@dataclass
class Unfinished:
    """A transaction whose captured fee has bought nothing settled yet."""

    tx: str
    fee: int
    order: str = ""
    key: str = ""  # "": the center was never asked to issue
    lang: str = "ja"
    certificates: tuple[str, ...] = ()
    printed: set[str] = field(default_factory=set)
    started: float = 0.0  # journal time of the payment's start


def unfinished(journal: Journal) -> list[Unfinished]:
    """Transactions that captured a fee for a center order and were neither settled nor
    refunded, from the journal alone."""
    found: dict[str, Unfinished] = {}
    orders: dict[str, str] = {}
    captured: dict[str, int] = {}
    done: set[str] = set()
    for e in journal.entries():
        if e.tx is None:
            continue
        if e.kind == "tx_ref" and e.detail.get("order"):
            orders[e.tx] = str(e.detail["order"])
            found.setdefault(e.tx, Unfinished(e.tx, 0, started=e.ts))
            if e.detail.get("certificates"):
                u = found.setdefault(e.tx, Unfinished(e.tx, 0))
                u.certificates = tuple(str(n) for n in e.detail["certificates"])
        elif e.kind == "fee_captured":
            captured[e.tx] = captured.get(e.tx, 0) + e.amount
        elif e.kind == "fee_refunded" and e.detail.get("refunds"):
            done.add(str(e.detail["refunds"]))
        elif e.kind == "order":
            u = found.setdefault(e.tx, Unfinished(e.tx, 0))
            step = e.detail.get("step")
            if step == "paying":
                u.key = str(e.detail.get("key", ""))
                u.lang = str(e.detail.get("lang", "ja"))
            elif step == "printed":
                u.printed.add(str(e.detail.get("certificate")))
            elif step == "settled":
                done.add(e.tx)
    out = []
    for tx, order in orders.items():
        if tx in done or captured.get(tx, 0) <= 0:
            continue
        u = found.get(tx, Unfinished(tx, 0))
        u.order, u.fee = order, captured[tx]
        if u.certificates and set(u.certificates) <= u.printed:
            continue  # every copy came out: nothing owed (the session ended normally)
        out.append(u)
    return out


def settled(journal: Journal) -> list[dict[str, object]]:
    """Sessions start-up recovery finished: transaction, order and outcome."""
    orders = {e.tx: e.detail.get("order") for e in journal.entries() if e.kind == "tx_ref"}
    return [
        {"tx": e.tx, "order": orders.get(e.tx), "outcome": e.detail.get("outcome")}
        for e in journal.entries()
        if e.kind == "order" and e.detail.get("step") == "settled"
    ]


def paying_transaction(journal: Journal, number: str) -> str | None:
    """The transaction that paid for certificate ``number`` (its ``tx_ref``), if any."""
    for e in journal.entries():
        if e.kind == "tx_ref" and number in (e.detail.get("certificates") or ()):
            return e.tx
    return None
