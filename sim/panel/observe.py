"""What the simulated devices did, as a test or a person at the panel would look: the
coprocessor's outputs (buzzer, LEDs, coin inhibit), the hoppers' coins, the money that
moved, the files the printers produced, where the cash journal is and the center's keys."""

from __future__ import annotations

from typing import Any


def observe(sim: Any, service: Any) -> dict[str, Any]:
    journal = service.journal
    return {
        "coproc": sim.coproc.state(),
        "cash": sim.cash.totals(),
        "hoppers": {
            str(addr): {"value": h.value, "coins": h.coins, "paid_total": h.paid_total}
            for addr, h in sorted(sim.cash.hoppers.items())
        },
        "printed": sorted(str(p) for p in sim.a4.printed_dir.glob("*.pdf")),
        "receipts": sorted(str(p) for p in sim.receipt.out_dir.glob("receipt-*.png")),
        "journal": str(journal.path) if journal is not None else None,
        "config": str(sim.config_path),
    }


def trust_store(sim: Any) -> dict[str, Any]:
    """The center's signing keys as a `kofu verify --trust` store."""
    import base64

    import httpx

    from host.kiosk.center_client import tls_context
    from host.kiosk.config import load

    cfg = load(sim.config_path).center
    with httpx.Client(base_url=cfg.url, verify=tls_context(cfg), timeout=10) as http:
        keys = http.get("/v1/public-keys").raise_for_status().json()
    return {
        "issuers": {
            code: {"name": code, "public_key_hex": base64.b64decode(key).hex()}
            for code, key in keys.items()
        }
    }
