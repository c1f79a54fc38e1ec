from __future__ import annotations

import io

from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from documents import demo
from documents.render import render_pdf
from documents.scan import pdf_pages
from documents.signing import sign_document
from documents.verify_web import create_app, make_router


def scan() -> bytes:
    doc = demo.income(kazei=True)
    (back,) = pdf_pages(render_pdf(doc, sign_document(doc, demo.signing_key())), 150, 2, 2)
    out = io.BytesIO()
    back.save(out, format="PNG")
    return out.getvalue()


def test_upload_page_shows_the_signed_original_and_rejects_junk() -> None:
    client = TestClient(create_app())
    assert "証明書の確認" in client.get("/").text
    good = client.post("/check", files={"file": ("back.png", scan(), "image/png")})
    assert good.status_code == 200
    assert 'class="VALID"' in good.text and "桜川 一郎" in good.text and "163500" in good.text
    blank = io.BytesIO()
    Image.new("L", (300, 300), 255).save(blank, format="PNG")
    bad = client.post("/check", files={"file": ("x.png", blank.getvalue(), "image/png")})
    assert 'class="INVALID"' in bad.text and "no code found" in bad.text
    assert client.post("/check", files={"file": ("e.png", b"", "image/png")}).status_code == 400


def test_router_mounts_under_a_prefix_with_a_json_api(tmp_path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "trust.json"
    empty.write_text('{"issuers": {}}', encoding="utf-8")
    app = FastAPI()
    app.include_router(make_router(empty), prefix="/verify")
    reply = TestClient(app).post("/verify/api", files={"file": ("b.png", scan(), "image/png")})
    assert reply.json()["verdict"] == "INVALID" and reply.json()["reason"] == "unknown issuer"
    assert reply.json()["document"] is None
