"""The simulated receipt printer: a TCP port (like a network printer's 9100) or a pty (like
a serial one) feeding :class:`~sim.printer.escpos_interp.EscposInterpreter`.

Every finished slip is written to ``<out>/receipt-NNNN.png`` and the raw byte stream is
appended to ``<out>/escpos.bin``.
"""

from __future__ import annotations

import os
import socket
import threading
import tty
from pathlib import Path

from PIL import Image

from sim.printer.escpos_interp import EscposInterpreter, Paper


class EscposSink:
    def __init__(self, out_dir: Path, *, host: str = "127.0.0.1", port: int = 9100) -> None:
        self.out_dir = Path(out_dir)
        self.host = host
        self.port = port
        self.interp = EscposInterpreter()
        self._lock = threading.Lock()
        self._saved = 0
        self._stop = threading.Event()
        self._server: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._pty: tuple[int, int] | None = None
        self.pty_path: str | None = None

    # --- shared -----------------------------------------------------------------------
    def _consume(self, data: bytes) -> bytes:
        with self._lock:
            with (self.out_dir / "escpos.bin").open("ab") as fh:
                fh.write(data)
            reply = self.interp.feed(data)
            while self._saved < len(self.interp.slips):
                self._saved += 1
                self.interp.slips[self._saved - 1].save(
                    self.out_dir / f"receipt-{self._saved:04d}.png")
            return reply

    def slips(self) -> list[Image.Image]:
        with self._lock:
            return list(self.interp.slips)

    def set_paper(self, paper: Paper | str) -> None:
        with self._lock:
            self.interp.paper = Paper(paper)

    def set_online(self, online: bool) -> None:
        with self._lock:
            self.interp.online = online

    # --- TCP --------------------------------------------------------------------------
    def start(self) -> EscposSink:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((self.host, self.port))
        srv.listen(4)
        srv.settimeout(0.2)
        self.port = srv.getsockname()[1]
        self._server = srv
        self._spawn(self._accept_loop)
        return self

    def _spawn(self, target: object, *args: object) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        t.start()
        self._threads.append(t)

    def _accept_loop(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                reply = self._consume(data)
                if reply:
                    conn.sendall(reply)

    # --- pty --------------------------------------------------------------------------
    def start_pty(self) -> str:
        """Also serve a pseudo-terminal; returns the device path a serial driver opens."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        master, slave = os.openpty()
        tty.setraw(slave)
        self._pty = (master, slave)
        self.pty_path = os.ttyname(slave)
        self._spawn(self._pty_loop, master)
        return self.pty_path

    def _pty_loop(self, master: int) -> None:
        import select

        while not self._stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            reply = self._consume(data)
            if reply:
                os.write(master, reply)

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.close()
        for t in self._threads:
            t.join(timeout=2)
        if self._pty is not None:
            for fd in self._pty:
                os.close(fd)
            self._pty = None

    def __enter__(self) -> EscposSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
