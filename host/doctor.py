"""`kofu doctor [--config kiosk.toml] [--json]`: is this kiosk ready to serve?

Checks every device the kiosk configuration names, the center, the fonts, the disk and the
clock, and says in plain words what is wrong and what to do about it. Exit status 0 when
nothing failed (warnings allowed), 1 otherwise; ``--json`` prints one JSON object for scripts.

The doctor opens the devices itself, so run it while the kiosk service is stopped
(``systemctl stop kofu-kiosk``): a running kiosk holds the serial ports exclusively.
It reads the TOML with tomllib and reuses the per-part readers (``[cash]``, ``[session]``);
it never prints anything personal (there is nothing personal in the configuration).
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path("/etc/kofu/kiosk.toml")
DEFAULT_JOURNAL = Path("/var/lib/kofu/cash-journal.db")
DEFAULT_SPOOL = Path("/run/kofu/spool")
FONT_FILES = {"IPAex Mincho": ("ipaexm.ttf", "fonts-ipaexfont-mincho"),
              "IPAex Gothic": ("ipaexg.ttf", "fonts-ipaexfont-gothic")}
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
TABLES = ("session", "cash", "card", "printer", "receipt", "coproc", "center", "ui", "kiosk",
          "health", "voice")  # the kiosk service reads these (host/kiosk/config.py)
DEVICE_TABLES = ("cash", "card", "printer", "receipt", "coproc", "center")
STOP_KIOSK = "stop the kiosk service first (systemctl stop kofu-kiosk): it holds the port"

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"


@dataclass(frozen=True)
class Finding:
    """One check's result: ``detail`` says what was found, ``fix`` what to do."""

    check: str
    status: str
    detail: str
    fix: str = ""


@dataclass
class Options:
    journal: Path = DEFAULT_JOURNAL
    spool: Path = DEFAULT_SPOOL
    min_free_journal_mb: int = 200
    min_free_spool_mb: int = 20
    font_dirs: tuple[Path, ...] = field(default_factory=lambda: _font_dirs())
    cert_warn_days: int = 30
    max_clock_skew_s: float = 60.0
    timeout_s: float = 5.0
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def _font_dirs() -> tuple[Path, ...]:
    extra = [Path(p) for p in os.environ.get("KOFU_FONT_DIRS", "").split(os.pathsep) if p]
    return (*extra, *FONT_DIRS)


def _is_url(port: str) -> bool:
    return "://" in port


# --- configuration ----------------------------------------------------------------------------


def load_config(path: Path) -> tuple[dict[str, Any] | None, Finding]:
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        return None, Finding("config", FAIL, f"{path} does not exist",
                             "copy deploy/kiosk.toml to /etc/kofu/kiosk.toml and edit it")
    except PermissionError:
        return None, Finding("config", FAIL, f"{path} is not readable",
                             "run the doctor as the kofu user or root")
    except tomllib.TOMLDecodeError as exc:
        return None, Finding("config", FAIL, f"{path} is not valid TOML: {exc}",
                             "fix the syntax at the line named")
    return raw, Finding("config", OK, f"{path} read")


