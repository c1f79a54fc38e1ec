"""`kofu bench kiosk-crash`: the kiosk host SIGKILLed at random instants of citizen sessions
and restarted, and what each citizen physically got against what they paid (issue 20).

The whole simulation runs in this process (`sim/whole.py` WholeSim: the center in its own
process, the virtual card on pcscd, cash devices on ptys, coprocessor, printers) except the
kiosk host, which runs alone in a child process (`bench/kiosk_host.py`), as on a kiosk whose
validator, hoppers and printers keep their own supply when the Pi's service dies. A scripted
citizen (`bench/crash_citizen.py`: coins; a 1000-yen bill with change; 2 copies) uses the
screen over its WebSocket and the simulators with their hands. Each session aims its kill at
one phase of the session (in turn over `TARGETS`) and kills at a random instant after the
phase is seen; the phase the kill actually fell in is what the per-phase table counts. The
host is started again as its service manager would (same config, state dir, clock) and the
citizen waits at the machine and takes whatever comes out.

Per session, from the devices alone: money in (coins taken, bills not given back), change
paid by the hoppers, vouchers printed on the receipt printer (their code's amount), valid
certificates printed on the A4 printer (`kofu verify`). ``made_whole``: every copy for the
fee, or no certificate and all the money back; ``neither``: money kept, no certificate;
``both``: certificates and money given back that paid for them; ``short``: some copies or
change missing; ``over``: more money back than paid in. ``ledger_mismatches``: sessions
whose fees in the kiosk's cash journal differ from the center's ledger rows they made;
``unprinted_vouchers``: vouchers journaled but never printed (`kofu cash report`).

    flock /tmp/kofu-pcsc.lock kofu bench kiosk-crash [--kills N] [--seed S] [--out DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.crash_books import cash_refill, cash_report, journal_since, ledger_since
from bench.crash_citizen import SCENARIOS, Citizen
from bench.crash_world import PHASES, Snapshot, phase, received, snapshot
from bench.host_process import HostProcess
from bench.screen_client import Screen, ScreenGone, ScreenTimeout

# The phases kills are aimed at, in turn; which scenarios can reach each.
TARGETS = ("before_card", "pin", "menu", "coins_partial", "bill_escrow", "bill_stacking",
           "fee_reached", "change_payout", "issuing", "printing", "printing_between",
           "collect", "left_behind")  # fmt: skip
REACHED_BY = {
    "coins_partial": ("coins", "two-copies"),
    "bill_escrow": ("bill",),
    "bill_stacking": ("bill",),
    "fee_reached": ("coins", "bill", "two-copies"),
    "change_payout": ("bill", "two-copies"),
    "printing_between": ("two-copies",),
}
# How long after the phase is first seen the kill may fall (uniform): about the phase's length.
SPREAD_S = {"before_card": 0.8, "pin": 0.4, "menu": 0.3, "coins_partial": 1.0,
            "bill_escrow": 0.02, "bill_stacking": 0.02, "fee_reached": 0.05,
            "change_payout": 0.15, "issuing": 0.3, "printing": 0.3, "printing_between": 0.2,
            "collect": 1.0, "left_behind": 4.0}  # fmt: skip
# Session timeouts of the simulated kiosk: short ends so a session does not wait for long.
TIMEOUTS = {"thanks": 1.0, "collect": 4.0, "left_behind_screen": 4.0,
            "left_behind_voice": 4.0, "left_behind_alarm": 8.0}  # fmt: skip


class KioskStuck(RuntimeError):
    """The kiosk does not come back to idle even after a restart: the run cannot go on."""


OUTCOMES = ("made_whole", "neither", "both", "short", "over")
READY_S = 60.0  # a restarted kiosk is expected at rest within this


def classify(copies: int, fee: int, kept: int, certificates: list[str]) -> str:
    """The citizen's outcome from what they kept out of pocket and the copies in hand."""
    unit = fee // copies if copies and fee else 0
    k = len(set(certificates))
    if (k == 0 and kept == 0) or (k == copies and kept == fee):
        return "made_whole"
    if k == 0:
        return "neither" if kept > 0 else "over"
    if kept < unit * k:
        return "both"
    return "short"


