"""``bench check``: the regression gate against the committed baselines."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.commands.common import RESULTS_DIR, check_device, count, rel, split_names


def cmd_check(args: argparse.Namespace) -> int:
    from bench.check import run_check, update_baselines

    if args.metrics and not args.update:
        raise ValueError("--metrics goes with --update (a check gates what each baseline holds)")
    if args.update:
        from bench.metrics import parse_metrics

        codecs = split_names(args.codecs or "")
        metrics = parse_metrics(args.metrics) if args.metrics else None
        written = update_baselines(
            Path(args.baselines), codecs, args.device, args.workers, metrics=metrics
        )
        for p in written:
            print(f"wrote {rel(p)}")
        return 0
    check_device(args.device)
    ok, report = run_check(Path(args.baselines), device=args.device, workers=args.workers)
    print(report)
    return 0 if ok else 1


def add_parser(sub: Any) -> None:
    """The ``check`` subcommand's arguments (``sub``: the top parser's subparsers)."""
    c = sub.add_parser(
        "check", help="regression gate: rerun the baseline subset and compare within tolerances"
    )
    c.add_argument("--baselines", default=str(RESULTS_DIR / "check"), help="baseline folder")
    c.add_argument("--device", default="cpu")
    c.add_argument("--update", action="store_true", help="write new baselines instead of checking")
    c.add_argument(
        "--workers", type=count(0), default=2, help="metric processes (0 = inline; default 2)"
    )
    c.add_argument("--codecs", help="with --update: which codecs (default: the existing baselines)")
    c.add_argument(
        "--metrics",
        help="with --update: which metrics the baselines gate (default: each present baseline's "
        "own, else the default set + mosnet,visqol)",
    )
    c.set_defaults(func=cmd_check)