def check_config(raw: dict[str, Any]) -> list[Finding]:
    """Every table is well-formed (devices are not touched)."""
    from host.payment.config import CashConfig
    from host.payment.config import ConfigError as CashConfigError
    from host.session.config import ConfigError as SessionConfigError
    from host.session.config import session_config

    problems: list[str] = []
    extra: list[Finding] = []
    unknown = sorted(set(raw) - set(TABLES))
    if unknown:  # a newer kiosk may read more tables: say so, but do not fail for it
        extra.append(Finding("config.unknown", WARN, f"tables the doctor does not know: "
                             f"{unknown}", "check their spelling (known: " + ", ".join(TABLES)
                             + ")"))
    for name in TABLES:
        if name in raw and not isinstance(raw[name], dict):
            problems.append(f"[{name}] must be a table")
    missing = [name for name in DEVICE_TABLES if name not in raw]
    if missing:
        problems.append(f"missing tables {missing}: every device needs its table "
                        '(backend = "sim" for a simulated one)')
    if problems:
        return [Finding("config.tables", FAIL, "; ".join(problems), "fix kiosk.toml"), *extra]
    try:
        session_config(raw.get("session"))
    except SessionConfigError as exc:
        problems.append(str(exc))
    if raw["cash"].get("backend") != "sim":
        try:
            CashConfig.from_dict(raw["cash"])
        except CashConfigError as exc:
            problems.append(str(exc))
    card = raw.get("card", {})
    if card.get("backend") != "sim":
        pattern = card.get("reader")
        if not isinstance(pattern, str) or not pattern:
            problems.append('card: reader = "<regular expression of the reader name>" needed')
        else:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(f"card.reader: not a regular expression ({exc})")
    printer = raw.get("printer", {})
    if printer.get("backend") != "sim":
        uri = printer.get("uri")
        if not isinstance(uri, str) or not uri.startswith(("ipp://", "ipps://")):
            problems.append('printer: uri = "ipp://host:631/ipp/print" needed')
    receipt = raw.get("receipt", {})
    if receipt.get("backend") != "sim":
        problems += _receipt_problems(receipt)
    coproc = raw.get("coproc", {})
    if coproc.get("backend") != "sim" and not isinstance(coproc.get("port"), str):
        problems.append('coproc: port = "/dev/kofu-coproc" needed')
    center = raw.get("center", {})
    if center.get("backend") != "sim":
        url = center.get("url")
        if not isinstance(url, str) or not url.startswith("https://"):
            problems.append('center: url = "https://..." needed (mutual TLS only)')
        for key in ("ca", "cert", "key"):
            if not isinstance(center.get(key), str):
                problems.append(f"center: {key} = \"<path of the PEM file>\" needed")
    ui = raw.get("ui", {})
    port = ui.get("port", 8080)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        problems.append("ui.port: a TCP port number")
    if not isinstance(ui.get("host", "127.0.0.1"), str):
        problems.append("ui.host: an address to listen on (127.0.0.1: the screen is local)")
    if "sim_panel" in ui:
        problems.append("ui.sim_panel: the kiosk serves no simulation panel; remove the key")
    if raw.get("voice", {}).get("backend") == "sim":
        problems.append('voice.backend: "real" or "none" (a simulation records its own)')
    if problems:
        return [Finding("config.tables", FAIL, "; ".join(problems), "fix kiosk.toml"), *extra]
    return [Finding("config.tables", OK, "every table is well-formed"), *extra]


def check_clerks(kiosk: dict[str, Any]) -> list[Finding]:
    """``[[kiosk.clerks]]``: each entry well-formed and strong enough (the kiosk service
    refuses to start otherwise); none at all means nobody can open clerk mode."""
    from host.kiosk.clerk_auth import ClerkConfigError, parse_clerks

    fix = "one [[kiosk.clerks]] entry per clerk: `kofu kiosk clerk-pin --id ID`"
    if "clerk_pin_sha256" in kiosk:
        return [Finding("clerks", FAIL, "kiosk.clerk_pin_sha256 is no longer read (an unsalted "
                        "4-digit PIN)", "remove it; " + fix)]  # fmt: skip
    entries = kiosk.get("clerks", [])
    try:
        clerks = parse_clerks(entries)
    except ClerkConfigError as exc:
        return [Finding("clerks", FAIL, str(exc), fix)]
    if not clerks:
        return [Finding("clerks", WARN, "no clerks: nobody can open clerk mode (refill, "
                        "collect, reprint)", fix)]  # fmt: skip
    return [Finding("clerks", OK, f"{len(clerks)} clerk(s): {', '.join(c.id for c in clerks)} "
                    "(each also needs `kofu center admin clerk add` to reprint)")]  # fmt: skip


