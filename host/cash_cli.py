"""`kofu cash`: the cash journal's report, and recovery against the devices.

    kofu cash report [--journal FILE] [--json]
    kofu cash report --day YYYY-MM-DD|today [--journal FILE]   (the clerk's daily report, JSON)
    kofu cash recover --config kiosk.toml [--journal FILE] [--json] [--kiosk-id ID]
    kofu cash refill --hopper ADDRESS --value YEN --coins N [--journal FILE]
    kofu cash reprint --config kiosk.toml [--voucher NO] [--kiosk-id ID] [--municipality NAME]

`reprint` prints again every voucher not printed (or one named voucher) on the receipt
printer of the `[receipt]` table (connection = "network" | "serial" | "usb", ...); `recover`
prints the vouchers it issues there too when the config has that table.

The journal defaults to $KOFU_CASH_JOURNAL, else ``cash-journal.db`` in the current folder.
Exit status of `report` (see REPORT_EXIT_CODES): 0 balanced, 1 open items, 2 no journal or
bad arguments.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tomllib
from datetime import date
from pathlib import Path

from host.payment.config import CashConfig, ConfigError
from host.payment.journal import Journal
from host.payment.report import build_day_report, build_report, format_report, tokyo_today

DEFAULT_JOURNAL = "cash-journal.db"

REPORT_EXIT_CODES = """exit status:
  0  balanced: the money balances, no transaction is open or unbalanced, and every refund
     voucher was printed (the citizen holds it)
  1  open items: an open or unbalanced transaction, or a voucher recorded but not printed
     (listed with its number and amount; `kofu cash reprint` prints it)
  2  no journal at the path, or bad arguments (e.g. --day not YYYY-MM-DD)
