"""Example budgets of the property tests: ``n`` under ``make test`` (the ``ci`` Hypothesis
profile, registered in the root conftest.py), ``n × KOFU_FUZZ_FACTOR`` under ``make fuzz``.

A failure that ``make fuzz`` finds is committed as an ``@example(...)`` on the property (or a
plain regression test beside it), so ``make test`` keeps checking it deterministically.
"""

from __future__ import annotations

import os


def examples(n: int) -> int:
    if os.environ.get("KOFU_HYPOTHESIS_PROFILE", "ci") != "fuzz":
        return n
    return n * max(1, int(os.environ.get("KOFU_FUZZ_FACTOR", "10")))
