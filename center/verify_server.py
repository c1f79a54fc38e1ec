"""The public certificate check page in a process of its own, started by `kofu center
--verify-port N`: it decodes uploads from anyone, so it never shares a process or an event
loop with the kiosk API. Its decoding runs in yet other processes, each with memory and time
limits (``documents.verify_pool``); uploads are limited in size while they stream in and per
client address (``documents.verify_web.guard``).

The parent binds the port (so it can print the URL, and port 0 works) and hands the
listening socket to this process; this process ends with the center.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import uvicorn

from center.config import ENV_VAR, CenterConfig
from center.pki import CenterPki

DEFAULT_PER_MINUTE = 6.0


def start(config: CenterConfig, host: str, port: int, access_log: bool,
          per_minute: float = DEFAULT_PER_MINUTE) -> subprocess.Popen[bytes]:
    """Bind, announce the URL, start the page's process; it serves the bound socket."""
    from center.app import VERIFY_PREFIX

    sock = uvicorn.Config("unused", host=host, port=port).bind_socket()
    sock.listen(128)  # connections queue until the child serves them
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    env = {**os.environ, ENV_VAR: config.to_env()}
    cmd = [sys.executable, "-m", "center.verify_server", "--fd", str(sock.fileno()),
           "--per-minute", str(per_minute)] + (["--access-log"] if access_log else [])
    proc = subprocess.Popen(cmd, pass_fds=[sock.fileno()], env=env)
    sock.close()  # the child holds it now
    print(
        f"kofu center: certificate check page on https://{shown}:{bound_port}{VERIFY_PREFIX}/",
        flush=True,
    )
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _exit_with_parent() -> None:
    parent = os.getppid()

    def watch() -> None:  # the center went away without stopping us (SIGKILL): so do we
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def main(argv: list[str]) -> int:
    from center.app import create_verify_app
    from center.guard import Server as guard_server
    from documents.verify_web import guard

    p = argparse.ArgumentParser(prog="center.verify_server")
    p.add_argument("--fd", type=int, required=True, help="the bound, listening socket")
    p.add_argument("--per-minute", type=float, default=DEFAULT_PER_MINUTE)
    p.add_argument("--access-log", action="store_true")
    args = p.parse_args(argv)
    _exit_with_parent()
    config = CenterConfig.from_env()
    pki = CenterPki(Path(config.state_dir))
    app = guard(create_verify_app(config), per_minute=args.per_minute,
                burst=max(1, round(args.per_minute)))
    uconfig = uvicorn.Config(
        app,
        ssl_certfile=str(pki.server.with_suffix(".pem")),
        ssl_keyfile=str(pki.server.with_suffix(".key")),
        access_log=args.access_log,
        log_level="warning",
        lifespan="off",
        proxy_headers=False,  # the rate limit counts the TCP peer, never a header it sends
        server_header=False,
        limit_concurrency=64,  # connections beyond this get 503 rather than memory
        timeout_keep_alive=5,
        timeout_graceful_shutdown=5,
    )
    sock = socket.socket(fileno=args.fd)
    try:
        # the same accept-time guard as the API port (per address, in total, TLS deadline)
        guard_server(uconfig).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