class Bench:
    def __init__(self, sim: Any, out: Path, rng: random.Random, trust: Path) -> None:
        from host.kiosk.config import load

        self.sim = sim
        self.out = out
        self.rng = rng
        self.trust = trust
        self.journal = load(sim.config_path).journal_path
        self.center_db = sim.state / "center" / "center.db"
        t0 = time.monotonic()
        start = sim.clock

        def clock() -> datetime | None:
            return None if start is None else start + timedelta(seconds=time.monotonic() - t0)

        self.host = HostProcess(sim.config_path, clock, out / "host.log")
        self.screen: Screen | None = None
        self.journal_seq = 0
        self.ledger_id = 0
        self.technician_restarts = 0
        self.printer_sim_restarts = 0
        self.armed = False  # this session's kill phase was seen: the kill follows
        self.loaded = {a: h.coins for a, h in sim.cash.hoppers.items()}  # coins at the start
        self.clerk_refills = 0

    async def start_host(self) -> Screen:
        await asyncio.to_thread(self.host.start)
        self.screen = await Screen.open(self.host.url, self.host.token)
        return self.screen

    async def restart_host(self) -> Screen:
        if self.screen is not None:
            await self.screen.close()
        if self.host.alive:
            await asyncio.to_thread(self.host.stop)
        return await self.start_host()

    async def stop(self) -> None:
        if self.screen is not None:
            await self.screen.close()
        await asyncio.to_thread(self.host.stop)

    async def kill_at(self, target: str, c: Citizen, before: Snapshot) -> dict[str, Any]:
        s = self.screen
        assert s is not None
        while phase(s.state, c.card_placed, c.fee, c.scenario.copies, before, self.sim) != target:
            await asyncio.sleep(0.002)
        self.armed = True
        delay = self.rng.uniform(0.0, SPREAD_S[target])
        await asyncio.sleep(delay)
        at = phase(s.state, c.card_placed, c.fee, c.scenario.copies, before, self.sim)
        screen = s.state
        self.host.kill()
        return {"target": target, "phase": at, "screen": screen, "delay_s": round(delay, 3)}

    async def ready(self) -> None:
        """The kiosk idle before the next citizen: the A4 printer simulator started again if
        avahi took it down (not the kiosk's doing), then a technician's restart of the host
        if it stays out of service; `KioskStuck` if even that does not bring it back."""
        if await asyncio.to_thread(self.sim.ensure_a4):
            self.printer_sim_restarts += 1
        await asyncio.to_thread(self.refill_hoppers)
        assert self.screen is not None
        for attempt in range(2):
            with contextlib.suppress(ScreenTimeout, ScreenGone):
                await self.screen.wait("idle", timeout=READY_S)
            if self.screen.state == "idle" and not self.screen.closed.is_set():
                return
            if attempt == 0:
                self.technician_restarts += 1
                await self.restart_host()
        raise KioskStuck(f"kiosk not idle after a restart: {self.screen.state}")

    def refill_hoppers(self) -> None:
        """A clerk tops up a hopper that ran below 40% of its load (refunds in coins drain
        the 500-yen one in a long run) and journals it (`kofu cash refill`)."""
        for address, hopper in self.sim.cash.hoppers.items():
            with self.sim.cash.lock:
                coins = self.loaded[address] - hopper.coins
                if hopper.coins >= 0.4 * self.loaded[address]:
                    continue
                hopper.coins += coins
            cash_refill(self.journal, address, hopper.value, coins)
            self.clerk_refills += 1

    async def session(self, index: int, target: str | None) -> dict[str, Any]:
        if target is None:  # control sessions: each scenario in turn
            scenario = list(SCENARIOS.values())[index % len(SCENARIOS)]
        else:
            scenario = SCENARIOS[self.rng.choice(REACHED_BY.get(target, tuple(SCENARIOS)))]
        c = Citizen(self.sim, scenario, self.rng, walk_away=target == "left_behind")
        rec: dict[str, Any] = {"session": index, "scenario": scenario.name, "target": target}
        assert self.screen is not None
        before = snapshot(self.sim)
        t0 = time.monotonic()
        script = asyncio.create_task(c.session(self.screen))
        killer = asyncio.create_task(self.kill_at(target, c, before)) if target else None
        waiting = {script, killer} if killer else {script}
        self.armed = False
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if killer is not None and self.armed and not killer.done():
            # The script ended inside the kill's spread (the end of collect): the citizen is
            # still at the machine and the kill still falls.
            await asyncio.wait({killer})
        kill = None
        if killer is not None and killer.done() and not killer.cancelled():
            kill = killer.result()
        elif killer is not None:
            killer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await killer
        if kill is not None:
            script.cancel()
        try:
            await script
        except asyncio.CancelledError:
            pass
        except ScreenGone:
            if kill is None:
                rec["script_error"] = "the host went away by itself"
        except Exception as exc:  # the kiosk did not do what the citizen expected
            rec["script_error"] = f"{type(exc).__name__}: {exc}"
        rec["kill"] = kill
        rec["fee"] = c.fee
        if kill is not None:
            if c.coins_left and self.rng.random() < 0.5:
                await c.drop_rest_while_down()  # the citizen did not notice
            down = self.rng.uniform(0.5, 3.0)
            await asyncio.sleep(down)
            rec["down_s"] = round(down, 2)
            rec["coins_dropped_while_down"] = c.coins_dropped_while_down
        if kill is not None or not self.host.alive:
            await self.restart_host()  # as its service manager does
        assert self.screen is not None
        rec["after"] = await c.settle(self.screen)
        if self.screen.state != "idle":
            rec["not_idle_after"] = self.screen.state
        after = snapshot(self.sim)
        rec["seconds"] = round(time.monotonic() - t0, 2)
        self.account(rec, c, before, after)
        return rec

    def account(self, rec: dict[str, Any], c: Citizen, before: Snapshot, after: Snapshot) -> None:
        got = received(self.sim, before, after, self.trust)
        paid = after.money_in - before.money_in
        vouchers = sum(yen for _, yen in got.vouchers)
        kept = paid - got.change - vouchers
        fee = c.fee  # 0 when the fee was never shown: then no certificate can come out
        j = journal_since(self.journal, self.journal_seq)
        led = ledger_since(self.center_db, self.ledger_id)
        self.journal_seq, self.ledger_id = j.last_seq, led.last_id
        rec.update(
            copies=c.scenario.copies,
            paid=paid,
            change=got.change,
            vouchers_printed=got.vouchers,
            certificates=got.certificates,
            duplicate_copies=len(got.certificates) - len(set(got.certificates)),
            unverified_pdfs=got.unverified_pdfs,
            kept=kept,
            outcome=classify(c.scenario.copies, fee, kept, got.certificates),
            journal_fees=j.fees,
            ledger_fees=led.fees,
            ledger_mismatch=j.fees != led.fees,
            journal_unprinted_vouchers=j.unprinted,
            journal_txs=sorted(j.txs),
        )


