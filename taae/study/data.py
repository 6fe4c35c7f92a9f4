"""Reading a study: result files into per-variant, per-seed, per-utterance values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.leaderboard import load_visible
from bench.metrics import get_metric, metric_names

RESULTS_ROOT = Path(__file__).resolve().parents[2] / "results"


LABEL = {
    "hybrid": "FSQ hybrid",
    "ste": "FSQ STE only",
    "noise": "FSQ noise only",
    "none": "FSQ no emulation",
    "rvq": "RVQ",
}


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


def collect(results_root: Path, study: dict[str, Any]) -> dict[str, Any]:
    """``data[variant][seed][dataset_slug] = result dict`` for every result file present."""
    data: dict[str, dict[int, dict[str, dict[str, Any]]]] = {}
    codec_to_variant = {c: v for v, c in study["codecs"].items()}
    hybrid = study["codecs"].get("hybrid", "")
    for seed in study["seeds"]:
        for path in sorted((results_root / f"seed{seed}").glob("*/*.json")):
            res = load_json(path)
            name = res["codec"]["name"]
            variant = codec_to_variant.get(name)
            if variant is None and name.startswith(hybrid + "@"):
                variant = "ladder:" + name  # post-hoc residual FSQ point of the hybrid model
            if variant is None:
                continue
            data.setdefault(variant, {}).setdefault(seed, {})[res["dataset"]["slug"]] = res
    return data


def is_weighted(metric: str) -> bool:
    """A corpus-rate metric (WER): utterances weigh their reference word count."""
    try:
        return bool(get_metric(metric).weighted)
    except KeyError:
        return False


def per_utterance(res: dict[str, Any], metric: str) -> dict[str, float]:
    """``{utterance id: value}`` of the scored utterances of one result file. For a weighted
    metric (WER, a percentage) the value is the utterance's error count, rate × words / 100, so
    that sums and paired differences weigh utterances as the corpus rate does."""
    out = {}
    for u in res["utterances"]:
        if u.get("status") != "ok" or metric not in u.get("metrics", {}):
            continue
        v = u["metrics"][metric]
        if is_weighted(metric):
            w = (u.get("weights") or {}).get(metric)
            if w is None:
                continue
            v = v * float(w) / 100.0
        out[u["id"]] = v
    return out


def word_counts(res: dict[str, Any], metric: str) -> dict[str, float]:
    return {
        u["id"]: float(u["weights"][metric])
        for u in res["utterances"]
        if u.get("status") == "ok" and metric in (u.get("weights") or {})
    }


def pooled(data: dict[str, Any], variant: str, seed: int, metric: str) -> dict[str, float]:
    """Per-utterance values over all evaluation sets (ids prefixed by the set)."""
    out: dict[str, float] = {}
    for slug, res in data.get(variant, {}).get(seed, {}).items():
        out.update({f"{slug}/{k}": v for k, v in per_utterance(res, metric).items()})
    return out


def seed_means(data: dict[str, Any], variant: str, seeds: list[int], metric: str) -> list[float]:
    """One value per seed that has the metric: the mean over the pooled utterances, or for a
    weighted metric the corpus rate Σ errors / Σ words × 100."""
    vals = []
    for s in seeds:
        d = pooled(data, variant, s, metric)
        if not d:
            continue
        if is_weighted(metric):
            words = sum(
                sum(w for k, w in word_counts(res, metric).items() if f"{slug}/{k}" in d)
                for slug, res in data.get(variant, {}).get(s, {}).items()
            )
            vals.append(100.0 * sum(d.values()) / words if words else float("nan"))
        else:
            vals.append(float(np.mean(list(d.values()))))
    return vals


def metrics_in(data: dict[str, Any]) -> list[str]:
    """Registered metrics (table order) that some result of the study holds."""
    present = {
        m for runs in data.values() for seed in runs.values() for r in seed.values()
        for m in r.get("metrics", {})
    }  # fmt: skip
    return [m for m in metric_names() if m in present]


def nominal_bps(data: dict[str, Any], key: str) -> float:
    for per_seed in data.get(key, {}).values():
        for res in per_seed.values():
            return float(res["bitrate"]["nominal_bps"])
    return float("nan")


def training_summary(runs_root: Path, study: dict[str, Any]) -> dict[str, Any]:
    """Per run: training seconds (summed over resumed segments), steps/s, validation curve."""
    out: dict[str, Any] = {}
    for seed in study["seeds"]:
        for preset in study["presets"]:
            log = runs_root / f"seed{seed}" / preset / "log.jsonl"
            if not log.exists():
                continue
            seconds, last, curve, train_curve = 0.0, 0.0, [], []
            for line in log.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if "elapsed_s" in rec:
                    if rec["elapsed_s"] < last:  # a resumed segment restarts its clock
                        seconds += last
                    last = rec["elapsed_s"]
                    train_curve.append([rec["step"], rec.get("rec/mel")])
                if "val/mel" in rec:
                    curve.append([rec["step"], rec["val/mel"], rec.get("val/si_sdr")])
            out[f"{preset}/seed{seed}"] = {
                "seconds": round(seconds + last, 1),
                "val_curve": curve,
                "train_mel_curve": train_curve,
            }
    return out


def variant_of(preset: str) -> str:
    return "rvq" if "_rvq_" in preset else preset.split("_")[2]


def reference_results(slugs: set[str], own: set[str]) -> list[dict[str, Any]]:
    """Leaderboard rows (``results/<slug>/``) of the evaluation sets used, minus the study's own
    codecs ``own`` and their ``@`` ladder points (those are plotted from the ablation files)."""
    return [
        r
        for r in load_visible(RESULTS_ROOT)
        if r["dataset"]["slug"] in slugs and r["codec"]["name"].split("@")[0] not in own
    ]


def sibling_studies(results_root: Path, study: dict[str, Any]) -> list[Path]:
    """Other ``results/ablation*`` studies of the same scale and bitrate family that differ in
    training steps (the longer-training check), by steps."""
    out = []
    for sj in sorted(results_root.parent.glob("ablation*/study.json")):
        if sj.parent.resolve() == results_root.resolve():
            continue
        other = load_json(sj)
        if (
            other.get("scale") == study.get("scale")
            and other.get("bps") == study.get("bps")
            and other.get("steps") != study.get("steps")
            and (sj.parent / "tests.json").exists()
        ):
            out.append((other["steps"], sj.parent))
    return [p for _, p in sorted(out)]


def study_context(root: Path) -> dict[str, Any]:
    """What one operating point is: scale, bitrate, steps, seeds, evaluation sets, hybrid PESQ."""
    study = load_json(root / "study.json")
    data = collect(root, study)
    seeds = list(study["seeds"])
    pesq = seed_means(data, "hybrid", seeds, "pesq_wb")
    gaps = load_json(root / "gaps.json") if (root / "gaps.json").exists() else []
    gap = [g["gap_mel"] for g in gaps if g["variant"] == "hybrid"]
    slugs = sorted({slug for v in data.values() for s in v.values() for slug in s})
    return {
        "study": study,
        "seeds": seeds,
        "slugs": slugs,
        "pesq": float(np.mean(pesq)) if pesq else None,
        "gap": float(np.mean(gap)) if gap else None,
    }
