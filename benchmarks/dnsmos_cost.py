"""DNSMOS cost per second of audio: the package, the per-window path and the shared path.

    python benchmarks/dnsmos_cost.py [--dataset default] [--limit N] [--no-package]

Scores every file of the dataset three ways in one process (one ONNX thread each): speechmos's own
``dnsmos.run`` (the reference), the harness's per-window path (P.808 skipped) and the shared path
that ``dnsmos_ovrl`` uses; prints milliseconds per second of audio for each, the largest raw-score
difference between the two harness paths and the largest OVRL difference from the package.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.audio import load_audio  # noqa: E402
from bench.data import get_dataset  # noqa: E402
from bench.metrics import dnsmos  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="default")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--no-package", action="store_true", help="skip speechmos's own function")
    args = p.parse_args()
    utts = get_dataset(args.dataset).utterances[: args.limit]
    dnsmos._sessions()  # build the sessions before timing
    per_window = shared = package = audio = 0.0
    raw_diff = ovrl_diff = 0.0
    for utt in utts:
        x = np.clip(load_audio(utt.path).wav, -1.0, 1.0)
        audio += len(x) / 16000
        wins = dnsmos.windows(x)
        t0 = time.perf_counter()
        a = dnsmos.raw_scores_per_window(wins)
        t1 = time.perf_counter()
        signal, starts = dnsmos.window_starts(x)
        b = (
            dnsmos.raw_scores_per_window(wins)
            if len(starts) == 1
            else dnsmos.raw_scores_shared(signal, starts)
        )
        t2 = time.perf_counter()
        per_window += t1 - t0
        shared += t2 - t1
        raw_diff = max(raw_diff, float(np.abs(a - b).max()))
        if not args.no_package:
            from speechmos import dnsmos as reference

            t3 = time.perf_counter()
            ref = float(reference.run(x, sr=16000)["ovrl_mos"])
            package += time.perf_counter() - t3
            ours = float(np.mean(np.poly1d(dnsmos.OVRL_POLY)(b[:, 2])))
            ovrl_diff = max(ovrl_diff, abs(ref - ours))
    print(f"{args.dataset}: {len(utts)} files, {audio:.0f} s of audio; ms per audio-second:")
    if not args.no_package:
        print(
            f"  speechmos.dnsmos.run   {1000 * package / audio:7.1f}"
            f"  (max |OVRL diff| {ovrl_diff:.1e})"
        )
    print(f"  per-window (P.808 off) {1000 * per_window / audio:7.1f}")
    print(f"  shared layers          {1000 * shared / audio:7.1f}  (max |raw diff| {raw_diff:.1e})")


if __name__ == "__main__":
    main()
