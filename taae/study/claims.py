"""The paper's claims and their verdicts: paired tests per comparison (``bench.stats``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.stats import holm, registered_verdict, seeds_paired_test
from taae.study.data import pooled

ALPHA = 0.05


GAP_THRESHOLD = 0.05  # |Mel gap| below which quantization is taken not to limit quality


def paired_vs(
    data: dict[str, Any], variant: str, ref: str, seeds: list[int], metric: str
) -> dict[str, Any] | None:
    """Seed × utterance paired test of variant − reference (:func:`bench.stats.seeds_paired_test`).

    Seeds are paired by index (seed s of the variant with seed s of the reference: same data
    order, same initialisation seed); utterances by id.
    """
    common: set[str] | None = None
    per_seed_a, per_seed_b = [], []
    for s in seeds:
        a, b = pooled(data, variant, s, metric), pooled(data, ref, s, metric)
        if not a or not b:
            continue
        per_seed_a.append(a)
        per_seed_b.append(b)
        keys = set(a) & set(b)
        common = keys if common is None else common & keys
    if not common or len(common) < 2:
        return None
    ids = sorted(common)
    diffs = [[da[i] - db[i] for i in ids] for da, db in zip(per_seed_a, per_seed_b, strict=True)]
    res = seeds_paired_test(diffs)
    res["seed_diffs"] = res.pop("seed_means")
    res.update({"n_utterances": len(ids), "n_seeds": len(per_seed_a)})
    return res


INFORMATIVE = ("mel", "stft", "stoi", "pesq_wb")  # metrics the one-line summaries count


def wins(tests: list[dict[str, Any]], variant: str) -> tuple[list[str], list[str]]:
    """(metrics where the variant is significantly better, … where hybrid is), informative only."""
    rows = [t for t in tests if t["variant"] == variant and t["metric"] in INFORMATIVE]
    better = [t["metric"] for t in rows if t["significant_holm"] and t["variant_better"]]
    worse = [t["metric"] for t in rows if t["significant_holm"] and not t["variant_better"]]
    return better, worse


#: The paper's two claims, each as (question, variant compared with FSQ hybrid); the paper says
#: the hybrid reference is at least as good in every comparison.
CLAIMS = (
    ("1. FSQ ≥ RVQ at the same bitrate", "rvq"),
    ("2. hybrid beats straight-through only", "ste"),
    ("2. hybrid beats noise only", "noise"),
    ("2. hybrid beats no emulation", "none"),
)


def claim_verdict(rows: list[dict[str, Any]], alpha: float = ALPHA) -> tuple[str, list[str]]:
    """Verdict over training seeds on one comparison's informative metrics (``rows``: its
    :func:`test_table` records). *supported* / *contradicted*: the seed-level exact test rejects
    after Holm over these metrics, in the paper's direction (hybrid better) or against it, with no
    such rejection the other way; otherwise *undecided*, qualified by the metrics on which every
    seed points the same way (``S`` of ``S`` seeds, the exact test's floor). Returns the verdict
    and the metrics it rests on."""
    rej = holm([r["seed_level"]["p_value"] for r in rows], alpha)
    pro = [r["metric"] for r, x in zip(rows, rej, strict=True) if x and not r["variant_better"]]
    con = [r["metric"] for r, x in zip(rows, rej, strict=True) if x and r["variant_better"]]
    if pro and not con:
        return "**supported** over seeds", pro
    if con and not pro:
        return "**contradicted** over seeds", con
    if pro and con:
        return "**mixed** over seeds", pro + con
    pro = [r["metric"] for r in rows if r["seeds_agree"] and not r["variant_better"]]
    con = [r["metric"] for r in rows if r["seeds_agree"] and r["variant_better"]]
    if pro and not con:
        return "**undecided**; every seed leans *for* the claim", pro
    if con and not pro:
        return "**undecided**; every seed leans *against* the claim", con
    return "**undecided**", []


def load_plan(results_root: Path) -> dict[str, Any] | None:
    """The study's registered analysis plan (``preregistration.json``), or ``None``."""
    path = results_root / "preregistration.json"
    return json.loads(path.read_text()) if path.exists() else None


def seed_diffs(
    data: dict[str, Any], variant: str, ref: str, seeds: list[int], metric: str
) -> dict[int, float]:
    """The registered unit: per seed, the mean over the utterances both models of that seed scored
    ``ok`` (pooled over the evaluation sets) of variant − reference. Seeds where either model has
    no scored utterance are absent from the result."""
    out = {}
    for s in seeds:
        a, b = pooled(data, variant, s, metric), pooled(data, ref, s, metric)
        both = sorted(set(a) & set(b))
        if both:
            out[s] = float(np.mean([a[k] - b[k] for k in both]))
    return out


def registered_claims(
    data: dict[str, Any], plan: dict[str, Any], seeds: list[int], metric: str | None = None
) -> list[dict[str, Any]]:
    """Each registered claim decided by :func:`bench.stats.registered_verdict` on ``seeds`` (the
    plan's confirmatory seeds, or all seeds for the pooled reading), in the registered metric or,
    for a secondary reading, ``metric``. A claim whose seeds are not all scored yet is
    ``pending`` with the seeds it still needs — a verdict on part of the registered seeds would be
    a different test from the one registered."""
    out = []
    for claim in plan["claims"]:
        m = metric or claim["metric"]
        d = seed_diffs(data, claim["variant"], plan["reference"], seeds, m)
        rec: dict[str, Any] = {**claim, "metric": m, "seeds": seeds, "seed_diffs": d}
        missing = [s for s in seeds if s not in d]
        if missing:
            rec.update(verdict="pending", missing_seeds=missing)
        else:
            rec.update(registered_verdict([d[s] for s in seeds], claim["hypothesis"],
                                          claim["margin"], plan["alpha"]))  # fmt: skip
        out.append(rec)
    return out


def deciding_p(rec: dict[str, Any]) -> float | None:
    """The p-value a registered verdict rests on: the TOST for an equivalence verdict or
    hypothesis, else the difference test."""
    if rec.get("verdict") in (None, "pending"):
        return None
    if rec["verdict"] == "equivalent" or (
        rec["hypothesis"] == "equivalent" and rec["verdict"] == "undecided"
    ):
        return rec["tost"]["p_value"]
    if rec["hypothesis"] == "equivalent":  # contradicted: a difference beyond the margin
        return rec["p_beyond_margin"]
    return rec["difference"]["p_value"]