def _receipt_problems(receipt: dict[str, Any]) -> list[str]:
    kind = receipt.get("connection")
    if kind == "network":
        return [] if isinstance(receipt.get("host"), str) else ["receipt: host needed"]
    if kind == "serial":
        return [] if isinstance(receipt.get("device"), str) else ["receipt: device needed"]
    if kind == "usb":
        missing = [k for k in ("vendor_id", "product_id") if k not in receipt]
        return [f"receipt: {k} needed" for k in missing]
    return ['receipt: connection = "network", "serial" or "usb"']


# --- card reader ------------------------------------------------------------------------------


def check_card(card: dict[str, Any]) -> list[Finding]:
    if card.get("backend") == "sim":
        return [Finding("card", SKIP, "simulated card: nothing to check")]
    from smartcard import scard

    from drivers.nfc.errors import ReaderGone
    from drivers.nfc.pcsc import PcscReader

    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return [Finding("card.pcscd", FAIL, "pcscd does not answer",
                        "systemctl enable --now pcscd.socket (Debian package pcscd); "
                        "for a service user, see deploy/polkit/")]
    scard.SCardReleaseContext(ctx)
    out = [Finding("card.pcscd", OK, "pcscd answers")]
    pattern = str(card.get("reader", ""))
    with PcscReader(pattern) as reader:
        try:
            names = reader.readers()
            name = next((n for n in names if reader.pattern.search(n)), None)
            if name is None:
                out.append(Finding(
                    "card.reader", FAIL,
                    f"no reader matches {pattern!r}; readers present: {names or 'none'}",
                    "plug in the NFC reader, or fix [card] reader to match one of the names "
                    "listed (pcsc_scan shows them)"))
                return out
            out.append(Finding("card.reader", OK, f"reader {name!r} matches {pattern!r}"))
            present = reader.card_present()
        except ReaderGone as exc:
            out.append(Finding("card.reader", FAIL, str(exc), "replug the reader"))
            return out
    out.append(Finding("card.present", WARN if present else OK,
                       "a card is on the reader" if present else "no card on the reader",
                       "take the card off the reader (a citizen left it?)" if present else ""))
    return out


# --- serial ports and cash devices ------------------------------------------------------------


def _port_findings(check: str, port: str, what: str) -> tuple[Any, list[Finding]]:
    """Open a serial port (device path, pty or pyserial URL); (port or None, findings)."""
    from drivers.coin.serial_port import PortError, open_port

    if not _is_url(port) and not os.path.exists(port):
        return None, [Finding(f"{check}.port", FAIL, f"{port} does not exist",
                              f"plug in the {what} (USB); if it is plugged in, check the udev "
                              "rules' vendor/product/serial (deploy/udev/99-kofu.rules, "
                              "`udevadm info -a -n /dev/ttyUSB0`)")]
    try:
        handle = open_port(port)
    except PortError as exc:
        text = str(exc)
        if "lock" in text or "busy" in text.lower():
            fix = STOP_KIOSK
        elif "ermission" in text:
            fix = "the port must belong to group kofu (udev rules) and the user be in it"
        else:
            fix = f"check the {what}'s cable and power"
        return None, [Finding(f"{check}.port", FAIL, text, fix)]
    return handle, [Finding(f"{check}.port", OK, f"{port} opened")]


def check_cash(cash: dict[str, Any]) -> list[Finding]:
    if cash.get("backend") == "sim":
        return [Finding("cash", SKIP, "simulated cash devices: nothing to check")]
    from host.payment.config import CashConfig, ConfigError

    try:
        cfg = CashConfig.from_dict(cash)
    except ConfigError as exc:
        return [Finding("cash", FAIL, str(exc), "fix [cash] in kiosk.toml")]
    out: list[Finding] = []
    if cfg.coin_acceptor == "cctalk" or cash.get("cctalk"):
        out += _check_cctalk(cfg)
    if cfg.id003_port:
        out += _check_id003(cfg.id003_port)
    if not out:
        out.append(Finding("cash", SKIP, "no serial cash devices configured"))
    return out


