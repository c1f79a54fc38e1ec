"""`kofu bench id003-parser`: CPU cost per byte of the ID-003 driver's parser on hostile
streams, fed in 1-byte and 64-byte reads.

- ``fc_stream``: nothing but sync bytes; each FC announces a 252-byte frame, the worst case
  for resynchronisation (issue 19 measured 0.19 ms per byte before the parser was linear).
- ``random``: uniformly random bytes.
- ``frames_in_noise``: valid status frames separated by random noise; ``frames_read*`` counts
  the frames recovered. A noise FC followed by a large length byte holds the frames behind it
  until that many bytes have arrived, so the count trails ``frames_sent`` by the few frames
  still waiting behind a bogus length when the stream ends.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

from drivers.coin import id003


def _feed(stream: bytes, chunk: int) -> tuple[float, int]:
    parser = id003.Id003Parser()
    frames = 0
    start = time.perf_counter()
    for i in range(0, len(stream), chunk):
        frames += len(parser.feed(stream[i : i + chunk]))
    return (time.perf_counter() - start) / len(stream) * 1e6, frames


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    n = args.bytes
    frame = id003.encode(id003.Status.ESCROW, b"\x61")
    noisy = bytearray()
    sent = 0
    while len(noisy) < n:
        noisy += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
        noisy += frame
        sent += 1
    streams = {
        "fc_stream": b"\xfc" * n,
        "random": bytes(rng.randrange(256) for _ in range(n)),
        "frames_in_noise": bytes(noisy),
    }
    result: dict[str, Any] = {"bench": "id003_parser", "bytes": n, "frames_sent": sent}
    for name, stream in streams.items():
        for chunk in (1, 64):
            us, frames = _feed(stream, chunk)
            result[f"{name}_us_per_byte_read{chunk}"] = round(us, 3)
            if name == "frames_in_noise":
                result[f"frames_read{chunk}"] = frames
    return result


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kofu bench id003-parser")
    ap.add_argument("--bytes", type=int, default=100_000, help="length of each stream")
    ap.add_argument("--seed", type=int, default=19)
    print(json.dumps(run(ap.parse_args(argv))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(__import__("sys").argv[1:]))
