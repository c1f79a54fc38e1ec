"""`kofu bench cash-crash [--transactions N] [--seed S]`: proof that no yen is lost.

Generated customers (coins, bills, change from two hoppers, cancels, walk-aways, a center
failure after payment that `CashDesk.refund_fee` gives back) are served one after another by a
cash host process (`cash_crash_host.py`) on the cash simulator's ptys. Each customer's host
is SIGKILLed at a random instant: at a journal append (before or after it is durable, in any
phase or in the refund), mid-poll, mid-escrow, mid-payout, or from outside at a random delay.
Devices lose power at random instants too: a hopper mid-payout, the validator mid-stack. Then
the host is restarted (sometimes killed again during recovery, sometimes with a hopper still
dark) until a run ends cleanly with every device powered.

Afterwards, per customer, what the simulated devices physically took in and paid out is held
against the journal and the center: credits = money taken (more is a double credit), payouts =
coins out, and what the customer got back (coins + vouchers) = what they put in minus the fee
of a certificate the center issued (less is yen lost, more is yen the kiosk gave away). At the
end every journal transaction must be closed and balanced.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.coin.id003 import Status
from host.payment.journal import Journal
from sim.cash.server import CashSim

ROOT = Path(__file__).resolve().parents[1]
HOPPERS = {3: (100, 1500), 4: (500, 600)}  # address -> (coin value, coins loaded)
REFILL_BELOW, REFILL = 200, 800
FEES = (200, 300, 300, 400, 450, 750)
BILLS = (1000, 1000, 1000, 2000, 5000, 10000)
RUN_TIMEOUT_S = 60.0


class FaultySim(CashSim):
    """The cash simulator with the validator's power cut at an instant of the stack: the
    ``stack_cut``-th ID-003 exchange once a bill is stacking (or vending)."""

    def __init__(self, hoppers: dict[int, tuple[int, int]]) -> None:
        super().__init__(hoppers)
        self.stack_cut: int | None = None
        self.validator_cuts = 0

    def _answer_id003(self, data: bytes, now: float) -> bytes:
        with self.lock:
            reply = super()._answer_id003(data, now)
            moving = self.validator.state in (Status.STACKING, Status.VEND_VALID)
            if self.stack_cut is not None and moving:
                if self.stack_cut <= 0:
                    self.stack_cut = None
                    self.validator_cuts += 1
                    self.validator_power_cut()
                else:
                    self.stack_cut -= 1
            return reply


class Zygote:
    """`cash_crash_host.py serve` as a child process: runs hosts by spec, forked."""

    def __init__(self, log: Path) -> None:
        self.log = log.open("a", encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
        )}  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.cash_crash_host"],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.log, text=True,
        )  # fmt: skip
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.runs = 0

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except json.JSONDecodeError:
                self.log.write(line)
        self.events.put(None)

    def run(self, spec: dict[str, Any], kill_after_ready: float | None = None) -> dict[str, Any]:
        """One host life. ``kill_after_ready``: SIGKILL it from here this long after it said
        it recovered (if it still runs). Returns its events merged: killed, rc, done, ..."""
        self.runs += 1
        spec = {**spec, "run": self.runs}
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.flush()
        out: dict[str, Any] = {"killed": False, "outside": False}
        deadline = time.monotonic() + RUN_TIMEOUT_S
        kill_at: float | None = None
        ready_at = 0.0
        pid = 0
        while True:
            wait = deadline - time.monotonic()
            if kill_at is not None:
                wait = min(wait, kill_at - time.monotonic())
            try:
                ev = self.events.get(timeout=max(0.0, wait))
            except queue.Empty:
                ev = {}
            if ev is None:
                raise RuntimeError(f"the cash host zygote died; see {self.log.name}")
            if ev and ev.get("run") != spec["run"]:
                continue
            kind = ev.get("event")
            if kind in ("ready", "started"):
                pid = int(ev["pid"])
                if kind == "ready":
                    ready_at = time.monotonic()
                    if kill_after_ready is not None:
                        kill_at = ready_at + kill_after_ready
            elif kind in ("done", "error"):
                out.update(ev)
            elif kind == "exit":
                out["rc"], out["killed"] = ev["rc"], ev["killed"] or out["killed"]
                out["served_s"] = time.monotonic() - ready_at if ready_at else None
                return out
            now = time.monotonic()
            if pid and ((kill_at is not None and now >= kill_at) or now >= deadline):
                out["outside"] = now < deadline  # a hung run is killed too, and said so
                out["hung"] = now >= deadline
                kill_at = None
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


@dataclass
class Customer:
    """One generated transaction and what is done to it."""

    index: int
    fee: int
    coins: list[int]
    bills: list[int]
    behaviour: str  # pay | cancel | walkaway
    center_fails: bool = False
    cancel_at: int = 0
    kill: dict[str, Any] | None = None
    kill_after_ready: float | None = None  # SIGKILL from outside instead, at this fraction
    # of how long a customer's run lasts after its recovery (the bench's running average)
    hopper_cut: tuple[int, int] | None = None  # (address, coins before the power fails)
    stack_cut: int | None = None
    kill_recovery: int | None = None  # the first restart dies at this append of recovery
    late_coin: int | None = None  # a coin dropped while the host is dead
    dark_restart: bool = False  # restart once with a cut hopper still dark


def money(rng: random.Random, fee: int) -> tuple[list[int], list[int]]:
    """What a customer brings for ``fee``: coins, a bill, or coins and a bill, always with
    change the hoppers (100 and 500 yen) can make, as a customer reading the screen would."""
    odd = [50] if fee % 100 else []  # a 450-yen fee: the 50 goes in first
    style = rng.choice(("coins", "coins", "bill", "bill", "mixed"))
    if style == "bill":
        return odd, [rng.choice(BILLS)]
    if style == "mixed":
        return odd or [100], [1000]
    while True:
        coins = list(odd)
        while sum(coins) < fee:
            coins.append(rng.choice((100, 100, 100, 500, 10)))
        if (sum(coins) - fee) % 100 == 0:
            return coins, []


def customer(rng: random.Random, index: int) -> Customer:
    fee = rng.choice(FEES)
    coins, bills = money(rng, fee)
    roll = rng.random()
    behaviour = "pay" if roll < 0.72 else "cancel" if roll < 0.86 else "walkaway"
    c = Customer(index, fee, coins, bills, behaviour)
    if behaviour == "pay":
        c.center_fails = rng.random() < 0.25
    elif behaviour == "cancel":
        c.cancel_at = rng.choice((1, fee // 2, fee))
    else:  # walks away with part of the fee in
        c.coins, c.bills = [100] * rng.randint(0, max(0, fee // 100 - 1)), []
    brought = sum(c.coins) + sum(c.bills)
    back = brought if behaviour != "pay" or c.center_fails else brought - fee
    # Roughly how many journal appends the customer's run makes, so that the kill point
    # drawn among them is reached in most transactions.
    appends = 3 + len(c.coins) + 2 * len(c.bills) + (2 if back else 0)
    if behaviour == "pay":
        appends += 2 + (4 if c.center_fails else 2)
    options = ["journal"] * 4 + ["outside"] * 2 + ["poll"]
    if c.bills:
        options += ["escrow"]
    if back:
        options += ["payout"] * 2
    if c.center_fails:
        options += ["refund"] * 2
    at = rng.choice(options)
    when = rng.choice(("before", "after"))
    if at == "journal":
        c.kill = {"at": "journal", "n": rng.randint(1, appends), "when": when,
                  "phase": "customer"}  # fmt: skip
    elif at == "refund":
        c.kill = {"at": "journal", "n": rng.randint(1, 4), "when": when, "phase": "refund"}
    elif at == "outside":
        c.kill_after_ready = rng.random()
    elif at == "poll":
        c.kill = {"at": "poll", "n": rng.randint(1, 2)}
    elif at == "escrow":
        c.kill = {"at": "escrow", "n": 1, "when": when}
    else:
        c.kill = {"at": "payout", "n": rng.randint(1, 3)}
    if back and rng.random() < 0.25:
        c.hopper_cut = (4 if back >= 500 and rng.random() < 0.5 else 3, rng.randint(0, 2))
        c.dark_restart = rng.random() < 0.5
    if c.bills and rng.random() < 0.25:
        c.stack_cut = rng.randint(0, 2)
    if rng.random() < 0.15:
        c.kill_recovery = rng.randint(1, 4)
    if rng.random() < 0.08:
        c.late_coin = rng.choice((100, 500))
    return c


@dataclass
class Books:
    """What the bench found, per customer and at the end."""

    transactions: int = 0
    kills: int = 0
    transactions_killed: int = 0  # customers whose own run was killed
    kills_by_point: dict[str, int] = field(default_factory=dict)
    planned_by_point: dict[str, int] = field(default_factory=dict)
    outside_kills: int = 0
    recovery_kills: int = 0
    power_cuts: int = 0
    hopper_cuts: int = 0
    validator_cuts: int = 0
    restarts: int = 0
    unbalanced: int = 0
    open_transactions: int = 0
    double_credits: int = 0
    uncredited_yen: int = 0
    payout_mismatches: int = 0
    yen_lost: int = 0
    yen_given_away: int = 0
    fee_mismatches: int = 0
    hung: int = 0
    errors: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def count(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1


def physical(sim: CashSim) -> tuple[int, int]:
    t = sim.totals()
    return t["coins_in"] + t["bills_in"], t["paid_out"]


def journal_window(path: Path, after: int) -> dict[str, int]:
    """Money in the journal after seq ``after``: credits, coins out, vouchers, fees kept."""
    journal = Journal(path)
    try:
        w = {"credits": 0, "paid_out": 0, "vouchers": 0, "fees": 0, "last_seq": after}
        for e in journal.entries():
            if e.seq <= after:
                continue
            w["last_seq"] = e.seq
            if e.kind == "credit":
                w["credits"] += e.amount
            elif e.kind in ("change_paid", "refund_paid"):
                w["paid_out"] += e.amount
            elif e.kind == "voucher":
                w["vouchers"] += e.amount
            elif e.kind == "fee_captured":
                w["fees"] += e.amount
            elif e.kind == "fee_refunded":
                w["fees"] -= e.amount
        return w
    finally:
        journal.close()


def entries_after(path: Path, after: int) -> list[str]:
    """The journal after seq ``after`` in short (kind, yen, tx prefix, detail), for a finding."""
    journal = Journal(path)
    try:
        return [
            f"{e.seq} {e.kind} {e.amount} {(e.tx or '-')[:13]} {e.device or ''} "
            + json.dumps(e.detail, sort_keys=True)
            for e in journal.entries()
            if e.seq > after
        ]
    finally:
        journal.close()


def issued(center: Path, order: str) -> bool:
    if not center.exists():
        return False
    records = [json.loads(line) for line in center.read_text().splitlines()]
    return any(r.get("order") == order and r.get("issued") for r in records)


class Bench:
    def __init__(self, work: Path, seed: int) -> None:
        self.work = work
        self.rng = random.Random(seed)
        self.seed = seed
        self.journal = work / "cash.db"
        self.center = work / "center.jsonl"
        self.sim = FaultySim(HOPPERS).start()
        self.zygote = Zygote(work / "host.log")
        self.books = Books()
        # How long a customer's run lasts after its recovery, per kind of customer (running
        # averages): an outside kill lands at a random instant within it.
        self.served_s: dict[tuple[str, bool, bool], float] = {}
        self.base: dict[str, Any] = {
            "journal": str(self.journal),
            "center": str(self.center),
            "cctalk": self.sim.cctalk_path,
            "id003": self.sim.id003_path,
            "hoppers": [[a, v, c] for a, (v, c) in HOPPERS.items()],
            "collect_timeout": 0.3,
        }

    def close(self) -> None:
        self.zygote.close()
        self.sim.stop()

    def host(self, spec: dict[str, Any], kill_after_ready: float | None = None) -> dict[str, Any]:
        out = self.zygote.run({**self.base, **spec}, kill_after_ready)
        b = self.books
        if out.get("hung"):
            b.hung += 1
        elif out["rc"] not in (0, -signal.SIGKILL):
            b.errors += 1
            b.findings.append({"error": out.get("error", out["rc"]), "spec": spec})
        return out

    def refill(self) -> None:
        """A clerk tops up a low hopper between customers (`kofu cash refill`'s entry)."""
        for addr, hopper in self.sim.hoppers.items():
            if hopper.coins < REFILL_BELOW:
                with self.sim.lock:
                    hopper.coins += REFILL
                journal = Journal(self.journal)
                journal.append("refill", device=f"hopper{addr}", amount=REFILL * hopper.value,
                               coins=REFILL, clerk="bench")  # fmt: skip
                journal.close()

    def leave(self) -> None:
        """The customer takes back what the machine never took (coins and bills in hand)."""
        with self.sim.lock:
            self.sim.acceptor.queued.clear()
            self.sim.validator.bills.clear()

    def serve(self, c: Customer) -> None:
        sim, b = self.sim, self.books
        self.refill()
        start_seq = journal_window(self.journal, 0)["last_seq"] if self.journal.exists() else 0
        in0, out0 = physical(sim)
        order = f"o{self.seed}-{c.index}"
        with sim.lock:
            sim.acceptor.queued.extend((v, "genuine") for v in c.coins)
            if c.hopper_cut is not None:
                sim.hoppers[c.hopper_cut[0]].cut_after = c.hopper_cut[1]
            sim.stack_cut = c.stack_cut
        for bill in c.bills:
            sim.insert_bill(bill)
        spec = {
            "fee": c.fee,
            "order": order,
            "behaviour": c.behaviour,
            "center_fails": c.center_fails,
            "cancel_at": c.cancel_at,
            "kill": c.kill,
        }
        kind = (c.behaviour, bool(c.bills), c.center_fails)
        served = self.served_s.get(kind, 0.05)
        delay = None if c.kill_after_ready is None else c.kill_after_ready * served
        out = self.host(spec, delay)
        if not out["killed"] and out.get("served_s"):
            self.served_s[kind] = served + (out["served_s"] - served) / 4
        point = "outside" if c.kill is None else str(c.kill["at"])
        if c.kill and c.kill.get("phase") == "refund":
            point = "refund"
        b.count(b.planned_by_point, point)
        if out["killed"]:
            b.kills += 1
            b.transactions_killed += 1
            b.count(b.kills_by_point, point)
            b.outside_kills += int(out["outside"])
        b.count(b.outcomes, str(out.get("outcome", "killed" if out["killed"] else "none")))
        b.hopper_cuts += sum(not h.powered for h in sim.hoppers.values())
        self.leave()
        with sim.lock:
            sim.stack_cut = None
            for hopper in sim.hoppers.values():
                hopper.cut_after = None
        if c.late_coin is not None:
            sim.insert_coin(c.late_coin)  # taken only if the slot was left open
        self.recover(c)
        self.check(c, order, start_seq, in0, out0)

    def recover(self, c: Customer) -> None:
        """Restart until a run ends cleanly with every device powered."""
        sim, b = self.sim, self.books
        kill_recovery = c.kill_recovery
        dark = c.dark_restart
        for _ in range(8):
            cut = [h for h in sim.hoppers.values() if not h.powered]
            if cut and not dark:
                for hopper in cut:
                    sim.hopper_power_on(hopper.address)
            dark = False
            kill = None
            if kill_recovery is not None:
                kill = {"at": "journal", "n": kill_recovery, "when": "after",
                        "phase": "recovery"}  # fmt: skip
                kill_recovery = None
            b.restarts += 1
            out = self.host({"fee": 0, "kill": kill})
            if out["killed"]:
                b.kills += 1
                b.recovery_kills += 1
                continue
            if out["rc"] == 0 and all(h.powered for h in sim.hoppers.values()) and not cut:
                return

    def check(self, c: Customer, order: str, start_seq: int, in0: int, out0: int) -> None:
        b = self.books
        in1, out1 = physical(self.sim)
        took, paid = in1 - in0, out1 - out0
        w = journal_window(self.journal, start_seq)
        kept = c.fee if issued(self.center, order) else 0
        due, got = took - kept, paid + w["vouchers"]
        finding: dict[str, Any] = {}
        if w["credits"] > took:
            b.double_credits += 1
            finding["double_credit"] = w["credits"] - took
        elif w["credits"] < took:
            b.uncredited_yen += took - w["credits"]
            finding["uncredited"] = took - w["credits"]
        if w["paid_out"] != paid:
            b.payout_mismatches += 1
            finding["payout_journal_vs_hoppers"] = [w["paid_out"], paid]
        if w["fees"] != kept:
            b.fee_mismatches += 1
            finding["fees_journal_vs_center"] = [w["fees"], kept]
        if got < due:
            b.yen_lost += due - got
            finding["lost"] = due - got
        elif got > due:
            b.yen_given_away += got - due
            finding["given_away"] = got - due
        if finding:
            finding.update(customer=c.__dict__, took=took, paid=paid, journal=w, kept=kept)
            finding["entries"] = entries_after(self.journal, start_seq)
            b.findings.append(finding)

    def finish(self) -> None:
        b = self.books
        journal = Journal(self.journal)
        try:
            for bal in journal.balances().values():
                if not bal.closed:
                    b.open_transactions += 1
                if not (bal.closed and bal.balanced):
                    b.unbalanced += 1
                    b.findings.append({"unbalanced": bal.__dict__})
            entries = list(journal.entries())
        finally:
            journal.close()
        credited = sum(e.amount for e in entries if e.kind == "credit")
        paid_out = sum(e.amount for e in entries if e.kind in ("change_paid", "refund_paid"))
        t = self.sim.totals()
        self.totals = {"journal_in": credited, "devices_in": t["coins_in"] + t["bills_in"],
                       "journal_out": paid_out, "devices_out": t["paid_out"]}  # fmt: skip


def run_customers(customers: Iterable[Customer], seed: int, findings: int = 5) -> dict[str, Any]:
    """Serve ``customers`` one after another, each with its crashes; the bench's figures."""
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kofu-cash-crash-") as tmp:
        bench = Bench(Path(tmp), seed)
        try:
            bench.host({"fee": 0, "kill": None})  # the first start: an empty journal
            for c in customers:
                bench.serve(c)
                bench.books.transactions += 1
            bench.finish()
        finally:
            bench.close()
    b = bench.books
    b.validator_cuts = bench.sim.validator_cuts
    b.power_cuts = b.hopper_cuts + b.validator_cuts
    result: dict[str, Any] = {
        "bench": "cash-crash",
        "seed": seed,
        "transactions": b.transactions,
        "kills": b.kills,
        "transactions_killed": b.transactions_killed,
        "kills_by_point": b.kills_by_point,
        "planned_by_point": b.planned_by_point,
        "recovery_kills": b.recovery_kills,
        "power_cuts": b.power_cuts,
        "hopper_cuts": b.hopper_cuts,
        "validator_cuts": b.validator_cuts,
        "restarts": b.restarts,
        "unbalanced": b.unbalanced,
        "open_transactions": b.open_transactions,
        "double_credits": b.double_credits,
        "uncredited_yen": b.uncredited_yen,
        "payout_mismatches": b.payout_mismatches,
        "fee_mismatches": b.fee_mismatches,
        "yen_lost": b.yen_lost,
        "yen_given_away": b.yen_given_away,
        "hung": b.hung,
        "errors": b.errors,
        "outcomes": b.outcomes,
        **bench.totals,
        "wall_s": round(time.monotonic() - t0, 1),
        "findings": b.findings[:findings],
    }
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    customers = (customer(rng, i) for i in range(args.transactions))
    return run_customers(customers, args.seed, args.findings)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kofu bench cash-crash", description=__doc__.split("\n")[0])
    ap.add_argument("--transactions", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--findings", type=int, default=5, help="findings to print at most")
    result = run(ap.parse_args(argv))
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["yen_lost"] == 0 and result["unbalanced"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
