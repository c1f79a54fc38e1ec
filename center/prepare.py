"""First start of a state directory and database: TLS material, schema, demo data."""

from __future__ import annotations

from pathlib import Path

from center import demo as demo_data
from center.atrest import attach
from center.clock import Clock
from center.config import CenterConfig
from center.db import is_empty, make_engine, migrate, session_factory
from center.pki import CenterPki
from center.private_files import private_file, tighten
from center.token_setup import prepare_keystore, token_settings


def prepare(config: CenterConfig, *, demo: bool = True) -> None:
    """Idempotent: creates what is missing, migrates the schema, seeds an empty database."""
    state = Path(config.state_dir)
    tighten(state)  # created 0700, or an older, looser one made private
    CenterPki(state).ensure()
    if demo:
        demo_data.ensure_pki(state)
    keys = prepare_keystore(token_settings(config), state)
    engine = attach(make_engine(config.db_url), keys)
    try:
        empty = is_empty(engine)
        migrate(engine)
        if empty and demo:
            with session_factory(engine).begin() as db:
                demo_data.seed(db, state, Clock(config.clock_offset_s).today())
    finally:
        engine.dispose()
        keys.close()
    if engine.dialect.name == "sqlite" and engine.url.database:
        private_file(Path(engine.url.database))
    tighten(state)
