"""A call stuck in a worker (pcscd gone mid-call) must not keep the process from exiting."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from host.kiosk.daemon_executor import DaemonExecutor

ROOT = Path(__file__).resolve().parents[2]


def test_results_and_errors_come_back_through_asyncio() -> None:
    pool = DaemonExecutor("test")

    async def main() -> int:
        loop = asyncio.get_running_loop()
        with pytest.raises(ZeroDivisionError):
            await loop.run_in_executor(pool, lambda: 1 // 0)
        return await loop.run_in_executor(pool, lambda: 6 * 7)

    assert asyncio.run(main()) == 42
    pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.submit(print)


def test_a_stuck_call_does_not_keep_the_process_alive() -> None:
    code = (
        "import threading, asyncio\n"
        "from host.kiosk.daemon_executor import DaemonExecutor\n"
        "pool = DaemonExecutor('stuck')\n"
        "async def main():\n"
        "    fut = asyncio.get_running_loop().run_in_executor(pool, threading.Event().wait)\n"
        "    await asyncio.sleep(0.1)\n"
        "    fut.cancel()\n"
        "asyncio.run(main())\n"
        "pool.shutdown(wait=False)\n"
        "print('done')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0 and out.stdout.strip() == "done", out.stderr


def test_shutdown_with_cancel_futures_cancels_what_has_not_started() -> None:
    pool = DaemonExecutor("cancel")
    gate, started = threading.Event(), threading.Event()

    def hold() -> bool:
        started.set()
        return gate.wait(10)

    running = pool.submit(hold)
    assert started.wait(5)
    queued = [pool.submit(lambda: 1) for _ in range(3)]
    pool.shutdown(wait=False, cancel_futures=True)
    pool.shutdown(wait=False)  # a second shutdown is harmless
    assert all(f.cancelled() for f in queued)  # none left waiting forever
    gate.set()
    assert running.result(timeout=5) is True