def check_change(cash: dict[str, Any], opts: Options) -> list[Finding]:
    """The kiosk service's change rule (`host.kiosk.readiness`) on the configured hoppers and
    the journal's inventory: can every change one insertion may need be paid?"""
    from host.kiosk.readiness import change_shortfall, fee_amounts
    from host.payment.config import CashConfig, ConfigError
    from host.payment.journal import Journal

    try:
        cfg = CashConfig.from_dict(cash)
    except ConfigError:
        return []  # check_cash names the problem
    moved: dict[str, int] = {}
    if opts.journal.exists():
        journal = Journal(opts.journal)
        try:
            moved = journal.hopper_coins()
        finally:
            journal.close()
    available: dict[int, int] = {}
    for h in cfg.hoppers:
        coins = h.count + moved.get(f"hopper{h.address}", 0) - cfg.change_margin
        available[h.value] = available.get(h.value, 0) + max(0, coins)
    short = change_shortfall(available, set(cfg.coins) | set(cfg.bills), fee_amounts(cfg.fees))
    if short:
        return [Finding("change", FAIL, f"the hoppers cannot pay {short} yen of change",
                        "refill the hoppers (clerk mode) and journal the refill")]
    return [Finding("change", OK, "the hoppers can change one copy of each fee paid with any "
                                  "coin or bill")]


def _check_cctalk(cfg: Any) -> list[Finding]:
    from drivers.coin.cctalk import Checksum, Header
    from drivers.coin.cctalk_port import CcTalkPort
    from drivers.coin.errors import CashDeviceError

    if not cfg.cctalk_port:
        return [Finding("cash.cctalk", FAIL, "[cash.cctalk] has no port",
                        'add port = "/dev/kofu-cctalk"')]
    handle, out = _port_findings("cash.cctalk", cfg.cctalk_port, "ccTalk bus adapter")
    if handle is None:
        return out
    bus = CcTalkPort(handle, checksum=Checksum(cfg.cctalk_checksum), reply_timeout_s=0.2)
    devices = ([(2, "coin acceptor")] if cfg.coin_acceptor == "cctalk" else []) + [
        (h.address, f"hopper of {h.value} yen") for h in cfg.hoppers]
    try:
        for address, what in devices:
            try:
                bus.request(address, Header.SIMPLE_POLL)
            except CashDeviceError as exc:
                out.append(Finding(
                    f"cash.cctalk.{address}", FAIL,
                    f"{what} at address {address} does not answer simple poll ({exc})",
                    f"check the {what}'s power and bus cable, its address switch ({address}) "
                    f"and [cash.cctalk] checksum ({cfg.cctalk_checksum})"))
            else:
                out.append(Finding(f"cash.cctalk.{address}", OK,
                                   f"{what} at address {address} answers simple poll"))
    finally:
        bus.close()
    return out


def _check_id003(port: str) -> list[Finding]:
    from drivers.coin import id003
    from drivers.coin.errors import CashDeviceError
    from drivers.coin.id003_validator import Id003Validator

    handle, out = _port_findings("cash.id003", port, "bill validator")
    if handle is None:
        return out
    validator = Id003Validator(handle)
    try:
        status = validator.status()
    except CashDeviceError as exc:
        out.append(Finding("cash.id003", FAIL, f"bill validator does not answer ({exc})",
                           "check its power and cable; the line is 9600 baud 8E1"))
        return out
    finally:
        validator.close()
    names = {v: k.lower() for k, v in vars(id003.Status).items() if k.isupper()}
    label = names.get(status.cmd, f"{status.cmd:#04x}")
    fault = id003.FAULTS.get(status.cmd)
    if fault is not None:
        out.append(Finding("cash.id003", FAIL, f"bill validator reports {fault}",
                           "open the validator: clear the jam, empty or close the stacker"))
    else:
        out.append(Finding("cash.id003", OK, f"bill validator answers (status {label})"))
    return out


# --- coprocessor ------------------------------------------------------------------------------


