"""Settings every test suite shares (tests/ and hil_tests/).

Hypothesis profiles: ``make test`` runs the committed ``ci`` profile, derandomized (the
examples follow from each test's code, so one commit always gives one verdict), with no
example database and no deadlines (a busy machine must not turn a slow example into a
failure). ``make fuzz`` (tools/fuzz.py) loads ``fuzz``: random seeds, and every property's
example budget multiplied (``tests.fuzzing.examples``).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
FUZZ_FACTOR = max(1, int(os.environ.get("KOFU_FUZZ_FACTOR", "10")))
settings.register_profile(
    "fuzz", derandomize=False, database=None, deadline=None, print_blob=True,
    max_examples=100 * FUZZ_FACTOR,  # Hypothesis' default, multiplied as examples(n) does
)  # fmt: skip
settings.load_profile(os.environ.get("KOFU_HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every Hypothesis test ``property`` (``make fuzz`` runs ``-m property``) and every
    test of the pcscd group ``pcsc``; run that group first: it is the longest, so a parallel
    run starts it at once and fits the other directories beside it."""
    pcsc = {item.nodeid for item in items if group_of(item.nodeid) == "pcsc"}
    items.sort(key=lambda item: item.nodeid not in pcsc)  # stable
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.property)
        if item.nodeid in pcsc:
            item.add_marker(pytest.mark.pcsc)


_DAEMONS: list[object] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    """The system bus and avahi-daemon (which ippeveprinter needs) run for the whole test run,
    started once here in the controlling process: a printer simulator on one worker must not
    stop them under another's feet (each simulator stops only what it started)."""
    if hasattr(session.config, "workerinput") or os.geteuid() != 0:
        return
    from sim.printer import daemons

    try:
        _DAEMONS.append(daemons.ensure())
    except daemons.DaemonError:
        pass  # the printer tests say what is missing themselves


def pytest_sessionfinish(session: pytest.Session) -> None:
    while _DAEMONS:
        _DAEMONS.pop().stop()  # type: ignore[attr-defined]


# --- parallel runs (pytest-xdist, `-n N`) --------------------------------------------------
# Tests go to worker processes a whole directory at a time, so that the session and module
# fixtures of a directory (a running center, a cash simulator, Chromium) start once. The
# tests that use pcscd and its vpcd slots (a virtual card, a whole `kofu sim`) share one
# worker, in order: pcscd is machine-wide, its owner stops it, and one test restarts it on
# purpose. (xdist's own `--dist loadgroup` renames node ids, which pytest 9 ignores.)
PCSC_USERS = (
    "tests/e2e/",
    "tests/nfc/",
    "tests/kiosk/",
    "tests/doctor/",
    "tests/deploy/",
    "tests/coproc/test_sim_cli.py",
    "hil_tests/",
)


def group_of(nodeid: str) -> str:
    """The worker group of a test, from its node id (a path relative to the root dir)."""
    path = nodeid.split("::", 1)[0]
    if path.startswith(PCSC_USERS):
        return "pcsc"
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    config.option.loadscopereorder = False  # keep the pcscd group first
    return ByGroup(config, log)
