"""``python -m bench``: run codecs over a dataset, publish the leaderboard, gate regressions."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.results import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "results"
#: Where ``bench run`` / ``bench merge`` write without ``--out``: untracked (``.gitignore``), so the
#: first command a newcomer types never rewrites a committed file. ``--out results`` (or
#: ``make leaderboard`` after copying results in) is the explicit act that updates the board.
LOCAL_RESULTS_DIR = RESULTS_DIR / "local"
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


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def _count(minimum: int) -> Callable[[str], int]:
    """argparse type: an integer ≥ ``minimum`` with a clear message otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be ≥ {minimum}, got {value}")
        return value

    return parse


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def check_device(spec: str) -> str:
    """``spec`` if torch can run on it here, else a :class:`CliError` saying why (no traceback)."""
    import torch

    try:
        dev = torch.device(spec)
    except (RuntimeError, ValueError):
        raise CliError(f"--device {spec!r} is not a torch device (cpu, cuda or cuda:N)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise CliError(f"--device {spec}: CUDA is not available on this machine (use cpu)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise CliError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif dev.type != "cpu":
        raise CliError(f"--device {spec}: only cpu and cuda devices are supported")
    return spec


def _split(spec: str) -> list[str]:
    return [s.strip() for s in spec.split(",") if s.strip()]


def _default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# ------------------------------------------------------------------------------------ commands
def cmd_run(args: argparse.Namespace) -> int:
    from audiocodecs import get_entry
    from bench.data import get_dataset
    from bench.metrics import parse_metrics
    from bench.runner import RunOptions, make_pool

    check_device(args.device)
    metrics = parse_metrics(args.metrics)
    if args.codecs:
        names = _split(args.codecs)
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
        _publish(Path(args.out))
    return 1 if failed else 0


def _publish(out: Path) -> None:
    """Regenerate ``out``'s leaderboard and say whether it is the committed one."""
    from bench.leaderboard import write_leaderboard

    for p in write_leaderboard(out):
        print(f"wrote {_rel(p)}")
    if out.resolve() != RESULTS_DIR.resolve():
        where = (
            "not tracked by git"
            if out.resolve().is_relative_to(LOCAL_RESULTS_DIR.resolve())
            else "a board of that folder alone"
        )
        print(
            f"results are in {_rel(out)} ({where}); the committed board in "
            f"{_rel(RESULTS_DIR)} changes only with `--out {_rel(RESULTS_DIR)}`",
            file=sys.stderr,
        )


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
    print(f"wrote {_rel(path)}")
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
    return _zero_ok(result)


def _zero_ok(result: dict[str, Any]) -> int:
    """1 with one stderr line when ``result`` has no ok utterance (the board still shows the
    other codecs: ``bench.compare`` leaves this one out), else 0."""
    from bench.compare import zero_ok_reason

    why = zero_ok_reason(result)
    if why is None:
        return 0
    print(f"error: {why}", file=sys.stderr)
    return 1


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

    from bench.runner import RunOptions, merge_shards

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
                    print(f"wrote {_rel(merge_shards(name, dataset, count, opts))}")
            if not args.no_leaderboard:
                _publish(Path(args.out))
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


def cmd_merge(args: argparse.Namespace) -> int:
    from bench.data import get_dataset
    from bench.runner import RunOptions, merge_shards

    dataset = get_dataset(args.dataset, args.data, args.limit, args.max_seconds)
    opts = RunOptions(metrics=[], device=args.device, workers=0, out=Path(args.out),
                      replace=args.replace)  # fmt: skip
    from bench.results import load_result

    status = 0
    for name in _split(args.codecs):
        path = merge_shards(name, dataset, args.shards, opts)
        print(f"wrote {_rel(path)}")
        status |= _zero_ok(load_result(path))
    _publish(Path(args.out))
    return status


def _rel(p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(p)


#: ``bench list`` fits a terminal this wide (the long reasons are behind ``--why NAME``).
LIST_WIDTH = 100


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def cmd_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from audiocodecs import get_entry, list_codecs
    from audiocodecs.registry import describe_request, family_default, unavailable_reason
    from bench.data import dataset_entries
    from bench.metrics import get_metric, metric_names

    if args.why:
        entry = get_entry(args.why)
        reason = unavailable_reason(entry)
        print(f"{describe_request(args.why)}: {entry.description} (family {entry.family})")
        if (found := family_default(args.why)) is not None:
            print(f"why this entry stands for {args.why}: {found[1]}")
        print("available" if reason is None else f"unavailable: {reason}")
        return 0 if reason is None else 1
    rows = []
    for entry, reason in list_codecs():
        if entry.test_only and not args.all:
            continue
        rows.append(
            [entry.name, entry.family, "yes" if reason is None else "no", entry.description]
        )
    # The description column takes what the other columns leave of LIST_WIDTH.
    headers = ["codec", "family", "available", "description"]
    table = tabulate([[*r[:3], ""] for r in rows], headers=headers, tablefmt="github")
    room = max(12, LIST_WIDTH - max(len(line) for line in table.splitlines()) + len(headers[3]))
    rows = [[*r[:3], _clip(r[3], room)] for r in rows]
    print(tabulate(rows, headers=headers, tablefmt="github"))
    unavailable = sum(r[2] == "no" for r in rows)
    if unavailable:
        print(f"{unavailable} unavailable: `python -m bench list --why NAME` says why and the fix")
    if not args.all:
        print("(random-init / test-only codecs hidden; --all shows them)")
    print()
    _print_family_names({r[0]: r[2] for r in rows})
    print()
    mrows = []
    for n in metric_names():
        m = get_metric(n)
        mrows.append([n, _clip(m.label, 62), m.unit, "higher" if m.higher_is_better else "lower"])
    print(tabulate(mrows, headers=["metric", "label", "unit", "better"], tablefmt="github"))
    print()
    drows = [[e.name, _clip(e.description, 60)] for e in dataset_entries()]
    drows.append(["PATH", "any folder of audio files (id = path relative to it)"])
    print(tabulate(drows, headers=["dataset", "description"], tablefmt="github"))
    return 0


def _print_family_names(available: dict[str, str]) -> None:
    """What a family name means on the command line (``--codecs dac``) and why: one entry per
    family, wrapped to :data:`LIST_WIDTH` so the reason is never cut."""
    import textwrap

    from audiocodecs.registry import family_defaults

    defaults = family_defaults()
    intro = (
        "Family names stand for one entry each (`--codecs taae,codec2,dac`), chosen for the "
        "comparison this project makes — speech at low bitrates, TAAE at 350–700 bps beside "
        "Codec 2 700C:"
    )
    print("\n".join(textwrap.wrap(intro, LIST_WIDTH)))
    width = max((len(f) for f in defaults), default=0)
    target = max((len(n) for n, _ in defaults.values()), default=0)
    for family, (name, why) in sorted(defaults.items()):
        head = f"  {family:<{width}} → {name:<{target}}  {available.get(name, '?'):<3}  "
        lines = textwrap.wrap(why, LIST_WIDTH - len(head)) or [""]
        print(head + lines[0])
        for more in lines[1:]:
            print(" " * len(head) + more)


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from bench.leaderboard import load_visible, write_leaderboard

    if not load_visible(Path(args.results)):
        raise CliError(f"no result files under {args.results}; run `python -m bench run` first")
    for p in write_leaderboard(Path(args.results)):
        print(f"wrote {_rel(p)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from bench.check import run_check, update_baselines

    if args.update:
        codecs = _split(args.codecs or "")
        for p in update_baselines(Path(args.baselines), codecs, args.device, args.workers):
            print(f"wrote {_rel(p)}")
        return 0
    check_device(args.device)
    ok, report = run_check(Path(args.baselines), device=args.device, workers=args.workers)
    print(report)
    return 0 if ok else 1


def cmd_score(args: argparse.Namespace) -> int:
    from bench.data import get_dataset
    from bench.metrics import parse_metrics
    from bench.runner import RunError, RunOptions, make_pool
    from bench.score import ScoreUsageError, score_decoded

    metrics = parse_metrics(args.metrics)
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
    print(f"wrote {_rel(path)}")
    if not args.no_leaderboard:
        _publish(Path(args.out))
    from bench.results import load_result

    return _zero_ok(load_result(path))


def cmd_selftest(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from audiocodecs import get_codec
    from bench.selftest import selftest

    check_device(args.device)
    all_ok = True
    for name in _split(args.codecs):
        codec = get_codec(name, device=args.device)
        checks = selftest(codec)
        ok = all(c.ok for c in checks)
        all_ok &= ok
        rows = [[c.name, c.status.upper() if c.status == "fail" else c.status, c.detail]
                for c in checks]  # fmt: skip
        print(f"## {name}\n")
        print(tabulate(rows, headers=["check", "status", "detail"], tablefmt="github"))
        print(f"\n{name}: {'PASS' if ok else 'FAIL'} "
              f"({sum(c.status == 'fail' for c in checks)} failed, "
              f"{sum(c.status == 'skip' for c in checks)} skipped)\n")  # fmt: skip
    return 0 if all_ok else 1


def cmd_weights(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from audiocodecs.weights import install, specs

    if args.weights_cmd == "install":
        spec, status = install(args.file, args.as_label)
        print(f"installed {spec.label} at {spec.path}: {status}")
        return 0
    if args.weights_cmd == "fetch":
        return _fetch_weights(args)
    rows = []
    all_ok = True
    for s in specs():
        ok, status = s.check()
        all_ok &= ok
        rows.append([s.label, s.codecs, str(s.path), status])
    print(tabulate(rows, headers=["weights", "codecs", "expected at", "status"], tablefmt="github"))
    return 0 if all_ok or not args.strict else 1


def _fetch_weights(args: argparse.Namespace) -> int:
    """``bench weights fetch NAME``: every file NAME needs, each placed or refused on its own."""
    from audiocodecs.weights import select
    from bench.data.download import DownloadError, NetworkError, fetch_weights, mirror_url

    failed = 0
    for spec in select(args.name):
        url = mirror_url(args.mirror, spec.url) if args.mirror else None
        try:
            status = fetch_weights(spec, url, progress=not args.no_progress)
        except NetworkError as exc:
            failed += 1
            print(f"error: {spec.label}: {exc} — offline, fetch that URL on another machine and "
                  "run `python -m bench weights install FILE`", file=sys.stderr)  # fmt: skip
            continue
        except DownloadError as exc:
            failed += 1
            print(f"error: {spec.label}: {exc}", file=sys.stderr)
            continue
        except KeyboardInterrupt:
            print(f"\ninterrupted: the bytes so far are kept beside {spec.path} (.part); rerun "
                  "the same command to resume", file=sys.stderr)  # fmt: skip
            return 130
        print(f"{spec.label}: {spec.path}: {status}")
    return 1 if failed else 0


def cmd_report(args: argparse.Namespace) -> int:
    from bench.report import DEFAULT_PAIR, write_report

    check_device(args.device)
    codecs = _split(args.codecs) if args.codecs else None
    pair = _split(args.pair) if args.pair is not None else list(DEFAULT_PAIR)
    if len(pair) != 2 or pair[0] == pair[1]:
        raise CliError(f"--pair takes two different codec names, A,B; not {args.pair!r}")
    index = write_report(Path(args.results), Path(args.out), args.dataset, codecs,
                         args.examples, args.device, (pair[0], pair[1]))  # fmt: skip
    size = sum(p.stat().st_size for p in Path(args.out).rglob("*") if p.is_file())
    print(f"wrote {_rel(index)} ({size / 2**20:.1f} MB in {_rel(Path(args.out))})")
    return 0


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
    names = _split(args.codecs)
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


def cmd_data(args: argparse.Namespace) -> int:
    if args.data_cmd == "download":
        from bench.data.download import download_librispeech_test_clean

        kwargs = {"url": args.url} if args.url else {}
        path = download_librispeech_test_clean(Path(args.dest), **kwargs)
        print(
            f"LibriSpeech test-clean is at {path}; "
            f"use --dataset librispeech-test-clean --data {path}"
        )
        return 0
    if args.data_cmd == "verify":
        from bench.data import get_dataset
        from bench.data.verify import verify_dataset

        ds = get_dataset(args.dataset, args.data)
        ok, report = verify_dataset(ds)
        print(report)
        return 0 if ok else 1
    raise CliError("usage: python -m bench data {download,verify} …")


# -------------------------------------------------------------------------------------- parser
def add_scoring_options(parser: argparse.ArgumentParser) -> None:
    """The dataset, metric and output options ``run`` and ``score`` share."""
    parser.add_argument(
        "--dataset",
        default="default",
        help="`default` (embedded real speech, offline), `librispeech-test-clean-122` (the pinned "
        "122-utterance subset; ../shared or --data), `librispeech-test-clean` (needs --data), "
        "or a path to any folder of audio files",
    )
    parser.add_argument(
        "--data", help="local LibriSpeech test-clean folder (or env LIBRISPEECH_TEST_CLEAN)"
    )
    parser.add_argument("--limit", type=_count(1), help="only the first N utterances (by id)")
    parser.add_argument(
        "--max-seconds", type=_positive_float, help="only utterances at most this long"
    )
    parser.add_argument("--metrics", help="comma-separated metric names, or `all` (default: fast)")
    parser.add_argument(
        "--workers",
        type=_count(0),
        default=_default_workers(),
        help="metric worker processes (default: all cores; 0 = in this process)",
    )
    parser.add_argument(
        "--out",
        default=str(LOCAL_RESULTS_DIR),
        help="results folder (default: results/local/, not tracked; `--out results` updates "
        "the committed results and leaderboard)",
    )
    parser.add_argument("--fresh", action="store_true", help="discard an interrupted run's journal")
    parser.add_argument(
        "--replace",
        action="store_true",
        help="overwrite an earlier result even where it holds metrics this run does not compute "
        "and cannot carry over (another codec config or utterance set); without it such a run "
        "stops before any work",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--no-leaderboard", action="store_true", help="do not regenerate LEADERBOARD.md in --out"
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Speech-codec benchmark: per-utterance metrics, bitrate, codebook use, "
        "throughput; leaderboard and regression gate. Exit codes: 0 ok, 1 the run failed, "
        "2 usage error. --debug (anywhere) or BENCH_DEBUG=1 shows the traceback behind an error.",
    )
    sub = p.add_subparsers(dest="cmd", required=True)

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

    mg = sub.add_parser("merge", help="merge the shards of `run --shard I/N` into one result")
    mg.add_argument("--codecs", required=True, help="comma-separated codec names")
    mg.add_argument("--shards", type=_count(1), required=True, help="N, the number of shards")
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

    ls = sub.add_parser("list", help="list codecs (with availability), metrics and datasets")
    ls.add_argument(
        "--why", metavar="NAME", help="one codec: its description and, if unavailable, why + fix"
    )
    ls.add_argument("--all", action="store_true", help="include random-init / test-only codecs")
    ls.set_defaults(func=cmd_list)

    lb = sub.add_parser("leaderboard", help="regenerate LEADERBOARD.md and plots from result files")
    lb.add_argument("--results", default=str(RESULTS_DIR), help="results folder")
    lb.set_defaults(func=cmd_leaderboard)

    c = sub.add_parser(
        "check", help="regression gate: rerun the baseline subset and compare within tolerances"
    )
    c.add_argument("--baselines", default=str(RESULTS_DIR / "check"), help="baseline folder")
    c.add_argument("--device", default="cpu")
    c.add_argument("--update", action="store_true", help="write new baselines instead of checking")
    c.add_argument(
        "--workers", type=_count(0), default=2, help="metric processes (0 = inline; default 2)"
    )
    c.add_argument("--codecs", help="with --update: which codecs (default: the existing baselines)")
    c.set_defaults(func=cmd_check)

    sc = sub.add_parser(
        "score",
        help="score audio decoded elsewhere (a folder of files named by utterance id) against "
        "a dataset's references, like `run` does for a registered codec",
    )
    sc.add_argument("--decoded", required=True, help="folder of decoded audio: <id>.<any ext>")
    sc.add_argument("--name", required=True, help="the codec's name in results and tables")
    rate = sc.add_mutually_exclusive_group()
    rate.add_argument("--bps", type=_positive_float, help="declared payload bitrate (bits/s)")
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

    st = sub.add_parser(
        "selftest",
        help="conformance checks of codecs (a plugin's too): rates, codes, length, determinism, "
        "delay, batching, silence, short input",
    )
    st.add_argument("codecs", help="codec name(s), comma-separated")
    st.add_argument("--device", default="cpu")
    st.set_defaults(func=cmd_selftest)

    w = sub.add_parser(
        "weights",
        help="list pretrained weight files (place, URL, checksum), fetch one or install one",
    )
    w.add_argument("--strict", action="store_true", help="exit 1 if any file is absent or bad")
    wsub = w.add_subparsers(dest="weights_cmd")
    wi = wsub.add_parser("install", help="verify a downloaded weight file and copy it into place")
    wi.add_argument("file", help="the downloaded file")
    wi.add_argument(
        "--as", dest="as_label", help="which weight file it is (default: by checksum or name)"
    )
    wf = wsub.add_parser(
        "fetch",
        help="download weight files from their recorded URL (needs internet), verify the "
        "published checksum and place them where the codec looks; resumes an interrupted "
        "download",
    )
    wf.add_argument(
        "name",
        help="a weight file (`python -m bench weights` lists them: dac_16khz, encodec_24khz, "
        "lyra …) or a codec or family name (dac, encodec_24khz@3kbps): the files it loads",
    )
    wf.add_argument(
        "--mirror",
        metavar="BASE_URL",
        help="fetch the same file names from this base URL instead of the recorded one (a local "
        "mirror); the published checksum is still checked",
    )
    wf.add_argument("--no-progress", action="store_true", help="no progress bar")
    w.set_defaults(func=cmd_weights)

    rp = sub.add_parser("report", help="static HTML report: sortable tables, plots, listening")
    rp.add_argument("--results", default=str(RESULTS_DIR), help="results folder")
    rp.add_argument("--dataset", help="only this dataset slug (default: all)")
    rp.add_argument("--codecs", help="only these codecs (comma-separated)")
    rp.add_argument("--examples", type=_count(0), default=3, help="listening rows per dataset")
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

    t = sub.add_parser("throughput", help="encode/decode speed (× real time) and peak memory")
    t.add_argument("--codecs", required=True, help="comma-separated codec names")
    t.add_argument("--device", default="cpu")
    t.add_argument(
        "--batch-size", type=_count(1), nargs="+", default=[1], help="one or more batch sizes"
    )
    t.add_argument("--seconds", type=_positive_float, default=10.0, help="audio length per item")
    t.add_argument("--repeats", type=_count(1), default=3, help="timed repeats after one warm-up")
    t.add_argument(
        "--threads",
        type=_count(1),
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

    for name, parser in sub.choices.items():
        if name in PLUGIN_COMMANDS:
            add_plugin_option(parser)

    d = sub.add_parser("data", help="download / verify evaluation data")
    dsub = d.add_subparsers(dest="data_cmd", required=True)
    dl = dsub.add_parser(
        "download", help="fetch and verify LibriSpeech test-clean (needs internet)"
    )
    dl.add_argument("--dest", required=True, help="folder to extract into")
    dl.add_argument("--url", help="archive URL or local path (default: the official openslr URL)")
    dv = dsub.add_parser("verify", help="check a dataset's files against its pinned manifest")
    dv.add_argument("--dataset", default="librispeech-test-clean")
    dv.add_argument("--data", help="local folder")
    d.set_defaults(func=cmd_data)
    return p


def debug_enabled(argv: list[str] | None) -> bool:
    """``--debug`` anywhere on the command line, or ``BENCH_DEBUG=1``."""
    words = sys.argv[1:] if argv is None else argv
    return "--debug" in words or os.environ.get("BENCH_DEBUG", "") not in ("", "0")


#: Subcommands that resolve codec or metric names, and so take ``--plugin``.
PLUGIN_COMMANDS = ("run", "merge", "list", "check", "report", "throughput", "score", "selftest")


def add_plugin_option(parser: argparse.ArgumentParser) -> None:
    """``--plugin FILE.py|dotted.module`` (repeatable), the door for codecs and metrics from
    outside the package (see README "Bring your own codec")."""
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="FILE.py|MODULE",
        help="load codecs/metrics from a Python file or an importable module (repeatable; also "
        "$BENCH_PLUGINS, and installed `bench.codecs` / `bench.metrics` entry points)",
    )


def load_cli_plugins(specs: list[str]) -> None:
    """Load ``--plugin`` values; a refused plugin is one stderr line, the rest runs on. A value
    naming no file or module (a typo) is a usage error: :class:`CliError`, before any loading."""
    import bench.metrics  # noqa: F401  (registered before plugins, so a refusal rolls back alone)
    from audiocodecs.plugins import not_found
    from audiocodecs.registry import load_plugins

    missing = [why for why in map(not_found, specs) if why]
    if missing:
        raise CliError("; ".join(missing))
    load_plugins(specs)


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 ok, 1 the run failed (a codec could not run, a regression), 2 usage error."""
    debug = debug_enabled(argv)
    if argv is None:
        argv = sys.argv[1:]
    argv = [a for a in argv if a != "--debug"]
    args = build_parser().parse_args(argv)
    if getattr(args, "plugin", None):
        try:
            load_cli_plugins(args.plugin)
        except CliError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    from audiocodecs import CodecUnavailable
    from bench.data import DatasetError
    from bench.runner import RunError

    return dispatch(
        args, debug, usage=(CliError, DatasetError, KeyError, ValueError),
        failures=(RunError, CodecUnavailable, OSError),
    )  # fmt: skip


def dispatch(
    args: argparse.Namespace,
    debug: bool,
    usage: tuple[type[BaseException], ...],
    failures: tuple[type[BaseException], ...],
) -> int:
    """Run ``args.func`` with the CLIs' one error policy (shared by ``bench`` and ``taae``).

    ``usage`` errors print one line and exit 2; ``failures`` (the run could not do its job) print
    one line and exit 1; anything else is a bug: one line saying how to see the traceback, exit 1.
    ``debug`` re-raises every error with its traceback instead.
    """
    try:
        return int(args.func(args))
    except usage as exc:
        if debug:
            raise
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except failures as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line by default, the traceback on request
        if debug:
            raise
        print(
            f"internal error: {type(exc).__name__}: {exc} (rerun with --debug or BENCH_DEBUG=1 "
            "for the traceback)",
            file=sys.stderr,
        )
        return 1
