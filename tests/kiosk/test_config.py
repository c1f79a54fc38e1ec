"""kiosk.toml loading: the example loads, every bad key is named."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from host.kiosk.config import KioskConfigError, load, parse

EXAMPLE = Path(__file__).resolve().parents[2] / "kiosk.example.toml"


def example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def test_example_loads_with_paths_relative_to_the_file() -> None:
    cfg = load(EXAMPLE)
    assert cfg.card.backend == "real"
    assert cfg.printer.uri.startswith("ipp://")
    assert cfg.center.ca == EXAMPLE.parent / "tls" / "center-ca.pem"
    assert cfg.spool_dir == EXAMPLE.parent / "spool"
    assert cfg.receipt.settings["connection"] == "serial"


@pytest.mark.parametrize(
    ("table", "key", "value", "named"),
    [
        ("card", "backend", "magic", "card.backend"),
        ("card", "reader", "", "card.reader"),
        ("printer", "uri", "lpt1", "printer.uri"),
        ("center", "url", "http://plain", "center.url"),
        ("center", "retries", 99, "center.retries"),
        ("center", "timeout_s", -1, "center.timeout_s"),
        ("ui", "port", 70000, "ui.port"),
        ("coproc", "port", 5, "coproc.port"),
        ("session", "max_copies", 0, "session.max_copies"),
        ("cash", "coin_acceptor", "telepathy", "cash"),
    ],
)
def test_bad_keys_are_named(table: str, key: str, value: object, named: str) -> None:
    raw = example()
    raw[table][key] = value
    with pytest.raises(KioskConfigError, match=named.replace(".", r"\.")):
        parse(raw, EXAMPLE.parent)


def test_the_kiosk_service_has_no_switch_for_the_simulation_panel() -> None:
    raw = example()
    raw["ui"]["sim_panel"] = True
    with pytest.raises(KioskConfigError, match=r"ui\.sim_panel: the kiosk service serves no"):
        parse(raw, EXAMPLE.parent)
    raw = example()
    raw["ui"]["dev_routes"] = True
    with pytest.raises(KioskConfigError, match=r"ui\.dev_routes: unknown key"):
        parse(raw, EXAMPLE.parent)
    raw = example()
    raw["voice"] = {"backend": "sim"}
    with pytest.raises(KioskConfigError, match=r"voice\.backend"):
        parse(raw, EXAMPLE.parent)


def test_missing_table_and_unknown_table_are_named() -> None:
    raw = example()
    del raw["printer"]
    with pytest.raises(KioskConfigError, match=r"\[printer\]"):
        parse(raw, EXAMPLE.parent)
    raw = example()
    raw["toaster"] = {}
    with pytest.raises(KioskConfigError, match="toaster"):
        parse(raw, EXAMPLE.parent)


def test_unreadable_and_non_toml_files(tmp_path: Path) -> None:
    with pytest.raises(KioskConfigError, match="cannot read"):
        load(tmp_path / "absent.toml")
    bad = tmp_path / "kiosk.toml"
    bad.write_text("[card\n", encoding="utf-8")
    with pytest.raises(KioskConfigError, match="not TOML"):
        load(bad)
