"""The comparison layer: every table, plot and paired test compares codecs on the same utterances.

Within one dataset, a metric is summarised for each codec over the utterances that **every**
compared codec scored for that metric (their intersection), so a codec that fails on hard
utterances is never averaged over easy ones only. ``n`` is therefore per metric, and the
utterances a codec failed or scored partially are counted with their reasons.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.stats import summarize, summarize_weighted


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


@dataclass
class Comparison:
    """Codecs of one dataset summarised on common utterances.

    Attributes:
        metrics: metric names in table order.
        common: per metric, the sorted ids every codec scored.
        summary: ``summary[codec][metric]`` as :func:`bench.stats.summarize` over ``common``.
        failures: per codec, its failed / partial utterances counted by reason.
    """

    metrics: list[str]
    common: dict[str, list[str]] = field(default_factory=dict)
    summary: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    failures: dict[str, Counter[str]] = field(default_factory=dict)

    def values(self, result: dict[str, Any], metric: str) -> np.ndarray:
        """One codec's values of ``metric`` on the common utterances, in id order."""
        s = scored(result, metric)
        return np.array([s[i] for i in self.common[metric]], dtype=np.float64)


def compare(results: list[dict[str, Any]]) -> Comparison:
    """Summaries of ``results`` (one dataset) on the utterances every codec scored, per metric."""
    metrics: list[str] = []
    for r in results:
        for m in r["metrics"]:
            if m not in metrics:
                metrics.append(m)
    comp = Comparison(metrics=metrics)
    for m in metrics:
        sets = [set(scored(r, m)) for r in results if m in r["metrics"]]
        comp.common[m] = sorted(set.intersection(*sets)) if sets else []
    for r in results:
        name = r["codec"]["name"]
        comp.failures[name] = failure_reasons(r)
        comp.summary[name] = {
            m: summarize_metric(r, m, comp.common[m]) for m in metrics if m in r["metrics"]
        }
    return comp
