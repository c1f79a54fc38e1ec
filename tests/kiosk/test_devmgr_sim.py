"""The device manager on the whole simulation (`sim.whole.WholeSim`: the real center over
mutual TLS, the virtual card on pcscd, ippeveprinter, the coprocessor, the receipt sink),
with the kiosk service in this process and its cash devices on ptys of a `CashSim` of the
test's own behind udev-like symlinks, so a test can unplug them and plug new ones in.

Each test makes a part unusable the way it fails on a kiosk and checks that the session goes
out of service naming the part (screen view, ``GET /health``, the center's record), then that
it comes back by itself once the part is fixed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from center.admin_ops import kiosk_health
from center.config import default_db_url
from center.db import make_engine, session_factory
from host.kiosk.center_client import tls_context
from host.kiosk.config import HealthConfig, KioskConfig, load
from host.kiosk.routes import add_service_routes
from host.kiosk.service import KioskService
from host.kiosk_cli import _no_lifespan
from host.session.events import Device
from host.session.states import State
from host.ui.server import create_app
from sim.panel.routes import add_panel
from sim.screen.dev_routes import add_dev_routes
from sim.voice import RecordingVoice
from tests.clock import service_morning

pytestmark = pytest.mark.skipif(
    shutil.which("pcscd") is None or shutil.which("ippeveprinter") is None,
    reason="needs pcscd and ippeveprinter",
)

HOPPERS = {3: (10, 200), 4: (100, 200), 5: (500, 50)}  # as in sim/whole.py's kiosk.toml


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from sim.whole import WholeSim

    with WholeSim(tmp_path_factory.mktemp("devmgr") / "sim", clock=service_morning()) as whole:
        yield whole


class CashPlug:
    """The cash devices on their own ptys, reached through symlinks (like /dev/kofu-*)."""

    def __init__(self, where: Path) -> None:
        self.cctalk = where / "kofu-cctalk"
        self.id003 = where / "kofu-id003"
        self.sim: Any = None

    def plug(self) -> None:
        from sim.cash.server import CashSim

        self.sim = CashSim(hoppers=HOPPERS).start()
        for link, target in (
            (self.cctalk, self.sim.cctalk_path),
            (self.id003, self.sim.id003_path),
        ):
            link.unlink(missing_ok=True)
            link.symlink_to(target)

    def unplug(self) -> None:
        self.cctalk.unlink(missing_ok=True)
        self.id003.unlink(missing_ok=True)
        if self.sim is not None:
            self.sim.stop()
            self.sim = None


@pytest.fixture
def cash(tmp_path: Path) -> Iterator[CashPlug]:
    plug = CashPlug(tmp_path)
    plug.plug()
    yield plug
    plug.unplug()


def config(sim: Any, tmp_path: Path, cash: CashPlug, **timeouts: float) -> KioskConfig:
    cfg = load(sim.config_path)
    session = cfg.session
    if timeouts:
        t = dict(session.timeouts)
        t.update({State(k): v for k, v in timeouts.items()})
        session = dataclasses.replace(session, timeouts=t)
    return dataclasses.replace(
        cfg,
        session=session,
        cash=dataclasses.replace(
            cfg.cash, cctalk_port=str(cash.cctalk), id003_port=str(cash.id003)
        ),
        health=HealthConfig(poll_s=0.2, restart_first_s=0.2, restart_max_s=1.0, report_s=0.5),
        spool_dir=tmp_path / "spool",
        cash_journal=tmp_path / "cash-journal.db",
    )


async def until(what: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {what}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def kiosk_http(service: KioskService, sim: Any) -> Any:
    assert service.kiosk is not None
    app = create_app(service.kiosk, "t" * 32)
    app.router.lifespan_context = _no_lifespan
    add_dev_routes(app, service.kiosk)
    add_panel(app, sim, service)
    add_service_routes(app, service)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kiosk") as http:
        yield http


def center_record(sim: Any) -> dict[str, Any]:
    engine = make_engine(default_db_url(sim.state / "center"))
    try:
        with session_factory(engine)() as db:
            rows = kiosk_health(db)
    finally:
        engine.dispose()
    return next(r for r in rows if r["kiosk"] == "demo-kiosk")


def in_state(service: KioskService, *states: State) -> Callable[[], bool]:
    return lambda: service.kiosk is not None and service.kiosk.state in states


def test_link_lost_and_back_health_endpoint_and_center_report(
    sim: Any, cash: CashPlug, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with (
            sim.kiosk_service(config(sim, tmp_path, cash)) as service,
            kiosk_http(service, sim) as http,
        ):
            await until(in_state(service, State.IDLE))
            r = await http.get("/health")
            body = r.json()
            assert r.status_code == 200 and body["ready"] is True and body["state"] == "idle"
            assert set(body["devices"]) == {d.value for d in Device}
            await until(lambda: center_record(sim)["ready"] is True)

            await asyncio.to_thread(sim.coproc.unplug)
            await until(in_state(service, State.OUT_OF_SERVICE))
            assert service.kiosk is not None
            assert service.kiosk.hub.last["faults"] == ["coprocessor"]
            r = await http.get("/health")
            link = r.json()["devices"]["coprocessor"]
            assert r.status_code == 503 and link["ok"] is False and link["reason"]
            await until(lambda: "coprocessor" in center_record(sim)["unusable"])
            assert center_record(sim)["ready"] is False

            await asyncio.to_thread(sim.coproc.plug)
            await until(in_state(service, State.IDLE), 30)
            assert (await http.get("/health")).status_code == 200
            await until(lambda: center_record(sim)["ready"] is True)

    try:
        asyncio.run(scenario())
    finally:
        sim.coproc.plug()


def test_a4_paper_out_and_printer_offline_polled_over_ipp(
    sim: Any, cash: CashPlug, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with sim.kiosk_service(config(sim, tmp_path, cash)) as service:
            assert service.kiosk is not None
            await until(in_state(service, State.IDLE))
            await asyncio.to_thread(sim.a4.set_tray, 0)
            await until(in_state(service, State.OUT_OF_SERVICE))
            assert service.kiosk.hub.last["faults"] == ["paper"]
            assert service.board.devices[Device.PAPER].reason == "media-empty"
            # ippeveprinter keeps media-empty until serviced (a restart, same URI)
            await asyncio.to_thread(sim.a4.service)
            await until(in_state(service, State.IDLE))

            await asyncio.to_thread(sim.a4._terminate)  # the printer switched off
            await until(in_state(service, State.OUT_OF_SERVICE))
            assert service.kiosk.hub.last["faults"] == ["printer"]
            assert service.board.devices[Device.PRINTER].reason == "offline"
            await asyncio.to_thread(sim.a4.start)
            await until(in_state(service, State.IDLE))

    try:
        asyncio.run(scenario())
    finally:
        if sim.a4._proc is None:
            sim.a4.start()


def test_cash_ports_unplugged_then_new_devices_plugged_in(
    sim: Any, cash: CashPlug, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with sim.kiosk_service(config(sim, tmp_path, cash)) as service:
            assert service.kiosk is not None and service.manager is not None
            await until(in_state(service, State.IDLE))
            first_desk = service.desk
            assert service.payment is not None and service.payment.desk is first_desk

            await asyncio.to_thread(cash.unplug)
            await until(in_state(service, State.OUT_OF_SERVICE))
            faults = set(service.kiosk.hub.last["faults"])
            assert {"coin_acceptor", "bill_validator", "change"} <= faults
            unit = service.manager.unit("cash")
            await until(lambda: unit.failures >= 3)  # restarts keep failing while unplugged
            assert "start failed" in service.board.devices[Device.COIN_ACCEPTOR].reason

            await asyncio.to_thread(cash.plug)
            await until(in_state(service, State.IDLE))
            assert unit.restarts == 1 and unit.failures == 0
            assert service.desk is not first_desk and service.payment.desk is service.desk

    asyncio.run(scenario())


def test_wipe_releases_card_and_ends_center_session_voice_recorded(
    sim: Any, cash: CashPlug, tmp_path: Path
) -> None:
    from sim.scripts.runner import Person, Result

    cfg = config(sim, tmp_path, cash, left_behind_screen=0.5)

    async def scenario() -> None:
        async with (
            sim.kiosk_service(cfg) as service,
            kiosk_http(service, sim) as http,
        ):
            assert service.card is not None and service.center is not None
            voice = service.voice
            assert isinstance(voice, RecordingVoice)  # WholeSim.kiosk_service gives a recorder
            person = Person(sim, service, Result("wipe"))
            await person.login()
            token = service.center._token
            assert token and service.card._session is not None
            await person.touch("cancel")
            await person.wait(State.LEFT_BEHIND_SCREEN)
            await until(lambda: service.wipes == 1)
            assert service.card._session is None  # the reader is released
            with httpx.Client(
                base_url=cfg.center.url, verify=tls_context(cfg.center), timeout=10
            ) as center:
                r = center.get("/v1/session/menu", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401  # the center session is over

            await person.wait(State.LEFT_BEHIND_VOICE)
            await until(lambda: "take_card" in voice.prompts())
            played = (await http.get("/sim/voice")).json()
            names = [p["prompt"] for p in played]
            # a step's prompt may be cut short by the next step's before it starts
            assert names.index("place_card") < names.index("enter_pin")
            assert played[-1]["prompt"] == "take_card"

            await person.lift_card()
            await person.wait(State.IDLE)
            await person.start_session("one-try-left")  # a second card, read at once
            await person.wait(State.PIN, timeout=20)
            assert person.view["tries_left"] == 1

    asyncio.run(scenario())