def check_coproc(coproc: dict[str, Any], opts: Options) -> list[Finding]:
    if coproc.get("backend") == "sim":
        return [Finding("coproc", SKIP, "simulated coprocessor: nothing to check")]
    port = str(coproc.get("port", ""))
    if not _is_url(port) and not os.path.exists(port):
        return [Finding("coproc.port", FAIL, f"{port} does not exist",
                        "plug in the coprocessor board (USB); check deploy/udev/99-kofu.rules "
                        "and that the firmware is flashed (make flash)")]
    return asyncio.run(_hello(port, opts.timeout_s))


async def _hello(port: str, timeout_s: float) -> list[Finding]:
    from host.coproc.driver import CoprocDriver, CoprocError

    out = [Finding("coproc.port", OK, f"{port} present")]
    async with CoprocDriver(port) as driver:
        try:
            health = await driver.wait_up(timeout=timeout_s)
        except CoprocError as exc:
            if not driver.health.port_open:
                fix = f"the port does not open: {STOP_KIOSK}, or check permissions (group kofu)"
            elif driver.health.refused:
                fix = "host and firmware builds differ: flash this release's firmware (make flash)"
            else:
                fix = "check that the firmware runs (mpremote repl) and the USB cable"
            out.append(Finding("coproc.link", FAIL, f"no HELLO handshake: {exc}", fix))
            return out
        cause = health.peer_reset_cause.name.lower() if health.peer_reset_cause else "unknown"
        out.append(Finding("coproc.link", OK,
                           f"link up, firmware {health.peer_fw!r}, last reset: {cause}"))
    return out


# --- printers ---------------------------------------------------------------------------------


def check_printer(printer: dict[str, Any]) -> list[Finding]:
    if printer.get("backend") == "sim":
        return [Finding("printer", SKIP, "simulated A4 printer: nothing to check")]
    from drivers.printer.a4 import IppA4Printer
    from drivers.printer.states import PrinterState

    uri = str(printer.get("uri"))
    a4 = IppA4Printer(uri)
    try:
        cond = a4.condition()
    finally:
        a4.close()
    reasons = ", ".join(cond.reasons) or "none"
    fixes = {
        PrinterState.OFFLINE: f"printer unreachable at {uri}: switch it on, check the network "
                              "cable and the uri in [printer]",
        PrinterState.PAPER_OUT: "load A4 plain paper into the tray",
        PrinterState.JAM: "open the printer and remove the jammed sheet",
        PrinterState.DOOR_OPEN: "close the printer's cover and trays",
        PrinterState.TONER_OUT: "replace the toner cartridge",
        PrinterState.ERROR: "the printer stopped: look at its panel",
    }
    if not cond.state.can_print:
        return [Finding("printer", FAIL, f"A4 printer {cond.state.value} (reasons: {reasons})",
                        fixes.get(cond.state, "look at the printer's panel"))]
    if cond.warnings:
        warned = ", ".join(w.value for w in cond.warnings)
        return [Finding("printer", WARN, f"A4 printer {cond.state.value}, {warned}",
                        "have paper / toner ready: the kiosk stops when it runs out")]
    return [Finding("printer", OK, f"A4 printer {cond.state.value} (reasons: {reasons})")]


def check_receipt(receipt: dict[str, Any]) -> list[Finding]:
    if receipt.get("backend") == "sim":
        return [Finding("receipt", SKIP, "simulated receipt printer: nothing to check")]
    from drivers.printer.receipt import EscposReceiptPrinter, ReceiptStatus

    if receipt.get("connection") == "serial":
        device = str(receipt.get("device"))
        if not os.path.exists(device):
            return [Finding("receipt", FAIL, f"{device} does not exist",
                            "plug in the receipt printer; check deploy/udev/99-kofu.rules")]
    printer = EscposReceiptPrinter(receipt)
    try:
        status = printer.status()
    finally:
        printer.close()
    if status is ReceiptStatus.READY:
        return [Finding("receipt", OK, "receipt printer ready (DLE EOT)")]
    if status is ReceiptStatus.PAPER_LOW:
        return [Finding("receipt", WARN, "receipt paper near its end",
                        "load a new receipt roll soon")]
    if status is ReceiptStatus.PAPER_OUT:
        return [Finding("receipt", FAIL, "receipt printer out of paper",
                        "load a receipt roll and close the cover")]
    return [Finding("receipt", FAIL, "receipt printer does not answer DLE EOT",
                    "switch it on; check its cable and the [receipt] settings; "
                    + STOP_KIOSK)]


