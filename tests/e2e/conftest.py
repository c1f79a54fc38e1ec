"""The whole `kofu sim` in a child process (every simulator, the real center, the kiosk
service), Debian's Chromium under Playwright tapping the screen with touch, and the sim
control panel (`POST /sim/act`) as the citizen's hands.

Each test module starts one `kofu sim` for its configuration (`start_sim`); between tests
the `kiosk_on` fixture finishes whatever session is left (cancel, OK, take everything)
instead of restarting the simulation. A failing test leaves a screenshot in its tmp_path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chromium import launch, start_playwright
from tests.e2e.harness import Kiosk, SimProcess, Sims

# What the e2e tests share across modules (the running `kofu sim`, Playwright and its
# Chromium) is released as soon as the next test is not an e2e test: the sim holds vpcd
# slot 0 and Playwright's sync API holds an event loop on this thread, either of which
# would break the tests that follow in the same pytest run.
_RELEASE: list[Callable[[], None]] = []
HERE = Path(__file__).resolve().parent


def _release() -> None:
    while _RELEASE:
        _RELEASE.pop()()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    if nextitem is None or Path(str(nextitem.path)).resolve().parent != HERE:
        _release()


@pytest.fixture(scope="session")
def sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sims]:
    s = Sims(tmp_path_factory)
    _RELEASE.append(s.stop)
    yield s
    _release()


# The main configuration: default timeouts except the thank-you screen (the next session
# starts at idle sooner).
MAIN = ("--timeout", "thanks=1")


@pytest.fixture
def main_sim(sims: Sims) -> SimProcess:
    return sims.get(*MAIN)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    pw = start_playwright()
    try:
        b = launch(pw)
    except BaseException:
        pw.stop()
        raise

    def close() -> None:
        with contextlib.suppress(Exception):
            b.close()
        pw.stop()

    _RELEASE.append(close)
    yield b
    _release()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def kiosk_on(
    browser: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[SimProcess], Kiosk]]:
    """``kiosk_on(sim)``: a fresh page on that sim's screen; afterwards the session is
    finished (the next test starts at rest) and a failure leaves a screenshot."""
    made: list[Kiosk] = []
    ctx = browser.new_context(
        viewport={"width": 1280, "height": 800}, has_touch=True, locale="ja-JP"
    )

    def open_on(sim: SimProcess) -> Kiosk:
        page = ctx.new_page()
        page.goto(sim.page_url)
        k = Kiosk(sim, page)
        made.append(k)
        return k

    try:
        yield open_on
    finally:
        rep = getattr(request.node, "rep_call", None)
        for k in made:
            if rep is not None and rep.failed:
                print(f"kofu sim output:\n{k.sim.tail(40)}")
                shot = tmp_path / "failure.png"
                with contextlib.suppress(Exception):
                    k.page.screenshot(path=str(shot))
                    print(f"screenshot: {shot}")
            if k.sim.proc.poll() is None:
                try:
                    k.finish()
                    k.sim.act("reset_cards")
                except Exception:
                    # No way back to rest (e.g. pcscd went away under the card): a fresh sim
                    # for the next test rather than a cascade of failures.
                    k.sim.stop()
                    ctx.close()
                    raise
        ctx.close()
