"""tools/flash.py deploys every firmware file and the three link modules, main.py as source."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_flash():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("kofu_flash", ROOT / "tools" / "flash.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plan_copies_firmware_and_codec(tmp_path: Path) -> None:
    flash = load_flash()
    cmds = flash.plan("/dev/ttyACM7", True, tmp_path)
    copied = {c[-1] for c in cmds if "cp" in c}
    names = {p.stem for p in (ROOT / "firmware").glob("*.py")}
    names |= {"link_frame", "link_channel", "link_catalog"}
    assert copied == {":main.py"} | {f":{n}.mpy" for n in names - {"main"}}
    assert all("/dev/ttyACM7" in c for c in cmds if "mpremote" in c)
    assert cmds[-1][-1] == "reset"
    plain = flash.plan("/dev/ttyACM7", False, tmp_path)
    assert {c[-1] for c in plain if "cp" in c} == {f":{n}.py" for n in names}