# --- center -----------------------------------------------------------------------------------


def _cert_finding(check: str, path: str, opts: Options) -> Finding:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(Path(path).read_bytes())
    except FileNotFoundError:
        return Finding(check, FAIL, f"{path} does not exist",
                       "copy the file issued by the center (kofu center admin register-kiosk)")
    except (OSError, ValueError) as exc:
        return Finding(check, FAIL, f"{path} is not a PEM certificate ({exc})",
                       "copy the file issued by the center again")
    now = opts.now()
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    when = f"valid {start:%Y-%m-%d} to {end:%Y-%m-%d}"
    if now >= end:
        return Finding(check, FAIL, f"{path} expired on {end:%Y-%m-%d} ({when})",
                       "have the center issue a new one (kofu center admin register-kiosk) "
                       "and install it in /etc/kofu")
    if now < start:
        return Finding(check, FAIL, f"{path} is not valid before {start:%Y-%m-%d}",
                       "check the clock (timedatectl)")
    left = end - now
    if left < timedelta(days=opts.cert_warn_days):
        return Finding(check, WARN, f"{path} expires in {left.days} days ({when})",
                       "ask the center for a new certificate before it expires")
    return Finding(check, OK, f"{path} {when}")


def check_center(center: dict[str, Any], opts: Options) -> list[Finding]:
    if center.get("backend") == "sim":
        return [Finding("center", SKIP, "simulated center: nothing to check")]
    import ssl

    import httpx

    out = [_cert_finding("center.ca", str(center.get("ca")), opts),
           _cert_finding("center.cert", str(center.get("cert")), opts)]
    key = str(center.get("key"))
    if not os.path.exists(key):
        out.append(Finding("center.key", FAIL, f"{key} does not exist",
                           "install the kiosk's key next to its certificate (mode 0600)"))
    if any(f.status == FAIL for f in out):
        return out
    url = str(center.get("url")).rstrip("/") + "/v1/health"
    try:
        ctx = ssl.create_default_context(cafile=str(center["ca"]))
        ctx.load_cert_chain(str(center["cert"]), key)
    except (ssl.SSLError, OSError) as exc:
        out.append(Finding("center.tls", FAIL, f"kiosk certificate and key unusable: {exc}",
                           "the key must belong to the certificate: install both again"))
        return out
    try:
        with httpx.Client(verify=ctx, timeout=opts.timeout_s) as client:
            reply = client.get(url)
    except httpx.ConnectError as exc:
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
            out.append(Finding("center.tls", FAIL, f"TLS to {url} refused: {text}",
                               "check [center] ca (the center's CA) and the clock"))
        else:
            out.append(Finding("center.reach", FAIL, f"center unreachable at {url}: {text}",
                               "check the network (dedicated line / VPN) and [center] url"))
        return out
    except (httpx.HTTPError, ssl.SSLError) as exc:
        out.append(Finding("center.tls", FAIL, f"TLS session with {url} failed: {exc}",
                           "the center refused the kiosk certificate: is it the one the "
                           "center issued, and still valid?"))
        return out
    if reply.status_code == 200:
        out.append(Finding("center.tls", OK, f"mutual TLS to {url}: health ok"))
    elif reply.status_code == 403:
        out.append(Finding("center.tls", FAIL,
                           f"the center does not know this kiosk ({reply.text[:120]})",
                           "register the kiosk at the center (kofu center admin register-kiosk)"))
        return out
    else:
        out.append(Finding("center.tls", FAIL, f"{url} answered HTTP {reply.status_code}",
                           "ask the center's operator"))
        return out
    date = reply.headers.get("date")
    if date:
        skew = (email.utils.parsedate_to_datetime(date) - opts.now()).total_seconds()
        if abs(skew) > opts.max_clock_skew_s:
            out.append(Finding("clock.center", FAIL, f"clock differs from the center's by "
                               f"{skew:+.0f} s", "enable NTP: timedatectl set-ntp true"))
        else:
            out.append(Finding("clock.center", OK, f"clock within {abs(skew):.0f} s of the "
                               "center's"))
    return out


