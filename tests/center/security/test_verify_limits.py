"""Issue 13, H3: the public certificate check page, attacked through a real `kofu center
--verify-port 0`. Every file of the hostile corpus (decompression bombs, huge declared sizes,
truncated files, polyglots; ``verify_bombs``) is refused quickly with bounded memory, bodies
over the limit are cut off while they stream, uploads are rate-limited per client, every
response carries the security headers — and an ordinary scan is still VALID."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import signal
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from center.launch import RunningCenter
from center.simkiosk import tls_context
from tests.center.security import verify_bombs
from tests.center.security.measure_verify_page import rss_kb, tree, valid_scan

_VERIFY = re.compile(r"certificate check page on (https://\S+)")
CORPUS = verify_bombs.corpus()
HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options",
           "referrer-policy", "cache-control", "strict-transport-security")


@dataclass
class Page:
    url: str
    state: Path
    center_pid: int
    db: str

    def http(self) -> httpx.Client:
        return httpx.Client(verify=tls_context(self.state, kiosk=None), timeout=60)

    def server_pid(self) -> int:
        """The page's own process (python -m center.verify_server), child of the center."""
        for pid in tree(self.center_pid):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"center.verify_server" in cmd:
                return pid
        raise AssertionError("no verify server process")


def _start(state: Path, db: str, rate: str) -> Iterator[Page]:
    with RunningCenter(state, "--verify-port", "0", "--verify-rate", rate, db=db) as run:
        (url,) = [m.group(1) for line in run.output if (m := _VERIFY.search(line))]
        assert run.proc is not None
        yield Page(url, state, run.proc.pid, db)


