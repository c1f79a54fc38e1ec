"""`kofu bench paper`: certificate rendering and verification speed.

- render_ms_per_page: median time to render a one-sheet 住民票の写し (front + back)
- render_ms_4pages: median time to render a four-sheet 住民票の写し (a large household)
- verify_ms: median time to decode and verify a 300 dpi greyscale scan of a back side
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from pypdf import PdfReader

from documents import demo
from documents.render import render_pdf
from documents.scan import pdf_pages
from documents.signing import sign_document
from documents.trust import load_trust
from documents.verify import verify_file


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: font loading, caches
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 1)


def _sheets(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages) // 2


def run(repeat: int = 5) -> dict[str, Any]:
    key = demo.signing_key()
    one = demo.juminhyo((demo.HEAD,))
    one_payload = sign_document(one, key)
    assert _sheets(render_pdf(one, one_payload)) == 1
    members = 4
    while True:  # the smallest household that fills four sheets
        four = demo.juminhyo(demo.big_household(members))
        four_payload = sign_document(four, key)
        sheets = _sheets(render_pdf(four, four_payload))
        if sheets >= 4:
            break
        members += 1
    pdf = render_pdf(one, one_payload)
    (back,) = pdf_pages(pdf, 300, first=2, last=2)
    buf = io.BytesIO()
    back.save(buf, format="PNG")
    scan = buf.getvalue()
    trust = load_trust()
    assert verify_file(scan, trust).valid
    return {
        "render_ms_per_page": _median_ms(lambda: render_pdf(one, one_payload), repeat),
        "render_ms_4pages": _median_ms(lambda: render_pdf(four, four_payload), repeat),
        "verify_ms": _median_ms(lambda: verify_file(scan, trust), repeat),
        "four_page_members": members,
        "four_page_sheets": sheets,
        "scan_px": list(back.size),
        "repeat": repeat,
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kofu bench paper", description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    print(json.dumps(run(args.repeat), ensure_ascii=False))
    return 0