# --- host -------------------------------------------------------------------------------------


def check_fonts(opts: Options) -> list[Finding]:
    out = []
    for label, (filename, package) in FONT_FILES.items():
        found = next((Path(d) / filename for root in opts.font_dirs if root.is_dir()
                      for d, _s, files in os.walk(root) if filename in files), None)
        if found is None:
            out.append(Finding("fonts", FAIL, f"{label} ({filename}) not installed",
                               f"apt-get install {package}"))
        else:
            out.append(Finding("fonts", OK, f"{label} at {found}"))
    return out


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _fs_type(path: Path) -> str:
    """File system type of the mount holding ``path`` (longest mount point prefix)."""
    best, kind = "", ""
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return ""
    target = str(path.resolve())
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")
        if (target == mount or target.startswith(mount.rstrip("/") + "/")) and len(mount) > len(
            best
        ):
            best, kind = mount, parts[2]
    return kind


def check_disk(opts: Options) -> list[Finding]:
    out = []
    for check, path, need in (("disk.journal", opts.journal.parent, opts.min_free_journal_mb),
                              ("disk.spool", opts.spool, opts.min_free_spool_mb)):
        where = _existing(path)
        free = shutil.disk_usage(where).free // (1024 * 1024)
        if free < need:
            out.append(Finding(check, FAIL, f"{free} MB free at {where} (need {need} MB)",
                               "free space (journalctl --vacuum-size=100M; old images)"))
        else:
            out.append(Finding(check, OK, f"{free} MB free at {where}"))
    if not opts.spool.is_dir():
        out.append(Finding("spool", FAIL, f"spool {opts.spool} does not exist",
                           "install deploy/tmpfiles.d/kofu.conf and run "
                           "systemd-tmpfiles --create"))
    elif _fs_type(opts.spool) not in ("tmpfs", "ramfs"):
        out.append(Finding("spool", WARN, f"spool {opts.spool} is on "
                           f"{_fs_type(opts.spool) or 'an unknown file system'}, not tmpfs",
                           "keep the spool under /run (tmpfs) so certificate data never "
                           "reaches the SD card"))
    else:
        out.append(Finding("spool", OK, f"spool {opts.spool} on tmpfs"))
    return out


def check_clock(opts: Options) -> list[Finding]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from host.session.hours import is_open

    out = []
    try:
        tokyo = ZoneInfo("Asia/Tokyo")
    except ZoneInfoNotFoundError:
        return [Finding("clock.zone", FAIL, "time zone Asia/Tokyo unknown",
                        "apt-get install tzdata (service hours are decided in Asia/Tokyo)")]
    now = opts.now()
    local = now.astimezone(tokyo)
    if now.year < 2025:
        out.append(Finding("clock.time", FAIL, f"the clock says {now:%Y-%m-%d %H:%M} UTC",
                           "the Pi has no battery clock: enable NTP (timedatectl set-ntp true) "
                           "and check the network"))
    else:
        state = "open" if is_open(now) else "closed"
        out.append(Finding("clock.time", OK,
                           f"{local:%Y-%m-%d %H:%M} in Japan: service hours say {state}"))
    synced = _ntp_synchronized()
    if synced is False:
        out.append(Finding("clock.ntp", WARN, "the clock is not NTP-synchronised",
                           "timedatectl set-ntp true; check the network to the NTP server"))
    elif synced:
        out.append(Finding("clock.ntp", OK, "NTP-synchronised"))
    else:
        out.append(Finding("clock.ntp", SKIP, "NTP state unknown (no systemd-timesyncd here)"))
    return out


