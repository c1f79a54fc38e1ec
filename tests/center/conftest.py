"""Fixtures for the center's tests: one state directory (TLS material, demo JPKI cards), a
real PostgreSQL, and a running center (2 worker processes) per database backend."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from center import demo, softhsm
from center.atrest import attach
from center.db import make_engine
from center.keystore import KeyStore
from center.launch import RunningCenter
from center.pgtemp import TempPostgres
from center.pki import CenterPki

BACKENDS = ("sqlite", "postgresql")


@dataclass
class Live:
    backend: str
    url: str
    state: Path
    db_url: str
    engine: Engine
    day: date  # the center's (shifted) today in Japan
    output: list[str]  # everything the center printed or logged so far


@pytest.fixture(scope="session")
def center_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("center-state")
    CenterPki(state).ensure()
    demo.ensure_pki(state)
    return state


@pytest.fixture(scope="session")
def postgres() -> Iterator[TempPostgres]:
    with TempPostgres() as pg:
        yield pg


def _db_url(backend: str, state: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{state / 'live-sqlite.db'}"
    pg: TempPostgres = request.getfixturevalue("postgres")
    return pg.url


@pytest.fixture(scope="session", params=BACKENDS)
def live(request: pytest.FixtureRequest, center_state: Path) -> Iterator[Live]:
    backend = str(request.param)
    db_url = _db_url(backend, center_state, request)
    clock = demo.service_morning()
    with RunningCenter(center_state, "--clock", clock.isoformat(), workers=2, db=db_url) as run:
        # the running center's token (center/softhsm.py): sealed columns open through it
        engine = attach(make_engine(db_url), KeyStore(softhsm.settings(center_state)))
        try:
            yield Live(backend, run.url, center_state, db_url, engine, clock.date(), run.output)
        finally:
            engine.dispose()
