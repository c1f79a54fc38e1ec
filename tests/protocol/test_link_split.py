"""The link codec split into framing, channel and catalog (issue 15): the codec knows no
application, and the firmware imports nothing but MicroPython and the link modules.

import-linter checks the `protocol.` imports; these tests also read the board's flat imports
(`import link_frame`), which import-linter cannot resolve."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from protocol import link_catalog as lcat
from protocol import link_channel as lch
from protocol import link_frame as lf

ROOT = Path(__file__).resolve().parents[2]
LINK_MODULES = {"link_frame", "link_channel", "link_catalog"}
# what the firmware may take from MicroPython itself
MICROPYTHON = {"asyncio", "machine", "micropython", "os", "random", "struct", "time", "binascii"}


def imported(path: Path) -> set[str]:
    """Every top-level module name `path` imports, in any branch."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "protocol":
                names |= {"protocol." + a.name for a in node.names}
    return names


def test_the_board_gets_exactly_the_three_link_modules() -> None:
    assert {p.stem for p in (ROOT / "protocol").glob("link_*.py")} == LINK_MODULES


@pytest.mark.parametrize("module", ["link_frame", "link_channel"])
def test_framing_and_channel_import_no_catalog_on_either_runtime(module: str) -> None:
    names = imported(ROOT / "protocol" / f"{module}.py")
    assert not {n for n in names if "catalog" in n}
    assert names <= {"struct", "binascii", "os", "collections.abc"} | {
        "link_frame",
        "protocol.link_frame",
    }


def test_framing_and_channel_name_no_message() -> None:
    for module in (lf, lch):
        assert not [n for n in vars(module) if n.startswith(("MSG_", "LED_", "BUZZER_", "TRAY_"))]
        assert not hasattr(module, "CATALOG_HASH")


def test_firmware_imports_only_micropython_itself_and_the_link_modules() -> None:
    own = {p.stem for p in (ROOT / "firmware").glob("*.py")}
    for src in sorted((ROOT / "firmware").glob("*.py")):
        stray = imported(src) - own - LINK_MODULES - MICROPYTHON - {"__future__"}
        assert not stray, f"{src.name} imports {sorted(stray)}"


def test_the_channel_takes_its_catalog_from_the_caller() -> None:
    with pytest.raises(TypeError):
        lch.Channel(lch.ROLE_HOST, "host", 0)  # type: ignore[call-arg]


def test_channels_of_different_catalogs_refuse_each_other() -> None:
    host = lch.Channel(lch.ROLE_HOST, "h", 0, catalog_hash=lcat.CATALOG_HASH, rand32=lambda: 7)
    dev = lch.Channel(lch.ROLE_DEVICE, "d", 0, catalog_hash=lcat.CATALOG_HASH ^ 1, rand32=lambda: 9)
    events: list[object] = []
    for now in range(0, 50, 5):
        events += host.receive(dev.outgoing(), now) + host.tick(now)
        dev.receive(host.outgoing(), now)
        dev.tick(now)
    refused = [e for e in events if isinstance(e, lch.Refused)]
    assert refused and refused[0].reason == lch.REFUSE_CATALOG and not host.up


def test_the_catalog_hash_is_the_crc_of_the_catalog_text() -> None:
    text = ";".join(
        f"{mid}:{name}:{direction}:{fmt}:{','.join(fields)}"
        for mid, name, direction, fmt, fields in lcat.CATALOG
    )
    assert lcat.CATALOG_HASH == lf.crc32(text.encode())
