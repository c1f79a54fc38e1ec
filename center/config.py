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
    session_ttl_s: int = 300
    max_body_bytes: int = 64 * 1024
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
