"""The ``[session]`` table of kiosk.toml -> :class:`SessionConfig`, with typed errors.

    [session]
    max_copies = 10
    languages = ["ja", "en", "zh", "ko", "pt", "es", "vi"]
    [session.timeouts]          # seconds, by state name; the rest keep their defaults
    payment = 120
    [[session.maintenance]]     # times need a UTC offset
    start = 2026-12-06T01:00:00+09:00
    end = 2026-12-06T05:00:00+09:00

29 December to 3 January is always closed and needs no entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .hours import MaintenanceWindow
from .machine import LANGUAGES, SessionConfig
from .states import DEFAULT_TIMEOUTS, State


class ConfigError(ValueError):
    """A bad [session] setting; the message names the key."""


def session_config(table: dict[str, Any] | None) -> SessionConfig:
    table = dict(table or {})
    known = {"max_copies", "languages", "timeouts", "maintenance"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"session: unknown keys {unknown}")

    max_copies = table.get("max_copies", 10)
    if isinstance(max_copies, bool) or not isinstance(max_copies, int) or not 1 <= max_copies <= 99:
        raise ConfigError("session.max_copies: an integer from 1 to 99")

    languages = table.get("languages", list(LANGUAGES))
    if (
        not isinstance(languages, list)
        or not languages
        or languages[0] != "ja"
        or any(lang not in LANGUAGES for lang in languages)
    ):
        raise ConfigError(f"session.languages: 'ja' first, then any of {list(LANGUAGES)}")

    timeouts = dict(DEFAULT_TIMEOUTS)
    raw_timeouts = table.get("timeouts", {})
    if not isinstance(raw_timeouts, dict):
        raise ConfigError("session.timeouts: a table of state = seconds")
    for name, seconds in raw_timeouts.items():
        try:
            state = State(name)
        except ValueError:
            raise ConfigError(f"session.timeouts.{name}: no such waiting state") from None
        if state not in DEFAULT_TIMEOUTS:
            raise ConfigError(f"session.timeouts.{name}: this state does not wait")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
            raise ConfigError(f"session.timeouts.{name}: a positive number of seconds")
        timeouts[state] = float(seconds)

    windows = []
    raw_windows = table.get("maintenance", [])
    if not isinstance(raw_windows, list):
        raise ConfigError("session.maintenance: an array of tables")
    for i, w in enumerate(raw_windows):
        where = f"session.maintenance[{i}]"
        if not isinstance(w, dict) or set(w) != {"start", "end"}:
            raise ConfigError(f"{where}: needs exactly start and end")
        start, end = w["start"], w["end"]
        for key, value in (("start", start), ("end", end)):
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise ConfigError(f"{where}.{key}: a date-time with a UTC offset")
        if end <= start:
            raise ConfigError(f"{where}: end must be after start")
        windows.append(MaintenanceWindow(start, end))

    return SessionConfig(
        timeouts=timeouts,
        max_copies=max_copies,
        languages=tuple(languages),
        maintenance=tuple(windows),
    )
