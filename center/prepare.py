"""First start of a state directory and database: TLS material, schema, demo data."""

from __future__ import annotations

from pathlib import Path

from center import demo as demo_data
from center.clock import Clock
from center.config import CenterConfig
from center.db import is_empty, make_engine, migrate, session_factory
from center.pki import CenterPki


def prepare(config: CenterConfig, *, demo: bool = True) -> None:
    """Idempotent: creates what is missing, migrates the schema, seeds an empty database."""
    state = Path(config.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    CenterPki(state).ensure()
    if demo:
        demo_data.ensure_pki(state)
    engine = make_engine(config.db_url)
    try:
        empty = is_empty(engine)
        migrate(engine)
        if empty and demo:
            with session_factory(engine).begin() as db:
                demo_data.seed(db, state, Clock(config.clock_offset_s).today())
    finally:
        engine.dispose()
