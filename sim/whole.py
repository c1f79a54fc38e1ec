"""`kofu sim` (= `make sim`): the whole simulated kiosk on loopback.

Starts the center (demo data; trusting the virtual card's test JPKI CA and CRL; the card
personas' certificates registered for demo residents), the virtual card on pcscd, the cash
devices on ptys, the coprocessor, ippeveprinter, the receipt sink, then the kiosk service
with its screen and the sim control panel; writes the kiosk.toml it uses into the state dir;
runs until Ctrl-C/SIGTERM and stops everything it started. `--script NAME --out DIR` runs one
scripted session headless instead (`sim/scripts/`). A thin wiring module: every part lives
in its own package.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import faulthandler
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from host.coproc import CoprocDriver
from host.kiosk.clerk_auth import hash_pin
from host.session.hours import TOKYO, is_open, next_opening
from host.session.pin import ClerkPin

# Which demo resident (center/demo.py) each card persona's certificate is registered for.
PERSONA_RESIDENTS = {
    "valid": "taro",
    "one-try-left": "hanako",
    "blocked": "sato",
    "expired": "foreign",
    "revoked": "wakaba",
    # one card per SPEC §3 rule and per kind of resident the center serves differently
    "foreign-resident": "foreign",
    "town-resident": "wakaba",
    "turning-15": "turning15",
    "under-15": "jiro",
    "moved-out": "movedout",
    "move-out-filed": "moveoutfiled",
    "support-measures": "support",
    "deceased": "deceased",
    "character-limit": "longaddr",
    "moved-in-today": "movedin",
    "gaiji-pending": "gaiji",
    "not-registered": "unregistered",
}
SIM_CLERK_PIN = "246810"  # the simulated kiosk's clerk PIN (never a real kiosk's)
SIM_CLERK_ID = "sim-clerk"
CARD_SLOT = 0  # vpcd slot 0 (the test suite's card tests use slot 1)
DEFAULT_STATE = Path(".sim-state")


def auto_clock(now: datetime) -> datetime | None:
    """None (the wall clock) if the kiosk is open now and an hour from now, else the next
    opening (10:00 Tokyo on an open day)."""
    if is_open(now) and is_open(now + timedelta(hours=1)):
        return None
    return next_opening(now)


def parse_now(text: str, today: date) -> datetime:
    """``--now``: an ISO instant, or ``HH:MM`` meaning that time today in Tokyo."""
    if len(text) <= 5 and ":" in text:
        hh, _, mm = text.partition(":")
        return datetime(today.year, today.month, today.day, int(hh), int(mm), tzinfo=TOKYO)
    when = datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=TOKYO)


def clock_line(clock: datetime | None) -> str:
    if clock is None:
        return "kofu sim: clock is the machine's (service 06:30-23:00 Asia/Tokyo)"
    local = clock.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
    state = "open" if is_open(clock) else "closed: the screen says so"
    return (
        f"kofu sim: clock runs from {local} Asia/Tokyo ({state}); "
        "--now real uses the machine's clock, --now HH:MM another time today"
    )


def status_line(driver: CoprocDriver) -> str:
    h = driver.health
    stats = driver.channel.stats
    link = "UP  " if h.up else "DOWN"
    peer = (
        f"{h.peer_fw} epoch {h.peer_epoch:08x} reset {h.peer_reset_cause.name.lower()}"
        if h.up and h.peer_reset_cause is not None
        else (h.refused or h.reason or "waiting")
    )
    errors = sum(v for k, v in stats.items() if k.startswith("rx_"))
    return (
        f"coproc link {link} {peer} | port {'open' if h.port_open else 'closed'} | "
        f"frames rx {stats.get('frames_rx', 0)} tx {stats.get('frames_tx', 0)} "
        f"retransmits {stats.get('retransmits', 0)} rejected {errors}"
    )


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v).__name__)


def dump_toml(tables: dict[str, dict[str, Any]]) -> str:
    out = ["# Written by `kofu sim`: every device is a simulator on loopback or a pty."]
    for name, table in tables.items():
        out.append(f"\n[{name}]")
        out.extend(f"{k} = {_toml_value(v)}" for k, v in table.items())
    return "\n".join(out) + "\n"


class WholeSim:
    """Every simulated part, started in order and stopped in reverse."""

    def __init__(
        self,
        state: Path,
        *,
        clock: datetime | None = None,
        real_clock: bool = False,
        ui_port: int = 0,
        timeouts: dict[str, float] | None = None,
    ) -> None:
        self.state = state.resolve()
        # No clock given: the wall clock while the kiosk is open (with an hour to spare), else
        # the next opening, so a simulation started at night serves like one started by day.
        # ``real_clock`` keeps the wall clock (to see the closed screen as it is now).
        self.clock = clock if clock is not None or real_clock else auto_clock(datetime.now(UTC))
        self.timeouts = dict(timeouts or {})  # [session.timeouts] of kiosk.toml, by state
        self.ui_port = ui_port
        self.stack = contextlib.ExitStack()
        self.center: Any = None
        self.card: Any = None
        self.cash: Any = None
        self.coproc: Any = None
        self.a4: Any = None
        self.receipt: Any = None
        self.config_path = self.state / "kiosk.toml"

    def start(self) -> WholeSim:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        from center.launch import RunningCenter
        from center.pki import CenterPki
        from sim.card.harness import virtual_card_on_pcscd
        from sim.card.personas import persona
        from sim.card.pki import ca_paths, export_certificate_pem
        from sim.cash.server import CashSim
        from sim.coproc import SimCoproc
        from sim.printer.escpos_sink import EscposSink
        from sim.printer.ipp_sim import IppPrinterSim
        from sim.register_cards import register_cards

        self.state.mkdir(parents=True, exist_ok=True)
        card_state = self.state / "card"
        ca = ca_paths(card_state)
        # Persona certificates first: that also creates the test JPKI CA and its CRL.
        pems = {}
        for name in PERSONA_RESIDENTS:
            pems[name] = export_certificate_pem(card_state, persona(name))
        center_state = self.state / "center"
        extra = ["--jpki-ca", str(ca.cert), "--jpki-crl", str(ca.crl)]
        if self.clock is not None:
            extra += ["--clock", self.clock.isoformat()]
        self.center_args = extra
        self.center = RunningCenter(center_state, *extra).start()
        self.stack.callback(lambda: self.center.stop())
        certs = self.state / "persona-certs"
        certs.mkdir(exist_ok=True)
        # Only cards not registered on an earlier run with this state dir.
        todo = {
            name: pem
            for name, pem in pems.items()
            if not (certs / f"{name}.pem").exists()
            or (certs / f"{name}.pem").read_text(encoding="ascii") != pem
        }
        if todo:
            register_cards(
                center_state,
                [(pem, PERSONA_RESIDENTS[name]) for name, pem in todo.items()],
                issued_on=date(2025, 1, 6),
            )
            for name, pem in todo.items():
                (certs / f"{name}.pem").write_text(pem, encoding="ascii")

        # The clerk, with the same salted hash at the kiosk and at the center (which checks
        # it again before a reprint); hashed afresh at each start.
        clerk_hash = hash_pin(ClerkPin.from_text(SIM_CLERK_PIN))
        self._admin("clerk", "add", "--id", SIM_CLERK_ID, stdin=clerk_hash + "\n")

        self.card = self.stack.enter_context(virtual_card_on_pcscd(card_state, slot=CARD_SLOT))
        self.cash = CashSim(hoppers={3: (10, 200), 4: (100, 200), 5: (500, 50)}).start()
        self.stack.callback(self.cash.stop)
        (self.state / "coproc").mkdir(exist_ok=True)
        self.coproc = SimCoproc(self.state / "coproc").start()
        self.stack.callback(self.coproc.stop)
        self._wire_inhibit_lines()
        self.a4 = self._start_a4(IppPrinterSim(self.state / "a4"))
        self.stack.callback(self.a4.stop)
        self.receipt = EscposSink(self.state / "receipts", port=0).start()
        self.stack.callback(self.receipt.stop)

        pki = CenterPki(center_state)
        kiosk_stem = pki.kiosk("demo-kiosk")
        tables: dict[str, dict[str, Any]] = {
            "kiosk": {
                "spool_dir": str(self.state / "spool"),
                "clerks": [{"id": SIM_CLERK_ID, "pin_hash": clerk_hash}],
            },
            "session": {"timeouts": self.timeouts} if self.timeouts else {},
            "cash": {
                "coins": [10, 50, 100, 500],
                "bills": [1000],
                "cctalk": {"port": self.cash.cctalk_path},
                "id003": {"port": self.cash.id003_path},
                "hoppers": [
                    {"address": 3, "value": 10, "count": 200},
                    {"address": 4, "value": 100, "count": 200},
                    {"address": 5, "value": 500, "count": 50},
                ],
                "poll_interval_s": 0.02,
                "hopper_poll_s": 0.01,
            },
            "card": {"backend": "sim", "reader": f"^Virtual PCD 00 {CARD_SLOT:02d}$"},
            "printer": {"backend": "sim", "uri": self.a4.uri},
            "receipt": {
                "backend": "sim",
                "connection": "network",
                "host": "127.0.0.1",
                "port": self.receipt.port,
            },  # fmt: skip
            "coproc": {"backend": "sim", "port": self.coproc.port},
            "center": {
                "url": self.center.url,
                "ca": str(pki.server_ca.with_suffix(".pem")),
                "cert": str(kiosk_stem.with_suffix(".pem")),
                "key": str(kiosk_stem.with_suffix(".key")),
                "retries": 1,
                "timeout_s": 5,
            },
            "ui": {
                "host": "127.0.0.1",
                "port": self.ui_port,
                "token_file": str(self.state / "screen-token"),
            },
            "voice": {"backend": "none"},  # the service gets a recorder: kiosk_service()
        }
        self.config_path.write_text(dump_toml(tables), encoding="utf-8")

    def _wire_inhibit_lines(self, every_s: float = 0.1) -> None:
        """The board's wires from the coprocessor's inhibit-all outputs to the acceptor and
        the validator: while no host is linked to the coprocessor, neither takes money."""
        stop = threading.Event()

        def follow() -> None:
            locked: bool | None = None
            while not stop.wait(every_s):
                try:
                    now = bool(self.coproc.state().get("acceptors_locked"))
                except Exception:  # the chip is rebooting: its outputs float high
                    now = True
                if now != locked:
                    self.cash.set_inhibit_lines(now)
                    locked = now

        threading.Thread(target=follow, name="sim-inhibit-lines", daemon=True).start()
        self.stack.callback(stop.set)

    @staticmethod
    def _start_a4(printer: Any, attempts: int = 3) -> Any:
        # ippeveprinter exits when avahi-daemon goes away under it, which happens when
        # another program that started avahi stops it: try again (avahi is then restarted).
        from sim.printer.ipp_sim import PrinterSimError

        for attempt in range(attempts):
            try:
                return printer.start()
            except PrinterSimError:
                if attempt == attempts - 1:
                    raise
                printer._daemons = None
                time.sleep(1.0)
        return printer

    def ensure_a4(self) -> bool:
        """Start the A4 printer simulator again (same URI) if ippeveprinter exited, as it
        does when avahi-daemon goes away under it; True if it had to. For long runs."""
        proc = getattr(self.a4, "_proc", None)
        if proc is not None and proc.poll() is None:
            return False
        self.a4._proc = None
        self.a4._daemons = None  # ensure() again: avahi is restarted if it is gone
        self._start_a4(self.a4)
        return True

    def _admin(self, *args: str, stdin: str = "") -> None:
        cmd = [sys.executable, "-c", "import sys; from host.cli import main; "
               "sys.exit(main(sys.argv[1:]))", "center", "admin", "--state",
               str(self.state / "center"), *args]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, input=stdin)
        if done.returncode != 0:
            raise RuntimeError(f"center admin {args[0]} failed: {done.stdout}{done.stderr}")

    def center_outage(self) -> None:
        """The center goes away (its process ends); `center_restore` brings it back."""
        self.center.stop()

    def center_restore(self) -> None:
        from center.launch import RunningCenter

        port = self.center.url.rsplit(":", 1)[1].split("/")[0]
        self.center = RunningCenter(
            self.state / "center", *self.center_args, "--port", port
        ).start()

    def kiosk_clock(self) -> Callable[[], datetime] | None:
        """The clock a kiosk service on this simulation runs by (None: the machine's)."""
        if self.clock is None:
            return None
        from host.kiosk.fixed_clock import running_from

        return running_from(self.clock)

    def kiosk_service(self, cfg: Any = None, clock: Any = None) -> Any:
        """A kiosk service on this simulation (not started): its config (default: the one
        written here), its clock (default: the simulation's), the voice recorded
        (`sim/voice.py`, ``GET /sim/voice``)."""
        from host.kiosk.config import load
        from host.kiosk.service import KioskService
        from sim.voice import RecordingVoice

        return KioskService(
            cfg if cfg is not None else load(self.config_path),
            clock=clock if clock is not None else self.kiosk_clock(),
            voice=RecordingVoice(),
        )

    def stop(self) -> None:
        self.stack.close()

    def __enter__(self) -> WholeSim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def serve(sim: WholeSim, stop: asyncio.Event) -> None:
    """The kiosk service with its screen (uvicorn) and the sim panel, until ``stop``."""
    import uvicorn

    from host.kiosk.config import load
    from host.kiosk.routes import add_service_routes
    from host.kiosk_cli import _no_lifespan
    from host.ui.screen_token import load_or_create
    from host.ui.server import create_app
    from sim.panel.routes import add_panel
    from sim.screen.dev_routes import add_dev_routes

    cfg = load(sim.config_path)
    service = sim.kiosk_service(cfg)
    kiosk = await service.start()
    token = load_or_create(cfg.screen_token_path)
    app = create_app(kiosk, token)
    app.router.lifespan_context = _no_lifespan
    add_dev_routes(app, kiosk)
    add_panel(app, sim, service)
    add_service_routes(app, service)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=cfg.ui.port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        print(f"kofu sim: kiosk screen http://127.0.0.1:{port}/#token={token}", flush=True)
        print(f"kofu sim: sim control panel http://127.0.0.1:{port}/sim/panel#token={token}",
              flush=True)  # fmt: skip
        print(f"kofu sim: config {sim.config_path}; Ctrl-C to stop", flush=True)
        last = ""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)
            assert service.coproc is not None
            line = status_line(service.coproc)
            if line.split("|")[0] != last.split("|")[0]:
                print(line, flush=True)
            last = line
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        await service.stop()



