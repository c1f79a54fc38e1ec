"""Change making from a limited coin inventory (pure functions)."""

from __future__ import annotations


def make_change(amount: int, available: dict[int, int]) -> dict[int, int] | None:
    """Fewest coins summing to ``amount`` using at most ``available[value]`` of each value;
    None when impossible. Bounded DP: greedy fails once some coins run out."""
    if amount < 0:
        return None
    if amount == 0:
        return {}
    values = sorted((v for v, n in available.items() if n > 0 and v > 0), reverse=True)
    unit = 10 if all(v % 10 == 0 for v in values) and amount % 10 == 0 else 1
    target = amount // unit
    # best[a] = (coins, plan) for amount a*unit
    best: list[tuple[int, dict[int, int]] | None] = [None] * (target + 1)
    best[0] = (0, {})
    for value in values:
        step = value // unit
        for _ in range(available[value]):
            changed = False
            for a in range(target, step - 1, -1):
                prev = best[a - step]
                if prev is None:
                    continue
                if prev[1].get(value, 0) >= available[value]:
                    continue
                cand = prev[0] + 1
                cur = best[a]
                if cur is None or cand < cur[0]:
                    plan = dict(prev[1])
                    plan[value] = plan.get(value, 0) + 1
                    best[a] = (cand, plan)
                    changed = True
            if not changed:
                break
    result = best[target]
    return None if result is None else result[1]


def can_make(amount: int, available: dict[int, int]) -> bool:
    return make_change(amount, available) is not None
