"""``bench throughput``: encode/decode speed and peak memory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.commands.common import check_device, count, positive_float, split_names


def _throughput_rows_isolated(name: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Rows of one codec measured in a fresh interpreter, so its peak RSS is its own."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [sys.executable, "-m", "bench", "throughput", "--in-process", "--codecs", name]
        cmd += ["--device", args.device, "--seconds", str(args.seconds)]
        cmd += ["--repeats", str(args.repeats), "--out", str(out), "--batch-size"]
        cmd += [str(b) for b in args.batch_size]
        if args.threads:
            cmd += ["--threads", *[str(t) for t in args.threads]]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{name}: throughput measurement failed:\n{proc.stderr[-2000:]}")
        return json.loads(out.read_text())["rows"]


def cmd_throughput(args: argparse.Namespace) -> int:
    from bench.throughput import measure, throughput_table

    check_device(args.device)
    rows = []
    names = split_names(args.codecs)
    for name in names:
        if not args.in_process and len(names) > 1:
            rows += _throughput_rows_isolated(name, args)
            continue
        for batch in args.batch_size:
            for threads in args.threads or [None]:
                rows.append(
                    measure(
                        name,
                        device=args.device,
                        batch_size=batch,
                        seconds=args.seconds,
                        repeats=args.repeats,
                        threads=threads,
                    )
                )
    print(throughput_table(rows))
    if args.out:
        from bench.results import atomic_write_json, provenance

        # a result file like the others: rows plus machine, commit, packages, command line
        atomic_write_json(Path(args.out), {"rows": rows, "provenance": provenance(args.device)})
        print(f"wrote {args.out}")
    return 0


def add_parser(sub: Any) -> None:
    """The ``throughput`` subcommand's arguments (``sub``: the top parser's subparsers)."""
    t = sub.add_parser("throughput", help="encode/decode speed (× real time) and peak memory")
    t.add_argument("--codecs", required=True, help="comma-separated codec names")
    t.add_argument("--device", default="cpu")
    t.add_argument(
        "--batch-size", type=count(1), nargs="+", default=[1], help="one or more batch sizes"
    )
    t.add_argument("--seconds", type=positive_float, default=10.0, help="audio length per item")
    t.add_argument("--repeats", type=count(1), default=3, help="timed repeats after one warm-up")
    t.add_argument(
        "--threads",
        type=count(1),
        nargs="+",
        default=None,
        help="CPU threads for torch and BLAS/OpenMP pools, one or more values (default: all cores)",
    )
    t.add_argument(
        "--out",
        help="also write the rows (with provenance) as JSON here; files under results/perf/ "
        "named throughput*.json feed the leaderboard's speed table",
    )
    t.add_argument(
        "--in-process",
        action="store_true",
        help="measure every codec in this process (default with several codecs: one fresh "
        "process per codec, so each peak RSS is the codec's own)",
    )
    t.set_defaults(func=cmd_throughput)
