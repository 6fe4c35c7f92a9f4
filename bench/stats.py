"""Uncertainty from ``scipy.stats``: BCa confidence intervals and exact paired permutation tests.

- **Means** get a BCa bootstrap CI (``scipy.stats.bootstrap``, 10,000 resamples, seed 0).
- **Paired comparisons** (two codecs on the same utterances) use the sign-flip permutation test
  of the mean difference (``scipy.stats.permutation_test``, ``permutation_type="samples"`` on the
  differences): exact — all ``2^n`` sign patterns — when ``2^n ≤`` :data:`EXACT_LIMIT`, else
  Monte-Carlo with :data:`MC_RESAMPLES` resamples. Every result states the smallest two-sided p the
  design can reach (``2 / 2^n`` exact, ``2 / (R + 1)`` Monte-Carlo), and :func:`format_p` never
  prints a p below it.
- **Seeds × utterances** (:func:`seeds_paired_test`): the utterance-level test runs on the
  seed-averaged per-utterance differences — valid *for these trained models*. A claim that
  generalises over training seeds also needs the seed-level exact sign-flip test on the per-seed
  means to reach α, which is impossible with fewer than 6 seeds (3 seeds: p ≥ 0.25). Every seed
  agreeing in sign is reported, but is not a test: with 3 seeds it happens by chance 25 % of the
  time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
#: Largest number of sign patterns enumerated exactly.
EXACT_LIMIT = 2**17
#: Monte-Carlo resamples above it (the issue's floor is 10⁴).
MC_RESAMPLES = 20_000
ALPHA = 0.05


def bootstrap_ci(
    values: list[float] | np.ndarray,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float] | None:
    """BCa bootstrap CI of the mean (``scipy.stats.bootstrap``); ``None`` for fewer than 2 values.

    Constant data (no spread) gets the degenerate interval ``(mean, mean)``.
    """
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return None
    if np.ptp(x) == 0:
        return float(x[0]), float(x[0])
    res = stats.bootstrap(
        (x,),
        np.mean,
        confidence_level=level,
        n_resamples=resamples,
        method="BCa",
        rng=np.random.default_rng(seed),
    )
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (np.isfinite(lo) and np.isfinite(hi)):  # BCa undefined (e.g. one distinct outlier)
        res = stats.bootstrap(
            (x,), np.mean, confidence_level=level, n_resamples=resamples,
            method="percentile", rng=np.random.default_rng(seed),
        )  # fmt: skip
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return lo, hi


def summarize(values: list[float]) -> dict[str, object]:
    """Mean, standard deviation, 95 % BCa CI and count of a metric's per-utterance values."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return {"n": 0, "mean": None, "std": None, "ci95": None}
    ci = bootstrap_ci(x)
    return {
        "n": int(x.size),
        "mean": float(x.mean()),
        "std": float(x.std(ddof=1)) if x.size > 1 else 0.0,
        "ci95": list(ci) if ci else None,
        "ci_method": "BCa bootstrap (scipy.stats.bootstrap, 10,000 resamples, seed 0)",
    }


