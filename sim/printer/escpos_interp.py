"""A sans-IO interpreter for the ESC/POS commands the kiosk emits, rendering slips to images.

Feed it bytes as they arrive (any chunking); it returns the bytes a printer would answer
(DLE EOT status) and collects finished slips (at each cut) as 1-bit images. Commands it does
not know are recorded in :attr:`EscposInterpreter.unknown`, so a test notices when the
driver starts sending something the simulator does not render.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from PIL import Image

ESC, GS, DLE, LF = 0x1B, 0x1D, 0x10, 0x0A
LINE_DOTS = 30  # default line spacing (ESC 2): 1/6 inch at 180 dpi
WIDTH = 576


class Paper(StrEnum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"


@dataclass
class EscposInterpreter:
    paper: Paper = Paper.OK
    online: bool = True
    slips: list[Image.Image] = field(default_factory=list)
    unknown: list[bytes] = field(default_factory=list)
    lost_bytes: int = 0  # data sent while out of paper: a real printer prints nothing
    _buf: bytearray = field(default_factory=bytearray)
    _rows: list[bytes] = field(default_factory=list)  # packed 1-bit rows, 1 = black
    _row_bytes: int = WIDTH // 8

    def status_byte(self, n: int) -> bytes:
        value = 0x12  # bits 1 and 4 are always set
        if n == 1 and not self.online:
            value |= 0x08
        if n == 4:
            if self.paper is Paper.NEAR_END:
                value |= 0x0C
            elif self.paper is Paper.OUT:
                value |= 0x60
        return bytes([value])

    def feed(self, data: bytes) -> bytes:
        self._buf += data
        replies = bytearray()
        while self._buf:
            used, reply = self._step()
            if used == 0:
                break  # incomplete command: wait for more bytes
            del self._buf[:used]
            replies += reply
        return bytes(replies)

    def _blank(self, rows: int) -> None:
        self._rows.extend(bytes(self._row_bytes) for _ in range(rows))

    def _printing(self) -> bool:
        return self.online and self.paper is not Paper.OUT

    def _step(self) -> tuple[int, bytes]:
        b = self._buf
        first = b[0]
        if first == DLE:
            if len(b) < 3:
                return 0, b""
            if b[1] == 0x04:
                return 3, self.status_byte(b[2])
            self.unknown.append(bytes(b[:3]))
            return 3, b""
        if first == LF:
            if self._printing():
                self._blank(LINE_DOTS)
            return 1, b""
        if first == ESC:
            if len(b) < 2:
                return 0, b""
            cmd = b[1]
            if cmd == 0x40:  # ESC @ initialize
                return 2, b""
            if cmd in (0x61, 0x64, 0x33, 0x21, 0x45):  # align, feed n, spacing, mode, bold
                if len(b) < 3:
                    return 0, b""
                if cmd == 0x64 and self._printing():
                    self._blank(LINE_DOTS * b[2])
                return 3, b""
            self.unknown.append(bytes(b[:2]))
            return 2, b""
        if first == GS:
            if len(b) < 2:
                return 0, b""
            cmd = b[1]
            if cmd == 0x76:  # GS v 0 m xL xH yL yH data: raster bit image
                if len(b) < 8:
                    return 0, b""
                width = b[4] + 256 * b[5]
                height = b[6] + 256 * b[7]
                size = 8 + width * height
                if len(b) < size:
                    return 0, b""
                if self._printing():
                    self._raster(bytes(b[8:size]), width, height)
                else:
                    self.lost_bytes += size
                return size, b""
            if cmd == 0x56:  # GS V m [n]: cut
                if len(b) < 3:
                    return 0, b""
                used = 4 if b[2] in (65, 66) else 3
                if len(b) < used:
                    return 0, b""
                self._cut()
                return used, b""
            self.unknown.append(bytes(b[:2]))
            return 2, b""
        if self._printing():
            self.unknown.append(bytes(b[:1]))
        else:
            self.lost_bytes += 1
        return 1, b""

    def _raster(self, data: bytes, width: int, height: int) -> None:
        for r in range(height):
            row = data[r * width : (r + 1) * width]
            row = row[: self._row_bytes].ljust(self._row_bytes, b"\x00")
            self._rows.append(row)

    def _cut(self) -> None:
        if not self._rows:
            return
        # 1-bit image data: PIL's "1" mode packs MSB first with 1 = white, so invert
        raw = bytes(255 - v for row in self._rows for v in row)
        img = Image.frombytes("1", (self._row_bytes * 8, len(self._rows)), raw)
        self.slips.append(img)
        self._rows = []
