"""Measure what hostile uploads cost a running `kofu center --verify-port 0`: for each file, the
peak growth of the resident memory of the center's whole process tree (sampled every 10 ms
from /proc while the request runs), the answer's status and the response time.

    python tests/center/security/measure_verify_page.py [NAME ...]

NAMEs are from ``verify_bombs.corpus()`` plus ``valid_scan`` (an ordinary signed back side)
and ``valid_pdf`` (a signed certificate PDF);
default: the three files of issue 13 and a valid scan."""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from center.launch import RunningCenter  # noqa: E402
from center.pki import CenterPki  # noqa: E402
from center.simkiosk import tls_context  # noqa: E402
from tests.center.security import verify_bombs  # noqa: E402

DEFAULT = ["pdf_big_pages_repeated", "pdf_huge_page", "jpeg_header_13000", "valid_scan",
           "valid_pdf"]


def tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):  # children of any thread
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return out


def rss_kb(pid: int) -> int:
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def signed_pdf(state: Path, db: str) -> bytes:
    """A certificate PDF signed by the center (by its token)."""
    import dataclasses

    from sqlalchemy.orm import Session

    from center import demo as center_demo
    from center import models, softhsm
    from center.atrest import attach
    from center.db import make_engine
    from center.issuing import issuer_of, sign
    from center.keystore import KeyStore
    from documents import demo
    from documents.render import render_pdf

    engine = attach(make_engine(db), KeyStore(softhsm.settings(state)))
    try:
        with Session(engine) as s:
            muni = s.get(models.Municipality, center_demo.CITY)
            assert muni is not None
            doc = dataclasses.replace(demo.income(kazei=True), issuer=issuer_of(muni))
            payload = sign(doc, muni)
    finally:
        engine.dispose()
    return render_pdf(doc, payload)


def valid_scan(state: Path, db: str) -> bytes:
    """An ordinary 150 dpi scan (PNG) of the back of a certificate signed by the center."""
    import io

    from documents.scan import pdf_pages

    (back,) = pdf_pages(signed_pdf(state, db), 150, 2, 2)
    out = io.BytesIO()
    back.save(out, format="PNG")
    return out.getvalue()


def main(names: list[str], old: bool = False) -> None:
    from center import demo

    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        CenterPki(state).ensure()
        demo.ensure_pki(state)
        db = f"sqlite:///{state / 'center.db'}"
        args = ["--verify-port", "0"] + ([] if old else ["--verify-rate", "1000"])
        with RunningCenter(state, *args, db=db) as run:
            assert run.proc is not None
            time.sleep(2)
            url = next(line.split()[-1] for line in run.output if "check page on" in line)
            files = verify_bombs.corpus()
            files["valid_scan"] = valid_scan(state, db)
            files["valid_pdf"] = signed_pdf(state, db)
            http = httpx.Client(verify=tls_context(state, kiosk=None), timeout=300)
            for name in names or DEFAULT:
                data = files[name]
                base = rss_kb(run.proc.pid)
                peak = base
                done = threading.Event()

                def sample(pid: int = run.proc.pid, done: threading.Event = done) -> None:
                    nonlocal peak
                    while not done.is_set():
                        peak = max(peak, rss_kb(pid))
                        time.sleep(0.01)

                sampler = threading.Thread(target=sample)
                sampler.start()
                t0 = time.monotonic()
                try:
                    reply = http.post(url + "api", files={"file": ("f", data)})
                    status = str(reply.status_code)
                    verdict = reply.text[:70].replace("\n", " ")
                except httpx.HTTPError as exc:
                    status, verdict = "-", type(exc).__name__
                elapsed = time.monotonic() - t0
                done.set()
                sampler.join()
                if run.proc.poll() is not None:
                    print("".join(run.output[-20:]))
                print(f"{name:24} {len(data):>9} B  {status:>3}  {elapsed:7.2f} s  "
                      f"+{(peak - base) / 1024:8.1f} MB  {verdict}", flush=True)


if __name__ == "__main__":
    # --old: a center from before the verify page's limits (no --verify-rate option)
    main([a for a in sys.argv[1:] if a != "--old"], old="--old" in sys.argv)
