"""Uncertainty: bootstrap confidence intervals of means, and paired comparisons."""

from __future__ import annotations

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def bootstrap_ci(
    values: list[float] | np.ndarray,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float] | None:
    """Percentile bootstrap CI of the mean over utterances; ``None`` for fewer than 2 values."""
    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(resamples, x.size))
    means = x[idx].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def summarize(values: list[float]) -> dict[str, object]:
    """Mean, standard deviation, 95 % bootstrap CI and count of a metric's per-utterance values."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return {"n": 0, "mean": None, "std": None, "ci95": None}
    ci = bootstrap_ci(x)
    return {
        "n": int(x.size),
        "mean": float(x.mean()),
        "std": float(x.std(ddof=1)) if x.size > 1 else 0.0,
        "ci95": list(ci) if ci else None,
    }


def paired_bootstrap(
    a: list[float] | np.ndarray,
    b: list[float] | np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, float | list[float] | None]:
    """Paired bootstrap of mean(a − b) over the same utterances: mean diff, 95 % CI, two-sided p."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.size < 2:
        return {"mean_diff": float(d.mean()) if d.size else None, "ci95": None, "p_value": None}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, d.size, size=(resamples, d.size))
    return _bootstrap_result(d[idx].mean(axis=1), d)


def _bootstrap_result(means: np.ndarray, d: np.ndarray) -> dict[str, float | list[float] | None]:
    """Mean diff, percentile 95 % CI and two-sided p from resampled ``means``; d_z from ``d``.

    ``d`` holds the per-utterance differences (``[U]``) the effect size is computed over.
    """
    lo, hi = np.quantile(means, [0.025, 0.975])
    # Two-sided p: how often the resampled mean falls on the other side of zero (×2, capped).
    p = min(1.0, 2.0 * min(float((means <= 0).mean()), float((means >= 0).mean())))
    sd = d.std(ddof=1)
    return {
        "mean_diff": float(d.mean()),
        "ci95": [float(lo), float(hi)],
        "p_value": p,
        "effect_size_dz": float(d.mean() / sd) if sd > 0 else None,
    }


def hierarchical_paired_bootstrap(
    diffs: list[list[float]] | np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, float | list[float] | None]:
    """Two-level bootstrap of the mean paired difference ``diffs[s, u]`` (seed × utterance).

    Each resample draws seeds with replacement and, independently, utterances with replacement,
    and averages ``diffs`` over the drawn rows and columns — so the CI and p-value carry both the
    training-seed and the utterance variability (an utterance-only bootstrap of seed-averaged
    values would ignore the seeds). Two-sided p as in :func:`paired_bootstrap`. ``d_z`` is the
    mean over the sd of the seed-averaged per-utterance differences. With one seed this reduces to
    the utterance bootstrap.
    """
    d = np.asarray(diffs, dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"diffs must be [seeds, utterances], got shape {d.shape}")
    n_s, n_u = d.shape
    if n_u < 2:
        return {"mean_diff": float(d.mean()) if d.size else None, "ci95": None, "p_value": None}
    rng = np.random.default_rng(seed)
    si = rng.integers(0, n_s, size=(resamples, n_s))
    ui = rng.integers(0, n_u, size=(resamples, n_u))
    # mean over drawn seeds and utterances = mean over drawn seeds of per-seed utterance means
    means = np.empty(resamples)
    for r in range(resamples):
        means[r] = d[si[r]][:, ui[r]].mean()
    out = _bootstrap_result(means, d.mean(axis=0))
    out["seed_means"] = [float(x) for x in d.mean(axis=1)]
    return out
