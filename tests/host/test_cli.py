from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from host import cli


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert f"  {name}" in out


def test_unknown_command_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["no-such-command"]) == 2
    assert "unknown command 'no-such-command'" in capsys.readouterr().err


def test_console_entry_point_installed() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from host.cli import main; raise SystemExit(main(['--help']))"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0
    assert "usage: kofu" in proc.stdout



def test_closed_pipe_is_not_a_crash(tmp_path: Path) -> None:
    # `kofu verify x.pdf | head`: the reader exits early; kofu must not print a traceback.
    (tmp_path / "chatty.py").write_text(
        "def main(argv):\n    for _ in range(200000):\n        print('x' * 80)\n    return 0\n"
    )
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from host import cli;"
        " cli.COMMANDS['chatty'] = ('chatty', ''); raise SystemExit(cli.main(['chatty']))"
    )
    proc = subprocess.run(
        ["bash", "-c", 'set -o pipefail; "$0" -c "$1" "$2" | head -n 1 >/dev/null',
         sys.executable, script, str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 0