@pytest.fixture(scope="module")
def page(center_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    db = f"sqlite:///{tmp_path_factory.mktemp('verify-limits') / 'center.db'}"
    yield from _start(center_state, db, "100000")


def test_the_page_runs_in_its_own_process_beside_the_api(page: Page) -> None:
    server = page.server_pid()
    assert server != page.center_pid
    with page.http() as http:
        assert http.get(page.url).status_code == 200


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_hostile_file_is_refused_quickly_with_bounded_memory(page: Page, name: str) -> None:
    server = page.server_pid()
    peak, base = 0, rss_kb(page.center_pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kb(page.center_pid))  # center + page + workers + pdftoppm
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    t0 = time.monotonic()
    try:
        with page.http() as http:
            reply = http.post(page.url + "api", files={"file": ("scan.png", CORPUS[name])})
    finally:
        done.set()
        sampler.join()
    elapsed = time.monotonic() - t0
    assert elapsed < 5, f"{name} took {elapsed:.1f} s"  # refused on what it declares
    assert (peak - base) < 400 * 1024, f"{name}: +{(peak - base) // 1024} MB"
    if reply.status_code == 200:  # read, and simply not a certificate
        assert reply.json()["verdict"] == "INVALID", name
    else:
        assert reply.status_code in (413, 415, 422), (name, reply.status_code, reply.text)
        assert reply.json()["error"], name
    assert page.server_pid() == server  # the page's process survived


def test_refusals_are_the_pages_html_with_a_clear_status(page: Page) -> None:
    with page.http() as http:
        gif = http.post(page.url + "check", files={"file": ("a.png", CORPUS["gif"])})
        assert gif.status_code == 415
        assert "確認できません" in gif.text and "PNG・JPEG" in gif.text and "<form" in gif.text
        bomb = http.post(page.url + "check",
                         files={"file": ("a.jpg", CORPUS["jpeg_header_65535"])})
        assert bomb.status_code == 422 and "大きすぎるか複雑すぎる" in bomb.text


def test_an_ordinary_scan_is_still_valid_and_quick(page: Page) -> None:
    png = valid_scan(page.state, page.db)
    with page.http() as http:
        t0 = time.monotonic()
        reply = http.post(page.url + "api", files={"file": ("b.png", png, "image/png")})
        elapsed = time.monotonic() - t0
    assert reply.json()["verdict"] == "VALID"
    assert elapsed < 5


def _cpu_s(pid: int, reaped: bool) -> float:
    """CPU seconds the OS counted for the process itself, plus (``reaped``) for the children
    it has already waited for — so a worker killed and replaced still counts."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14])) * reaped
    return ticks / os.sysconf("SC_CLK_TCK")


def _pool_cpu_s(server: int) -> float:
    """All the CPU the page's worker processes (and their pdftoppm) have spent."""
    own = [_cpu_s(pid, reaped=True) for pid in tree(server) if pid != server]
    with_server = _cpu_s(server, reaped=True) - _cpu_s(server, reaped=False)
    return sum(own) + with_server


def test_other_visitors_are_served_while_bombs_are_decoded(page: Page) -> None:
    """The page's event loop never decodes: while eight bombs are taken apart the page answers
    every other visitor, and the decoding's CPU is spent in the pool's worker processes, not
    in the page's own. Counted in CPU time the OS keeps, not on a wall clock, so a loaded or
    time-shifted machine cannot make it fail (response times are figures of
    ``measure_verify_page``)."""
    bombs = ["pdf_flate_content", "pdf_lying_count", "png_zero_bomb", "pdf_objstm_bomb"] * 2
    server = page.server_pid()

    def post(name: str) -> int:
        with page.http() as http:
            return http.post(page.url + "api", files={"file": ("f", CORPUS[name])}).status_code

    page_before, pool_before = _cpu_s(server, reaped=False), _pool_cpu_s(server)
    with ThreadPoolExecutor(len(bombs)) as pool, page.http() as http:
        statuses = pool.map(post, bombs)
        for _ in range(5):
            assert http.get(page.url).status_code == 200
        assert set(statuses) <= {413, 422, 503}
    page_spent = _cpu_s(server, reaped=False) - page_before
    decode_spent = _pool_cpu_s(server) - pool_before
    assert decode_spent > page_spent, (page_spent, decode_spent)


def _raw_request(page: Page, head: bytes, body_chunks: Iterator[bytes]) -> tuple[bytes, int]:
    """Send by hand (a client that does not wait for the answer); the answer's first bytes
    and how many body bytes were sent before the server answered or closed."""
    host, port = re.match(r"https://([^/]+):(\d+)/", page.url).groups()  # type: ignore[union-attr]
    ctx = tls_context(page.state, kiosk=None)
    sent = 0
    with socket.create_connection((host.strip("[]"), int(port)), timeout=20) as raw, \
            ctx.wrap_socket(raw, server_hostname=host.strip("[]")) as tls:
        tls.sendall(head)
        try:
            for chunk in body_chunks:
                tls.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        try:
            return tls.recv(4096), sent
        except (ConnectionResetError, ssl.SSLError):
            return b"", sent


def test_a_body_over_the_limit_is_refused_before_it_is_read(page: Page) -> None:
    server = page.server_pid()
    before = rss_kb(server)
    host = page.url.split("/")[2]
    head = (f"POST /verify/api HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; "
            "boundary=b\r\nContent-Length: 500000000\r\n\r\n").encode()
    t0 = time.monotonic()
    answer, _ = _raw_request(page, head, iter([]))
    assert answer.startswith(b"HTTP/1.1 413") and time.monotonic() - t0 < 2

    chunked = (f"POST /verify/api HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data;"
               " boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    part = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n"
    mb = b"\0" * (1 << 20)

    def body() -> Iterator[bytes]:
        yield b"%x\r\n%s\r\n" % (len(part), part)
        for _ in range(60):  # 60 MB offered, 20 MB allowed
            yield b"%x\r\n%s\r\n" % (len(mb), mb)

    answer, sent = _raw_request(page, chunked, body())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert sent < 40 * (1 << 20)  # cut off, not read to the end
    assert rss_kb(server) - before < 64 * 1024


def test_every_response_carries_the_security_headers(page: Page) -> None:
    with page.http() as http:
        replies = [http.get(page.url), http.get(page.url + "nothing-here"),
                   http.post(page.url + "check", files={"file": ("a", CORPUS["svg"])}),
                   http.post(page.url + "api", files={"file": ("a", CORPUS["png_huge"])})]
    host = page.url.split("/")[2]
    too_big, _ = _raw_request(page, (f"POST /verify/check HTTP/1.1\r\nHost: {host}\r\n"
                                     "Content-Length: 99999999999\r\n\r\n").encode(), iter([]))
    assert too_big.startswith(b"HTTP/1.1 413")
    assert all(h.encode() + b":" in too_big.lower() for h in HEADERS)
    for reply in replies:
        missing = [h for h in HEADERS if h not in reply.headers]
        assert not missing, (reply.request.url, reply.status_code, missing)
        assert reply.headers["cache-control"] == "no-store"
        assert reply.headers["x-frame-options"] == "DENY"
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["referrer-policy"] == "no-referrer"
    csp = replies[0].headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert "script-src" not in csp and "default-src 'none'" in csp  # no script at all
    html = replies[0].text
    assert "<script" not in html
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp  # the page's own style, and only it


def test_uploads_are_rate_limited_per_client(
    center_state: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    db = f"sqlite:///{tmp_path_factory.mktemp('verify-rate') / 'center.db'}"
    for slow in _start(center_state, db, "3"):
        with slow.http() as http:
            answers = [http.post(slow.url + "api", files={"file": ("a", CORPUS["html"])})
                       for _ in range(4)]
            assert [a.status_code for a in answers] == [415, 415, 415, 429]
            assert 1 <= int(answers[-1].headers["retry-after"]) <= 60
            page = http.post(slow.url + "check", files={"file": ("a", CORPUS["html"])})
            assert page.status_code == 429 and "確認できません" in page.text
            assert http.get(slow.url).status_code == 200  # reading the page is not limited


def test_a_certificate_pdf_itself_is_still_valid(page: Page) -> None:
    from tests.center.security.measure_verify_page import signed_pdf

    with page.http() as http:
        reply = http.post(page.url + "api", files={"file": ("c.pdf", signed_pdf(page.state,
                                                                                page.db))})
    assert reply.json()["verdict"] == "VALID"


def test_stopping_the_center_stops_the_page_and_its_workers(
    center_state: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    db = f"sqlite:///{tmp_path_factory.mktemp('verify-stop') / 'center.db'}"
    for page in _start(center_state, db, "60"):
        with page.http() as http:  # a verification, so that the workers surely exist
            http.post(page.url + "api", files={"file": ("a", CORPUS["png_huge"])})
        processes = tree(page.server_pid())
        assert len(processes) >= 2  # the page and its worker(s)
        os.kill(page.center_pid, signal.SIGTERM)  # the center alone, as an operator would
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_alive(p) for p in processes):
            time.sleep(0.2)
        assert not [p for p in processes if _alive(p)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
