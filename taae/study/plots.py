"""ABLATION.md's plots (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.metrics import get_metric
from taae.study.data import LABEL, nominal_bps, variant_of


def plot_training(training: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    colors = dict(zip(LABEL, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    seen: set[str] = set()
    for key, rec in sorted(training.items()):
        v = variant_of(key.split("/")[0])
        label = LABEL[v] if v not in seen else None
        seen.add(v)
        tc = np.array([p for p in rec["train_mel_curve"] if p[1] is not None], dtype=float)
        vc = np.array([p[:2] for p in rec["val_curve"]], dtype=float)
        if tc.size:
            axes[0].plot(tc[:, 0], tc[:, 1], color=colors[v], alpha=0.6, lw=0.8, label=label)
        if vc.size:
            axes[1].plot(vc[:, 0], vc[:, 1], color=colors[v], marker="o", ms=3, label=label)
    axes[0].set(xlabel="step", ylabel="training rec/mel (log-mel L1)", title="training loss")
    axes[1].set(xlabel="step", ylabel="validation mel (quantized)", title="validation")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_rate_distortion(
    data: dict[str, Any], seeds: list[int], refs: list[dict[str, Any]], slug: str, path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, metric in zip(axes, ("pesq_wb", "stoi"), strict=True):
        for res in refs:
            if res["dataset"]["slug"] != slug or res["codec"]["name"].startswith("passthrough"):
                continue
            m = (res["summary"].get(metric) or {}).get("mean")
            if m is None:
                continue
            ax.scatter(res["bitrate"]["nominal_bps"], m, marker="s", s=22, alpha=0.6, color="grey")
            ax.annotate(
                res["codec"]["name"], (res["bitrate"]["nominal_bps"], m), fontsize=6, alpha=0.8
            )
        ladder = sorted(
            (k for k in data if k.startswith("ladder:")), key=lambda k: nominal_bps(data, k)
        )
        pts = []
        for k in ["hybrid", *ladder]:
            vals = [
                data[k][s][slug]["summary"][metric]["mean"]
                for s in seeds
                if slug in data.get(k, {}).get(s, {})
                and (data[k][s][slug]["summary"].get(metric) or {}).get("mean") is not None
            ]
            if vals:
                pts.append((nominal_bps(data, k), float(np.mean(vals))))
        if len(pts) > 1:
            pts.sort()
            ax.plot(*zip(*pts, strict=True), "--", color="C0", alpha=0.6,
                    label="FSQ hybrid + post-hoc residual FSQ")  # fmt: skip
        for v in LABEL:
            vals, bps = [], []
            for s in seeds:
                res = data.get(v, {}).get(s, {}).get(slug)
                if res and (res["summary"].get(metric) or {}).get("mean") is not None:
                    vals.append(res["summary"][metric]["mean"])
                    bps.append(res["bitrate"]["nominal_bps"])
            if vals:
                sd = np.std(vals, ddof=1) if len(vals) > 1 else 0.0
                ax.errorbar(
                    np.mean(bps),
                    np.mean(vals),
                    yerr=sd,
                    fmt="o",
                    capsize=3,
                    label=f"{LABEL[v]} ({len(vals)} seeds)",
                )
        ax.set_xscale("log")
        ax.set(xlabel="nominal bitrate (bps, log)", ylabel=get_metric(metric).label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"rate–distortion on {slug} (ablation: mean ± sd over seeds)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
