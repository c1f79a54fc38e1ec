"""The verifier's trust store: municipality code -> Ed25519 public key.

A JSON file ``{"issuers": {"<code>": {"name": "...", "public_key_hex": "<64 hex>"}}}``.
The demo store (documents/demo/trust.json) holds the fictional 桜川原市 only.
"""

from __future__ import annotations

import json
from pathlib import Path

DEMO_TRUST = Path(__file__).parent / "demo" / "trust.json"


class TrustStoreError(ValueError):
    """The trust store file is missing or malformed."""


def load_trust(path: Path | str = DEMO_TRUST) -> dict[str, bytes]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        issuers = data["issuers"]
        if not isinstance(issuers, dict):
            raise TypeError("'issuers' must be an object")
        trust: dict[str, bytes] = {}
        for code, entry in issuers.items():
            key = bytes.fromhex(entry["public_key_hex"])
            if len(key) != 32:
                raise ValueError(f"issuer {code}: an Ed25519 public key has 32 bytes")
            trust[str(code)] = key
        return trust
    except OSError as exc:
        raise TrustStoreError(f"cannot read trust store {path}: {exc.strerror}") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TrustStoreError(f"malformed trust store {path}: {exc}") from exc


def issuer_names(path: Path | str = DEMO_TRUST) -> dict[str, str]:
    """Display names of the trusted issuers (for the verifier's output)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {str(c): str(e.get("name", "")) for c, e in data["issuers"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
