"""The comparison layer: every table, plot and paired test compares codecs on the same utterances.

Within one dataset, a metric is summarised for each codec over the utterances that **every**
compared codec scored for that metric (their intersection), so a codec that fails on hard
utterances is never averaged over easy ones only. ``n`` is therefore per metric, and the
utterances a codec failed or scored partially are counted with their reasons.

**Who is compared (the one rule, :func:`compare`).** Per metric, a codec whose scored set is
smaller than :data:`MIN_COVERAGE` (50 %) of the largest scored set among the table's codecs is
*left out* of that metric's comparison: the intersection is taken over the others, and the
left-out codec is shown on its own row with its own ``n`` and its own means (not comparable with
the compared rows). Without the rule one codec that scored nothing empties the intersection, and
every other codec's numbers with it; one that scored a few easy utterances shrinks every codec's
mean to those few. A codec that scored no utterance for any metric is listed with its reasons.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.stats import summarize, summarize_weighted

#: A codec scored on fewer than this fraction of the utterances the best-covered codec of the
#: table scored for a metric is left out of that metric's comparison (module docstring).
MIN_COVERAGE = 0.5


def scored(result: dict[str, Any], metric: str) -> dict[str, float]:
    """``{utterance id: value}`` of ``metric`` in one result file (failures excluded)."""
    out = {}
    for r in result.get("utterances", []):
        v = (r.get("metrics") or {}).get(metric)
        if v is not None and r.get("status") in ("ok", "partial"):
            out[r["id"]] = float(v)
    return out


def weights(result: dict[str, Any], metric: str) -> dict[str, float]:
    """``{utterance id: weight}`` of a weighted metric (WER: reference word count)."""
    return {
        r["id"]: float(r["weights"][metric])
        for r in result.get("utterances", [])
        if metric in (r.get("weights") or {})
    }


def summarize_metric(result: dict[str, Any], metric: str, ids: list[str]) -> dict[str, Any]:
    """One codec's summary of ``metric`` over ``ids`` (weighted mean for weighted metrics)."""
    s = scored(result, metric)
    vals = [s[i] for i in ids]
    if (result.get("metrics", {}).get(metric) or {}).get("weighted"):
        w = weights(result, metric)
        return summarize_weighted(vals, [w[i] for i in ids])
    return summarize(vals)


def failure_reasons(result: dict[str, Any]) -> Counter[str]:
    """Failed or partial utterances of one result, counted by stage and reason."""
    reasons: Counter[str] = Counter()
    for r in result.get("utterances", []):
        if r.get("status") != "ok":
            reasons[f"{r.get('status')} at {r.get('stage')}: {str(r.get('error', ''))[:90]}"] += 1
    if not result.get("utterances") and result.get("failures"):
        reasons.update(result["failures"])  # older files without per-utterance records
    return reasons


def zero_ok_reason(result: dict[str, Any]) -> str | None:
    """One line saying why a result has no ``ok`` utterance (``None`` when it has one): the
    run or scoring of that codec failed (``bench run`` / ``bench score`` exit 1 on it)."""
    counts = result.get("counts") or {}
    if counts.get("ok", 0) > 0:
        return None
    reasons = failure_reasons(result)
    top = "; ".join(f"{n} × {why}" for why, n in reasons.most_common(2)) or "no utterance recorded"
    return (
        f"{result['codec']['name']}: no utterance scored ok ({counts.get('failed', 0)} failed, "
        f"{counts.get('partial', 0)} partial of {counts.get('recorded', 0)}): {top}"
    )[:400]


@dataclass(frozen=True)
class LeftOut:
    """A codec left out of one metric's comparison (fewer than :data:`MIN_COVERAGE` of ``of``).

    Attributes:
        n: utterances it scored for the metric.
        of: utterances the best-covered codec of the table scored for it.
        summary: its own summary over its own ``n`` utterances (not comparable with the others).
    """

    n: int
    of: int
    summary: dict[str, Any]


@dataclass
class Comparison:
    """Codecs of one dataset summarised on common utterances.

    Attributes:
        metrics: metric names in table order.
        common: per metric, the sorted ids every *compared* codec scored.
        summary: ``summary[codec][metric]`` as :func:`bench.stats.summarize` over ``common``, for
            the metrics the codec is compared on (a left-out metric has no entry).
        failures: per codec, its failed / partial utterances counted by reason.
        left_out: ``left_out[codec][metric]``: codecs left out of a metric's comparison.
        scored_nothing: codecs that scored no utterance for any metric (none of the comparison).
    """

    metrics: list[str]
    common: dict[str, list[str]] = field(default_factory=dict)
    summary: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    failures: dict[str, Counter[str]] = field(default_factory=dict)
    left_out: dict[str, dict[str, LeftOut]] = field(default_factory=dict)
    scored_nothing: list[str] = field(default_factory=list)

    def compared(self, codec: str) -> bool:
        """Whether ``codec`` is compared on at least one metric (a row of the main table)."""
        return bool(self.summary.get(codec))

    def values(self, result: dict[str, Any], metric: str) -> np.ndarray:
        """One compared codec's values of ``metric`` on the common utterances, in id order."""
        s = scored(result, metric)
        return np.array([s[i] for i in self.common[metric]], dtype=np.float64)


def compare(results: list[dict[str, Any]], min_coverage: float = MIN_COVERAGE) -> Comparison:
    """Summaries of ``results`` (one dataset) on the utterances every compared codec scored, per
    metric; codecs below ``min_coverage`` of the best-covered one are left out (module docstring).
    """
    metrics: list[str] = []
    for r in results:
        for m in r["metrics"]:
            if m not in metrics:
                metrics.append(m)
    comp = Comparison(metrics=metrics)
    for r in results:
        comp.failures[r["codec"]["name"]] = failure_reasons(r)
        comp.summary[r["codec"]["name"]] = {}
    for m in metrics:
        sets = {r["codec"]["name"]: set(scored(r, m)) for r in results if m in r["metrics"]}
        most = max((len(s) for s in sets.values()), default=0)
        kept = [s for s in sets.values() if s and len(s) >= min_coverage * most]
        comp.common[m] = sorted(set.intersection(*kept)) if kept else []
        for r in results:
            name = r["codec"]["name"]
            if name not in sets:
                continue
            if sets[name] and len(sets[name]) >= min_coverage * most:
                comp.summary[name][m] = summarize_metric(r, m, comp.common[m])
            else:
                own = sorted(sets[name])
                comp.left_out.setdefault(name, {})[m] = LeftOut(
                    n=len(own), of=most, summary=summarize_metric(r, m, own)
                )
    comp.scored_nothing = [
        r["codec"]["name"] for r in results if not any(scored(r, m) for m in r["metrics"])
    ]
    return comp
