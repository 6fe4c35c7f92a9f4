"""``bench score``: score audio decoded elsewhere against a dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench.commands.common import (
    CliError,
    add_scoring_options,
    positive_float,
    publish,
    rel,
    zero_ok,
)


def cmd_score(args: argparse.Namespace) -> int:
    from bench.data import get_dataset
    from bench.metrics import parse_metrics, require_available
    from bench.runner import RunError, RunOptions
    from bench.score import ScoreUsageError, score_decoded
    from bench.scoring import make_pool

    # every named metric must be able to run before any work starts (`all` skips, with a note)
    metrics = require_available(parse_metrics(args.metrics), skip=args.metrics == "all")
    dataset = get_dataset(args.dataset, args.data, args.limit, args.max_seconds)
    opts = RunOptions(metrics=metrics, device="cpu", workers=args.workers, out=Path(args.out),
                      fresh=args.fresh, replace=args.replace,
                      progress=not args.no_progress)  # fmt: skip
    pool = make_pool(args.workers)
    try:
        path = score_decoded(
            dataset, Path(args.decoded), args.name, opts, pool, bps=args.bps,
            bitstreams=Path(args.bitstreams) if args.bitstreams else None,
            align=not args.no_align,
        )  # fmt: skip
    except ScoreUsageError as exc:  # a missing folder, a taken name …: exit 2
        raise CliError(str(exc)) from None
    except RunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: finished utterances are kept; rerun the same command to resume",
              file=sys.stderr)  # fmt: skip
        return 130
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    print(f"wrote {rel(path)}")
    if not args.no_leaderboard:
        publish(Path(args.out))
    from bench.results import load_result

    return zero_ok(load_result(path))


def add_parser(sub: Any) -> None:
    """The ``score`` subcommand's arguments (``sub``: the top parser's subparsers)."""
    sc = sub.add_parser(
        "score",
        help="score audio decoded elsewhere (a folder of files named by utterance id) against "
        "a dataset's references, like `run` does for a registered codec",
    )
    sc.add_argument("--decoded", required=True, help="folder of decoded audio: <id>.<any ext>")
    sc.add_argument("--name", required=True, help="the codec's name in results and tables")
    rate = sc.add_mutually_exclusive_group()
    rate.add_argument("--bps", type=positive_float, help="declared payload bitrate (bits/s)")
    rate.add_argument(
        "--bitstreams", help="folder of the encoded files (<id>.<any ext>): payload from sizes"
    )
    sc.add_argument(
        "--no-align",
        action="store_true",
        help="keep the decoded timing (default: remove the lag estimated within ±100 ms; "
        "advised for codecs that send no phase, whose lag estimate is unreliable)",
    )
    add_scoring_options(sc)
    sc.set_defaults(func=cmd_score)
