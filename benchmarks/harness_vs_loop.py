"""Harness vs the plain loop a user would write: wall time of the same work, side by side.

    python benchmarks/harness_vs_loop.py [--codec opus@6kbps] [--dataset default] [--limit N]
        [--metrics sisdr,mel,stft,pesq_wb,stoi,dnsmos_ovrl] [--out FILE.json]

Three timings of one codec over the same utterances and metrics, each in a fresh process:

- **plain loop**: read each file, ``codec.roundtrip``, call every metric function in turn (what a
  user would script without the harness); also the summed time inside the metric functions
  (*raw metric time*) and inside the codec.
- **harness, inline** (``bench run --workers 0``): the same sequential work through the harness
  (input checks, resampling policy, journal, result file, statistics).
- **harness, all workers** (``bench run`` default: one metric process per core).

Ratios printed: inline harness / plain loop (the harness's own overhead on identical work) and
all-workers harness / plain loop (the speed-up of its parallelism), plus the harness overhead over
the summed raw metric + codec time. Run it with nothing else on the cores; the JSON records the
machine, the commit and the package versions.
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

REPO = Path(__file__).resolve().parent.parent

LOOP = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np, torch
from threadpoolctl import threadpool_limits
from audiocodecs import get_codec
from bench.audio import load_audio
from bench.data import get_dataset
from bench.metrics import get_metric
codec_name, dataset, limit, metrics = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(1)
codec = get_codec(codec_name)
fns = [get_metric(m) for m in metrics.split(",")]
raw = {m.name: 0.0 for m in fns}
codec_s = 0.0
with threadpool_limits(limits=1):
    for utt in get_dataset(dataset, limit=limit).utterances:
        ref = load_audio(utt.path).wav
        t = time.perf_counter()
        y = codec.roundtrip(torch.from_numpy(ref)[None, None], 16000).wav[0, 0].numpy()
        codec_s += time.perf_counter() - t
        y = np.clip(y[: ref.size], -1, 1).astype(np.float32)
        for m in fns:
            t = time.perf_counter()
            m(ref, y, "cpu", utt.transcript)
            raw[m.name] += time.perf_counter() - t
print(json.dumps({"wall_s": time.perf_counter() - t0, "codec_s": codec_s, "raw_metric_s": raw}))
"""


def _harness(codec: str, dataset: str, limit: int, metrics: str, workers: int | None) -> float:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "bench", "run", "--codecs", codec, "--dataset", dataset,
               "--limit", str(limit), "--metrics", metrics, "--out", out, "--fresh",
               "--no-progress", "--no-leaderboard"]  # fmt: skip
        if workers is not None:
            cmd += ["--workers", str(workers)]
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
        return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--codec", default="opus@6kbps")
    p.add_argument("--dataset", default="default")
    p.add_argument("--limit", type=int, default=8)
    p.add_argument("--metrics", default="sisdr,mel,stft,pesq_wb,stoi,dnsmos_ovrl")
    p.add_argument("--out", help="also write the figures as JSON here")
    args = p.parse_args()
    from bench.results import device_description, git_info, package_versions

    loop = json.loads(
        subprocess.run(
            [sys.executable, "-c", LOOP, args.codec, args.dataset, str(args.limit), args.metrics],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        ).stdout  # fmt: skip
    )
    inline = _harness(args.codec, args.dataset, args.limit, args.metrics, 0)
    parallel = _harness(args.codec, args.dataset, args.limit, args.metrics, None)
    raw = sum(loop["raw_metric_s"].values())
    row = {
        "codec": args.codec,
        "dataset": args.dataset,
        "utterances": args.limit,
        "metrics": args.metrics.split(","),
        "plain_loop_wall_s": loop["wall_s"],
        "plain_loop_codec_s": loop["codec_s"],
        "raw_metric_s": loop["raw_metric_s"],
        "raw_metric_total_s": raw,
        "harness_inline_wall_s": inline,
        "harness_all_workers_wall_s": parallel,
        "ratio_inline_over_loop": inline / loop["wall_s"],
        "ratio_all_workers_over_loop": parallel / loop["wall_s"],
        "harness_inline_overhead_over_raw_s": inline - raw - loop["codec_s"],
        "cores": os.cpu_count(),
        "device": device_description("cpu"),
        "git": git_info(),
        "versions": package_versions(),
        "note": "each timing in a fresh process, including imports and model loading",
    }
    print(f"plain loop           {loop['wall_s']:7.1f} s  (codec {loop['codec_s']:.1f} s, raw "
          f"metrics {raw:.1f} s: " + ", ".join(f"{k} {v:.1f}" for k, v in
                                              loop["raw_metric_s"].items()) + ")")  # fmt: skip
    print(
        f"harness, inline      {inline:7.1f} s  ({row['ratio_inline_over_loop']:.2f}× the loop; "
        f"{row['harness_inline_overhead_over_raw_s']:.1f} s beyond codec + raw metrics)"
    )
    print(
        f"harness, all workers {parallel:7.1f} s  ({row['ratio_all_workers_over_loop']:.2f}× "
        f"the loop, {os.cpu_count()} cores)"
    )
    if args.out:
        from bench.results import atomic_write_json

        atomic_write_json(Path(args.out), row)


if __name__ == "__main__":
    main()
