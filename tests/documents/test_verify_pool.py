"""Issue 13, H3: verifications run in worker processes with hard limits. A worker over its
memory or wall-clock limit is killed, the upload refused (OverLimit, not a crash), and the
next verification gets a fresh worker; the rate limiter's buckets refill with time."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import re

import pytest

from documents import demo
from documents.render import render_pdf
from documents.scan import pdf_pages
from documents.signing import Verdict, sign_document
from documents.trust import DEMO_TRUST, load_trust
from documents.verify_pool import Busy, OverLimit, VerifyLimits, VerifyPool
from documents.web_guard import RateLimit
from tests.center.security import verify_bombs

MB = 1024 * 1024


def scan() -> bytes:
    doc = demo.income(kazei=True)
    (back,) = pdf_pages(render_pdf(doc, sign_document(doc, demo.signing_key())), 150, 2, 2)
    out = io.BytesIO()
    back.save(out, format="PNG")
    return out.getvalue()


def heavy_png() -> bytes:
    """40 MP RGBA, within every declared-size limit, but ~100 MB and ~1 s to decode."""
    side = 6324
    return verify_bombs.png(side, side, verify_bombs.zeros_deflated(side * (side * 4 + 1)),
                            colour=6)


def _vm_peak(pool: VerifyPool) -> int:
    worker = pool._idle.queue[0]
    assert worker is not None
    status = open(f"/proc/{worker.proc.pid}/status").read()
    return int(re.search(r"VmPeak:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def scan_peak() -> int:
    """A worker's address space after an ordinary verification (it varies with the Python
    that runs it): the memory limit under test sits just above it."""
    pool = VerifyPool(load_trust(DEMO_TRUST), VerifyLimits(workers=1))
    try:
        assert asyncio.run(pool.verify(scan())).result.verdict is Verdict.VALID
        return _vm_peak(pool)
    finally:
        pool.close()


@pytest.mark.parametrize("limit", ["memory", "wall-clock"])
def test_a_worker_over_its_limit_is_killed_and_replaced(limit: str, scan_peak: int) -> None:
    limits = VerifyLimits(workers=1, memory_bytes=scan_peak + 40 * MB) if limit == "memory" \
        else VerifyLimits(workers=1)
    pool = VerifyPool(load_trust(DEMO_TRUST), limits)

    async def run() -> None:
        first = await pool.verify(scan())
        assert first.result.verdict is Verdict.VALID
        pid = pool._idle.queue[0].proc.pid  # type: ignore[union-attr]
        if limit == "wall-clock":  # the heavy file takes ~1 s
            pool.limits = dataclasses.replace(limits, wall_seconds=0.3)
        with pytest.raises(OverLimit):
            await pool.verify(heavy_png())
        pool.limits = limits
        again = await pool.verify(scan())  # a new worker, the pool still serves
        assert again.result.verdict is Verdict.VALID
        assert pool._idle.queue[0].proc.pid != pid  # type: ignore[union-attr]

    try:
        asyncio.run(run())
    finally:
        pool.close()


def test_the_rate_limit_refills_with_time() -> None:
    now = [0.0]
    limit = RateLimit(app=None, per_minute=6, burst=2,  # type: ignore[arg-type]
                      refuse=lambda *a: ("", b""), clock=lambda: now[0])
    assert limit.take("192.0.2.1") == 0 and limit.take("192.0.2.1") == 0
    assert limit.take("192.0.2.1") == pytest.approx(10)  # one token per 10 s
    assert limit.take("192.0.2.2") == 0  # another client has its own bucket
    now[0] = 10.0
    assert limit.take("192.0.2.1") == 0
    assert limit.take("192.0.2.1") > 0


def test_checks_beyond_the_workers_and_the_queue_are_refused_as_busy() -> None:
    pool = VerifyPool(load_trust(DEMO_TRUST), VerifyLimits(workers=1, queue=0))

    async def run() -> tuple[object, object]:
        return await asyncio.gather(pool.verify(heavy_png()), pool.verify(scan()),
                                    return_exceptions=True)

    try:
        first, second = asyncio.run(run())
    finally:
        pool.close()
    assert isinstance(second, Busy) and second.status == 503
    assert not isinstance(first, Busy)  # the one that got the worker ran