def summarize_weighted(values: list[float], weights: list[float]) -> dict[str, object]:
    """Weighted mean Σ v·w / Σ w (corpus WER from per-utterance WER and word counts) with a
    95 % BCa CI from a paired bootstrap over utterances of (v·w, w)."""
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if v.size == 0 or w.sum() <= 0:
        return {"n": int(v.size), "mean": None, "std": None, "ci95": None}
    mean = float((v * w).sum() / w.sum())
    ci: list[float] | None = None
    if v.size >= 2 and np.ptp(v) > 0:

        def ratio(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
            return a.sum(axis=axis) / b.sum(axis=axis)

        res = stats.bootstrap(
            (v * w, w), ratio, paired=True, vectorized=True, n_resamples=BOOTSTRAP_RESAMPLES,
            method="BCa", rng=np.random.default_rng(BOOTSTRAP_SEED),
        )  # fmt: skip
        ci = [float(res.confidence_interval.low), float(res.confidence_interval.high)]
    elif v.size >= 2:
        ci = [mean, mean]
    return {
        "n": int(v.size),
        "mean": mean,
        "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
        "ci95": ci,
        "weight_sum": float(w.sum()),
        "ci_method": "BCa bootstrap of the ratio Σ v·w / Σ w over utterances (paired)",
    }


def _mean_stat(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def sign_flip_test(
    d: list[float] | np.ndarray,
    seed: int = BOOTSTRAP_SEED,
    alternative: str = "two-sided",
) -> dict[str, Any]:
    """Sign-flip permutation test of ``mean(d) = 0`` for paired differences ``d``.

    ``alternative`` is ``"two-sided"`` (default), ``"greater"`` (H1: mean > 0) or ``"less"``.
    Returns ``p_value``, ``p_min`` (the smallest p this design can produce: ``2 / 2^n`` two-sided,
    ``1 / 2^n`` one-sided when exact), ``method`` (``exact`` or ``monte-carlo``) and ``n``. Zero
    differences carry no sign and are kept (they only make the test more conservative).
    """
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(f"alternative must be two-sided, greater or less, not {alternative!r}")
    from scipy import stats

    x = np.asarray(d, dtype=np.float64)
    n = int(x.size)
    if n == 0:
        return {"n": 0, "p_value": None, "p_min": None, "method": None}
    exact = 2**n <= EXACT_LIMIT
    resamples = 2**n if exact else MC_RESAMPLES
    if np.all(x == 0):
        return {"n": n, "p_value": 1.0, "p_min": 1.0, "method": "exact" if exact else "mc"}
    res = stats.permutation_test(
        (x,),
        _mean_stat,
        permutation_type="samples",
        vectorized=True,
        n_resamples=np.inf if exact else resamples,
        alternative=alternative,
        rng=np.random.default_rng(seed),
    )
    tails = 2.0 if alternative == "two-sided" else 1.0
    p_min = tails / 2**n if exact else tails / (resamples + 1)
    return {
        "n": n,
        "p_value": float(min(1.0, max(res.pvalue, p_min))),
        "p_min": float(min(1.0, p_min)),
        "method": "exact" if exact else f"monte-carlo ({resamples} resamples)",
    }


def paired_test(
    a: list[float] | np.ndarray, b: list[float] | np.ndarray, seed: int = BOOTSTRAP_SEED
) -> dict[str, Any]:
    """``a`` vs ``b`` on the same utterances: mean(a − b), its BCa CI, sign-flip p, ``d_z``."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.size == 0:
        return {"n": 0, "mean_diff": None, "ci95": None, "p_value": None, "p_min": None}
    test = sign_flip_test(d, seed)
    ci = bootstrap_ci(d, seed=seed)
    sd = d.std(ddof=1) if d.size > 1 else 0.0
    return {
        **test,
        "mean_diff": float(d.mean()),
        "ci95": list(ci) if ci else None,
        "effect_size_dz": float(d.mean() / sd) if sd > 0 else None,
    }


def seed_effect(seed_means: np.ndarray) -> dict[str, Any]:
    """Effect over training seeds: the mean of the per-seed mean differences, its 95 % Student-t
    interval over seeds (``scipy.stats.t``; S − 1 degrees of freedom) and ``d_z`` = mean / sd."""
    from scipy import stats

    x = np.asarray(seed_means, dtype=np.float64)
    if x.size < 2:
        return {"mean": float(x.mean()) if x.size else None, "ci95_seeds": None, "dz_seeds": None}
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.975, x.size - 1) * sd / np.sqrt(x.size))
    return {
        "mean": float(x.mean()),
        "ci95_seeds": [float(x.mean() - half), float(x.mean() + half)],
        "dz_seeds": float(x.mean() / sd) if sd > 0 else None,
    }


def seeds_paired_test(
    diffs: list[list[float]] | np.ndarray, alpha: float = ALPHA, seed: int = BOOTSTRAP_SEED
) -> dict[str, Any]:
    """Paired differences ``diffs[s, u]`` (training seed × utterance) of variant − reference.

    ``utterance``: :func:`paired_test` on the seed-averaged per-utterance differences (inference
    about these trained models). ``seed_level``: exact sign-flip test on the per-seed means
    (inference over training seeds; ``p_min = 2 / 2^S``) with :func:`seed_effect`'s mean, 95 %
    t-interval over seeds and ``d_z``. ``verdict``:
    ``"generalises over seeds"`` when both p < α, ``"these seeds only"`` when only the
    utterance-level p < α and every seed agrees in sign, else ``"no significant difference"``.
    """
    d = np.asarray(diffs, dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"diffs must be [seeds, utterances], got shape {d.shape}")
    utt = paired_test(d.mean(axis=0), np.zeros(d.shape[1]), seed)
    seed_means = d.mean(axis=1)
    seed_level = {**sign_flip_test(seed_means, seed), **seed_effect(seed_means)}
    agree = bool(np.all(seed_means > 0) or np.all(seed_means < 0))
    if utt["p_value"] is not None and utt["p_value"] < alpha and seed_level["p_value"] < alpha:
        verdict = "generalises over seeds"
    elif utt["p_value"] is not None and utt["p_value"] < alpha and agree:
        verdict = "these seeds only"
    else:
        verdict = "no significant difference"
    return {
        **utt,
        "seed_means": [float(x) for x in seed_means],
        "seeds_agree": agree,
        "seed_level": seed_level,
        "verdict": verdict,
    }


def holm(pvalues: list[float | None], alpha: float = ALPHA) -> list[bool]:
    """Holm–Bonferroni rejections at ``alpha`` over one family of tests (``None`` p-values are
    never rejected): the k-th smallest p is held to ``alpha / (m − k + 1)`` until one fails."""
    order = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    reject = [False] * len(pvalues)
    for rank, (p, i) in enumerate(order):
        if p > alpha / (len(order) - rank):
            break
        reject[i] = True
    return reject


def seeds_needed(k: int, alpha: float = ALPHA) -> int:
    """Fewest seeds S whose exact two-sided seed-level floor 2 / 2^S survives Holm over ``k``
    tests (the first Holm step: ``2 / 2^S ≤ alpha / k``)."""
    s = 1
    while 2.0 / 2**s > alpha / k:
        s += 1
    return s


def tost(d: list[float] | np.ndarray, margin: float, seed: int = BOOTSTRAP_SEED) -> dict[str, Any]:
    """Equivalence of paired differences ``d`` within ``±margin``: two one-sided sign-flip tests.

    H0 is ``|mean(d)| ≥ margin``. The lower test asks whether ``mean(d) > −margin`` (sign-flip
    test of ``d + margin``, alternative ``greater``), the upper whether ``mean(d) < margin``
    (``d − margin``, alternative ``less``); ``p_value`` is the larger of the two (Schuirmann's
    TOST), so equivalence at level α needs both one-sided p ≤ α. Exact for ``2^n ≤``
    :data:`EXACT_LIMIT`; ``p_min = 1 / 2^n`` (6 seeds: 0.0156). Like every sign-flip test it
    assumes the differences are symmetric about their mean under H0.
    """
    if not margin > 0:
        raise ValueError(f"the equivalence margin must be positive, got {margin}")
    x = np.asarray(d, dtype=np.float64)
    if x.size == 0:
        return {"n": 0, "margin": float(margin), "p_value": None, "p_min": None}
    lower = sign_flip_test(x + margin, seed, alternative="greater")
    upper = sign_flip_test(x - margin, seed, alternative="less")
    return {
        "n": int(x.size),
        "margin": float(margin),
        "mean": float(x.mean()),
        "p_lower": lower["p_value"],
        "p_upper": upper["p_value"],
        "p_value": max(lower["p_value"], upper["p_value"]),
        "p_min": lower["p_min"],
        "method": lower["method"],
    }


#: The four answers a registered comparison can end with
#: (``results/ablation_tinyspec/PREREGISTRATION.md``).
VERDICTS = ("confirmed", "contradicted", "equivalent", "undecided")


def registered_verdict(
    d: list[float] | np.ndarray,
    hypothesis: str,
    margin: float,
    alpha: float = ALPHA,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, Any]:
    """Decide one pre-registered comparison from its paired differences ``d`` (variant − reference,
    one value per training seed, in the metric's own units).

    ``hypothesis`` is ``"greater"`` (mean(d) > 0), ``"less"`` or ``"equivalent"`` (|mean(d)| <
    ``margin``). The rule, fixed before the data it judges:

    - directional: the two-sided exact sign-flip test at ``alpha`` decides first — ``confirmed``
      when significant in the registered direction, ``contradicted`` when significant the other
      way; otherwise ``equivalent`` when :func:`tost` at ``alpha`` shows ``|mean| < margin``;
      otherwise ``undecided``.
    - equivalence: ``equivalent`` when the TOST p ≤ ``alpha``; ``contradicted`` when a one-sided
      sign-flip test shows a difference beyond the margin (``d − margin`` greater than 0, or
      ``d + margin`` less than 0, at ``alpha``); otherwise ``undecided``.

    Returns the verdict (one of :data:`VERDICTS`), the difference test, the TOST, the beyond-margin
    p (equivalence hypotheses only) and :func:`seed_effect`'s mean and 95 % t-interval.
    """
    if hypothesis not in ("greater", "less", "equivalent"):
        raise ValueError(f"hypothesis must be greater, less or equivalent, not {hypothesis!r}")
    x = np.asarray(d, dtype=np.float64)
    if x.size < 2:
        raise ValueError(f"a verdict needs at least 2 paired differences, got {x.size}")
    diff = sign_flip_test(x, seed)
    equiv = tost(x, margin, seed)
    out: dict[str, Any] = {
        "hypothesis": hypothesis,
        "margin": float(margin),
        "alpha": float(alpha),
        "difference": diff,
        "tost": equiv,
        **seed_effect(x),
    }
    if hypothesis == "equivalent":
        beyond = min(
            sign_flip_test(x - margin, seed, alternative="greater")["p_value"],
            sign_flip_test(x + margin, seed, alternative="less")["p_value"],
        )
        out["p_beyond_margin"] = beyond
        if equiv["p_value"] <= alpha:
            out["verdict"] = "equivalent"
        elif beyond <= alpha:
            out["verdict"] = "contradicted"
        else:
            out["verdict"] = "undecided"
        return out
    if diff["p_value"] <= alpha:
        agrees = (x.mean() > 0) == (hypothesis == "greater")
        out["verdict"] = "confirmed" if agrees else "contradicted"
    elif equiv["p_value"] <= alpha:
        out["verdict"] = "equivalent"
    else:
        out["verdict"] = "undecided"
    return out


def format_p(p: float | None, p_min: float | None) -> str:
    """``p = 0.031``, or ``p ≤ 2e-04 (test's floor)`` when p sits at the design's smallest value."""
    if p is None:
        return "—"
    if p_min is not None and p <= p_min * (1 + 1e-9):
        return f"p ≤ {p_min:.1g} (floor)" if p_min < 0.001 else f"p = {p_min:.3g} (floor)"
    return f"p = {p:.3g}" if p >= 0.001 else f"p = {p:.1e}"
