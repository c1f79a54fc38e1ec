"""Receipt and refund-voucher layouts, drawn as 1-bit raster images.

The receipt printer has no kanji mode in python-escpos's release, so the whole slip is a
picture rendered with IPAex Gothic; what is printed is exactly what the layout drew.
Receipts carry no personal data: certificate types, copies, amounts and numbers only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

WIDTH = 576  # dots: 72 mm printable at 203 dpi on 80 mm paper
MARGIN = 8
FONT_FILE = "ipaexg.ttf"


class ReceiptFontMissing(RuntimeError):
    """IPAex Gothic (Debian fonts-ipaexfont-gothic) is not installed."""


@cache
def _font_path() -> Path:
    roots = [p for p in os.environ.get("KOFU_FONT_DIRS", "").split(os.pathsep) if p]
    for root in [*roots, "/usr/share/fonts", "/usr/local/share/fonts"]:
        for dirpath, _dirs, files in os.walk(root):
            if FONT_FILE in files:
                return Path(dirpath) / FONT_FILE
    raise ReceiptFontMissing("IPAex Gothic not found: install fonts-ipaexfont-gothic")


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_font_path()), size)


@dataclass(frozen=True)
class ReceiptLine:
    label: str  # e.g. 住民票の写し
    copies: int
    unit_price: int  # yen

    @property
    def amount(self) -> int:
        return self.copies * self.unit_price


@dataclass(frozen=True)
class Receipt:
    municipality: str
    kiosk_id: str
    transaction_no: str
    issued_at: str  # local time text, e.g. 2026-11-23 10:15
    lines: tuple[ReceiptLine, ...]
    paid: int
    change: int

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass(frozen=True)
class RefundVoucher:
    municipality: str
    kiosk_id: str
    voucher_no: str
    issued_at: str
    amount: int
    reason: str  # e.g. 釣銭不足 / 印刷失敗


@dataclass(frozen=True)
class ReportSlip:
    """A clerk's slip (the daily report): a title, heading lines, then label/value rows; a
    row with an empty value is a section heading. Texts come ready from the caller."""

    title: str
    heading: tuple[str, ...]
    rows: tuple[tuple[str, str], ...]


class _Canvas:
    """Vertical layout: each call appends a row below the previous one."""

    def __init__(self) -> None:
        self.img = Image.new("1", (WIDTH, 4000), 1)
        self.draw = ImageDraw.Draw(self.img)
        self.y = MARGIN

    def text(self, text: str, size: int = 26, align: str = "left") -> None:
        font = _font(size)
        w = self.draw.textlength(text, font=font)
        x = {"left": MARGIN, "center": (WIDTH - w) / 2, "right": WIDTH - MARGIN - w}[align]
        self.draw.text((x, self.y), text, font=font, fill=0)
        self.y += int(size * 1.35)

    def pair(self, left: str, right: str, size: int = 26) -> None:
        font = _font(size)
        self.draw.text((MARGIN, self.y), left, font=font, fill=0)
        w = self.draw.textlength(right, font=font)
        self.draw.text((WIDTH - MARGIN - w, self.y), right, font=font, fill=0)
        self.y += int(size * 1.35)

    def rule(self) -> None:
        self.y += 6
        self.draw.line((MARGIN, self.y, WIDTH - MARGIN, self.y), fill=0, width=2)
        self.y += 10

    def qr(self, data: str, scale: int = 6) -> None:
        qr = segno.make_qr(data, error="m")
        n = len(qr.matrix)
        size = (n + 8) * scale
        x0 = (WIDTH - size) // 2 + 4 * scale
        y0 = self.y + 4 * scale
        for r, row in enumerate(qr.matrix):
            for c, v in enumerate(row):
                if v:
                    self.draw.rectangle((x0 + c * scale, y0 + r * scale,
                                         x0 + (c + 1) * scale - 1, y0 + (r + 1) * scale - 1),
                                        fill=0)
        self.y += size

    def done(self) -> Image.Image:
        return self.img.crop((0, 0, WIDTH, self.y + MARGIN))


def yen(amount: int) -> str:
    return f"¥{amount:,}"


def receipt_image(r: Receipt) -> Image.Image:
    c = _Canvas()
    c.text("領収書", 40, "center")
    c.text(f"{r.municipality}　証明書コンビニ交付", 24, "center")
    c.rule()
    for line in r.lines:
        c.text(line.label)
        c.pair(f"　{yen(line.unit_price)} × {line.copies}通", yen(line.amount))
    c.rule()
    c.pair("合計", yen(r.total), 32)
    c.pair("お預り", yen(r.paid))
    c.pair("お釣り", yen(r.change))
    c.rule()
    c.text(f"取引番号 {r.transaction_no}", 22)
    c.text(f"端末 {r.kiosk_id}　{r.issued_at}", 22)
    c.text("交付後の返金・交換はできません。", 22)
    return c.done()


def voucher_image(v: RefundVoucher) -> Image.Image:
    c = _Canvas()
    c.text("返金証", 40, "center")
    c.text(f"{v.municipality}　証明書コンビニ交付", 24, "center")
    c.rule()
    c.pair("返金額", yen(v.amount), 36)
    c.text(f"理由: {v.reason}", 24)
    c.qr(f"KOFU-REFUND:{v.voucher_no}:{v.amount}")
    c.text(f"返金証番号 {v.voucher_no}", 28, "center")
    c.rule()
    c.text(f"端末 {v.kiosk_id}　{v.issued_at}", 22)
    c.text("この返金証を店員または市役所窓口にお持ちください。", 20)
    return c.done()


def report_image(r: ReportSlip) -> Image.Image:
    c = _Canvas()
    c.text(r.title, 40, "center")
    for line in r.heading:
        c.text(line, 24, "center")
    c.rule()
    for label, value in r.rows:
        if value:
            c.pair(f"　{label}", value, 24)
        else:
            c.text(label, 26)
    c.rule()
    return c.done()
