"""Property-based requests generated from the center's own OpenAPI description (bounded)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from center.pki import CenterPki
from center.simkiosk import client
from tests.fuzzing import examples

from .conftest import Live


def _session(live: Live) -> requests.Session:
    pki = CenterPki(live.state)
    s = requests.Session()
    stem = pki.kiosk("demo-kiosk")
    s.cert = (str(stem.with_suffix(".pem")), str(stem.with_suffix(".key")))
    s.verify = str(pki.server_ca.with_suffix(".pem"))
    return s


@pytest.mark.property
def test_api_conforms_to_its_openapi(live: Live) -> None:
    with client(live.url, live.state) as http:
        spec: dict[str, Any] = http.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(spec)
    ops = [result.ok() for result in schema.get_all_operations()]
    assert len(ops) >= 10
    session = _session(live)

    @settings(
        max_examples=examples(40),
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


# Bodies on either side of each bound of `POST /v1/kiosk/health`: the OpenAPI description and
# the handler must give the same verdict on each. The first was the defect schemathesis found
# (ST202): device names outside the pattern were schema-valid yet refused with 422.
HEALTH_BODIES: list[dict[str, Any]] = [
    {"ready": True, "devices": {"A": {"ok": True}}},
    {"ready": True, "devices": {"0": {"ok": True}, "a4_printer": {"ok": True}}},
    {"ready": True, "devices": {"a4_printer": {"ok": "yes"}}},
    {"ready": True, "devices": {"a4_printer": {"ok": True, "colour": "red"}}},
    {"ready": True, "devices": {"x" * 41: {"ok": True}}},
    {"ready": True, "devices": {f"d_{chr(97 + i)}": {"ok": True} for i in range(21)}},
    {"ready": True, "state": "Idle"},
    {"ready": "true"},
    {"ready": True, "devices": {"a4_printer": {"ok": False, "reason": "media-empty"}}},
    {"ready": True, "devices": {"x" * 40: {"ok": True, "since": "2026-12-08T10:00:00+09:00"}}},
    {"ready": True, "devices": {f"d_{chr(97 + i)}": {"ok": True} for i in range(20)}},
    {"ready": False, "state": "out_of_service", "devices": {}},
]


def test_health_report_schema_and_handler_agree(live: Live) -> None:
    with client(live.url, live.state) as http:
        spec: dict[str, Any] = http.get("/openapi.json").json()
        body_schema = {"$ref": "#/components/schemas/KioskHealthIn", **spec}
        validator = jsonschema.Draft202012Validator(body_schema)
        verdicts = []
        for body in HEALTH_BODIES:
            schema_ok = validator.is_valid(body)
            status = http.post("/v1/kiosk/health", json=body).status_code
            assert status in (204, 422), (body, status)
            verdicts.append((schema_ok, status == 204))
    disagree = [(b, v) for b, v in zip(HEALTH_BODIES, verdicts, strict=True) if v[0] != v[1]]
    assert not disagree, disagree
    # both kinds occur, so the comparison above cannot pass by accepting or refusing all
    assert {s for s, _ in verdicts} == {True, False}
