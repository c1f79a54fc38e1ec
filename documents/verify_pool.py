"""Verifications in worker processes with hard limits, so that no upload can take the
memory, the CPU or the event loop of the server that received it.

Each worker is a separate process (its own session: pdftoppm runs in its process group)
with an address-space limit (RLIMIT_AS) and a CPU-time limit per verification
(RLIMIT_CPU); the pool also kills it past a wall-clock limit. A killed worker is replaced
and the upload refused; the server itself and the other visitors are untouched. At most
``workers`` verifications run at once and at most ``queue`` wait for a worker; beyond that
the upload is refused as busy (503) instead of piling up.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import resource
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from starlette.concurrency import run_in_threadpool

from documents.scan import PDF_DPI
from documents.upload_check import UploadRefused, check_upload
from documents.verify import Report, verify_file


@dataclass(frozen=True)
class VerifyLimits:
    # address space: the interpreter and its libraries map ~250 MB before any upload; the
    # largest image the checks let through (40 MP) needs ~100 MB more
    memory_bytes: int = 512 * 1024 * 1024
    cpu_seconds: int = 8
    wall_seconds: float = 12.0
    workers: int = 2
    queue: int = 6
    queue_wait_seconds: float = 20.0
    tasks_per_worker: int = 200  # a fresh process now and then: no slow leak accumulates


class Busy(UploadRefused):
    status = 503

    def __init__(self) -> None:
        super().__init__("busy", "too many checks at the moment; try again in a minute")


class OverLimit(UploadRefused):
    """The worker needed more memory or time than a scan ever needs and was stopped."""

    def __init__(self) -> None:
        super().__init__("over_limit", "the file needs more memory or time than a scan of a "
                                       "certificate can; it was not checked")


def _worker_main(conn: Connection, trust: dict[str, bytes], limits: VerifyLimits) -> None:
    os.setsid()  # its own process group: pdftoppm is killed along with it
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    parent = os.getppid()

    def orphan_watch() -> None:  # the server went away (even by SIGKILL): so do we
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=orphan_watch, daemon=True).start()
    conn.send("ready")  # imports done: the wall-clock limit counts the verification alone
    while True:
        try:
            data, my_number = conn.recv()
        except (EOFError, OSError):
            return
        used = resource.getrusage(resource.RUSAGE_SELF)
        # SIGXCPU (fatal) once this verification alone used cpu_seconds
        soft = int(used.ru_utime + used.ru_stime) + limits.cpu_seconds
        resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))
        try:
            check_upload(data, PDF_DPI)  # refused, rather than INVALID, over the limits
            outcome: Any = verify_file(data, trust, my_number)
        except UploadRefused as exc:
            outcome = (exc.status, exc.code, str(exc))
        except MemoryError:
            conn.send((422, "over_limit", ""))
            return  # a process that ran out of memory is not reused
        conn.send(outcome)


class _Worker:
    def __init__(self, ctx: Any, trust: dict[str, bytes], limits: VerifyLimits) -> None:
        self.conn, child = ctx.Pipe()
        self.proc: BaseProcess = ctx.Process(target=_worker_main, args=(child, trust, limits),
                                             daemon=True, name="kofu-verify-worker")
        self.proc.start()
        child.close()
        self.tasks = 0
        if not self.conn.poll(120) or self.conn.recv() != "ready":
            self.kill()
            raise Busy()

    def kill(self) -> None:
        pid = self.proc.pid  # not yet reaped: its group id is still its own
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGKILL)  # the worker and any pdftoppm it started
            except (ProcessLookupError, PermissionError):
                pass
        self.proc.join(5)
        self.conn.close()


class VerifyPool:
    def __init__(self, trust: dict[str, bytes], limits: VerifyLimits | None = None) -> None:
        self.trust, self.limits = trust, limits or VerifyLimits()
        # spawn: a fresh interpreter, not a fork of a server with threads and sockets
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._closed = False
        for _ in range(self.limits.workers):
            self._idle.put(None)  # a slot; its worker starts on first use or by warm()

    def warm(self) -> None:
        """Start every worker now (in the background) rather than on the first upload."""
        def start_all() -> None:
            slots = [self._idle.get() for _ in range(self.limits.workers)]
            for slot in slots:
                self._idle.put(slot or self._spawn())

        threading.Thread(target=start_all, daemon=True, name="verify-pool-warm").start()

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self.trust, self.limits)

    async def verify(self, data: bytes, my_number: str | None = None) -> Report:
        """The report, or UploadRefused (Busy, OverLimit, or the checks' own refusals)."""
        with self._lock:
            if self._in_flight >= self.limits.workers + self.limits.queue:
                raise Busy()
            self._in_flight += 1
        try:
            return await run_in_threadpool(self._run, data, my_number)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _run(self, data: bytes, my_number: str | None) -> Report:
        try:
            worker = self._idle.get(timeout=self.limits.queue_wait_seconds)
        except queue.Empty:
            raise Busy() from None
        try:
            if worker is None or not worker.proc.is_alive():
                worker = self._spawn()
            worker.tasks += 1
            worker.conn.send((data, my_number))
            if not worker.conn.poll(self.limits.wall_seconds):
                worker.kill()
                worker = None
                raise OverLimit()
            try:
                outcome = worker.conn.recv()
            except (EOFError, OSError):  # killed by its own limits (SIGXCPU, SIGSEGV, ...)
                worker.kill()
                worker = None
                raise OverLimit() from None
            if isinstance(outcome, tuple):
                status, code, message = outcome
                if code == "over_limit":  # out of memory: a fresh process for the next one
                    worker.kill()
                    worker = None
                    raise OverLimit()
                refusal = UploadRefused(code, message)
                refusal.status = status
                raise refusal
            if worker.tasks >= self.limits.tasks_per_worker:
                worker.kill()
                worker = None
            assert isinstance(outcome, Report)
            return outcome
        finally:
            self._idle.put(None if self._closed else worker)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            if worker is not None:
                worker.kill()
