"""The center's run-time configuration, passed to every worker process as one JSON env var.

uvicorn starts workers as fresh processes that import the app by name, so the parent
serialises the configuration into ``KOFU_CENTER_CONFIG`` and each worker rebuilds it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

ENV_VAR = "KOFU_CENTER_CONFIG"


@dataclass(frozen=True)
class CenterConfig:
    state_dir: str
    db_url: str
    jpki_ca_files: tuple[str, ...] = ()
    jpki_crl_files: tuple[str, ...] = ()
    clock_offset_s: float = 0.0
    challenge_ttl_s: int = 60
    session_ttl_s: int = 300  # idle: each request of the session moves it on
    session_max_s: int = 600  # absolute, from authentication: however busy the session
    reprint_window_s: int = 3600  # a failed copy may be reprinted this long after it failed
    max_reprints: int = 3  # reprints of one copy, each after a failure of its own
    clerk_session_ttl_s: int = 900
    # connections, per worker process (center.guard)
    max_connections: int = 1024
    max_connections_per_client: int = 64
    tls_handshake_timeout_s: float = 5.0
    # unprinted or failed copies keep their content this long (then only the ledger's
    # number, type, fee, kiosk, time and digest): center/retention.py
    content_retention_s: int = 3600
    max_body_bytes: int = 64 * 1024
    # PKCS#11 module, token label and PIN file of the key token; no module: the embedded
    # SoftHSM token in the state directory (center/softhsm.py)
    pkcs11_module: str = ""
    pkcs11_token: str = ""
    pkcs11_pin_file: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def state(self) -> Path:
        return Path(self.state_dir)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> CenterConfig:
        raw = os.environ.get(ENV_VAR)
        if not raw:
            raise RuntimeError(f"{ENV_VAR} is not set: start the center with `kofu center`")
        data = json.loads(raw)
        data["jpki_ca_files"] = tuple(data.get("jpki_ca_files", ()))
        data["jpki_crl_files"] = tuple(data.get("jpki_crl_files", ()))
        return cls(**data)


def default_db_url(state: Path) -> str:
    return f"sqlite:///{state / 'center.db'}"
