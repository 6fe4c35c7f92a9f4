"""``bench run``: run codecs over a dataset and write result files (sharded, resumable)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from bench.commands.common import (
    CliError,
    add_scoring_options,
    check_device,
    publish,
    rel,
    split_names,
    zero_ok,
)

#: Codecs ``bench run`` uses when ``--codecs`` is absent (unavailable ones are skipped with a note).
DEFAULT_CODECS = (
    "passthrough",
    "codec2@700",
    "lyra@3.2kbps",
    "opus@6kbps",
    "opus@12kbps",
    "taae_fsq",
    "taae_rvq",
    "taae_tiny_fsq",
)


def cmd_run(args: argparse.Namespace) -> int:
    from audiocodecs import get_entry
    from bench.data import get_dataset
    from bench.metrics import parse_metrics, require_available
    from bench.runner import RunOptions
    from bench.scoring import make_pool

    check_device(args.device)
    # every named metric must be able to run before any work starts (`all` skips, with a note)
    metrics = require_available(parse_metrics(args.metrics), skip=args.metrics == "all")
    if args.codecs:
        names = split_names(args.codecs)
        for n in names:
            get_entry(n)  # unknown names fail before any work starts
    else:
        names = []
        for n in DEFAULT_CODECS:
            reason = get_entry(n).availability()
            if reason is None:
                names.append(n)
            else:
                print(f"note: skipping default codec {n}: {reason}", file=sys.stderr)
    dataset = get_dataset(args.dataset, args.data, args.limit, args.max_seconds)
    full_dataset = dataset
    launcher = None
    if not args.shard:
        launcher = launcher_shard()
        if launcher is not None:
            args.shard = f"{launcher[1]}/{launcher[2]}"
            print(f"{launcher[0]}: running shard {args.shard}", file=sys.stderr)
    if args.shard:
        dataset = dataset.shard(*_parse_shard(args.shard))
    opts = RunOptions(
        metrics=metrics,
        device=args.device,
        workers=args.workers,
        out=Path(args.out),
        fresh=args.fresh,
        replace=args.replace,
        progress=not args.no_progress,
        keep_journal=bool(args.shard),
    )
    print(
        f"dataset {dataset.name}: {len(dataset.utterances)} utterances ({dataset.slug}); "
        f"metrics: {', '.join(metrics)}; device {args.device}; workers {args.workers}",
        file=sys.stderr,
    )
    failed = []
    pool = make_pool(args.workers)
    try:
        for name in names:
            status = _run_one(name, dataset, opts, pool)
            if status == 130:
                return 130
            if status:
                failed.append(name)
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    if launcher is not None:
        return _after_launcher_shard(launcher, names, failed, full_dataset, args)
    if not args.no_leaderboard:
        publish(Path(args.out))
    return 1 if failed else 0


def _run_one(name: str, dataset, opts, pool) -> int:  # type: ignore[no-untyped-def]
    from audiocodecs import CodecUnavailable
    from bench.runner import RunError, run_codec

    try:
        path = run_codec(name, dataset, opts, pool)
    except (CodecUnavailable, RunError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished utterances are kept; rerun the same command to resume {name}",
            file=sys.stderr,
        )
        return 130
    print(f"wrote {rel(path)}")
    from bench.results import load_result

    result = load_result(path)
    harness = result["counts"].get("harness_failed", 0)
    if harness:
        print(
            f"error: {name}: {harness} utterance(s) not scored because a metric worker died "
            "twice (a harness failure, not the codec's; see the result's failures)",
            file=sys.stderr,
        )
        return 1
    return zero_ok(result)


def launcher_shard() -> tuple[str, int, int] | None:
    """``(launcher, index, count)`` when started by ``torchrun`` (``RANK``/``WORLD_SIZE``) or as
    a Slurm array task (``SLURM_ARRAY_TASK_ID``/``_COUNT``/``_MIN``), else ``None``."""
    env = os.environ
    if int(env.get("WORLD_SIZE", "1")) > 1:
        return "torchrun", int(env["RANK"]), int(env["WORLD_SIZE"])
    if env.get("SLURM_ARRAY_TASK_COUNT") and env.get("SLURM_ARRAY_TASK_ID"):
        first = int(env.get("SLURM_ARRAY_TASK_MIN", "0"))
        return (
            "slurm array",
            int(env["SLURM_ARRAY_TASK_ID"]) - first,
            int(env["SLURM_ARRAY_TASK_COUNT"]),
        )
    return None


def _after_launcher_shard(  # type: ignore[no-untyped-def]
    launcher: tuple[str, int, int], names: list[str], failed: list[str], dataset, args
) -> int:
    """torchrun: wait for every rank (gloo barrier), then rank 0 merges the shards into the one
    result a single process would write. Slurm arrays have no barrier: say how to merge."""
    kind, index, count = launcher
    if kind != "torchrun":
        print(
            f"shard {index}/{count} done; when every array task has finished run: python -m "
            f"bench merge --codecs {','.join(names)} --shards {count} --dataset {args.dataset}"
            + (f" --data {args.data}" if args.data else "")
            + f" --out {args.out}",
            file=sys.stderr,
        )
        return 1 if failed else 0
    import torch.distributed as dist

    from bench.finalize import merge_shards
    from bench.runner import RunOptions

    dist.init_process_group("gloo")
    try:
        flags = [None] * count
        dist.all_gather_object(flags, sorted(failed))
        dist.barrier()
        if index == 0:
            opts = RunOptions(metrics=[], device=args.device, workers=0, out=Path(args.out),
                              replace=args.replace)  # fmt: skip
            bad = sorted({n for f in flags for n in (f or [])})
            for name in names:
                if name not in bad:
                    print(f"wrote {rel(merge_shards(name, dataset, count, opts))}")
            if not args.no_leaderboard:
                publish(Path(args.out))
        dist.barrier()
    finally:
        dist.destroy_process_group()
    return 1 if failed else 0


def _parse_shard(spec: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in spec.split("/"))
        if not 0 <= i < n:
            raise ValueError
    except ValueError:
        raise CliError(f"--shard takes I/N with 0 ≤ I < N, not {spec!r}") from None
    return i, n


def add_parser(sub: Any) -> None:
    """The ``run`` subcommand's arguments (``sub``: the top parser's subparsers)."""
    r = sub.add_parser("run", help="run codecs over a dataset and write result files")
    r.add_argument(
        "--codecs",
        help=f"comma-separated registry names (default: {','.join(DEFAULT_CODECS)}, "
        "skipping unavailable ones); `python -m bench list` shows all",
    )
    add_scoring_options(r)
    r.add_argument("--device", default="cpu", help="torch device for the codec, e.g. cuda:0")
    r.add_argument(
        "--shard",
        help="I/N: run only every N-th utterance starting at I (one process/GPU per shard; "
        "then `bench merge --shards N`)",
    )
    r.set_defaults(func=cmd_run)
