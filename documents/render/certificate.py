"""CertificateDocument -> duplex A4 PDF: content on the front of each sheet, the signed 2D
code on its back, the copy-evident background on both sides.

Every sheet carries "n / m" and the certificate number on both sides, so a multi-page
certificate that is not stapled stays identifiable. The PDF has two pages per sheet
(front, back), so a duplex printer's impression count maps straight to sheets.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from documents.model import CertificateDocument, CertificateType, JuminhyoOption, Person
from documents.render import code2d, security
from documents.render.fonts import GOTHIC, MINCHO, register
from documents.render.seals import municipal_seal
from documents.render.text import wrap, yen
from documents.wareki import fiscal_year, wareki

# Binary (Flate only) image streams: ASCII85 on top costs more time than everything else
# in a render and only makes the PDF larger.
rl_config.useA85 = 0

PAGE_W, PAGE_H = A4
MARGIN = 18 * mm
CONTENT_TOP = PAGE_H - 42 * mm
CONTENT_BOTTOM = 26 * mm
BODY = 10.5  # pt
LINE = BODY * 1.55
LABEL_W = 44 * mm
TABLE_W = PAGE_W - 2 * MARGIN


class RenderError(ValueError):
    """The document cannot be rendered as given."""


class SealImageMismatch(RenderError):
    """The seal image beside a 印鑑登録証明書 is not the one its signed content names."""


Draw = Callable[[Canvas, float], None]  # draws with its top edge at y


@dataclass(frozen=True)
class Block:
    height: float
    draw: Draw
    keep_with_next: bool = False


def _rows_block(rows: list[tuple[str, str]], heading: str | None = None) -> Block:
    """A ruled two-column table: label | value, values wrapped to the column."""
    value_w = TABLE_W - LABEL_W - 6 * mm
    laid: list[tuple[str, list[str], float]] = []
    for label, value in rows:
        lines = wrap(value, MINCHO, BODY, value_w)
        laid.append((label, lines, max(1, len(lines)) * LINE + 4))
    head_h = LINE + 4 if heading else 0.0
    height = head_h + sum(h for _, _, h in laid) + 3 * mm

    def draw(c: Canvas, top: float) -> None:
        y = top
        c.setLineWidth(0.6)
        if heading:
            c.setFillColorRGB(0.93, 0.93, 0.93)
            c.rect(MARGIN, y - head_h, TABLE_W, head_h, stroke=1, fill=1)
            c.setFillColorRGB(0, 0, 0)
            c.setFont(GOTHIC, BODY)
            c.drawString(MARGIN + 3 * mm, y - head_h + 5, heading)
            y -= head_h
        for label, lines, h in laid:
            c.rect(MARGIN, y - h, TABLE_W, h, stroke=1, fill=0)
            c.line(MARGIN + LABEL_W, y, MARGIN + LABEL_W, y - h)
            c.setFillColorRGB(0, 0, 0)
            c.setFont(MINCHO, BODY - 1)
            c.drawString(MARGIN + 2 * mm, y - LINE + 1, label)
            c.setFont(MINCHO, BODY)
            for i, line in enumerate(lines):
                c.drawString(MARGIN + LABEL_W + 3 * mm, y - (i + 1) * LINE + 1, line)
            y -= h

    return Block(height, draw)


def _person_rows(p: Person, options: tuple[JuminhyoOption, ...]) -> list[tuple[str, str]]:
    rows = [("氏名", f"{p.name}（{p.kana}）")]
    if p.alias:
        rows.append(("通称", p.alias))
    rows += [
        ("生年月日 / 性別", f"{wareki(p.birth_date)}生　{p.sex}"),
        ("住民となった年月日", wareki(p.resident_since)),
        ("住所", p.address),
    ]
    if p.moved_in:
        rows.append(("住所を定めた年月日", wareki(p.moved_in)))
    if p.previous_address:
        rows.append(("前住所", p.previous_address))
    opt = set(options)
    if JuminhyoOption.HOUSEHOLD in opt and p.household_head:
        rows.append(("世帯主 / 続柄", f"{p.household_head}　／　{p.relationship or ''}"))
    if JuminhyoOption.MY_NUMBER in opt and p.my_number:
        rows.append(("個人番号", " ".join(p.my_number[i : i + 4] for i in range(0, 12, 4))))
    if JuminhyoOption.HONSEKI in opt and p.honseki:
        rows.append(("本籍", p.honseki))
        rows.append(("筆頭者", p.hittosha or ""))
    if JuminhyoOption.NATIONALITY in opt and p.nationality:
        rows.append(("国籍・地域", p.nationality))
    if JuminhyoOption.RESIDENCE_CARD in opt and p.residence_card_number:
        rows.append(("在留カード等の番号", p.residence_card_number))
    if JuminhyoOption.RESIDENCE_STATUS in opt and p.residence_status:
        rows.append(("法第30条の45に規定する区分", p.article_30_45 or ""))
        rows.append(("在留資格", p.residence_status))
        rows.append(("在留期間等", p.period_of_stay or ""))
        if p.stay_expiry:
            rows.append(("在留期間の満了の日", wareki(p.stay_expiry)))
    return rows


def _content_blocks(doc: CertificateDocument, seal_image: bytes | None) -> list[Block]:
    if doc.type is CertificateType.JUMINHYO:
        if not doc.members:
            raise RenderError("a 住民票の写し needs at least one member")
        return [
            _rows_block(_person_rows(p, doc.options), heading=f"{i}　{p.name}")
            for i, p in enumerate(doc.members, start=1)
        ]
    if doc.type is CertificateType.INKAN:
        s = doc.seal
        if s is None:
            raise RenderError("a 印鑑登録証明書 needs its seal registration")
        if seal_image is None:
            raise SealImageMismatch("the seal image is missing")
        if hashlib.sha256(seal_image).hexdigest() != s.seal_image_sha256:
            raise SealImageMismatch("the seal image does not match the signed content")
        return [_seal_block(seal_image), _rows_block([
            ("登録番号", s.registration_number), ("氏名", s.name),
            ("生年月日", f"{wareki(s.birth_date)}生"), ("住所", s.address),
        ])]
    inc = doc.income
    if inc is None:
        raise RenderError(f"a {doc.type.title_ja} needs its income record")
    rows = [
        ("年度", f"{fiscal_year(inc.fiscal_year)}（{fiscal_year(inc.fiscal_year - 1)[:-1]}分）"),
        ("住所", inc.address), ("氏名", inc.name), ("生年月日", f"{wareki(inc.birth_date)}生"),
        ("給与収入", yen(inc.salary_income)), ("その他の所得", yen(inc.other_income)),
        ("合計所得金額", yen(inc.total_income)), ("所得控除額", yen(inc.deductions)),
        ("扶養人数", f"{inc.dependents}人"),
    ]
    if doc.type is CertificateType.SHOTOKU_KAZEI:
        city, pref = inc.municipal_tax or 0, inc.prefectural_tax or 0
        rows += [("市民税額", yen(city)), ("県民税額", yen(pref)), ("税額合計", yen(city + pref))]
    return [_rows_block(rows)]


def _seal_block(image: bytes) -> Block:
    size = 34 * mm

    def draw(c: Canvas, top: float) -> None:
        c.setFont(MINCHO, BODY)
        c.setFillColorRGB(1, 1, 1)
        c.rect(MARGIN, top - size - 8 * mm, TABLE_W, size + 8 * mm, stroke=1, fill=1)
        c.setFillColorRGB(0, 0, 0)
        c.drawString(MARGIN + 2 * mm, top - LINE, "印影")
        c.drawImage(ImageReader(io.BytesIO(image)), MARGIN + LABEL_W + 10 * mm,
                    top - size - 4 * mm, size, size, mask="auto")

    return Block(size + 8 * mm + 2 * mm, draw)


_SENTENCES = {
    CertificateType.JUMINHYO: "この写しは、住民票の原本と相違ないことを証明する。",
    CertificateType.INKAN: "この写しは、登録されている印影と相違ないことを証明する。",
    CertificateType.SHOTOKU: "上記のとおり証明する。",
    CertificateType.SHOTOKU_KAZEI: "上記のとおり証明する。",
}


def _certification_block(doc: CertificateDocument) -> Block:
    seal = municipal_seal(doc.issuer.mayor_title + "之印")
    height = 52 * mm

    def draw(c: Canvas, top: float) -> None:
        c.setFillColorRGB(0, 0, 0)
        c.setFont(MINCHO, BODY - 1.5)
        c.drawString(MARGIN, top - LINE, f"（{wareki(doc.data_as_of)}現在の記録による）")
        c.setFont(MINCHO, BODY + 1)
        c.drawString(MARGIN, top - 3 * LINE, _SENTENCES[doc.type])
        c.drawString(MARGIN + 8 * mm, top - 5 * LINE, wareki(doc.issue_date))
        signer = f"{doc.issuer.mayor_title}　{doc.issuer.mayor_name}"
        c.setFont(MINCHO, BODY + 4)
        sx = PAGE_W - MARGIN - 30 * mm - c.stringWidth(signer, MINCHO, BODY + 4)
        sy = top - 7.2 * LINE
        c.drawString(sx, sy, signer)
        # the 公印 overlaps the end of the mayor's name, as on paper
        c.drawImage(ImageReader(io.BytesIO(seal)), PAGE_W - MARGIN - 30 * mm, sy - 10 * mm,
                    26 * mm, 26 * mm, mask="auto")

    return Block(height, draw)


def paginate(blocks: list[Block], last: Block) -> list[list[Block]]:
    """Blocks per page; a block never splits, the certification comes last."""
    pages: list[list[Block]] = [[]]
    room = CONTENT_TOP - CONTENT_BOTTOM
    left = room
    for block in [*blocks, last]:
        if block.height > room:
            raise RenderError("a content block is taller than a page")
        if block.height > left and pages[-1]:
            pages.append([])
            left = room
        pages[-1].append(block)
        left -= block.height + 3 * mm
    return pages


def _footer(c: Canvas, doc: CertificateDocument, n: int, m: int, back: bool) -> None:
    c.setFillColorRGB(1, 1, 1)
    c.rect(MARGIN, 10 * mm, TABLE_W, 10 * mm, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(GOTHIC, 9)
    side = "裏面" if back else "表面"
    c.drawString(MARGIN, 14 * mm, f"証明書番号 {doc.certificate_number}　（{side}）")
    c.drawRightString(PAGE_W - MARGIN, 14 * mm, f"{n} / {m}")


def _front(c: Canvas, doc: CertificateDocument, blocks: list[Block], n: int, m: int) -> None:
    security.void_pantograph(c, PAGE_W, PAGE_H)
    c.setFillColorRGB(1, 1, 1)
    c.rect(MARGIN, PAGE_H - 36 * mm, TABLE_W, 20 * mm, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(MINCHO, 20)
    title = doc.type.title_ja + ("（続き）" if n > 1 else "")
    c.drawCentredString(PAGE_W / 2, PAGE_H - 28 * mm, title)
    security.latent_mark(c, security.Box(PAGE_W - MARGIN - 32 * mm, PAGE_H - 35 * mm,
                                         32 * mm, 14 * mm), doc.issuer.name[:3])
    y = CONTENT_TOP
    for block in blocks:
        block.draw(c, y)
        y -= block.height + 3 * mm
    _footer(c, doc, n, m, back=False)


def _back(c: Canvas, doc: CertificateDocument, codes: list[list[list[bool]]], n: int,
          m: int) -> None:
    security.void_pantograph(c, PAGE_W, PAGE_H)
    c.setFillColorRGB(1, 1, 1)
    c.rect(MARGIN, PAGE_H - 50 * mm, TABLE_W, 34 * mm, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(GOTHIC, 12)
    c.drawString(MARGIN, PAGE_H - 26 * mm, "改ざん防止用コード（内容確認用）")
    c.setFont(GOTHIC, 8.5)
    notes = [
        f"このコードには、表面の証明内容と{doc.issuer.name}の電子署名が記録されています。",
        "「kofu verify」または確認用ページで読み取り、表示される内容と表面を照合してください。",
        f"発行者: {doc.issuer.name}（{doc.issuer.code}）　証明書の種類: {doc.type.title_ja}",
    ]
    if any(p.my_number for p in doc.members):
        notes.append("個人番号はコードに記録されていません（照合用の値のみ。番号を入力して照合できます）。")
    for i, line in enumerate(notes):
        c.drawString(MARGIN, PAGE_H - (32 + 4.5 * i) * mm, line)
    size = 70 * mm if len(codes) <= 2 else 56 * mm
    per_row = 2
    for i, matrix in enumerate(codes):
        row, col = divmod(i, per_row)
        x = MARGIN + col * (size + 12 * mm)
        y = PAGE_H - 58 * mm - size - row * (size + 10 * mm)
        code2d.draw_qr(c, matrix, x, y, size)
        if len(codes) > 1:
            c.setFont(GOTHIC, 8)
            c.drawString(x, y - 4 * mm, f"コード {i + 1} / {len(codes)}")
    security.latent_mark(c, security.Box(PAGE_W - MARGIN - 32 * mm, 26 * mm, 32 * mm, 14 * mm),
                         doc.issuer.name[:3])
    _footer(c, doc, n, m, back=True)


def render_pdf(doc: CertificateDocument, payload: bytes, seal_image: bytes | None = None) -> bytes:
    """The duplex PDF of ``doc``; ``payload`` is its signed 2D-code content
    (:func:`documents.signing.sign_document`)."""
    register(MINCHO)
    register(GOTHIC)
    pages = paginate(_content_blocks(doc, seal_image), _certification_block(doc))
    codes = code2d.codes_for(payload)
    out = io.BytesIO()
    c = Canvas(out, pagesize=A4, invariant=True)
    c.setTitle(f"{doc.type.title_ja} {doc.certificate_number}")
    c.setCreator("kofu")
    m = len(pages)
    for n, blocks in enumerate(pages, start=1):
        _front(c, doc, blocks, n, m)
        c.showPage()
        _back(c, doc, codes, n, m)
        c.showPage()
    c.save()
    return out.getvalue()


def sheet_count(pdf_pages: int) -> int:
    return pdf_pages // 2
