"""The certificate check page served by `kofu center`: public on the --verify-port (TLS, no
client certificate), in a process of its own, never on the kiosk API port; it trusts the keys
of the center's municipalities. A scan of a back signed by the center is VALID; tampered or
forged, INVALID."""

from __future__ import annotations

import dataclasses
import io
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from center import demo as center_demo
from center import models, softhsm
from center.atrest import attach
from center.db import make_engine
from center.issuing import issuer_of, sign
from center.keystore import KeyStore
from center.launch import RunningCenter
from center.simkiosk import client, tls_context
from documents import demo
from documents.model import CertificateDocument
from documents.render import render_pdf
from documents.scan import pdf_pages
from documents.signing import MAGIC, SIGNATURE_LEN, sign_document

_VERIFY = re.compile(r"certificate check page on (https://\S+)")


@dataclasses.dataclass
class Running:
    api_url: str
    verify_url: str
    state: Path
    doc: CertificateDocument
    payload: bytes


@pytest.fixture(scope="module")
def running(center_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    db = f"sqlite:///{tmp_path_factory.mktemp('verify-page') / 'center.db'}"
    with RunningCenter(center_state, "--verify-port", "0", db=db) as run:
        (verify_url,) = [m.group(1) for line in run.output if (m := _VERIFY.search(line))]
        engine = attach(make_engine(db), KeyStore(softhsm.settings(center_state)))
        try:
            with Session(engine) as s:
                muni = s.get(models.Municipality, center_demo.CITY)
                assert muni is not None
                doc = dataclasses.replace(demo.income(kazei=True), issuer=issuer_of(muni))
                payload = sign(doc, muni)  # by the center's token
        finally:
            engine.dispose()
        yield Running(run.url, verify_url, center_state, doc, payload)


def scan(doc: CertificateDocument, payload: bytes) -> bytes:
    """The back side as a 150 dpi scan (PNG)."""
    (back,) = pdf_pages(render_pdf(doc, payload), 150, 2, 2)
    out = io.BytesIO()
    back.save(out, format="PNG")
    return out.getvalue()


def public(running: Running) -> httpx.Client:
    # checks the center's server certificate; presents none of its own
    return httpx.Client(verify=tls_context(running.state, kiosk=None), timeout=60)


def test_a_scan_signed_by_the_center_is_valid_on_the_public_port(running: Running) -> None:
    assert running.verify_url.endswith("/verify/")
    with public(running) as http:
        page = http.get(running.verify_url)
        assert page.status_code == 200 and "証明書の確認" in page.text
        png = scan(running.doc, running.payload)
        reply = http.post(running.verify_url + "check", files={"file": ("b.png", png, "image/png")})
        assert 'class="VALID"' in reply.text and "桜川 一郎" in reply.text
        assert running.doc.issuer.name in reply.text  # the center's name for its municipality
        api = http.post(running.verify_url + "api", files={"file": ("b.png", png, "image/png")})
        assert api.json()["verdict"] == "VALID"
        assert api.json()["document"]["certificate_number"] == running.doc.certificate_number
        # the public port serves the check page only, never the kiosk API
        assert http.post(running.verify_url.replace("/verify/", "/v1/challenge")).status_code == 404


def test_tampered_and_forged_scans_are_invalid(running: Running) -> None:
    issuer = running.doc.issuer.code.encode()
    head = MAGIC + bytes([len(issuer)]) + issuer
    altered = running.doc.canonical_json().replace("桜川 一郎".encode(), "桜川 次郎".encode())
    assert altered != running.doc.canonical_json()
    tampered = head + zlib.compress(altered, 9) + running.payload[-SIGNATURE_LEN:]
    forged = sign_document(running.doc, demo.signing_key())  # right issuer code, wrong key
    with public(running) as http:
        for payload in (tampered, forged):
            files = {"file": ("b.png", scan(running.doc, payload), "image/png")}
            reply = http.post(running.verify_url + "api", files=files)
            assert reply.json()["verdict"] == "INVALID"
            assert reply.json()["reason"] == "bad signature" and reply.json()["document"] is None


def test_the_api_port_does_not_serve_the_page_and_requires_a_kiosk_certificate(
    running: Running,
) -> None:
    # the page decodes uploads from anyone: never in the kiosk API's process (issue 13, H3)
    with client(running.api_url, running.state) as http:
        assert http.get("/verify/").status_code == 404
        assert http.post("/verify/check", files={"file": ("b.png", b"x")}).status_code == 404
    with public(running) as http, pytest.raises(httpx.TransportError):
        http.get(running.api_url + "/verify/")
