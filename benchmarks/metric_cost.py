"""Cost of registered metrics: first call in a fresh process, then milliseconds per audio-second.

    python benchmarks/metric_cost.py --metrics mosnet,visqol,pesq_wb [--dataset default]
        [--limit N] [--threads 1] [--cold-numba]

Each metric runs in its own fresh interpreter (so imports, model loading and JIT compilation land
in its *first call*), scoring every utterance of the dataset against its Codec 2 700C decode
(intrusive metrics get the clean reference; reference-free ones score the decode). It reports the
first call's wall time and the steady cost over the other utterances in ms per second of audio.
``--threads`` sets torch's (and hence the numba kernels') thread count: 1 is how the harness's
metric workers run. ``--cold-numba`` points numba's on-disk cache at an empty folder, so a
numba-compiled metric (ViSQOL) pays its compilation as on a fresh machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def measure(metric: str, dataset: str, limit: int | None, threads: int) -> dict[str, float]:
    """Run inside the child process: time ``metric`` over the dataset's utterances."""
    t_start = time.perf_counter()
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    from audiocodecs import get_codec
    from bench.audio import load_audio
    from bench.data import get_dataset
    from bench.metrics import get_metric

    codec = get_codec("codec2@700")
    pairs = []
    for utt in get_dataset(dataset, limit=limit).utterances:
        ref = load_audio(utt.path).wav
        dec = codec.roundtrip(torch.from_numpy(ref)[None, None], 16000).wav[0, 0].numpy()
        pairs.append((ref, np.clip(dec, -1.0, 1.0)))
    m = get_metric(metric)
    t0 = time.perf_counter()
    setup = t0 - t_start
    m(*pairs[0])
    first = time.perf_counter() - t0
    seconds = sum(len(r) for r, _ in pairs[1:]) / 16000
    t0 = time.perf_counter()
    for ref, dec in pairs[1:]:
        m(ref, dec)
    steady = time.perf_counter() - t0
    return {
        "first_call_s": first,
        "first_clip_s": len(pairs[0][0]) / 16000,
        "import_and_setup_s": setup,
        "ms_per_audio_second": 1000 * steady / seconds if seconds else float("nan"),
        "audio_seconds": seconds,
        "utterances": len(pairs) - 1,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--metrics", default="mosnet,visqol")
    p.add_argument("--dataset", default="default")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cold-numba", action="store_true")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.dataset, args.limit, args.threads)))
        return
    print(f"dataset {args.dataset}, limit {args.limit}, torch threads {args.threads}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    for metric in args.metrics.split(","):
        env = dict(os.environ)
        with tempfile.TemporaryDirectory() as cache:
            if args.cold_numba:
                env["NUMBA_CACHE_DIR"] = cache
            cmd = [sys.executable, __file__, "--child", metric, "--dataset", args.dataset,
                   "--threads", str(args.threads)]  # fmt: skip
            if args.limit:
                cmd += ["--limit", str(args.limit)]
            out = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
        if out.returncode:
            print(f"{metric}: failed\n{out.stderr[-2000:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{metric:12s} first call {r['first_call_s']:6.2f} s (on a {r['first_clip_s']:.1f} s "
              f"clip{', cold numba cache' if args.cold_numba else ''}); then "
              f"{r['ms_per_audio_second']:6.1f} ms per audio-second over {r['utterances']} "
              f"utterances ({r['audio_seconds']:.1f} s)")  # fmt: skip


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
