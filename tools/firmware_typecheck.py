"""mypy --strict over firmware/ against the MicroPython rp2 stubs (not CPython's typeshed).

The stubs live in the venv: `micropython-stdlib-stubs` ships a typeshed-shaped `stdlib/`
(used as --custom-typeshed-dir) and `micropython-rp2-rpi-pico-stubs` the board modules
(machine, rp2, ...) as loose .pyi files. mypy refuses site-packages on MYPYPATH, so the
board stubs are copied into a temporary directory together with the firmware and the codec,
exactly as they sit side by side on the board.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def stub_dirs() -> tuple[Path, Path]:
    site = Path(sysconfig.get_paths()["purelib"])
    typeshed = site  # holds stdlib/VERSIONS from micropython-stdlib-stubs
    if not (typeshed / "stdlib" / "VERSIONS").exists() or not (site / "machine.pyi").exists():
        raise SystemExit(
            "firmware typecheck: MicroPython stubs missing; run tools/bootstrap.sh "
            "(micropython-rp2-rpi-pico-stubs)"
        )
    return typeshed, site


def main() -> int:
    sources = sorted((ROOT / "firmware").glob("*.py"))
    if not sources:
        print("firmware typecheck: no firmware sources yet")
        return 0
    typeshed, site = stub_dirs()
    with tempfile.TemporaryDirectory(prefix="kofu-fwtc-") as tmp:
        work = Path(tmp)
        stubs = work / "stubs"
        stubs.mkdir()
        for item in site.iterdir():
            if item.suffix == ".pyi" or (item.is_dir() and item.name in ("rp2", "_mpy_shed")):
                dest = stubs / item.name
                if item.is_dir():
                    shutil.copytree(item, dest)
                else:
                    shutil.copy2(item, dest)
        board = work / "board"
        board.mkdir()
        for src in [*sources, *sorted((ROOT / "protocol").glob("link_*.py"))]:
            shutil.copy2(src, board / src.name)
        # the stubs themselves are not --strict clean: check our code strictly, not theirs
        stub_modules = sorted(
            {p.stem if p.is_file() else p.name + ".*" for p in stubs.iterdir()}
            | {p.name for p in stubs.iterdir() if p.is_dir()}
        )
        ini = work / "mypy.ini"
        ini.write_text(
            "[mypy]\n\n[mypy-" + ",".join(stub_modules) + "]\nignore_errors = True\n"
        )
        cmd = [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ini),
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(work / "cache"),
            "--custom-typeshed-dir",
            str(typeshed),
            "--python-executable",
            "",
            "--no-site-packages",
            "--explicit-package-bases",
            str(board),
        ]
        env = {"MYPYPATH": f"{stubs}:{board}", "PATH": "/usr/bin:/bin"}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
        out = (proc.stdout + proc.stderr).replace("board/link_", "protocol/link_")
        out = out.replace("board/", "firmware/")
        print("firmware typecheck: " + out.strip())
        return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
