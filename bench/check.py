"""Regression gate: rerun each codec that has a committed baseline and compare within tolerances.

Baselines are ordinary result files in ``results/check/<codec>.json``, made by
``python -m bench check --update`` on a small fixed subset of the embedded default set
(:data:`CHECK_LIMIT` utterances). ``check`` reruns exactly the utterance ids a baseline lists and
gates, **two-sided** (an implausible improvement is as suspicious as a loss):

- every metric mean, within ``RTOL × max(|baseline|, 1)``;
- every metric's n, and the ok / partial / failed counts, exactly;
- payload bps, entropy bps (whole-frame) and nominal bps, within ``RTOL`` relative.

:data:`RTOL` = 1e-4 comes from measured run-to-run spread: on this machine kind (2-core x86_64,
CPU), two ``check --update`` runs of the 9 baseline codecs on their 3 utterances (2026-12-03)
agreed exactly (Δ = 0) on every metric mean, count and bitrate — metrics run single-threaded in a
fixed order — so 1e-4 is a margin for BLAS / library differences between machines of the kind,
far below any real change (a 10 ms delay, noise at −60 dBFS or 2 kbps more all move a number by
more than 1e-3; tests/test_check.py).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from audiocodecs import Codec, CodecUnavailable, get_codec
from bench.data import Dataset, get_dataset
from bench.metrics import default_metrics
from bench.results import load_result, safe_name
from bench.runner import RunOptions, make_pool, run_built_codec

#: Utterances of the embedded set that baselines cover (the first N by id).
CHECK_LIMIT = 3
#: Baseline codecs made by ``check --update`` when none exist yet.
DEFAULT_CHECK_CODECS = ("passthrough", "passthrough@24khz", "opus@6kbps", "opus@12kbps")
#: Relative tolerance of every gated number (see the module docstring for how it was chosen).
RTOL = 1e-4


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


def _row(name: str, base: Any, now: Any, tol: float) -> dict[str, Any]:
    if base is None or now is None:
        return dict(metric=name, baseline=base, now=now, delta=None, tol=tol,
                    ok=base is None and now is None)  # fmt: skip
    delta = now - base
    return dict(metric=name, baseline=base, now=now, delta=delta, tol=tol, ok=abs(delta) <= tol)


def _rel(x: float | None) -> float:
    return RTOL * max(abs(x), 1.0) if x is not None else 0.0


def compare(baseline: dict[str, Any], current: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows (metric means and n, counts, bitrates) with a two-sided verdict for each."""
    rows = []
    for m, s in baseline["summary"].items():
        cur = current["summary"].get(m, {})
        rows.append(_row(m, s.get("mean"), cur.get("mean"), _rel(s.get("mean"))))
        rows.append(_row(f"{m} n", s.get("n"), cur.get("n"), 0))
    for key in ("ok", "partial", "failed"):
        rows.append(_row(f"{key} utterances", baseline["counts"][key], current["counts"][key], 0))
    bb, cb = baseline["bitrate"], current["bitrate"]
    rows.append(_row("nominal bps", bb["nominal_bps"], cb["nominal_bps"], _rel(bb["nominal_bps"])))
    if bb.get("payload_bps") is not None or cb.get("payload_bps") is not None:
        pb = bb.get("payload_bps")
        rows.append(_row("payload bps", pb, cb.get("payload_bps"), RTOL * abs(pb or 0)))
    be = (baseline.get("codebook") or {}).get("frame_entropy_bps")
    ce = (current.get("codebook") or {}).get("frame_entropy_bps")
    if be is not None or ce is not None:
        rows.append(_row("entropy bps", be, ce, RTOL * abs(be or 0)))
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
            try:
                base = load_result(f)
                name = base["codec"]["name"]
            except (ValueError, OSError) as exc:
                all_ok = False
                why = f"FAIL (malformed baseline {f}: {type(exc).__name__}: {exc})"
                table.append([f.name, "—", "—", "—", "—", "—", why])
                continue
            try:
                cur = _rerun(base, factory, device, workers, work, pool)
            except (CodecUnavailable, KeyError, ValueError) as exc:
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
    ``metrics`` to the default (fast) metric set.
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
                metrics=metrics or default_metrics(),
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
