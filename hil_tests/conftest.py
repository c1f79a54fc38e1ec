"""One suite for the simulator and a real bench.

`--bench FILE` names a TOML bench description; the default, benches/sim.toml, puts every
device on the simulator. A real bench file names real ports and readers instead; a section
that is absent skips the scenarios of that device.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

DEFAULT_BENCH = Path(__file__).parent / "benches" / "sim.toml"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bench",
        action="store",
        default=str(DEFAULT_BENCH),
        help="bench description (TOML); default: every device simulated",
    )


@pytest.fixture(scope="session")
def bench(request: pytest.FixtureRequest) -> dict[str, Any]:
    path = Path(request.config.getoption("--bench"))
    with path.open("rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
    data.setdefault("name", path.stem)
    return data


def bench_section(bench: dict[str, Any], name: str) -> dict[str, Any]:
    """The bench's section for one device, or skip the scenario when the bench lacks it."""
    section = bench.get(name)
    if section is None:
        pytest.skip(f"bench {bench['name']!r} has no [{name}] section")
    return dict(section)
