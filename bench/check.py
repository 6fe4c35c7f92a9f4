"""Regression gate: rerun each codec that has a committed baseline and compare within tolerances.

Baselines are ordinary result files in ``results/check/<codec>.json``, made by
``python -m bench check --update`` on a small fixed subset of the embedded default set
(:data:`CHECK_LIMIT` utterances). ``check`` reruns exactly the utterance ids a baseline lists and
gates, **two-sided** (an implausible improvement is as suspicious as a loss):

- every metric mean within its tolerance in :data:`TOLERANCES` (absolute, in the metric's unit);
  SI-SDR of a baseline at or above 60 dB (an identity path: floating-point noise of the
  resampler) is gated as a floor, "still ≥ 60 dB", not as an equality of noise, and ViSQOL at or
  above 4.0 likewise (below);
- every metric's n, and the ok / partial / failed counts, exactly;
- nominal and payload bps within 1e-4 relative, entropy bps within 1e-3 relative.

**How the tolerances were chosen (measured, not guessed).** The baselines were written on one
machine; they must hold on any other. ``benchmarks/check_spread.py`` reran all 14 baselines on a
2-core x86_64 (AVX2) machine under five emulated CPUs — torch's generic kernels
(``ATEN_CPU_CAPABILITY=default``), numpy's dispatch without AVX-512/AVX2/FMA3
(``NPY_DISABLE_CPU_FEATURES``), MKL/oneDNN capped at SSE4.2, one thread instead of two, and all
of these at once — and recorded the largest deviation of every gated number from the committed
baseline (``results/perf/check_spread.json``, 2026-12-07, when MOSNet and ViSQOL joined every
baseline; the first measurement, 2026-12-05, without them, found at most the figures in
brackets). A second machine of the same kind, reported in issue #21, adds the real cross-machine
drift of ``make bench``. Rule: tolerance = max(10 × emulated spread, 3 × second-machine spread,
1e-3 in the metric's unit), rounded up; the 1e-3 floor sits far below any real change (a 10 ms
delay, noise at −60 dBFS, a PESQ shift of 0.02 or 2 kbps more all fail: ``tests/test_check.py``,
``tests/test_portability``).

==============  ===============================  =====================  ==================
number          emulated spread (max)            second machine         tolerance
==============  ===============================  =====================  ==================
SI-SDR          9.1e-6 dB [1.1e-5]               —                      ±1e-3 dB
SI-SDR ≥ 60 dB  0.12 dB at 112 dB [0.19]         0.069 dB at 112 dB     floor: ≥ 60 dB
Mel distance    5.9e-7 [2.1e-5]                  —                      ±1e-3
STFT distance   1.7e-6 [5.0e-5]                  —                      ±1e-3
PESQ-WB         1.9e-6 [5.3e-5]                  —                      ±1e-3
STOI            4.2e-8 [9.7e-8]                  —                      ±1e-3
DNSMOS OVRL     3.3e-6 [9.2e-6]                  2.7e-3 (codec2@700)    ±0.01
MOSNet          2.4e-7                           —                      ±1e-3
ViSQOL          2.1e-6                           —                      ±1e-3
ViSQOL ≥ 4.0    0.031 at 4.39                    —                      floor: ≥ 4.0
n, counts       0                                0                      exact
bitrates        0                                0                      1e-4 rel. (entropy 1e-3)
==============  ===============================  =====================  ==================

ViSQOL is ill-conditioned at the top of its scale: on an identity path (``passthrough@24khz``,
SI-SDR 126 dB) one thread instead of two changes the resampled signal by ~1e-6 and one
utterance's score by 0.11 (4.34 → 4.45: its patch alignment flips between near-equal candidates),
while every real codec's ViSQOL moved ≤ 2.1e-6. So, like SI-SDR, ViSQOL of a baseline at or above
4.0 (an identity path; the best real codec among the baselines, Opus 12 kbps, scores 3.31) is
gated as a floor, "still ≥ 4.0". MOSNet moved ≤ 2.4e-7 everywhere.

A metric without a measured spread (one from a plugin) gets ``±(1e-3 + 1e-3·|baseline|)``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiocodecs import Codec, CodecUnavailable, get_codec
from bench.data import Dataset, get_dataset
from bench.metrics import MetricUnavailable, default_metrics, require_available
from bench.results import load_result, safe_name
from bench.runner import RunOptions, make_pool, run_built_codec

#: Utterances of the embedded set that baselines cover (the first N by id).
CHECK_LIMIT = 3
#: Metrics outside the default set that baselines gate as well: the two MOS-type metrics the
#: plan names (MOSNet) or the field reports (ViSQOL). Both need the ``[metrics]`` extra, and
#: MOSNet its weights (``../shared/models/mosnet/``).
GATED_EXTRA_METRICS = ("mosnet", "visqol")
#: Baseline codecs made by ``check --update`` when none exist yet.
DEFAULT_CHECK_CODECS = ("passthrough", "passthrough@24khz", "opus@6kbps", "opus@12kbps")


@dataclass(frozen=True)
class Tolerance:
    """How far one gated number may move, two-sided: ``|now − baseline| ≤ atol + rtol·|baseline|``.

    ``at_least`` gates a saturating number (SI-SDR of an identity path, ~110 dB of floating-point
    noise) as a floor instead: a baseline at or above it passes while ``now`` stays at or above it.
    """

    atol: float = 0.0  # absolute, in the number's own unit
    rtol: float = 0.0  # relative to |baseline|
    at_least: float | None = None  # saturation floor (same unit), None: always two-sided

    def saturated(self, baseline: float) -> bool:
        return self.at_least is not None and baseline >= self.at_least

    def bound(self, baseline: float) -> float:
        return self.atol + self.rtol * abs(baseline)

    def accepts(self, baseline: float, now: float) -> bool:
        if self.saturated(baseline):
            return now >= self.at_least  # type: ignore[operator]
        return abs(now - baseline) <= self.bound(baseline)

    def describe(self, baseline: float | None) -> str:
        if baseline is None:
            return "—"
        if self.saturated(baseline):
            return f"≥ {self.at_least:g}"
        return f"±{self.bound(baseline):.3g}"


EXACT = Tolerance()
#: Per metric, from the measured cross-machine spread (module docstring's table and rule).
TOLERANCES: dict[str, Tolerance] = {
    "sisdr": Tolerance(atol=1e-3, at_least=60.0),
    "mel": Tolerance(atol=1e-3),
    "stft": Tolerance(atol=1e-3),
    "pesq_wb": Tolerance(atol=1e-3),
    "stoi": Tolerance(atol=1e-3),
    "dnsmos_ovrl": Tolerance(atol=0.01),
    "mosnet": Tolerance(atol=1e-3),
    "visqol": Tolerance(atol=1e-3, at_least=4.0),
}
#: Bitrates from bytes and declared codebooks: identical in every environment measured.
BPS_TOLERANCE = Tolerance(rtol=1e-4)
#: Code entropy: one code flipped by a rounding boundary moves it by ~0.5 % of a frame's bits.
ENTROPY_TOLERANCE = Tolerance(rtol=1e-3)
#: A metric with no measured spread (a plugin's).
DEFAULT_TOLERANCE = Tolerance(atol=1e-3, rtol=1e-3)


def baseline_metrics() -> list[str]:
    """What a new baseline gates: the default metric set plus :data:`GATED_EXTRA_METRICS`."""
    return [*default_metrics(), *(m for m in GATED_EXTRA_METRICS if m not in default_metrics())]


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
        metrics=require_available(list(baseline["metrics"])),
        device=device,
        workers=workers,
        out=work,
        fresh=True,
        progress=False,
    )
    return load_result(run_built_codec(codec, ds, opts, pool))


def gated_numbers(result: dict[str, Any]) -> dict[str, float | None]:
    """Every number the gate compares, by name: metric means and n, utterance counts, bitrates."""
    out: dict[str, float | None] = {}
    for m, s in result["summary"].items():
        out[m] = s.get("mean")
        out[f"{m} n"] = s.get("n")
    for key in ("ok", "partial", "failed"):
        out[f"{key} utterances"] = result["counts"][key]
    bitrate = result["bitrate"]
    out["nominal bps"] = bitrate["nominal_bps"]
    if bitrate.get("payload_bps") is not None:
        out["payload bps"] = bitrate["payload_bps"]
    entropy = (result.get("codebook") or {}).get("frame_entropy_bps")
    if entropy is not None:
        out["entropy bps"] = entropy
    return out


def tolerance(number: str) -> Tolerance:
    """The tolerance of one gated number (see :data:`TOLERANCES`)."""
    if number.endswith(" n") or number.endswith(" utterances"):
        return EXACT
    if number in TOLERANCES:
        return TOLERANCES[number]
    if number == "entropy bps":
        return ENTROPY_TOLERANCE
    if number.endswith(" bps"):
        return BPS_TOLERANCE
    return DEFAULT_TOLERANCE  # a metric without a measured spread (e.g. one from a plugin)


def _row(name: str, base: Any, now: Any) -> dict[str, Any]:
    tol = tolerance(name)
    row = dict(metric=name, baseline=base, now=now, delta=None, tol=tol.describe(base))
    if base is None or now is None:
        return {**row, "ok": base is None and now is None}
    return {**row, "delta": now - base, "ok": tol.accepts(base, now)}


def compare(baseline: dict[str, Any], current: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows (metric means and n, counts, bitrates) with a two-sided verdict for each."""
    base, cur = gated_numbers(baseline), gated_numbers(current)
    return [_row(k, base.get(k), cur.get(k)) for k in dict.fromkeys([*base, *cur])]


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
            except (CodecUnavailable, MetricUnavailable, KeyError, ValueError) as exc:
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
                        row["tol"],
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

    ``dataset`` defaults to the first :data:`CHECK_LIMIT` utterances of the embedded set.
    ``metrics`` defaults, per codec, to the metrics its present baseline gates (so an update never
    silently drops one), else to :func:`baseline_metrics`. Every metric must be available here
    (:class:`~bench.metrics.MetricUnavailable` before any work otherwise).
    """
    present = {}
    for f in _baseline_files(folder):
        base = load_result(f)
        present[base["codec"]["name"]] = list(base["metrics"])
    if not codecs:
        codecs = list(present)
    if not codecs:
        codecs = list(DEFAULT_CHECK_CODECS)
    chosen = {n: list(metrics or present.get(n) or baseline_metrics()) for n in codecs}
    for names in {tuple(m) for m in chosen.values()}:
        require_available(list(names))
    ds = dataset if dataset is not None else get_dataset("default", limit=CHECK_LIMIT)
    written = []
    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    pool = make_pool(workers)
    try:
        for name in codecs:
            codec = factory(name)
            codec.to(device)
            opts = RunOptions(
                metrics=chosen[name],
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


__all__ = ["baseline_metrics", "compare", "run_check", "update_baselines"]
