"""Planning figures of results/ablation_tinyspec/PREREGISTRATION.md: how often the registered rule
(:func:`bench.stats.registered_verdict`) ends in each verdict if seeds behave like seeds 0–5.

For every comparison and candidate primary metric it draws six seed-level differences from a normal
distribution with seeds 0–5's mean and sd and applies the rule. Planning only, not a result.

    .venv/bin/python benchmarks/prereg_power.py [--draws 2000]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from bench.stats import registered_verdict

ROOT = Path(__file__).resolve().parents[1] / "results" / "ablation_tinyspec"
CODECS = {
    "hybrid": "taae_fsq_348",
    "rvq": "taae_rvq_348",
    "ste": "taae_fsq_ste_348",
    "noise": "taae_fsq_noise_348",
    "none": "taae_fsq_none_348",
}
# candidate primaries: (comparison, metric, registered hypothesis, margin)
CANDIDATES = [
    ("rvq", "stoi", "equivalent", 0.010),
    ("ste", "stoi", "greater", 0.010),
    ("noise", "stoi", "equivalent", 0.010),
    ("none", "stoi", "less", 0.010),
    ("rvq", "mel", "equivalent", 0.029),
    ("ste", "mel", "less", 0.029),
    ("noise", "mel", "equivalent", 0.029),
    ("none", "mel", "greater", 0.029),
]


def seed_diffs(variant: str, metric: str, seeds: range) -> np.ndarray:
    """d_s = mean over utterances both scored ok of (variant − hybrid), pooled over both sets."""
    out = []
    for s in seeds:
        vals: dict[str, dict[str, float]] = {}
        for v in ("hybrid", variant):
            vals[v] = {}
            for ds in ("default", "librispeech-test-clean-122"):
                res = json.loads((ROOT / f"seed{s}" / ds / f"{CODECS[v]}.json").read_text())
                for u in res["utterances"]:
                    if u["status"] == "ok" and u["metrics"].get(metric) is not None:
                        vals[v][f"{ds}/{u['id']}"] = u["metrics"][metric]
        both = sorted(set(vals["hybrid"]) & set(vals[variant]))
        out.append(np.mean([vals[variant][k] - vals["hybrid"][k] for k in both]))
    return np.asarray(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=2000, help="simulated six-seed studies per row")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print("| comparison | metric | hypothesis | δ | seeds 0–5 mean | sd | verdicts |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for variant, metric, hyp, margin in CANDIDATES:
        d = seed_diffs(variant, metric, range(6))
        mu, sd = float(d.mean()), float(d.std(ddof=1))
        counts = Counter(
            registered_verdict(rng.normal(mu, sd, 6), hyp, margin)["verdict"]
            for _ in range(args.draws)
        )
        share = ", ".join(f"{k} {100 * n / args.draws:.0f} %" for k, n in counts.most_common())
        print(f"| {variant} | {metric} | {hyp} | {margin} | {mu:+.4f} | {sd:.4f} | {share} |")


if __name__ == "__main__":
    main()
