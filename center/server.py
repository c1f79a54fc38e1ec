"""Serving the API over HTTPS with mutual TLS, in one or several worker processes."""

from __future__ import annotations

import ssl
import sys
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess, multiprocess

from center import guard
from center.config import ENV_VAR, CenterConfig
from center.pki import CenterPki
from center.tls import MutualTlsH11Protocol


def serve(
    config: CenterConfig, host: str, port: int, workers: int, access_log: bool = False
) -> None:
    """Bind first (port 0 picks a free port), announce the URL, then serve until a signal."""
    import os

    os.environ[ENV_VAR] = config.to_env()  # inherited by every worker process
    pki = CenterPki(Path(config.state_dir))
    uconfig = uvicorn.Config(
        "center.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=MutualTlsH11Protocol,
        ssl_certfile=str(pki.server.with_suffix(".pem")),
        ssl_keyfile=str(pki.server.with_suffix(".key")),
        ssl_ca_certs=str(pki.kiosk_ca.with_suffix(".pem")),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
        access_log=access_log,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=5,  # an idle kiosk connection gives its place back soon
        limit_concurrency=config.max_connections,  # beyond: 503, not a stalled queue
    )
    guard.raise_file_limit()
    sock = uconfig.bind_socket()
    sock.listen(uconfig.backlog)  # connections queue until the workers are up
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    print(f"kofu center: listening on https://{shown}:{bound_port} (workers {workers})", flush=True)
    sys.stdout.flush()
    if workers > 1:
        # uvicorn builds its worker processes from this module-level name; ours run the
        # guarded server (center.guard), which uvicorn has no option for
        multiprocess.Process = guard.GuardedProcess  # type: ignore[misc]
        Multiprocess(uconfig, sockets=[sock]).run()
    else:
        guard.Server(uconfig).run(sockets=[sock])
