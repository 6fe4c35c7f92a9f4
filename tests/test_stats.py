"""bench.stats: BCa intervals, exact sign-flip tests with stated floors, and null simulations that
show the false-positive rate stays at or below α (within binomial error)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.stats import (
    bootstrap_ci,
    format_p,
    paired_test,
    registered_verdict,
    seeds_paired_test,
    sign_flip_test,
    summarize,
    tost,
)

ALPHA = 0.05


def _binomial_bound(rate: float, sims: int) -> float:
    return rate + 3 * math.sqrt(rate * (1 - rate) / sims)


def test_bca_ci_brackets_the_mean_and_narrows_with_n() -> None:
    rng = np.random.default_rng(1)
    small, large = rng.normal(3, 1, 20), rng.normal(3, 1, 2000)
    lo, hi = bootstrap_ci(small)
    assert lo < small.mean() < hi
    lo2, hi2 = bootstrap_ci(large)
    assert (hi2 - lo2) < (hi - lo) / 3
    assert bootstrap_ci([1.0]) is None
    assert bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)
    s = summarize(list(small))
    assert s["n"] == 20 and s["ci95"][0] < s["mean"] < s["ci95"][1]


def test_exact_sign_flip_p_matches_enumeration_and_states_its_floor() -> None:
    d = np.array([0.5, 1.0, 0.2, 0.8])  # all positive: the most extreme of 16 sign patterns
    r = sign_flip_test(d)
    assert r["method"] == "exact" and r["p_min"] == pytest.approx(2 / 16)
    assert r["p_value"] == pytest.approx(2 / 16)
    assert format_p(r["p_value"], r["p_min"]) == "p = 0.125 (floor)"
    # brute force over every sign pattern for a mixed sample
    d = np.array([0.3, -0.1, 0.7, 0.2, -0.4, 0.5])
    signs = np.array(np.meshgrid(*[[1, -1]] * d.size)).reshape(d.size, -1).T
    means = (signs * d).mean(axis=1)
    expected = np.mean(np.abs(means) >= abs(d.mean()) - 1e-12)
    assert sign_flip_test(d)["p_value"] == pytest.approx(expected)


def test_monte_carlo_is_used_for_large_n_and_never_prints_below_its_floor() -> None:
    rng = np.random.default_rng(0)
    r = paired_test(rng.normal(1.0, 0.1, 122), np.zeros(122))
    assert r["method"].startswith("monte-carlo") and r["p_value"] >= r["p_min"] > 0
    assert "floor" in format_p(r["p_value"], r["p_min"])
    assert r["ci95"][0] < 1.0 < r["ci95"][1]


@pytest.mark.parametrize("n", [8, 12])
def test_paired_null_false_positive_rate_is_at_most_alpha(n: int) -> None:
    rng = np.random.default_rng(n)
    sims = 1000
    hits = 0
    for _ in range(sims):
        a, b = rng.normal(0, 1, n), rng.normal(0, 1, n)
        hits += paired_test(a, b)["p_value"] < ALPHA
    assert hits / sims <= _binomial_bound(ALPHA, sims), hits / sims


@pytest.mark.parametrize("num_seeds", [3, 6])
def test_seed_null_false_positive_rate_is_at_most_alpha(num_seeds: int) -> None:
    """Seed variance (sd 1) far above utterance variance (sd 0.3), no true difference: the
    utterance-level test on seed averages is fooled almost always, sign agreement of 3 seeds
    happens 25 % of the time, and only the seed-level test keeps the claim over seeds honest."""
    rng = np.random.default_rng(num_seeds)
    sims = 400
    over_seeds = utterance_only = 0
    for _ in range(sims):
        diffs = rng.normal(0, 1, (num_seeds, 1)) + rng.normal(0, 0.3, (num_seeds, 40))
        r = seeds_paired_test(diffs)
        over_seeds += r["verdict"] == "generalises over seeds"
        utterance_only += r["p_value"] < ALPHA
    assert over_seeds / sims <= _binomial_bound(ALPHA, sims)
    assert utterance_only / sims > 0.5  # why the utterance-level p alone is not a seed claim


def test_seed_level_floor_makes_three_seeds_unable_to_generalise() -> None:
    utt = np.random.default_rng(3).normal(0, 0.05, 40)
    r = seeds_paired_test([0.3 + utt, 0.25 + utt, 0.35 + utt])
    assert r["seeds_agree"] and r["p_value"] < ALPHA
    assert r["seed_level"]["p_min"] == pytest.approx(0.25)
    assert r["verdict"] == "these seeds only"
    mixed = seeds_paired_test([0.5 + utt, -0.4 + utt, 0.1 + utt])
    assert not mixed["seeds_agree"] and mixed["verdict"] == "no significant difference"
    with pytest.raises(ValueError, match="seeds, utterances"):
        seeds_paired_test(utt)


def test_one_sided_sign_flip_counts_one_tail() -> None:
    # n = 3, d = [1, 2, -0.5]: of the 8 sign patterns, sums 3.5 and 2.5 reach the observed 2.5
    r = sign_flip_test([1.0, 2.0, -0.5], alternative="greater")
    assert r["p_value"] == pytest.approx(2 / 8) and r["p_min"] == pytest.approx(1 / 8)
    assert sign_flip_test([1.0, 2.0, -0.5], alternative="less")["p_value"] == pytest.approx(7 / 8)
    with pytest.raises(ValueError, match="alternative"):
        sign_flip_test([1.0], alternative="bigger")


def test_tost_matches_a_hand_computed_case() -> None:
    # every shifted difference lies inside ±0.01: both one-sided tests sit at the floor 1/64
    d = [0.001, 0.002, -0.001, 0.003, 0.0, 0.002]
    r = tost(d, 0.01)
    assert r["p_lower"] == pytest.approx(1 / 64) and r["p_upper"] == pytest.approx(1 / 64)
    assert r["p_value"] == pytest.approx(1 / 64) and r["p_min"] == pytest.approx(1 / 64)
    # d + 1 = [1, 2, -0.5] (lower p 2/8 as above); d − 1 = [-1, 0, -2.5] (all ≤ 0: upper p 2/8,
    # the zero carries no sign, so 2 of 8 patterns reach the observed sum −3.5)
    r = tost([0.0, 1.0, -1.5], 1.0)
    assert r["p_lower"] == pytest.approx(2 / 8) and r["p_upper"] == pytest.approx(2 / 8)
    assert r["p_value"] == pytest.approx(2 / 8)
    with pytest.raises(ValueError, match="positive"):
        tost(d, 0.0)


def test_tost_error_rate_at_the_margin_stays_below_alpha() -> None:
    """With the true mean difference exactly at the margin, TOST declares equivalence at most
    α of the time (within binomial error), for 6 and 12 seeds."""
    rng = np.random.default_rng(3)
    sims, margin = 400, 0.01
    for n in (6, 12):
        hits = sum(
            tost(rng.normal(margin * side, 0.006, n), margin)["p_value"] <= ALPHA
            for side in (1, -1)
            for _ in range(sims // 2)
        )
        assert hits / sims <= _binomial_bound(ALPHA, sims)
        # and it has power where the truth is well inside the margin
    inside = sum(tost(rng.normal(0.0, 0.004, 6), margin)["p_value"] <= ALPHA for _ in range(100))
    assert inside >= 80


@pytest.mark.parametrize(
    ("d", "hypothesis", "verdict"),
    [
        ([0.02, 0.03, 0.025, 0.04, 0.02, 0.03], "greater", "confirmed"),
        ([0.02, 0.03, 0.025, 0.04, 0.02, 0.03], "less", "contradicted"),
        ([0.002, -0.001, 0.001, 0.003, -0.002, 0.001], "greater", "equivalent"),
        ([0.002, -0.001, 0.001, 0.003, -0.002, 0.001], "equivalent", "equivalent"),
        ([0.02, 0.03, 0.025, 0.04, 0.02, 0.03], "equivalent", "contradicted"),
        ([0.02, -0.03, 0.005, 0.04, -0.02, 0.01], "equivalent", "undecided"),
        ([0.02, -0.03, 0.005, 0.04, -0.02, 0.01], "less", "undecided"),
    ],
)
def test_registered_verdict_follows_the_registered_rule(
    d: list[float], hypothesis: str, verdict: str
) -> None:
    r = registered_verdict(d, hypothesis, margin=0.01)
    assert r["verdict"] == verdict
    assert r["ci95_seeds"][0] < r["mean"] < r["ci95_seeds"][1]


def test_registered_verdict_rejects_what_it_cannot_decide() -> None:
    with pytest.raises(ValueError, match="hypothesis"):
        registered_verdict([0.1, 0.2], "better", 0.01)
    with pytest.raises(ValueError, match="at least 2"):
        registered_verdict([0.1], "greater", 0.01)
