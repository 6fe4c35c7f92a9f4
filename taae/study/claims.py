"""The paper's claims and their verdicts: paired tests per comparison (``bench.stats``)."""

from __future__ import annotations

from typing import Any

from bench.stats import holm, seeds_paired_test
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
