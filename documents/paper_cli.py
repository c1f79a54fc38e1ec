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


def _slip(kind: str, out: Path) -> int:
    from drivers.printer import receipt_layout as rl

    try:
        if kind == "receipt":
            img = rl.receipt_image(rl.Receipt(
                demo.ISSUER.name, "K-DEMO", "T-000001", "2026-11-23 10:15",
                (rl.ReceiptLine("住民票の写し", 2, 200), rl.ReceiptLine("印鑑登録証明書", 1, 200)),
                paid=1000, change=400))
        else:
            img = rl.voucher_image(rl.RefundVoucher(
                demo.ISSUER.name, "K-DEMO", "V-000001", "2026-11-23 10:20", 300, "印刷失敗"))
    except rl.ReceiptFontMissing as exc:
        print(f"kofu paper: {exc}", file=sys.stderr)
        return 2
    img.save(out)
    print(f"wrote {out} ({img.size[0]}x{img.size[1]} dots)")
    return 0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kofu paper")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample", help="render a sample certificate (demo data) to a PDF")
    s.add_argument("--type", required=True, choices=[t.value for t in CertificateType])
    s.add_argument("--out", required=True, type=Path)
    s.add_argument("--members", type=int, default=0,
                   help="住民票 only: a household of this many demo members")
    for name in ("receipt", "voucher"):
        r = sub.add_parser(name, help=f"render a sample {name} as the receipt printer prints it")
        r.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)
    if args.cmd in ("receipt", "voucher"):
        return _slip(args.cmd, args.out)
    try:
        pdf = render_sample(CertificateType(args.type), args.members)
    except FontMissingError as exc:
        print(f"kofu paper: {exc}", file=sys.stderr)
        return 2
    args.out.write_bytes(pdf)
    print(f"wrote {args.out} ({len(pdf)} bytes)")
    return 0