def summarise(records: list[dict[str, Any]], report_rc: int, report: dict[str, Any],
              bench: Bench, seconds: float) -> dict[str, Any]:  # fmt: skip
    outcomes = Counter(r["outcome"] for r in records)
    per_phase: dict[str, dict[str, int]] = {}
    for r in records:
        key = r["kill"]["phase"] if r.get("kill") else "no_kill"
        row = per_phase.setdefault(key, {"sessions": 0, **dict.fromkeys(OUTCOMES, 0),
                                         "ledger_mismatches": 0, "unprinted_vouchers": 0})
        row["sessions"] += 1
        row[r["outcome"]] += 1
        row["ledger_mismatches"] += int(r["ledger_mismatch"])
        row["unprinted_vouchers"] += len(r["journal_unprinted_vouchers"])
    order = {p: i for i, p in enumerate((*PHASES, "no_kill"))}
    unprinted = report.get("unprinted_vouchers")
    return {
        "sessions": len(records),
        "kills": sum(1 for r in records if r.get("kill")),
        "made_whole": outcomes["made_whole"],
        "neither": outcomes["neither"],
        "both": outcomes["both"],
        "short": outcomes["short"],
        "over": outcomes["over"],
        "unprinted_vouchers": len(unprinted) if isinstance(unprinted, list) else -1,
        "ledger_mismatches": sum(1 for r in records if r["ledger_mismatch"]),
        "cash_report_exit": report_rc,
        "cash_report_balanced": report.get("balanced"),
        "script_errors": sum(1 for r in records if r.get("script_error")),
        "technician_restarts": bench.technician_restarts,
        "printer_sim_restarts": bench.printer_sim_restarts,
        "clerk_refills": bench.clerk_refills,
        "host_starts": bench.host.starts,
        "per_phase": dict(sorted(per_phase.items(), key=lambda kv: order.get(kv[0], 99))),
        "seconds": round(seconds, 1),
    }


