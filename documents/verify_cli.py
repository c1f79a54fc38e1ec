"""`kofu verify FILE [--trust TRUST.json] [--json]`: check a printed certificate's code.

FILE is the certificate PDF or a scan (PNG/JPEG) of its back. Prints VALID or INVALID with
the reason and, when the signature checks, the signed original content. Exit code 0 only
for VALID; 1 for INVALID; 2 for a usage error (unreadable file or trust store).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from documents.trust import DEMO_TRUST, TrustStoreError, load_trust
from documents.verify import Report, document_lines, verify_file


def format_report(report: Report) -> str:
    res = report.result
    head = f"{res.verdict.value}: {res.reason.value}"
    if res.issuer_code:
        head += f" (issuer {res.issuer_code})"
    if report.detail:
        head += f" — {report.detail}"
    out = [head]
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
    args = ap.parse_args(argv)
    try:
        trust = load_trust(args.trust)
        data = args.file.read_bytes()
    except TrustStoreError as exc:
        print(f"kofu verify: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"kofu verify: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    report = verify_file(data, trust)
    if args.json:
        doc = report.result.document
        print(json.dumps({
            "verdict": report.result.verdict.value, "reason": report.result.reason.value,
            "issuer": report.result.issuer_code, "detail": report.detail,
            "document": doc.to_dict() if doc else None,
        }, ensure_ascii=False))
    else:
        print(format_report(report))
    return 0 if report.valid else 1
