"""`kofu bench cctalk-noise`: CPU cost per noise byte of the ccTalk host link, fed a byte at a
time as a 9600-baud line delivers it, for both checksum variants.

- ``random``: uniformly random bytes.
- ``long_head``: ``01 FA`` repeated — every other byte starts a "reply to the host" claiming
  250 data bytes while short candidates complete behind it; the pattern on which the old
  rescan cost ~8.5 ms per byte (issue 19).
- ``to_host``: ``01 FA 01 01`` repeated, a reply to the host starting at every other byte.

``checks_per_byte`` is how many candidate frames had their checksum computed per byte fed
(at most 1 now). Also: how long a babbling line (a byte every 5 ms) holds ``request()``,
on an injected clock (``babble_hold_s``, against ``babble_deadline_s``).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

from drivers.coin.cctalk import CcTalkLink, Checksum
from drivers.coin.cctalk_port import CcTalkPort
from drivers.coin.errors import NoReply


def _feed(stream: bytes, checksum: Checksum) -> tuple[float, float]:
    link = CcTalkLink(checksum)
    link.feed(link.request(2, 229), 0.0)
    start = time.process_time()
    for i, byte in enumerate(stream):
        link.feed(bytes([byte]), 0.001 + i * 0.001)
    cpu = time.process_time() - start
    return cpu / len(stream) * 1e6, link.checked / len(stream)


class _Babble:
    def __init__(self) -> None:
        self.t = 0.0

    def clock(self) -> float:
        return self.t

    in_waiting = 1

    def read(self, n: int) -> bytes:
        self.t += 0.005
        return b"\x55"

    def write(self, data: bytes) -> int:
        return len(data)

    def reset_input_buffer(self) -> None:
        pass


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    n = args.bytes
    streams = {
        "random": bytes(rng.randrange(256) for _ in range(n)),
        "long_head": (b"\x01\xfa" * n)[:n],
        "to_host": (b"\x01\xfa\x01\x01" * n)[:n],
    }
    result: dict[str, Any] = {"bench": "cctalk_noise", "bytes": n}
    for name, stream in streams.items():
        for checksum in Checksum:
            us, checks = _feed(stream, checksum)
            result[f"{name}_{checksum.value}_us_per_byte"] = round(us, 2)
            result[f"{name}_{checksum.value}_checks_per_byte"] = round(checks, 3)
    line = _Babble()
    port = CcTalkPort(line, reply_timeout_s=0.1, clock=line.clock)
    try:
        port.request(2, 229)
    except NoReply:
        pass
    result["babble_hold_s"] = round(line.t, 3)
    result["babble_deadline_s"] = round(port.deadline_s(), 3)
    return result


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kofu bench cctalk-noise")
    ap.add_argument("--bytes", type=int, default=20_000, help="length of each stream")
    ap.add_argument("--seed", type=int, default=19)
    print(json.dumps(run(ap.parse_args(argv))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(__import__("sys").argv[1:]))