async def run(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    state = Path(args.state)
    real = args.now == "real"
    clock = None if real or not args.now else args.now
    if args.script:
        from sim.scripts import run_script

        return await run_script(args.script, state, Path(args.out), clock=clock, real_clock=real)
    timeouts = expand_timeouts(args.timeout)
    whole = WholeSim(state, clock=clock, real_clock=real, ui_port=args.port, timeouts=timeouts)
    print(clock_line(whole.clock), flush=True)
    sim = await asyncio.to_thread(whole.start)
    try:
        await serve(sim, stop)
    finally:
        await asyncio.to_thread(sim.stop)
    print("kofu sim: stopped", flush=True)
    # A device check still blocked in a worker thread must not keep the simulator alive
    # (asyncio.run waits for its executor): after 20 s every thread's stack goes to stderr,
    # which names the culprit, and the process ends with status 1.
    faulthandler.dump_traceback_later(20, exit=True)
    return 0


def state_timeout(text: str) -> tuple[str, float]:
    """``STATE=SECONDS`` -> (state, seconds); ``waiting`` names all citizen-waiting states."""
    from host.session.states import DEFAULT_TIMEOUTS

    name, _, value = text.partition("=")
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 86400:
        raise argparse.ArgumentTypeError(f"{text!r}: STATE=SECONDS, 0 < SECONDS < 86400")
    known = {s.value for s in DEFAULT_TIMEOUTS}
    if name != "waiting" and name not in known:
        raise argparse.ArgumentTypeError(f"{name!r}: one of waiting, {', '.join(sorted(known))}")
    return name, seconds


def expand_timeouts(pairs: list[tuple[str, float]]) -> dict[str, float]:
    """Later pairs win; ``waiting`` expands to every citizen-waiting state."""
    from host.session.states import CITIZEN_WAITING

    out: dict[str, float] = {}
    for name, seconds in pairs:
        names = sorted(s.value for s in CITIZEN_WAITING) if name == "waiting" else [name]
        out.update(dict.fromkeys(names, seconds))
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kofu sim", description=__doc__)
    parser.add_argument("--state", default=str(DEFAULT_STATE), help="state dir (%(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="screen port (0: any free)")
    parser.add_argument(
        "--now", metavar="WHEN",
        help="the kiosk's time at start: an ISO instant, HH:MM (today, Asia/Tokyo) or 'real' "
        "(the machine's clock even when closed); default: the machine's clock while the kiosk "
        "is open, else 10:00 Tokyo on the next open day",
    )  # fmt: skip
    parser.add_argument("--script", help="run one scripted session headless (sim/scripts)")
    parser.add_argument("--out", default="sim-out", help="where a script puts PDF and receipt")
    parser.add_argument(
        "--timeout", action="append", default=[], type=state_timeout, metavar="STATE=SECONDS",
        help="shorten (or lengthen) one waiting state's timeout, e.g. card=2; repeatable; "
        "'waiting=SECONDS' sets every state where the kiosk waits for the citizen",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.now and args.now != "real":
        try:
            args.now = parse_now(args.now, datetime.now(TOKYO).date())
        except ValueError as exc:
            parser.error(f"--now {args.now!r}: {exc} (an ISO instant, HH:MM or 'real')")
    if args.script and shutil.which("pcscd") is None:
        print("kofu sim: pcscd not found (Debian package pcscd)", file=sys.stderr)
        return 2
    return asyncio.run(run(args))
