"""Cash configuration: accepted money, hoppers and their load, ports, fees, timings.

From the ``[cash]`` table of a kiosk TOML (the other tables are not this module's business)::

    [cash]
    coins = [10, 50, 100, 500]
    bills = [1000]
    coin_acceptor = "cctalk"     # or "pulse": coins counted by the coprocessor
    change_margin = 3            # coins per hopper never counted on (empty sensors are ±3)
    hopper_capacity = 2000       # most coins a hopper holds: a refill beyond it is refused
    hopper_low = 20              # at or below this many coins the clerk sees "low"
    session_timeout_s = 60
    [cash.cctalk]
    port = "/dev/ttyUSB0"        # or a pty path from `kofu sim cash`, or a pyserial URL
    checksum = "sum8"            # or "crc16"
    [[cash.hoppers]]
    address = 3
    value = 100
    count = 50                   # coins loaded (the clerk's refill record)
    [cash.id003]
    port = "/dev/ttyUSB1"
    [cash.fees]                  # yen per copy; the center supplies these eventually
    masuda = 200                 # every certificate type
    [cash.fees.shibukawa]        # or per certificate type, with a default
    default = 300
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class HopperConfig:
    address: int
    value: int
    count: int


@dataclass(frozen=True)
class CashConfig:
    coins: frozenset[int] = frozenset({10, 50, 100, 500})
    bills: frozenset[int] = frozenset({1000})
    hoppers: tuple[HopperConfig, ...] = (HopperConfig(3, 100, 50), HopperConfig(4, 500, 20))
    change_margin: int = 3
    hopper_capacity: int = 2000
    hopper_low: int = 20
    coin_acceptor: str = "cctalk"  # "cctalk", "pulse" (via the coprocessor) or "none"
    cctalk_port: str | None = None
    cctalk_checksum: str = "sum8"
    id003_port: str | None = None
    poll_interval_s: float = 0.2
    hopper_poll_s: float = 0.1
    session_timeout_s: float = 60.0
    # municipality -> certificate type (or "default") -> yen per copy
    fees: dict[str, dict[str, int]] = field(
        default_factory=lambda: {"masuda": {"default": 200}, "shibukawa": {"default": 300}}
    )

    def fee(self, municipality: str, certificate_type: str | None = None, copies: int = 1) -> int:
        table = self.fees.get(municipality)
        if table is None:
            raise ConfigError(f"no fee configured for municipality {municipality!r}")
        per_copy = table.get(certificate_type or "default", table.get("default"))
        if per_copy is None:
            raise ConfigError(f"no fee for {certificate_type!r} in {municipality!r}")
        if copies < 1:
            raise ConfigError("copies must be at least 1")
        return per_copy * copies

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CashConfig:
        try:
            hoppers = (
                tuple(
                    HopperConfig(int(h["address"]), int(h["value"]), int(h.get("count", 0)))
                    for h in raw.get("hoppers", [])
                )
                or cls.hoppers
            )
            cctalk = raw.get("cctalk", {})
            id003 = raw.get("id003", {})
            cfg = cls(
                coins=frozenset(int(v) for v in raw.get("coins", cls.coins)),
                bills=frozenset(int(v) for v in raw.get("bills", cls.bills)),
                hoppers=hoppers,
                change_margin=int(raw.get("change_margin", cls.change_margin)),
                hopper_capacity=int(raw.get("hopper_capacity", cls.hopper_capacity)),
                hopper_low=int(raw.get("hopper_low", cls.hopper_low)),
                coin_acceptor=str(raw.get("coin_acceptor", "cctalk")),
                cctalk_port=cctalk.get("port"),
                cctalk_checksum=str(cctalk.get("checksum", "sum8")),
                id003_port=id003.get("port"),
                poll_interval_s=float(raw.get("poll_interval_s", cls.poll_interval_s)),
                hopper_poll_s=float(raw.get("hopper_poll_s", cls.hopper_poll_s)),
                session_timeout_s=float(raw.get("session_timeout_s", cls.session_timeout_s)),
                fees=_fees(raw.get("fees")) or cls().fees,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"bad [cash] configuration: {exc}") from exc
        if cfg.cctalk_checksum not in ("sum8", "crc16"):
            raise ConfigError("cctalk checksum must be 'sum8' or 'crc16'")
        if cfg.coin_acceptor not in ("cctalk", "pulse", "none"):
            raise ConfigError("coin_acceptor must be 'cctalk', 'pulse' or 'none'")
        if cfg.hopper_capacity <= 0 or cfg.hopper_low < 0:
            raise ConfigError("hopper_capacity must be positive and hopper_low not negative")
        if len({h.address for h in cfg.hoppers}) != len(cfg.hoppers):
            raise ConfigError("two hoppers share an address")
        return cfg


def _fees(raw: Any) -> dict[str, dict[str, int]]:
    """``masuda = 200`` or ``[cash.fees.masuda] default = 200, inkan = 300``."""
    out: dict[str, dict[str, int]] = {}
    for municipality, value in (raw or {}).items():
        if isinstance(value, dict):
            out[str(municipality)] = {str(k): int(v) for k, v in value.items()}
        else:
            out[str(municipality)] = {"default": int(value)}
    return out
