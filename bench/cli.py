"""`kofu bench [part ...]`: run benchmarks. Each prints one JSON object as its last line.

With no part, every available benchmark runs in turn (`make bench`); the last line is then
one JSON object keyed by part.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys

# part -> module exposing run(args) -> dict and main(argv) -> int
PARTS: dict[str, str] = {
    "link": "bench.link",
    "card": "bench.card",
    "cash": "bench.cash",
    "id003-parser": "bench.id003_parser",
    "cctalk-noise": "bench.cctalk_noise",
    "paper": "bench.paper",
    "center": "bench.center",
    "session": "bench.session",
    "kiosk-crash": "bench.kiosk_crash",
    "cash-crash": "bench.cash_crash",
}


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print("usage: kofu bench [" + "|".join(PARTS) + "] [args...]")
        return 0
    if argv:
        part = argv[0]
        if part not in PARTS:
            print(f"kofu bench: unknown part {part!r}; parts: {', '.join(PARTS)}", file=sys.stderr)
            return 2
        result: int = importlib.import_module(PARTS[part]).main(argv[1:])
        return result
    results: dict[str, object] = {}
    status = 0
    for part, module_name in PARTS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        print(f"== bench {part}", flush=True)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = module.main([])
        text = out.getvalue()
        print(text, end="")
        status = status or rc
        lines = [ln for ln in text.splitlines() if ln.strip()]
        results[part] = json.loads(lines[-1]) if lines else None
    print(json.dumps(results, ensure_ascii=False))
    return status
