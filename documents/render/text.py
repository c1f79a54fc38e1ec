"""Small text helpers for Japanese layout (no spaces to break at: wrap by width)."""

from __future__ import annotations

from reportlab.pdfbase.pdfmetrics import stringWidth


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Lines of ``text`` no wider than ``width`` points, broken between characters."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for ch in paragraph:
            if line and stringWidth(line + ch, font, size) > width:
                lines.append(line)
                line = ""
            line += ch
        lines.append(line)
    return lines


def yen(amount: int) -> str:
    return f"{amount:,}円"
