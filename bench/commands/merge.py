"""``bench merge``: merge the shards of ``run --shard I/N`` into the one result."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.commands.common import LOCAL_RESULTS_DIR, count, publish, rel, split_names, zero_ok


def cmd_merge(args: argparse.Namespace) -> int:
    from bench.data import get_dataset
    from bench.finalize import merge_shards
    from bench.runner import RunOptions

    dataset = get_dataset(args.dataset, args.data, args.limit, args.max_seconds)
    opts = RunOptions(metrics=[], device=args.device, workers=0, out=Path(args.out),
                      replace=args.replace)  # fmt: skip
    from bench.results import load_result

    status = 0
    for name in split_names(args.codecs):
        path = merge_shards(name, dataset, args.shards, opts)
        print(f"wrote {rel(path)}")
        status |= zero_ok(load_result(path))
    publish(Path(args.out))
    return status


def add_parser(sub: Any) -> None:
    """The ``merge`` subcommand's arguments (``sub``: the top parser's subparsers)."""
    mg = sub.add_parser("merge", help="merge the shards of `run --shard I/N` into one result")
    mg.add_argument("--codecs", required=True, help="comma-separated codec names")
    mg.add_argument("--shards", type=count(1), required=True, help="N, the number of shards")
    mg.add_argument("--dataset", default="default", help="as given to `run`")
    mg.add_argument("--data", help="as given to `run`")
    mg.add_argument("--limit", type=int, help="as given to `run`")
    mg.add_argument("--max-seconds", type=float, help="as given to `run`")
    mg.add_argument("--device", default="cpu")
    mg.add_argument(
        "--out", default=str(LOCAL_RESULTS_DIR), help="results folder used by the shards"
    )
    mg.add_argument(
        "--replace",
        action="store_true",
        help="overwrite an earlier result whose other metrics cannot be carried over",
    )
    mg.set_defaults(func=cmd_merge)
