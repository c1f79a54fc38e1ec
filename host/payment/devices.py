"""Building the cash drivers from configuration. Real ports and simulator ptys look the same
here: a path or pyserial URL; nothing below knows which it is."""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.coin.cctalk import Checksum
from drivers.coin.cctalk_acceptor import CcTalkCoinAcceptor
from drivers.coin.cctalk_hopper import CcTalkHopper
from drivers.coin.cctalk_port import CcTalkPort
from drivers.coin.errors import CashDeviceError
from drivers.coin.id003_validator import Id003Validator
from drivers.coin.interfaces import BillValidator, CoinAcceptor, Hopper
from drivers.coin.pulse_acceptor import CoinEventSource, PulseCoinAcceptor
from host.payment.config import CashConfig, ConfigError


@dataclass
class CashDevices:
    acceptor: CoinAcceptor | None = None
    validator: BillValidator | None = None
    hoppers: list[Hopper] = field(default_factory=list)
    _ports: list[CcTalkPort] = field(default_factory=list)

    closed: bool = False

    def close(self) -> None:
        """Inhibit and release every device; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        for dev in (self.acceptor, self.validator, *self.hoppers):
            if dev is not None:
                try:
                    dev.close()
                except (CashDeviceError, OSError):
                    pass  # closing must not fail: the devices self-inhibit on poll loss
        for port in self._ports:
            port.close()


def open_devices(cfg: CashConfig, coin_source: CoinEventSource | None = None) -> CashDevices:
    """``coin_source``: the coprocessor's coin events, for ``coin_acceptor = "pulse"``."""
    devices = CashDevices()
    if cfg.coin_acceptor == "pulse":
        if coin_source is None:
            raise ConfigError("coin_acceptor = 'pulse' needs the coprocessor's coin events")
        devices.acceptor = PulseCoinAcceptor(coin_source, cfg.coins)
    if cfg.cctalk_port:
        port = CcTalkPort.open(cfg.cctalk_port, checksum=Checksum(cfg.cctalk_checksum))
        devices._ports.append(port)
        if cfg.coin_acceptor == "cctalk":
            devices.acceptor = CcTalkCoinAcceptor(port)
        for h in cfg.hoppers:
            devices.hoppers.append(
                CcTalkHopper(
                    port,
                    value=h.value,
                    address=h.address,
                    status_interval_s=cfg.hopper_poll_s,
                )
            )
    if cfg.id003_port:
        devices.validator = Id003Validator.open(cfg.id003_port)
    return devices
