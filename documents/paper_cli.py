"""`kofu paper sample --type TYPE --out FILE.pdf`: render a demo certificate so anyone can
look at one; `kofu paper receipt|voucher --out FILE.png`: the receipt printer's layouts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from documents import demo
from documents.model import CertificateType
from documents.render import render_pdf
from documents.render.fonts import FontMissingError
from documents.signing import sign_document


def render_sample(kind: CertificateType, members: int = 0) -> bytes:
    doc = demo.juminhyo(demo.big_household(members)) if members else demo.sample(kind)
    seal = demo.seal_image() if kind is CertificateType.INKAN else None
    return render_pdf(doc, sign_document(doc, demo.signing_key()), seal)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kofu paper")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample", help="render a sample certificate (demo data) to a PDF")
    s.add_argument("--type", required=True, choices=[t.value for t in CertificateType])
    s.add_argument("--out", required=True, type=Path)
    s.add_argument("--members", type=int, default=0,
                   help="住民票 only: a household of this many demo members")
    args = ap.parse_args(argv)
    try:
        pdf = render_sample(CertificateType(args.type), args.members)
    except FontMissingError as exc:
        print(f"kofu paper: {exc}", file=sys.stderr)
        return 2
    args.out.write_bytes(pdf)
    print(f"wrote {args.out} ({len(pdf)} bytes)")
    return 0
