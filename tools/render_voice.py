"""Render the kiosk's fixed Japanese voice prompts to WAV files with offline TTS.

    .venv/bin/pip install pyopenjtalk-plus     # big (bundled dictionary): not a project dep
    .venv/bin/python tools/render_voice.py [--only ID ...]

Reads host/voice/prompts.json (prompt id -> text) and writes host/voice/prompts/<id>.wav,
16 kHz mono 16-bit PCM, small enough to commit. The WAVs are committed so the kiosk needs no
TTS at run time; rerun this after changing a prompt's text.
"""

from __future__ import annotations

import argparse
import json
import sys
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "host" / "voice" / "prompts.json"
OUT = ROOT / "host" / "voice" / "prompts"
RATE = 16_000


def lowpass_decimate(x: np.ndarray, factor: int) -> np.ndarray:
    """Anti-aliasing windowed-sinc low-pass, then keep every ``factor``-th sample."""
    taps = 101
    cutoff = 0.9 / factor  # fraction of Nyquist
    n = np.arange(taps) - (taps - 1) / 2
    h = np.sinc(cutoff * n) * np.hamming(taps)
    h /= h.sum()
    return np.convolve(x, h, mode="same")[::factor]


def trim_silence(x: np.ndarray, keep_s: float = 0.08) -> np.ndarray:
    """Drop leading and trailing silence (keeps the files small), leaving a short margin."""
    loud = np.flatnonzero(np.abs(x) > 0.02 * float(np.max(np.abs(x)) or 1.0))
    if loud.size == 0:
        return x
    margin = int(keep_s * RATE)
    return x[max(0, loud[0] - margin) : loud[-1] + margin]


def render(text: str) -> np.ndarray:
    import pyopenjtalk  # imported here: only this script needs it

    audio, rate = pyopenjtalk.tts(text)
    if rate % RATE:
        raise SystemExit(f"unexpected TTS sample rate {rate}")
    x = lowpass_decimate(np.asarray(audio, dtype=np.float64), rate // RATE)
    x = trim_silence(x)
    peak = float(np.max(np.abs(x))) or 1.0
    x = x / peak * 0.9 * 32767  # normalise every prompt to the same loudness
    return x.astype("<i2")


def write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.tobytes())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="prompt ids to render (default: all)")
    args = ap.parse_args(argv)
    catalog: dict[str, str] = json.loads(CATALOG.read_text(encoding="utf-8"))
    ids = args.only or sorted(catalog)
    unknown = [i for i in ids if i not in catalog]
    if unknown:
        print(f"unknown prompt ids: {', '.join(unknown)}", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    total = 0
    for pid in ids:
        path = OUT / f"{pid}.wav"
        write_wav(path, render(catalog[pid]))
        total += path.stat().st_size
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KiB")
    print(f"{len(ids)} prompts, {total // 1024} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
