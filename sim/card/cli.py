"""`kofu sim card`: the virtual My Number card alone on pcscd, until stopped.

kofu sim card [--persona NAME] [--state DIR] [--slot N] [--pin DIGITS] [--no-latency]
kofu sim card --export-cert PERSONA      print a persona's certificate (PEM)
kofu sim card --reset-pin PERSONA        give a persona's card its PIN tries back
kofu sim card --list                     personas
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from sim.card import pki
from sim.card.harness import reader_name, virtual_card_on_pcscd
from sim.card.pcscd import PcscdUnavailable
from sim.card.personas import PERSONAS, persona
from sim.card.virtual import DEFAULT_PIN, Latency, SlotBusy, VirtualCard, write_pin_tries


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kofu sim card", description=__doc__.splitlines()[0])
    p.add_argument("--persona", default="valid", choices=sorted(PERSONAS))
    p.add_argument("--state", type=Path, default=Path(".sim-state"), help="state directory")
    p.add_argument("--slot", type=int, default=0, choices=(0, 1), help="vpcd slot")
    p.add_argument("--pin", default=DEFAULT_PIN, help="the card's user-authentication PIN")
    p.add_argument("--no-latency", action="store_true", help="answer at once")
    p.add_argument("--export-cert", metavar="PERSONA", help="print the certificate PEM")
    p.add_argument("--reset-pin", metavar="PERSONA", help="reset a persona's PIN tries")
    p.add_argument("--list", action="store_true", help="list the personas")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        if args.list:
            for p in PERSONAS.values():
                print(f"{p.name:14s} {p.description}")
            return 0
        if args.export_cert:
            print(pki.export_certificate_pem(args.state, persona(args.export_cert)), end="")
            return 0
        if args.reset_pin:
            p = persona(args.reset_pin)
            write_pin_tries(args.state, p, 3)
            print(f"{p.name}: 3 PIN tries")
            return 0
    except ValueError as exc:
        print(f"kofu sim card: {exc}", file=sys.stderr)
        return 2
    latency = Latency.zero() if args.no_latency else Latency()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with virtual_card_on_pcscd(
            args.state, slot=args.slot, latency=latency, pin=args.pin, slot_wait_s=0.0
        ) as card:
            card.place(args.persona)
            _announce(card, args)
            try:
                stop.wait()
            except KeyboardInterrupt:
                pass
    except (PcscdUnavailable, SlotBusy) as exc:
        print(f"kofu sim card: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"kofu sim card: cannot reach vpcd: {exc}", file=sys.stderr)
        return 1
    return 0


def _announce(card: VirtualCard, args: argparse.Namespace) -> None:
    paths = pki.ca_paths(args.state)
    print(
        f"virtual card {args.persona!r} on reader {reader_name(args.slot)!r}"
        f" (state {args.state}; CA {paths.cert}; CRL {paths.crl}). Ctrl-C to stop.",
        flush=True,
    )
