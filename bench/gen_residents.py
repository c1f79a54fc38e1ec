"""Generate a fictional resident register CSV for `kofu center admin import-residents`
(issue 14's import-speed figure): households of 1-4, 11-digit resident codes, unique
12-digit My Numbers, all names and addresses made up. The same ``--seed`` gives the same
file, so a second import of it measures the re-import.

    python -m bench.gen_residents --rows 100000 --out residents.csv
    time kofu center admin --state DIR import-residents --municipality CODE residents.csv
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from datetime import date, timedelta
from pathlib import Path

SURNAMES = ("架空", "試験", "見本", "仮名", "模擬", "例示", "標本", "想定")
GIVEN = ("一郎", "花子", "次郎", "陽菜", "翔", "葵", "誠", "恵", "実", "望")
KANA_SUR = ("カクウ", "シケン", "ミホン", "カメイ", "モギ", "レイジ", "ヒョウホン", "ソウテイ")
KANA_GIVEN = ("イチロウ", "ハナコ", "ジロウ", "ヒナ", "ショウ", "アオイ", "マコト", "メグミ",
              "ミノル", "ノゾミ")  # fmt: skip
HEADER = ("resident_code", "household", "household_head", "relationship", "name", "kana",
          "birth_date", "sex", "moved_in", "address", "my_number")  # fmt: skip


def rows(count: int, seed: int) -> list[list[str]]:
    rnd = random.Random(seed)
    out: list[list[str]] = []
    household = 0
    while len(out) < count:
        household += 1
        sur = rnd.randrange(len(SURNAMES))
        address = f"架空県見本市{rnd.randint(1, 40)}丁目{rnd.randint(1, 30)}番{household}号"
        size = min(rnd.randint(1, 4), count - len(out))
        head = ""
        for k in range(size):
            n = len(out)
            g = rnd.randrange(len(GIVEN))
            name = f"{SURNAMES[sur]} {GIVEN[g]}"
            head = head or name
            born = date(1940, 1, 1) + timedelta(days=rnd.randrange(80 * 365))
            out.append([
                f"{20000000000 + n:011d}", f"G{household}", head,
                "世帯主" if k == 0 else "世帯員", name, f"{KANA_SUR[sur]} {KANA_GIVEN[g]}",
                born.isoformat(), "男" if g % 2 == 0 else "女",
                (born + timedelta(days=rnd.randrange(365 * 5))).isoformat(), address,
                f"{700000000000 + n * 7:012d}",
            ])  # fmt: skip
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gen_residents")
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    with args.out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(rows(args.rows, args.seed))
    print(f"{args.rows} residents in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
