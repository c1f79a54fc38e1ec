"""Rendering: every type and option set renders; the text says what the document holds,
nothing of anyone else; every page is numbered and carries the certificate number."""

from __future__ import annotations

import dataclasses
import io
from itertools import combinations

import pytest
from pypdf import PdfReader

from documents import demo
from documents.model import CertificateType, JuminhyoOption
from documents.render import RenderError, SealImageMismatch, fonts, render_pdf
from documents.signing import sign_document

KEY = demo.signing_key()


def pdf_text(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def render(doc: demo.CertificateDocument, seal: bytes | None = None) -> list[str]:
    return pdf_text(render_pdf(doc, sign_document(doc, KEY), seal))


JAPANESE = (JuminhyoOption.HOUSEHOLD, JuminhyoOption.MY_NUMBER, JuminhyoOption.HONSEKI)
OPTION_SETS = [()] + [c for n in (1, 2, 3) for c in combinations(JAPANESE, n)]
FOREIGN_SETS = [(), *[(o,) for o in demo.FOREIGN_OPTIONS], demo.FOREIGN_OPTIONS]

# label printed for each option group, and the demo value that goes with it
MARKERS = {
    JuminhyoOption.HOUSEHOLD: "世帯主 / 続柄",
    JuminhyoOption.MY_NUMBER: "個人番号",
    JuminhyoOption.HONSEKI: "本籍",
    JuminhyoOption.NATIONALITY: "国籍・地域",
    JuminhyoOption.RESIDENCE_CARD: "在留カード等の番号",
    JuminhyoOption.RESIDENCE_STATUS: "在留資格",
}


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda o: "+".join(o) or "none")
def test_juminhyo_japanese_option_groups(options: tuple[JuminhyoOption, ...]) -> None:
    text = "".join(render(demo.juminhyo((demo.HEAD, demo.SPOUSE), options)))
    assert "住民票の写し" in text and "桜川 一郎" in text and "桜川 花子" in text
    assert "前住所" in text and "架空県青葉市中央五丁目6番7号" in text
    for option in JAPANESE:
        assert (MARKERS[option] in text) is (option in options), option
    assert ("1234 5678 9018" in text) is (JuminhyoOption.MY_NUMBER in options)
    assert ("本町一丁目10番地" in text) is (JuminhyoOption.HONSEKI in options)


@pytest.mark.parametrize("options", FOREIGN_SETS, ids=lambda o: "+".join(o) or "none")
def test_juminhyo_foreign_option_groups(options: tuple[JuminhyoOption, ...]) -> None:
    text = "".join(render(demo.juminhyo((demo.FOREIGN,), options)))
    assert "シルバ ベルナルド" in text and "港 ベルナルド" in text
    for option in demo.FOREIGN_OPTIONS[1:]:
        assert (MARKERS[option] in text) is (option in options), option
    assert ("AB12345678CD" in text) is (JuminhyoOption.RESIDENCE_CARD in options)
    assert ("定住者" in text) is (JuminhyoOption.RESIDENCE_STATUS in options)
    assert "本籍" not in text


def test_no_field_of_another_person() -> None:
    text = "".join(render(demo.juminhyo((demo.CHILD,), (JuminhyoOption.MY_NUMBER,))))
    assert "桜川 美咲" in text and "3456 7890 1236" in text
    for other in (demo.HEAD, demo.SPOUSE, demo.FOREIGN):
        assert other.name not in text
        assert other.my_number is not None
        assert " ".join(other.my_number[i : i + 4] for i in (0, 4, 8)) not in text
    assert "架空県青葉市" not in text  # the spouse's previous address


def test_inkan_with_seal_and_income_certificates() -> None:
    text = "".join(render(demo.inkan(), demo.seal_image()))
    assert "印鑑登録証明書" in text and "第12345号" in text and "印影" in text
    assert "登録されている印影と相違ないことを証明する" in text
    shotoku = "".join(render(demo.income(kazei=False)))
    assert "所得証明書" in shotoku and "令和8年度" in shotoku and "4,560,000円" in shotoku
    assert "市民税額" not in shotoku
    kazei = "".join(render(demo.income(kazei=True)))
    assert "所得課税証明書" in kazei and "163,500円" in kazei and "272,500円" in kazei


def test_certification_date_mayor_on_last_page() -> None:
    pages = render(demo.juminhyo())
    assert "令和8年11月23日" in pages[-2]  # last front (the last PDF page is its back)
    assert "桜川原市長" in pages[-2] and "木下 一郎" in pages[-2]
    assert "住民票の原本と相違ない" in pages[-2]


def test_overflow_numbers_every_page_and_side() -> None:
    doc = demo.juminhyo(demo.big_household(9), number="999001-2026-000777")
    pages = render(doc)
    sheets = len(pages) // 2
    assert len(pages) % 2 == 0 and sheets >= 3
    for i, text in enumerate(pages):
        assert f"{i // 2 + 1}/{sheets}" in text.replace(" ", "")
        assert "999001-2026-000777" in text
        assert ("裏面" in text) is (i % 2 == 1)
    fronts = "".join(pages[0::2])
    for person in doc.members:
        assert person.name in fronts


def test_seal_image_must_match_signed_hash() -> None:
    doc = demo.inkan()
    with pytest.raises(SealImageMismatch):
        render_pdf(doc, sign_document(doc, KEY), b"\x89PNG not the registered seal")
    with pytest.raises(SealImageMismatch):
        render_pdf(doc, sign_document(doc, KEY), None)


def test_incomplete_documents_are_refused() -> None:
    empty = dataclasses.replace(demo.juminhyo(), members=())
    with pytest.raises(RenderError):
        render_pdf(empty, sign_document(empty, KEY))
    no_income = dataclasses.replace(demo.income(False), income=None)
    with pytest.raises(RenderError):
        render_pdf(no_income, sign_document(no_income, KEY))


def test_missing_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(fonts, "_DEFAULT_DIRS", (str(tmp_path),))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KOFU_FONT_DIRS", raising=False)
    fonts.font_path.cache_clear()
    try:
        with pytest.raises(fonts.FontMissingError, match="fonts-ipaexfont-mincho"):
            fonts.font_path(fonts.MINCHO)
    finally:
        fonts.font_path.cache_clear()


def test_all_sample_types_render_via_cli(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from documents import paper_cli

    for kind in CertificateType:
        out = tmp_path / f"{kind.value}.pdf"
        assert paper_cli.main(["sample", "--type", kind.value, "--out", str(out)]) == 0
        assert kind.title_ja in "".join(pdf_text(out.read_bytes()))
