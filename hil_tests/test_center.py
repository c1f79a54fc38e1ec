"""The issuance center as the kiosk sees it: mutual TLS, a challenge, and (on the simulator)
one whole citizen flow with a demo card."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hil_tests.conftest import bench_section


@dataclass
class CenterUnderTest:
    url: str
    http: httpx.Client
    state: Path | None  # demo state (sim only): cards to sign with


@pytest.fixture(scope="module")
def center(
    bench: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CenterUnderTest]:
    section = bench_section(bench, "center")
    if section.get("backend") == "sim":
        from center import demo
        from center.launch import RunningCenter
        from center.simkiosk import client

        state = tmp_path_factory.mktemp("hil-center")
        with RunningCenter(state, "--clock", demo.service_morning().isoformat()) as run:
            with client(run.url, state) as http:
                yield CenterUnderTest(run.url, http, state)
        return
    ctx = ssl.create_default_context(cafile=section["ca"])
    ctx.load_cert_chain(section["cert"], section["key"])
    with httpx.Client(base_url=section["url"], verify=ctx, timeout=30) as http:
        yield CenterUnderTest(section["url"], http, None)


def test_center_answers_over_mutual_tls(center: CenterUnderTest) -> None:
    assert center.http.get("/v1/health").json() == {"status": "ok"}
    challenge = center.http.post("/v1/challenge").json()
    assert len(base64.b64decode(challenge["challenge"])) == 32


def test_one_citizen_flow(center: CenterUnderTest) -> None:
    if center.state is None:
        pytest.skip("a real center: the flow needs a real card (see the card scenarios)")
    from center.simkiosk import Card, KioskSession, issue_juminhyo

    issued = issue_juminhyo(KioskSession(center.http), Card.demo(center.state, "taro"))
    assert len(issued["certificates"]) == 1
