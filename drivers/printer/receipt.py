"""The receipt printer: ESC/POS through python-escpos over network, serial or USB.

One interface (:class:`ReceiptPrinter`); the connection is chosen by configuration. Paper
status comes from DLE EOT 4 read here directly, because python-escpos reports "paper
adequate" when the printer does not answer at all: no answer is OFFLINE for the kiosk.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

from PIL import Image

from drivers.printer.receipt_layout import (
    Receipt,
    RefundVoucher,
    ReportSlip,
    receipt_image,
    report_image,
    voucher_image,
)

DLE_EOT_ONLINE = b"\x10\x04\x01"
DLE_EOT_PAPER = b"\x10\x04\x04"
OFFLINE_BIT = 0x08
NEAR_END_BITS = 0x0C
PAPER_END_BITS = 0x60


class ReceiptStatus(StrEnum):
    READY = "ready"
    PAPER_LOW = "paper_low"  # still prints; tell the clerk
    PAPER_OUT = "paper_out"
    OFFLINE = "offline"

    @property
    def can_print(self) -> bool:
        return self in (ReceiptStatus.READY, ReceiptStatus.PAPER_LOW)


class ReceiptPrinterError(RuntimeError):
    """The receipt printer cannot print now (status says why)."""

    def __init__(self, status: ReceiptStatus, detail: str = "") -> None:
        super().__init__(f"receipt printer {status.value}{': ' + detail if detail else ''}")
        self.status = status


def decode_status(online: bytes, paper: bytes) -> ReceiptStatus:
    """Status from the replies to DLE EOT 1 and DLE EOT 4 (one byte each)."""
    if len(online) < 1 or len(paper) < 1:
        return ReceiptStatus.OFFLINE
    if online[-1] & OFFLINE_BIT:
        return ReceiptStatus.OFFLINE
    if paper[-1] & PAPER_END_BITS:
        return ReceiptStatus.PAPER_OUT
    if paper[-1] & NEAR_END_BITS:
        return ReceiptStatus.PAPER_LOW
    return ReceiptStatus.READY


class ReceiptPrinter(Protocol):
    def status(self) -> ReceiptStatus: ...

    def print_receipt(self, receipt: Receipt) -> None: ...

    def print_voucher(self, voucher: RefundVoucher) -> None: ...

    def close(self) -> None: ...


def connect(config: dict[str, Any]) -> Any:
    """A python-escpos printer object from a configuration section."""
    from escpos import printer as ep

    kind = config.get("connection", "network")
    if kind == "network":
        return ep.Network(str(config.get("host", "127.0.0.1")), int(config.get("port", 9100)),
                          timeout=float(config.get("timeout", 5)))
    if kind == "serial":
        return ep.Serial(str(config["device"]), baudrate=int(config.get("baudrate", 38400)),
                         timeout=float(config.get("timeout", 1)))
    if kind == "usb":
        return ep.Usb(int(str(config["vendor_id"]), 0), int(str(config["product_id"]), 0))
    raise ValueError(f"unknown receipt printer connection {kind!r} (network, serial or usb)")


CONNECTIONS = ("network", "serial", "usb")


class EscposReceiptPrinter:
    def __init__(self, config: dict[str, Any]) -> None:
        kind = config.get("connection", "network")
        if kind not in CONNECTIONS:
            raise ValueError(f"unknown receipt printer connection {kind!r} "
                             f"({', '.join(CONNECTIONS)})")
        self._config = config
        self._dev: Any = None

    def _device(self) -> Any:
        if self._dev is None:
            try:
                self._dev = connect(self._config)
                if hasattr(self._dev, "open") and getattr(self._dev, "device", None) is None:
                    self._dev.open()
            except ValueError:
                raise
            except Exception as exc:  # python-escpos raises many kinds: all mean unreachable
                self._dev = None
                raise ReceiptPrinterError(ReceiptStatus.OFFLINE, type(exc).__name__) from exc
        return self._dev

    def status(self) -> ReceiptStatus:
        try:
            dev = self._device()
            dev._raw(DLE_EOT_ONLINE)
            online = bytes(dev._read() or b"")
            dev._raw(DLE_EOT_PAPER)
            paper = bytes(dev._read() or b"")
        except ReceiptPrinterError:
            return ReceiptStatus.OFFLINE
        except Exception:  # a dropped connection mid-query
            self.close()
            return ReceiptStatus.OFFLINE
        return decode_status(online, paper)

    def _print_image(self, img: Image.Image) -> None:
        state = self.status()
        if not state.can_print:
            raise ReceiptPrinterError(state)
        dev = self._device()
        try:
            dev.hw("INIT")
            dev.image(img, impl="bitImageRaster", center=False)
            dev.cut()
        except Exception as exc:
            self.close()
            raise ReceiptPrinterError(ReceiptStatus.OFFLINE, type(exc).__name__) from exc

    def print_receipt(self, receipt: Receipt) -> None:
        self._print_image(receipt_image(receipt))

    def print_voucher(self, voucher: RefundVoucher) -> None:
        self._print_image(voucher_image(voucher))

    def print_report(self, slip: ReportSlip) -> None:
        self._print_image(report_image(slip))

    def close(self) -> None:
        if self._dev is not None:
            try:
                self._dev.close()
            except Exception:
                pass
            self._dev = None
