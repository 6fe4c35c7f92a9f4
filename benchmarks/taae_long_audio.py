"""Peak memory and time of TAAE encode + decode on long inputs (10 s, 60 s, 600 s).

Each length runs in a fresh subprocess so its peak RSS (``ru_maxrss``) is its own. Usage::

    python benchmarks/taae_long_audio.py [--codec taae_tiny_fsq] [--seconds 10 60 600] [--out FILE]

Prints one JSON row per length: seconds of audio, encode and decode wall-clock, peak RSS of the
process (MB) and the RSS before the audio was built (model + libraries), on the current machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time, torch
torch.set_num_threads(1)
from audiocodecs import get_codec
codec = get_codec(sys.argv[1])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
seconds = float(sys.argv[2])
x = torch.randn(1, 1, int(seconds * 16000), generator=torch.Generator().manual_seed(0)) * 0.05
t0 = time.perf_counter(); codes = codec.encode(x, 16000); t1 = time.perf_counter()
y = codec.decode(codes); t2 = time.perf_counter()
print(json.dumps({"codec": sys.argv[1], "seconds": seconds, "encode_s": t1 - t0,
                  "decode_s": t2 - t1, "samples_out": int(y.shape[-1]),
                  "rss_before_mb": base,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--codec", default="taae_tiny_fsq")
    p.add_argument("--seconds", type=float, nargs="+", default=[10.0, 60.0, 600.0])
    p.add_argument("--out", help="also write the rows (and the machine) as JSON here")
    args = p.parse_args()
    rows = []
    for s in args.seconds:
        out = subprocess.run([sys.executable, "-c", CHILD, args.codec, str(s)], check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
        row = json.loads(out.strip().splitlines()[-1])
        print(json.dumps(row))
        rows.append(row)
    if args.out:
        from bench.results import atomic_write_json, provenance

        atomic_write_json(
            __import__("pathlib").Path(args.out),
            {"rows": rows, "machine": platform.machine(), "threads": 1,
             "provenance": provenance("cpu")},
        )  # fmt: skip


if __name__ == "__main__":
    main()
