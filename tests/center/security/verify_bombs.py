"""A corpus of hostile uploads for the certificate check page: decompression bombs, files that
declare huge sizes, truncated and malformed files, polyglots. Each one is small (most under
1 KB); decoded naively each costs gigabytes or minutes. Generated, not stored, so that what
each file does is readable here."""

from __future__ import annotations

import struct
import zlib


def pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF with a correct cross-reference table (so every reader sees the same objects)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, root, xref)
    return bytes(out)


def stream(head: bytes, data: bytes) -> bytes:
    return b"<< " + head + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def _catalog(kids: bytes, count: int) -> list[bytes]:
    return [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count]


def pdf_huge_page(points: int = 14400) -> bytes:
    """One empty page of 200 x 200 inches: 30000 x 30000 pixels (900 MB) at 150 dpi."""
    return pdf([*_catalog(b"3 0 R", 1),
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] >>" % (points, points)])


def pdf_user_unit() -> bytes:
    """A normal-looking A4 MediaBox scaled 75-fold by /UserUnit."""
    return pdf([*_catalog(b"3 0 R", 1),
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /UserUnit 75 >>"])


def _pages(count: int, page: bytes, declared: int | None = None) -> bytes:
    kids = b" ".join(b"%d 0 R" % (i + 3) for i in range(count))
    return pdf([*_catalog(kids, count if declared is None else declared),
                *[b"<< /Type /Page /Parent 2 0 R " + page + b" >>"] * count])


def pdf_big_pages_repeated(copies: int = 20, points: int = 5700) -> bytes:
    """``copies`` pages of 79 x 79 inches: ~140 MP each, all held at once by a naive reader."""
    return _pages(copies, b"/MediaBox [0 0 %d %d]" % (points, points))


def pdf_many_pages(count: int = 5000) -> bytes:
    """Thousands of empty A4 pages."""
    return _pages(count, b"/MediaBox [0 0 595 842]")


def pdf_lying_count(count: int = 5000) -> bytes:
    """A page tree that declares one page and holds thousands."""
    return _pages(count, b"/MediaBox [0 0 595 842]", declared=1)


def zeros_deflated(size: int) -> bytes:
    z = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    out = bytearray()
    for _ in range(size >> 20):
        out += z.compress(chunk)
    return bytes(out + z.flush())


def pdf_flate_content(size: int = 1 << 28) -> bytes:
    """A page whose content stream inflates from ~250 KB to ``size`` bytes of NULs."""
    return pdf([*_catalog(b"3 0 R", 1),
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
                stream(b"/Filter /FlateDecode", zeros_deflated(size))])


def pdf_image_bomb(side: int = 60000) -> bytes:
    """An A4 page drawing a ``side`` x ``side`` grey image (3.6 GB decoded) from a few KB."""
    draw = b"q 595 0 0 842 0 0 cm /Im1 Do Q"
    return pdf([*_catalog(b"3 0 R", 1),
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
                b"/Resources << /XObject << /Im1 5 0 R >> >> >>",
                stream(b"", draw),
                stream(b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace "
                       b"/DeviceGray /BitsPerComponent 8 /Filter /FlateDecode" % (side, side),
                       zeros_deflated(1 << 24))])


def pdf_objstm_bomb(size: int = 1 << 27) -> bytes:
    """An object stream (read by any parser before the pages) inflating to ``size`` bytes."""
    return pdf([*_catalog(b"3 0 R", 1),
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
                stream(b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode",
                       zeros_deflated(size))])


def pdf_exotic_filter() -> bytes:
    """An image in a filter a scan never needs (JBIG2 globals are a classic exploit path)."""
    return pdf([*_catalog(b"3 0 R", 1),
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                b"/Resources << /XObject << /Im1 4 0 R >> >> >>",
                stream(b"/Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace "
                       b"/DeviceGray /BitsPerComponent 1 /Filter /JBIG2Decode", b"\x00" * 64)])


def pdf_deep_tree(depth: int = 3000) -> bytes:
    """A page tree nested thousands deep (recursion in naive readers)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for i in range(depth):
        objects.append(b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (i + 3))
    objects.append(b"<< /Type /Page /MediaBox [0 0 595 842] >>")
    return pdf(objects)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png(width: int, height: int, idat: bytes = b"", colour: int = 0) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def png_huge(side: int = 65535) -> bytes:
    """A PNG header declaring 65535 x 65535 pixels (4.3 GP), with a token of data."""
    return png(side, side, zlib.compress(b"\x00" * 1024))


def png_under_pillow_limit() -> bytes:
    """13000 x 13000 RGB (169 MP): under Pillow's default bomb limit, ~500 MB to decode."""
    return png(13000, 13000, zlib.compress(b"\x00" * 4096), colour=2)


def png_zero_bomb(side: int = 8000) -> bytes:
    """A real, complete 8000 x 8000 greyscale PNG of zeros: 64 MP from ~60 KB."""
    raw = zeros_deflated(side * (side + 1))
    return png(side, side, raw)


def jpeg_header(width: int = 65535, height: int = 65535) -> bytes:
    """A baseline JPEG header (SOF0 declaring ``width`` x ``height``) with no image data."""
    def seg(marker: int, body: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body

    dqt = seg(0xDB, b"\x00" + bytes([1] * 64))
    sof = seg(0xC0, struct.pack(">BHHB", 8, height, width, 3)
              + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00")
    dht = seg(0xC4, b"\x00" + bytes([0, 1] + [0] * 14) + b"\x00"
              + b"\x10" + bytes([0, 1] + [0] * 14) + b"\x00")
    sos = seg(0xDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00")
    return b"\xff\xd8" + dqt + sof + dht + sos + b"\x00" * 64 + b"\xff\xd9"


def corpus() -> dict[str, bytes]:
    """Every hostile file by name. Each must be refused quickly, with bounded memory."""
    return {
        "pdf_huge_page": pdf_huge_page(),
        "pdf_user_unit": pdf_user_unit(),
        "pdf_big_pages_repeated": pdf_big_pages_repeated(),
        "pdf_many_pages": pdf_many_pages(),
        "pdf_lying_count": pdf_lying_count(),
        "pdf_flate_content": pdf_flate_content(),
        "pdf_image_bomb": pdf_image_bomb(),
        "pdf_objstm_bomb": pdf_objstm_bomb(),
        "pdf_exotic_filter": pdf_exotic_filter(),
        "pdf_deep_tree": pdf_deep_tree(),
        "pdf_truncated": pdf_huge_page()[:60],
        "pdf_garbage": b"%PDF-1.7\n" + bytes(range(256)) * 4,
        "png_huge": png_huge(),
        "png_under_pillow_limit": png_under_pillow_limit(),
        "png_zero_bomb": png_zero_bomb(),
        "png_truncated": png_huge()[:30],
        "jpeg_header_65535": jpeg_header(),
        "jpeg_header_13000": jpeg_header(13000, 13000),
        "jpeg_truncated": jpeg_header(4000, 4000)[:40],
        "gif": b"GIF89a" + b"\x00" * 64,
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999"/>',
        "html": b"<html><script>alert(1)</script></html>",
        "png_then_pdf_polyglot": png(10, 10)[:33] + pdf_huge_page(),
        "pdf_inside_jpeg_polyglot": jpeg_header(13000, 13000)[:-2] + pdf_huge_page(),
        "pdf_header_late": b"\x00" * 100 + pdf_huge_page(),
    }
