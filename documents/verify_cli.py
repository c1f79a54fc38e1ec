"""`kofu verify FILE [--trust T] [--my-number N] [--json]`: check a printed certificate's code.

FILE is the certificate PDF or a scan (PNG/JPEG) of its back. Prints VALID or INVALID with
the reason and, when the signature checks, the signed original content. The code carries
no 個人番号, only a salted digest: ``--my-number`` (as printed on the front) is checked
against it — "matches", "does not match" or, without it, "not checked". Exit code 0 only
for VALID; 1 for INVALID; 2 for a usage error (unreadable file or trust store, a
--my-number that is not 12 digits). A mismatching number does not change the exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from documents.my_number_digest import InvalidMyNumber, normalize
from documents.trust import DEMO_TRUST, TrustStoreError, load_trust
from documents.verify import Report, document_lines, number_line, verify_file


def format_report(report: Report) -> str:
    res = report.result
    head = f"{res.verdict.value}: {res.reason.value}"
    if res.issuer_code:
        head += f" (issuer {res.issuer_code})"
    if report.detail:
        head += f" — {report.detail}"
    out = [head]
    if res.valid:
        out.append(number_line(report))
    if res.legacy:
        out.append("note: older code format (KFC1): the code itself carries any 個人番号")
    if res.document is not None:
        width = 0
        lines = document_lines(res.document)
        width = max(len(label) for label, _ in lines)
        out += [f"  {label.ljust(width, '　')}  {value}" for label, value in lines]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kofu verify", description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path, help="certificate PDF, or PNG/JPEG scan of its back")
    ap.add_argument("--trust", type=Path, default=DEMO_TRUST, help="trust store (JSON)")
    ap.add_argument("--json", action="store_true", help="print a JSON object instead")
    ap.add_argument("--my-number", metavar="N",
                    help="個人番号 read off the front (12 digits), checked against the code")
    args = ap.parse_args(argv)
    try:
        if args.my_number is not None:
            normalize(args.my_number)
    except InvalidMyNumber as exc:
        print(f"kofu verify: --my-number: {exc}", file=sys.stderr)
        return 2
    try:
        trust = load_trust(args.trust)
        data = args.file.read_bytes()
    except TrustStoreError as exc:
        print(f"kofu verify: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"kofu verify: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    report = verify_file(data, trust, args.my_number)
    if args.json:
        doc = report.result.document
        print(json.dumps({
            "verdict": report.result.verdict.value, "reason": report.result.reason.value,
            "issuer": report.result.issuer_code, "detail": report.detail,
            "my_number": report.my_number.value, "my_number_member": report.my_number_member,
            "legacy_format": report.result.legacy,
            "document": doc.to_dict() if doc else None,
        }, ensure_ascii=False))
    else:
        print(format_report(report))
    return 0 if report.valid else 1