def _ntp_synchronized() -> bool | None:
    if Path("/run/systemd/timesync/synchronized").exists():
        return True
    tool = shutil.which("timedatectl")
    if tool is None:
        return None
    try:
        proc = subprocess.run([tool, "show", "-p", "NTPSynchronized", "--value"],
                              capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = proc.stdout.strip()
    return {"yes": True, "no": False}.get(value) if proc.returncode == 0 else None


# --- running ----------------------------------------------------------------------------------


def _guarded(name: str, fn: Callable[[], list[Finding]]) -> list[Finding]:
    """A check that crashes is a finding, not the end of the doctor's round."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - report whatever broke, go on with the others
        return [Finding(name, FAIL, f"check crashed: {type(exc).__name__}: {exc}",
                        "report this to the kofu maintainers with the output above")]


def run_checks(raw: dict[str, Any], opts: Options | None = None) -> list[Finding]:
    opts = opts or Options()
    out = check_config(raw)
    if out[0].status == FAIL:
        return out
    steps: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("clerks", lambda: check_clerks(raw.get("kiosk") or {})),
        ("card", lambda: check_card(raw["card"])),
        ("cash", lambda: check_cash(raw["cash"])),
        ("change", lambda: check_change(raw["cash"], opts)),
        ("coproc", lambda: check_coproc(raw["coproc"], opts)),
        ("printer", lambda: check_printer(raw["printer"])),
        ("receipt", lambda: check_receipt(raw["receipt"])),
        ("center", lambda: check_center(raw["center"], opts)),
        ("fonts", lambda: check_fonts(opts)),
        ("disk", lambda: check_disk(opts)),
        ("clock", lambda: check_clock(opts)),
    ]
    for name, step in steps:
        out += _guarded(name, step)
    return out


def healthy(findings: list[Finding]) -> bool:
    return not any(f.status == FAIL for f in findings)


def format_text(findings: list[Finding]) -> str:
    marks = {OK: " ok ", WARN: "WARN", FAIL: "FAIL", SKIP: "skip"}
    width = max((len(f.check) for f in findings), default=0)
    lines = []
    for f in findings:
        lines.append(f"[{marks.get(f.status, f.status)}] {f.check.ljust(width)}  {f.detail}")
        if f.fix and f.status in (WARN, FAIL):
            lines.append(f"       {' ' * width}  -> {f.fix}")
    failed = sum(f.status == FAIL for f in findings)
    warned = sum(f.status == WARN for f in findings)
    lines.append("all well" if not failed and not warned
                 else f"{failed} problem(s), {warned} warning(s)")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kofu doctor",
                                 description="check every configured device and the center")
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    ap.add_argument("--json", action="store_true", help="one JSON object for scripts")
    ap.add_argument("--config-only", action="store_true",
                    help="only check that kiosk.toml is well-formed")
    ap.add_argument("--journal", type=Path,
                    default=Path(os.environ.get("KOFU_CASH_JOURNAL") or DEFAULT_JOURNAL))
    ap.add_argument("--spool", type=Path,
                    default=Path(os.environ.get("KOFU_SPOOL_DIR") or DEFAULT_SPOOL))
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per device answer")
    args = ap.parse_args(argv)
    raw, loaded = load_config(args.config)
    findings = [loaded]
    if raw is not None:
        if args.config_only:
            findings += check_config(raw)
        else:
            opts = Options(journal=args.journal, spool=args.spool, timeout_s=args.timeout)
            findings += run_checks(raw, opts)
    ok = healthy(findings)
    if args.json:
        print(json.dumps({"ok": ok, "checks": [asdict(f) for f in findings]},
                         ensure_ascii=False))
    else:
        print(format_text(findings))
    sys.stdout.flush()
    return 0 if ok else 1
