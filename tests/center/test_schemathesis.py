"""Property-based requests generated from the center's own OpenAPI description (bounded)."""

from __future__ import annotations

from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from center.pki import CenterPki
from center.simkiosk import client

from .conftest import Live


def _session(live: Live) -> requests.Session:
    pki = CenterPki(live.state)
    s = requests.Session()
    stem = pki.kiosk("demo-kiosk")
    s.cert = (str(stem.with_suffix(".pem")), str(stem.with_suffix(".key")))
    s.verify = str(pki.server_ca.with_suffix(".pem"))
    return s


def test_api_conforms_to_its_openapi(live: Live) -> None:
    with client(live.url, live.state) as http:
        spec: dict[str, Any] = http.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(spec)
    ops = [result.ok() for result in schema.get_all_operations()]
    assert len(ops) >= 10
    session = _session(live)

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        op = data.draw(st.sampled_from(ops))
        case = data.draw(op.as_strategy())
        resp = case.call(
            base_url=live.url, session=session, timeout=30, verify=session.verify, cert=session.cert
        )
        assert resp.status_code < 500, (op.label, resp.status_code, resp.text[:200])
        case.validate_response(resp)
        if resp.status_code >= 400 and "json" in resp.headers.get("content-type", ""):
            assert set(resp.json()) == {"error", "message_ja", "message_en"}

    try:
        check()
    finally:
        session.close()
