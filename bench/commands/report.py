"""``bench report``: the static HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.commands.common import RESULTS_DIR, CliError, check_device, count, rel, split_names


def cmd_report(args: argparse.Namespace) -> int:
    from bench.report import DEFAULT_PAIR, write_report

    check_device(args.device)
    codecs = split_names(args.codecs) if args.codecs else None
    pair = split_names(args.pair) if args.pair is not None else list(DEFAULT_PAIR)
    if len(pair) != 2 or pair[0] == pair[1]:
        raise CliError(f"--pair takes two different codec names, A,B; not {args.pair!r}")
    index = write_report(Path(args.results), Path(args.out), args.dataset, codecs,
                         args.examples, args.device, (pair[0], pair[1]))  # fmt: skip
    size = sum(p.stat().st_size for p in Path(args.out).rglob("*") if p.is_file())
    print(f"wrote {rel(index)} ({size / 2**20:.1f} MB in {rel(Path(args.out))})")
    return 0


def add_parser(sub: Any) -> None:
    """The ``report`` subcommand's arguments (``sub``: the top parser's subparsers)."""
    rp = sub.add_parser("report", help="static HTML report: sortable tables, plots, listening")
    rp.add_argument("--results", default=str(RESULTS_DIR), help="results folder")
    rp.add_argument("--dataset", help="only this dataset slug (default: all)")
    rp.add_argument("--codecs", help="only these codecs (comma-separated)")
    rp.add_argument("--examples", type=count(0), default=3, help="listening rows per dataset")
    rp.add_argument("--out", default=str(RESULTS_DIR / "report"), help="site folder (replaced)")
    rp.add_argument("--device", default="cpu")
    rp.add_argument(
        "--pair",
        metavar="A,B",
        # the default lives in bench.report (DEFAULT_PAIR): importing it here would load numpy
        # for every command; tests/test_report.py checks this text names it
        help="the two codecs the A/B listening picker opens on wherever a dataset has them "
        "(default: taae_fsq,codec2@700, the comparison the test-clean board is about; family "
        "names work; where a dataset lacks them, the first two lossy codecs by bitrate)",
    )
    rp.set_defaults(func=cmd_report)