async def _run(sim: Any, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    from sim.scripts.runner import write_trust

    rng = random.Random(args.seed)
    t_start = time.monotonic()
    trust = await asyncio.to_thread(write_trust, sim, out / "trust.json")
    bench = Bench(sim, out, rng, trust)
    records: list[dict[str, Any]] = []
    aborted = ""
    log = (out / "sessions.jsonl").open("w", encoding="utf-8")
    try:
        await bench.start_host()
        await bench.screen.wait("idle", timeout=READY_S)  # type: ignore[union-attr]
        bench.journal_seq = journal_since(bench.journal, 0).last_seq
        bench.ledger_id = ledger_since(bench.center_db, 0).last_id
        kills = 0
        sessions = args.kills if args.kills else args.sessions
        limit = 2 * sessions + 5  # a target not reached leaves a session without a kill
        index = 0
        while index < limit and (kills < args.kills if args.kills else index < sessions):
            try:
                await bench.ready()
            except KioskStuck as exc:
                aborted = str(exc)
                break
            target = TARGETS[kills % len(TARGETS)] if args.kills else None
            rec = await bench.session(index, target)
            kills += int(bool(rec.get("kill")))
            records.append(rec)
            log.write(json.dumps(rec, ensure_ascii=False) + "\n")
            log.flush()
            if not args.quiet:
                k = rec.get("kill") or {}
                print(f"session {index} {rec['scenario']:<10} kill {k.get('phase', '-'):<16} "
                      f"paid {rec['paid']:>5} kept {rec['kept']:>5} certs "
                      f"{len(rec['certificates'])}/{rec['copies']} -> {rec['outcome']}"
                      f"{' LEDGER' if rec['ledger_mismatch'] else ''}", flush=True)  # fmt: skip
            index += 1
    finally:
        log.close()
        await bench.stop()
    rc, report = await asyncio.to_thread(cash_report, bench.journal)
    figures = summarise(records, rc, report, bench, time.monotonic() - t_start)
    if aborted:
        figures["aborted"] = aborted
    return figures


def run_on(sim: Any, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """The bench on a running simulation (started with `TIMEOUTS`); records land in ``out``."""
    return asyncio.run(_run(sim, args, out))


def run(args: argparse.Namespace) -> dict[str, Any]:
    from host.session.hours import next_opening
    from sim.whole import WholeSim

    with contextlib.ExitStack() as stack:
        out = Path(args.out) if args.out else Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="kofu-bench-crash-")))  # fmt: skip
        out.mkdir(parents=True, exist_ok=True)
        state = Path(args.state) if args.state else out / "sim-state"
        # The service morning of the next open day: hours to spare for a long run.
        clock = next_opening(datetime.now(UTC))
        sim = stack.enter_context(WholeSim(state, clock=clock, timeouts=dict(TIMEOUTS)))
        figures = run_on(sim, args, out)
        if args.out:
            figures["out"] = str(out)
        return figures


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kofu bench kiosk-crash", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=200, help="kills (one per session)")
    parser.add_argument("--sessions", type=int, default=3,
                        help="with --kills 0: sessions without a kill (the harness's control)")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--out", help="keep the per-session records (sessions.jsonl) and logs")
    parser.add_argument("--state", help="simulation state dir (default: under --out or temp)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only the JSON line")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = options(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop every simulator and the host on SIGTERM
    figures = run(args)
    print(json.dumps(figures, ensure_ascii=False), flush=True)
    return 0
