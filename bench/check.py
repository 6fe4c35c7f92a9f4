"""Regression gate: rerun each codec that has a committed baseline and compare within tolerances.

Baselines are ordinary result files in ``results/check/<codec>.json``, made by
``python -m bench check --update`` on a small fixed subset of the embedded default set
(:data:`CHECK_LIMIT` utterances). ``check`` reruns exactly the utterance ids a baseline lists and
fails when a metric mean moves beyond its tolerance (declared per metric in the registry) in the bad
direction, when more utterances fail, or when the nominal bitrate changes.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from audiocodecs import Codec, CodecUnavailable, get_codec
from bench.data import Dataset, get_dataset
from bench.metrics import get_metric, metric_names
from bench.results import load_result, safe_name
from bench.runner import RunOptions, make_pool, run_built_codec

#: Utterances of the embedded set that baselines cover (the first N by id).
CHECK_LIMIT = 3
#: Baseline codecs made by ``check --update`` when none exist yet.
DEFAULT_CHECK_CODECS = ("passthrough", "passthrough@24khz", "opus@6kbps", "opus@12kbps")


def _baseline_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"))


def _rerun(
    baseline: dict[str, Any],
    factory: Callable[[str], Codec],
    device: str,
    workers: int,
    work: Path,
    pool: Any = None,
) -> dict[str, Any]:
    ids = [u["id"] for u in baseline["utterances"]]
    d = baseline["dataset"]
    if d["name"].startswith("folder:"):
        full = get_dataset(d["source"])
    elif d["name"] == "librispeech-test-clean":
        full = get_dataset(d["name"], data=d["source"])
    else:
        full = get_dataset(d["name"])
    ds = full.subset(ids)
    codec = factory(baseline["codec"]["name"])
    codec.to(device)
    opts = RunOptions(
        metrics=list(baseline["metrics"]),
        device=device,
        workers=workers,
        out=work,
        fresh=True,
        progress=False,
    )
    return load_result(run_built_codec(codec, ds, opts, pool))


def compare(baseline: dict[str, Any], current: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows (one per metric, plus failures and bitrate) with the verdict of each."""
    rows = []
    for m, s in baseline["summary"].items():
        metric = get_metric(m)
        tol = metric.check_tolerance
        b, c = s.get("mean"), current["summary"].get(m, {}).get("mean")
        if b is None or c is None:
            ok = b is None and c is None
            rows.append(dict(metric=m, baseline=b, now=c, delta=None, tol=tol, ok=ok))
            continue
        delta = c - b
        worse = -delta if metric.higher_is_better else delta
        rows.append(dict(metric=m, baseline=b, now=c, delta=delta, tol=tol, ok=worse <= tol))
    bf, cf_ = baseline["counts"]["failed"], current["counts"]["failed"]
    rows.append(dict(metric="failed utterances", baseline=bf, now=cf_, delta=cf_ - bf, tol=0,
                     ok=cf_ <= bf))  # fmt: skip
    bb, cb = baseline["bitrate"]["nominal_bps"], current["bitrate"]["nominal_bps"]
    rows.append(dict(metric="nominal bps", baseline=bb, now=cb, delta=cb - bb, tol=0.01 * bb,
                     ok=abs(cb - bb) <= 0.01 * bb))  # fmt: skip
    return rows


def run_check(
    folder: Path,
    device: str = "cpu",
    workers: int = 2,
    factory: Callable[[str], Codec] = get_codec,
) -> tuple[bool, str]:
    """Check every baseline in ``folder``; returns (all passed, markdown report)."""
    from tabulate import tabulate

    files = _baseline_files(folder)
    if not files:
        return False, f"no baselines in {folder}; create them with `python -m bench check --update`"
    table = []
    all_ok = True
    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    pool = make_pool(workers)  # one metric pool for all baselines (workers start in seconds)
    try:
        for f in files:
            base = load_result(f)
            name = base["codec"]["name"]
            try:
                cur = _rerun(base, factory, device, workers, work, pool)
            except (CodecUnavailable, KeyError) as exc:
                all_ok = False
                table.append([name, "—", "—", "—", "—", "—", f"FAIL (cannot run: {exc})"])
                continue
            for row in compare(base, cur):
                all_ok &= row["ok"]
                table.append(
                    [
                        name,
                        row["metric"],
                        _num(row["baseline"]),
                        _num(row["now"]),
                        _num(row["delta"]),
                        _num(row["tol"]),
                        "ok" if row["ok"] else "FAIL",
                    ]
                )
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(work, ignore_errors=True)
    report = tabulate(
        table,
        headers=["codec", "metric", "baseline", "now", "Δ", "tolerance", "status"],
        tablefmt="github",
        disable_numparse=True,
    )
    verdict = "PASS: no regression" if all_ok else "FAIL: regression beyond tolerance (see rows)"
    return all_ok, f"{report}\n\n{verdict} ({len(files)} baseline(s) in {folder})"


def _num(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def update_baselines(
    folder: Path,
    codecs: list[str],
    device: str = "cpu",
    workers: int = 2,
    dataset: Dataset | None = None,
    metrics: list[str] | None = None,
    factory: Callable[[str], Codec] = get_codec,
) -> list[Path]:
    """(Re)write baselines for ``codecs`` (default: those already present, else the defaults).

    ``dataset`` defaults to the first :data:`CHECK_LIMIT` utterances of the embedded set, and
    ``metrics`` to every registered metric.
    """
    if not codecs:
        codecs = [load_result(f)["codec"]["name"] for f in _baseline_files(folder)]
    if not codecs:
        codecs = list(DEFAULT_CHECK_CODECS)
    ds = dataset if dataset is not None else get_dataset("default", limit=CHECK_LIMIT)
    written = []
    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    pool = make_pool(workers)
    try:
        for name in codecs:
            codec = factory(name)
            codec.to(device)
            opts = RunOptions(
                metrics=metrics or metric_names(),
                device=device,
                workers=workers,
                out=work,
                fresh=True,
                progress=False,
            )
            src = run_built_codec(codec, ds, opts, pool)
            dst = folder / f"{safe_name(name)}.json"
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            written.append(dst)
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(work, ignore_errors=True)
    return written


__all__ = ["compare", "run_check", "update_baselines"]
