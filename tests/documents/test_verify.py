"""Round trip render -> rasterize (pdftoppm) -> decode (zxing-cpp) -> verify, and every
INVALID reason, through the library and the `kofu verify` command."""

from __future__ import annotations

import dataclasses
import io
import random
from pathlib import Path

import pytest
from PIL import Image

from documents import demo, segments, verify_cli
from documents.my_number_digest import agrees
from documents.render import render_pdf
from documents.scan import pdf_pages
from documents.signing import Reason, generate_key, sign_document
from documents.trust import TrustStoreError, load_trust
from documents.verify import verify_file

TRUST = load_trust()
KEY = demo.signing_key()


def back_scan(pdf: bytes, dpi: int = 300, fmt: str = "png") -> bytes:
    """The back of the first sheet as a scanner would give it (greyscale PNG or JPEG)."""
    (page,) = pdf_pages(pdf, dpi, first=2, last=2)
    out = io.BytesIO()
    page.save(out, format="PNG" if fmt == "png" else "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture(scope="module")
def juminhyo_pdf() -> bytes:
    doc = demo.juminhyo()
    return render_pdf(doc, sign_document(doc, KEY))


@pytest.fixture(scope="module")
def scan_png(juminhyo_pdf: bytes) -> bytes:
    return back_scan(juminhyo_pdf, 300, "png")


def test_pdf_round_trip_gives_the_signed_original(juminhyo_pdf: bytes) -> None:
    report = verify_file(juminhyo_pdf, TRUST)
    assert report.valid and report.result.reason is Reason.OK
    assert report.result.document and agrees(demo.juminhyo(), report.result.document)


def test_scanned_back_side_verifies(scan_png: bytes) -> None:
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(scan_png)).save(jpeg, format="JPEG", quality=85)
    for scan in (scan_png, jpeg.getvalue()):
        report = verify_file(scan, TRUST)
        assert report.valid and report.result.document
        assert agrees(demo.juminhyo(), report.result.document)


def test_large_content_splits_over_several_codes_and_joins_back() -> None:
    doc = demo.juminhyo(demo.big_household(9), demo.JAPANESE_OPTIONS)
    payload = sign_document(doc, KEY)
    assert len(segments.split(payload)) >= 2
    report = verify_file(back_scan(render_pdf(doc, payload), 150), TRUST)
    assert report.valid and report.result.document and agrees(doc, report.result.document)


def test_altered_field_is_invalid() -> None:
    forged = dataclasses.replace(demo.income(kazei=True), income=dataclasses.replace(
        demo.income(kazei=True).income, total_income=9_990_000))  # type: ignore[type-var]
    pdf = render_pdf(forged, sign_document(forged, generate_key()))  # forger lacks the key
    report = verify_file(back_scan(pdf, 150), TRUST)
    assert not report.valid and report.result.reason is Reason.BAD_SIGNATURE
    assert report.result.document is None


def test_unknown_issuer_no_code_and_malformed(scan_png: bytes) -> None:
    assert verify_file(scan_png, {}).result.reason is Reason.UNKNOWN_ISSUER
    blank = io.BytesIO()
    Image.new("L", (800, 600), 255).save(blank, format="PNG")
    assert verify_file(blank.getvalue(), TRUST).result.reason is Reason.NO_CODE
    assert verify_file(b"not an image at all", TRUST).result.reason is Reason.MALFORMED
    assert verify_file(b"%PDF-1.4 truncated", TRUST).result.reason is Reason.MALFORMED


def test_segments_any_order_missing_and_mixed() -> None:
    payload = bytes(random.Random(5).randbytes(2000))
    parts = segments.split(payload, 600)
    assert len(parts) == 4
    assert segments.join(list(reversed(parts)) + [parts[0], b"stray"]) == payload
    with pytest.raises(segments.SegmentError, match="missing"):
        segments.join(parts[:-1])
    with pytest.raises(segments.SegmentError, match="more than one"):
        segments.join(parts + segments.split(b"other payload"))
    with pytest.raises(segments.SegmentError):
        segments.join([])


def test_cli_exit_codes_and_output(tmp_path: Path, scan_png: bytes,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "back.png"
    good.write_bytes(scan_png)
    assert verify_cli.main([str(good)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("VALID") and "桜川 一郎" in out and "999001-2026-000101" in out
    other = tmp_path / "trust.json"
    other.write_text('{"issuers": {}}', encoding="utf-8")
    assert verify_cli.main([str(good), "--trust", str(other)]) == 1
    assert capsys.readouterr().out.startswith("INVALID: unknown issuer")
    bad_trust = tmp_path / "bad.json"
    bad_trust.write_text("{", encoding="utf-8")
    assert verify_cli.main([str(good), "--trust", str(bad_trust)]) == 2
    assert verify_cli.main([str(tmp_path / "missing.pdf")]) == 2
    assert verify_cli.main([str(good), "--json"]) == 0
    assert '"verdict": "VALID"' in capsys.readouterr().out
    with pytest.raises(TrustStoreError):
        load_trust(bad_trust)


def _paths(value: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _paths(v, (*path, i))]
    return [path]


def test_altering_any_signed_field_keeps_no_signature_valid() -> None:
    """Every leaf of the signed content, changed and re-packed under the original
    signature, is rejected."""
    import json
    import zlib

    from documents.signing import SIGNATURE_LEN, verify_payload

    for doc in (demo.juminhyo(), demo.inkan(), demo.income(kazei=True)):
        payload = sign_document(doc, KEY)
        head_len = 4 + 1 + payload[4]
        head, sig = payload[:head_len], payload[-SIGNATURE_LEN:]
        signed = verify_payload(payload, TRUST).document
        assert signed is not None
        data = signed.to_dict()  # as signed: 個人番号 digests and their salt included
        for path in _paths(data):
            altered = json.loads(json.dumps(data))
            node = altered
            for key in path[:-1]:
                node = node[key]
            old = node[path[-1]]
            node[path[-1]] = old + 1 if isinstance(old, int) else str(old) + "1"
            body = json.dumps(altered, ensure_ascii=False, sort_keys=True,
                              separators=(",", ":")).encode()
            forged = head + zlib.compress(body, 9) + sig
            result = verify_payload(forged, TRUST)
            assert result.reason is Reason.BAD_SIGNATURE, path
