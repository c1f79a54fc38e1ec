"""`kiosk.toml`: one table per part. Each device table says `backend = "real"` (settings name
the hardware: a port, a reader pattern, a printer URI) or `"sim"` (the same settings, written
by `kofu sim` for its simulators: the drivers are the same either way). Errors name the key.

``$KOFU_SPOOL_DIR`` overrides ``kiosk.spool_dir`` (systemd puts the spool on tmpfs) and
``$KOFU_CASH_JOURNAL`` the cash journal's path (default: next to the configured spool dir).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from host.kiosk.clerk_auth import Clerk, ClerkConfigError, parse_clerks
from host.payment.config import CashConfig
from host.payment.config import ConfigError as CashConfigError
from host.session.config import ConfigError as SessionConfigError
from host.session.config import session_config
from host.session.machine import SessionConfig

BACKENDS = ("real", "sim")
TABLES = (
    "session", "cash", "card", "printer", "receipt", "coproc", "center", "ui", "kiosk",
    "health", "voice",
)  # fmt: skip
VOICE_BACKENDS = ("real", "none")


class KioskConfigError(ValueError):
    """kiosk.toml is unreadable or a key is wrong; the message names the key."""


@dataclass(frozen=True)
class CardConfig:
    backend: str
    reader: str  # regular expression over PC/SC reader names
    transmit_timeout_s: float = 10.0


@dataclass(frozen=True)
class PrinterConfig:
    backend: str
    uri: str  # ipp://host:port/ipp/print


@dataclass(frozen=True)
class ReceiptConfig:
    backend: str
    settings: dict[str, Any]  # handed to drivers.printer.receipt (connection, host, port...)


@dataclass(frozen=True)
class CoprocConfig:
    backend: str
    port: str


@dataclass(frozen=True)
class CenterConfig:
    url: str
    ca: Path  # the center's server CA (PEM)
    cert: Path  # this kiosk's client certificate (PEM)
    key: Path  # its private key (PEM)
    timeout_s: float = 10.0
    retries: int = 3


@dataclass(frozen=True)
class UiConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    # The screen token (`host/ui/screen_token.py`): made there when missing. None: next to the
    # spool dir's parent (the kiosk's state).
    token_file: Path | None = None


@dataclass(frozen=True)
class HealthConfig:
    poll_s: float = 5.0  # readiness polling while idle
    restart_first_s: float = 1.0  # backoff of a unit's restarts: first wait, doubling...
    restart_max_s: float = 60.0  # ...up to this
    report_s: float = 60.0  # health report to the center (and at once on each change)


@dataclass(frozen=True)
class KioskConfig:
    session: SessionConfig
    cash: CashConfig
    card: CardConfig
    printer: PrinterConfig
    receipt: ReceiptConfig
    coproc: CoprocConfig
    center: CenterConfig
    ui: UiConfig
    spool_dir: Path
    clerks: tuple[Clerk, ...] = ()  # [[kiosk.clerks]]: id and salted scrypt hash of the PIN
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    health: HealthConfig = field(default_factory=HealthConfig)
    voice: str = "real"
    cash_journal: Path | None = None  # None: cash-journal.db next to the spool dir

    @property
    def journal_path(self) -> Path:
        return self.cash_journal or self.spool_dir.parent / "cash-journal.db"

    @property
    def screen_token_path(self) -> Path:
        return self.ui.token_file or self.journal_path.parent / "screen-token"


def _table(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name)
    if not isinstance(value, dict):
        raise KioskConfigError(f"[{name}]: missing table")
    return value


def _str(table: dict[str, Any], where: str, key: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise KioskConfigError(f"{where}.{key}: a non-empty string")
    return value


def _num(table: dict[str, Any], where: str, key: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise KioskConfigError(f"{where}.{key}: a positive number")
    return float(value)


def _backend(table: dict[str, Any], where: str) -> str:
    value = table.get("backend", "real")
    if value not in BACKENDS:
        raise KioskConfigError(f"{where}.backend: one of {', '.join(BACKENDS)}")
    return str(value)


def _path(table: dict[str, Any], where: str, key: str, base: Path) -> Path:
    p = Path(_str(table, where, key))
    return p if p.is_absolute() else base / p


def _health(raw: dict[str, Any]) -> HealthConfig:
    h_t = raw.get("health", {})
    if not isinstance(h_t, dict):
        raise KioskConfigError("[health]: a table")
    unknown = sorted(set(h_t) - {"poll_s", "restart_first_s", "restart_max_s", "report_s"})
    if unknown:
        raise KioskConfigError(f"health.{unknown[0]}: unknown key")
    d = HealthConfig()
    cfg = HealthConfig(
        _num(h_t, "health", "poll_s", d.poll_s),
        _num(h_t, "health", "restart_first_s", d.restart_first_s),
        _num(h_t, "health", "restart_max_s", d.restart_max_s),
        _num(h_t, "health", "report_s", d.report_s),
    )
    if cfg.restart_max_s < cfg.restart_first_s:
        raise KioskConfigError("health.restart_max_s: at least restart_first_s")
    return cfg


def _voice(raw: dict[str, Any]) -> str:
    v_t = raw.get("voice", {})
    if not isinstance(v_t, dict):
        raise KioskConfigError("[voice]: a table")
    backend = v_t.get("backend", "real")
    if backend not in VOICE_BACKENDS:
        raise KioskConfigError(f"voice.backend: one of {', '.join(VOICE_BACKENDS)}")
    return str(backend)


def parse(
    raw: dict[str, Any], base: Path, env: Mapping[str, str] | None = None
) -> KioskConfig:
    """Validate a parsed kiosk.toml; relative paths are relative to ``base`` (its folder).
    ``env``: the environment for the overrides (default ``os.environ``)."""
    env = os.environ if env is None else env
    unknown = sorted(set(raw) - set(TABLES))
    if unknown:
        raise KioskConfigError(f"unknown tables {unknown}")
    try:
        session = session_config(raw.get("session"))
    except SessionConfigError as exc:
        raise KioskConfigError(str(exc)) from None
    try:
        cash = CashConfig.from_dict(_table(raw, "cash"))
    except (CashConfigError, KeyError, TypeError, ValueError) as exc:
        raise KioskConfigError(f"cash: {exc}") from None

    card_t = _table(raw, "card")
    card = CardConfig(
        _backend(card_t, "card"),
        _str(card_t, "card", "reader"),
        _num(card_t, "card", "transmit_timeout_s", 10.0),
    )
    pr_t = _table(raw, "printer")
    uri = _str(pr_t, "printer", "uri")
    if not uri.startswith(("ipp://", "ipps://", "http://", "https://")):
        raise KioskConfigError("printer.uri: an ipp:// or http:// URI")
    printer = PrinterConfig(_backend(pr_t, "printer"), uri)
    rc_t = _table(raw, "receipt")
    receipt = ReceiptConfig(
        _backend(rc_t, "receipt"), {k: v for k, v in rc_t.items() if k != "backend"}
    )
    _str(rc_t, "receipt", "connection")
    co_t = _table(raw, "coproc")
    coproc = CoprocConfig(_backend(co_t, "coproc"), _str(co_t, "coproc", "port"))
    ce_t = _table(raw, "center")
    url = _str(ce_t, "center", "url")
    if not url.startswith("https://"):
        raise KioskConfigError("center.url: an https:// URL (mutual TLS)")
    retries = ce_t.get("retries", 3)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise KioskConfigError("center.retries: an integer from 0 to 10")
    center = CenterConfig(
        url,
        _path(ce_t, "center", "ca", base),
        _path(ce_t, "center", "cert", base),
        _path(ce_t, "center", "key", base),
        _num(ce_t, "center", "timeout_s", 10.0),
        retries,
    )
    ui_t = raw.get("ui", {})
    if not isinstance(ui_t, dict):
        raise KioskConfigError("[ui]: a table")
    port = ui_t.get("port", 8080)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise KioskConfigError("ui.port: an integer from 0 to 65535")
    if "sim_panel" in ui_t:
        raise KioskConfigError(
            "ui.sim_panel: the kiosk service serves no simulation panel"
            " (`kofu sim` brings its own); remove the key"
        )
    unknown_ui = sorted(set(ui_t) - {"host", "port", "token_file"})
    if unknown_ui:
        raise KioskConfigError(f"ui.{unknown_ui[0]}: unknown key")
    token_file = _path(ui_t, "ui", "token_file", base) if "token_file" in ui_t else None
    ui = UiConfig(_str(ui_t, "ui", "host", "127.0.0.1"), port, token_file)
    k_t = raw.get("kiosk", {})
    if not isinstance(k_t, dict):
        raise KioskConfigError("[kiosk]: a table")
    spool = Path(str(k_t.get("spool_dir", "spool")))
    spool = spool if spool.is_absolute() else base / spool
    journal = spool.parent / "cash-journal.db"
    if env.get("KOFU_SPOOL_DIR"):
        spool = Path(env["KOFU_SPOOL_DIR"])
    if env.get("KOFU_CASH_JOURNAL"):
        journal = Path(env["KOFU_CASH_JOURNAL"])
    if "clerk_pin_sha256" in k_t:
        raise KioskConfigError(
            "kiosk.clerk_pin_sha256: no longer read (one 4-digit PIN as an unsalted SHA-256 is"
            " reversed in milliseconds); give each clerk a [[kiosk.clerks]] entry with id and"
            " pin_hash instead, made by `kofu kiosk clerk-pin --id ID` (6 to 12 digits)"
        )
    try:
        clerk = parse_clerks(k_t.get("clerks", []))
    except ClerkConfigError as exc:
        raise KioskConfigError(str(exc)) from None
    return KioskConfig(
        session, cash, card, printer, receipt, coproc, center, ui, spool, clerk, raw,
        _health(raw), _voice(raw), journal,
    )  # fmt: skip


def load(path: Path) -> KioskConfig:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KioskConfigError(f"{path.name}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise KioskConfigError(f"{path.name}: not TOML ({exc})") from None
    return parse(raw, path.resolve().parent)