--day prints the clerk's daily report and exits 0 (its unprinted_vouchers are the same
open items)."""


def _journal_path(arg: str | None) -> Path:
    return Path(arg or os.environ.get("KOFU_CASH_JOURNAL") or DEFAULT_JOURNAL)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kofu cash", description="cash journal report and recovery")
    sub = ap.add_subparsers(dest="command", required=True)
    rep = sub.add_parser(
        "report",
        help="balances and open items",
        description="Balances and open items of the cash journal.",
        epilog=REPORT_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rep.add_argument("--journal")
    rep.add_argument("--json", action="store_true")
    rep.add_argument("--day", help="the daily report of this Asia/Tokyo day (or 'today'), JSON")
    rec = sub.add_parser("recover", help="reconcile the journal with the devices")
    rec.add_argument("--config", required=True, help="kiosk TOML with a [cash] table")
    rec.add_argument("--journal")
    rec.add_argument("--json", action="store_true")
    rec.add_argument("--kiosk-id", default="kiosk", help="on the vouchers it prints")
    rec.add_argument("--municipality", default="", help="the name printed at the top")
    ref = sub.add_parser("refill", help="record coins the clerk loaded into a hopper")
    ref.add_argument("--hopper", type=int, required=True, help="ccTalk address (3, 4, ...)")
    ref.add_argument("--value", type=int, required=True, help="coin value in yen")
    ref.add_argument("--coins", type=int, required=True)
    ref.add_argument("--journal")
    rep2 = sub.add_parser("reprint", help="print refund vouchers whose print failed")
    rep2.add_argument("--config", required=True, help="kiosk TOML with a [receipt] table")
    rep2.add_argument("--voucher", help="only this voucher number (printed again even if done)")
    rep2.add_argument("--kiosk-id", default="kiosk")
    rep2.add_argument("--municipality", default="", help="the name printed at the top")
    rep2.add_argument("--journal")
    args = ap.parse_args(argv)
    path = _journal_path(args.journal)
    if args.command == "reprint":
        return _reprint(args, path)
    if args.command == "refill":
        if args.coins <= 0 or args.value <= 0:
            print("kofu cash: --coins and --value must be positive", file=sys.stderr)
            return 2
        journal = Journal(path)
        try:
            journal.append(
                "refill",
                device=f"hopper{args.hopper}",
                amount=args.coins * args.value,
                coins=args.coins,
            )
        finally:
            journal.close()
        print(f"hopper{args.hopper}: {args.coins} coins of {args.value} yen recorded")
        return 0
    if args.command == "report":
        if not path.exists():
            print(f"kofu cash: no journal at {path}", file=sys.stderr)
            return 2
        if args.day:
            return _day_report(path, args.day)
        journal = Journal(path)
        try:
            report = build_report(journal)
        finally:
            journal.close()
        print(
            json.dumps(report.as_dict(), ensure_ascii=False) if args.json else format_report(report)
        )
        return 0 if report.balanced else 1  # balanced: no open item, unprinted vouchers too
    return _recover(
        Path(args.config), path, as_json=args.json,
        kiosk_id=args.kiosk_id, municipality=args.municipality,
    )  # fmt: skip


def _day_report(path: Path, day_text: str) -> int:
    journal = Journal(path)
    try:
        try:
            # today by the kiosk's clock, which the journal keeps, not this machine's
            today = day_text == "today"
            day = tokyo_today(journal.now()) if today else date.fromisoformat(day_text)
        except ValueError:
            print(f"kofu cash: --day wants YYYY-MM-DD or 'today', not {day_text!r}",
                  file=sys.stderr)  # fmt: skip
            return 2
        report = build_day_report(journal, day)
    finally:
        journal.close()
    print(json.dumps(report, ensure_ascii=False, sort_keys=True))
    return 0


def _recover(
    config_path: Path,
    journal_path: Path,
    *,
    as_json: bool,
    kiosk_id: str = "kiosk",
    municipality: str = "",
) -> int:
    from drivers.coin.errors import CashDeviceError
    from drivers.printer.receipt import EscposReceiptPrinter
    from host.payment.desk import CashDesk
    from host.payment.devices import open_devices
    from host.payment.slips import SlipPrinter

    try:
        with config_path.open("rb") as fh:
            tables = tomllib.load(fh)
        cfg = CashConfig.from_dict(tables.get("cash", {}))
    except (OSError, tomllib.TOMLDecodeError, ConfigError) as exc:
        print(f"kofu cash: {exc}", file=sys.stderr)
        return 2
    if cfg.coin_acceptor == "pulse":
        # The pulse acceptor's coins arrive through the kiosk's coprocessor link, which this
        # command does not open: the board keeps unacknowledged coin events and sends them
        # when the kiosk connects, where they are credited against the journal's counter.
        print("kofu cash: pulse coin acceptor not polled (coins come via the coprocessor)",
              file=sys.stderr)
        cfg = dataclasses.replace(cfg, coin_acceptor="none")
    printer = None
    if "receipt" in tables:
        try:
            printer = EscposReceiptPrinter(dict(tables["receipt"]))
        except ValueError as exc:  # a bad [receipt] table
            print(f"kofu cash: {exc}", file=sys.stderr)
            return 2
    try:
        devices = open_devices(cfg)
    except CashDeviceError as exc:
        if printer is not None:
            printer.close()
        print(f"kofu cash: {exc}", file=sys.stderr)
        return 2
    journal = Journal(journal_path)
    try:
        slips = None
        if printer is not None:  # what recovery vouchers is printed at once
            slips = SlipPrinter(journal, printer, kiosk_id=kiosk_id, municipality=municipality)
        result = CashDesk(journal, devices, cfg, slips=slips).start()
    finally:
        if printer is not None:
            printer.close()
        devices.close()
        journal.close()
    summary = {
        "credits_recovered": result.credits_recovered,
        "bills_resolved": result.bills_resolved,
        "dispenses_resolved": result.dispenses_resolved,
        "closed": result.closed,
        "still_open": result.still_open,
    }
    print(json.dumps(summary) if as_json else "\n".join(f"{k}: {v}" for k, v in summary.items()))
    return 0 if not result.still_open else 1


def _reprint(args: argparse.Namespace, journal_path: Path) -> int:
    from drivers.printer.receipt import EscposReceiptPrinter
    from host.payment.slips import SlipError, SlipPrinter

    try:
        with Path(args.config).open("rb") as fh:
            section = tomllib.load(fh).get("receipt", {})
        printer = EscposReceiptPrinter(section)
    except (OSError, tomllib.TOMLDecodeError, ValueError) as exc:
        print(f"kofu cash: {exc}", file=sys.stderr)
        return 2
    if not journal_path.exists():
        print(f"kofu cash: no journal at {journal_path}", file=sys.stderr)
        return 2
    journal = Journal(journal_path)
    try:
        slips = SlipPrinter(
            journal, printer, kiosk_id=args.kiosk_id, municipality=args.municipality
        )
        if args.voucher:
            try:
                done = {args.voucher: slips.print_voucher(args.voucher)}
            except SlipError as exc:
                print(f"kofu cash: {exc}", file=sys.stderr)
                return 2
        else:
            done = slips.reprint_unprinted()
    finally:
        printer.close()
        journal.close()
    for no, ok in done.items():
        print(f"{no}  {'printed' if ok else 'NOT printed (printer fault)'}")
    if not done:
        print("no voucher waits for a print")
    return 0 if all(done.values()) else 1
