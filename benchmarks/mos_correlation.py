"""How the quality predictors agree with each other on one board: rank correlations between
MOSNet, DNSMOS OVRL, DistillMOS, ViSQOL and PESQ-WB (plus STOI), from committed result files.

    .venv/bin/python benchmarks/mos_correlation.py [--dataset librispeech-test-clean-122]
        [--out results/perf/mos_correlation.json]

Two readings: over codecs (Spearman ρ of the per-codec means, on the codecs that scored every
metric) — what a leaderboard ranking inherits — and over (codec, utterance) pairs (Spearman ρ of
the per-utterance values, every pair that scored both metrics). Passthrough rows are kept: a
predictor that ranks the reference low says something too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.leaderboard import load_visible  # noqa: E402
from bench.results import atomic_write_json, provenance  # noqa: E402

METRICS = ("mosnet", "dnsmos_ovrl", "distillmos", "visqol", "pesq_wb", "stoi")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="librispeech-test-clean-122")
    ap.add_argument("--out", type=Path, default=REPO / "results/perf/mos_correlation.json")
    args = ap.parse_args()
    results = [r for r in load_visible(REPO / "results") if r["dataset"]["slug"] == args.dataset]
    per_utt: dict[str, dict[tuple[str, str], float]] = {m: {} for m in METRICS}
    for r in results:
        for u in r["utterances"]:
            if u.get("status") != "ok":
                continue
            for m in METRICS:
                v = (u.get("metrics") or {}).get(m)
                if v is not None and np.isfinite(v):
                    per_utt[m][(r["codec"]["name"], u["id"])] = float(v)
    codecs = sorted(
        r["codec"]["name"] for r in results if all((r.get("summary") or {}).get(m) for m in METRICS)
    )
    means = {
        m: [np.mean([v for (c, _), v in per_utt[m].items() if c == name]) for name in codecs]
        for m in METRICS
    }
    rows = []
    for i, a in enumerate(METRICS):
        for b in METRICS[i + 1 :]:
            keys = sorted(set(per_utt[a]) & set(per_utt[b]))
            rho_u = stats.spearmanr([per_utt[a][k] for k in keys], [per_utt[b][k] for k in keys])
            rho_c = stats.spearmanr(means[a], means[b]) if len(codecs) > 2 else None
            rows.append(
                {
                    "a": a,
                    "b": b,
                    "spearman_codec_means": None if rho_c is None else float(rho_c.statistic),
                    "n_codecs": len(codecs),
                    "spearman_utterances": float(rho_u.statistic),
                    "n_pairs": len(keys),
                }
            )
    print(f"{args.dataset}: {len(codecs)} codecs with every metric")
    print("| a | b | ρ over codec means | ρ over (codec, utterance) pairs (n) |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        rc = r["spearman_codec_means"]
        print(f"| {r['a']} | {r['b']} | {'—' if rc is None else f'{rc:.2f}'} | "
              f"{r['spearman_utterances']:.2f} ({r['n_pairs']}) |")  # fmt: skip
    atomic_write_json(
        args.out,
        {"dataset": args.dataset, "codecs": codecs, "pairs": rows, "provenance": provenance("cpu")},
    )


if __name__ == "__main__":
    main()
