"""make firmware-check: firmware and the shared link modules compile with mpy-cross, the
codec passes protocol/vectors.json under the real MicroPython interpreter (WebAssembly
build under Node), and the firmware's heap through a burst stays within budget
(tools/firmware_heap.py, `mp heap: {... "heap_peak_kb": ...}`)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import firmware_heap  # noqa: E402


def mpy_sources() -> list[Path]:
    files = sorted((ROOT / "firmware").rglob("*.py"))
    return files + sorted((ROOT / "protocol").glob("link_*.py"))


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="kofu-mpy-") as out:
        return check(Path(out))


def check(mpy_dir: Path) -> int:
    failed = 0
    for src in mpy_sources():
        proc = subprocess.run(
            [sys.executable, "-m", "mpy_cross", "-o", str(mpy_dir / (src.stem + ".mpy")), str(src)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            failed += 1
            print(f"mpy-cross: {src.relative_to(ROOT)}: {proc.stderr.strip()}")
    print(f"mpy-cross: {len(mpy_sources()) - failed} compiled, {failed} failed")
    runner = ROOT / "tools" / "mp_vectors.mjs"
    if runner.exists():
        proc = subprocess.run(["node", str(runner)], cwd=ROOT)
        if proc.returncode != 0:
            failed += 1
    if not failed and firmware_heap.main(mpy_dir) != 0:
        failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
