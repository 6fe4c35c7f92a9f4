"""Codebook utilisation / entropy bitrate and the bootstrap statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.codebook import CodebookStats
from bench.stats import bootstrap_ci, hierarchical_paired_bootstrap, paired_bootstrap, summarize


def test_uniform_codes_have_full_entropy_and_use() -> None:
    st = CodebookStats([8, 4])
    codes = np.stack([np.tile(np.arange(8), 10), np.tile(np.arange(4), 20)])
    st.update(codes)
    s = st.summary(frame_rate=50.0)
    assert s["codebooks"][0]["used_fraction"] == 1.0
    assert s["codebooks"][0]["normalized_entropy"] == pytest.approx(1.0)
    assert s["entropy_bps"] == pytest.approx(50.0 * (3 + 2))
    assert s["nominal_bps"] == pytest.approx(50.0 * 5)


def test_single_code_has_zero_entropy() -> None:
    st = CodebookStats([1024])
    st.update(np.full((1, 100), 7))
    s = st.summary(frame_rate=25.0)
    assert s["entropy_bps"] == 0.0
    assert s["codebooks"][0]["used"] == 1
    assert s["codebooks"][0]["used_fraction"] == pytest.approx(1 / 1024)


def test_out_of_range_codes_are_rejected() -> None:
    st = CodebookStats([4])
    with pytest.raises(ValueError, match="out of range"):
        st.update(np.array([[0, 1, 4]]))


def test_fsq_level_usage_decomposes_mixed_radix_codes() -> None:
    levels = (3, 5)
    st = CodebookStats([15], [levels])
    # dim 0 (fastest) uses all 3 levels; dim 1 only level 2
    codes = np.array([[0 + 3 * 2, 1 + 3 * 2, 2 + 3 * 2]])
    st.update(codes)
    usage = st.summary(frame_rate=25.0)["codebooks"][0]["level_usage"]
    assert usage[0]["used_fraction"] == 1.0
    assert usage[0]["normalized_entropy"] == pytest.approx(1.0)
    assert usage[1]["used_fraction"] == pytest.approx(1 / 5)
    assert usage[1]["normalized_entropy"] == 0.0


def test_bootstrap_ci_brackets_the_mean_and_narrows_with_n() -> None:
    rng = np.random.default_rng(1)
    small, large = rng.normal(3, 1, 20), rng.normal(3, 1, 2000)
    lo, hi = bootstrap_ci(small)
    assert lo < small.mean() < hi
    lo2, hi2 = bootstrap_ci(large)
    assert (hi2 - lo2) < (hi - lo) / 3
    assert bootstrap_ci([1.0]) is None
    s = summarize(list(small))
    assert s["n"] == 20 and s["ci95"][0] < s["mean"] < s["ci95"][1]


def test_paired_bootstrap_detects_a_consistent_shift_only() -> None:
    rng = np.random.default_rng(2)
    base = rng.normal(0, 1, 200)
    shifted = paired_bootstrap(base + 0.3 + rng.normal(0, 0.1, 200), base)
    assert shifted["p_value"] < 0.01 and shifted["ci95"][0] > 0
    same = paired_bootstrap(base + rng.normal(0, 0.1, 200), base)
    assert same["p_value"] > 0.05
    assert math.isfinite(shifted["effect_size_dz"])


def test_small_samples_of_large_codebooks_are_flagged_undersampled() -> None:
    big = CodebookStats([4096])
    big.update(np.arange(100)[None])
    s = big.summary(frame_rate=25.0)
    assert s["undersampled"] and s["codebooks"][0]["entropy_bits"] <= math.log2(100) + 1e-9
    small = CodebookStats([8])
    small.update(np.tile(np.arange(8), 10)[None])
    assert not small.summary(frame_rate=25.0)["undersampled"]


def test_hierarchical_bootstrap_carries_seed_variation() -> None:
    rng = np.random.default_rng(1)
    utt = rng.normal(0, 0.05, 40)
    # every seed and utterance shifted the same way: clearly significant
    same_sign = hierarchical_paired_bootstrap([0.3 + utt, 0.25 + utt, 0.35 + utt])
    assert same_sign["p_value"] == 0.0
    assert 0.2 < same_sign["ci95"][0] < same_sign["ci95"][1] < 0.4
    # seeds disagree in sign: the utterance-only test on seed-averaged values is fooled by the
    # tight utterance spread, the two-level bootstrap is not
    mixed = [0.5 + utt, -0.4 + utt, 0.1 + utt]
    naive = paired_bootstrap(np.mean(mixed, axis=0), np.zeros(40))
    assert naive["p_value"] < 0.01
    hier = hierarchical_paired_bootstrap(mixed)
    assert hier["p_value"] > 0.05
    assert hier["ci95"][0] < 0 < hier["ci95"][1]
    assert hier["seed_means"] == pytest.approx(
        [0.5 + utt.mean(), -0.4 + utt.mean(), 0.1 + utt.mean()]
    )


def test_hierarchical_bootstrap_with_one_seed_matches_the_utterance_bootstrap() -> None:
    rng = np.random.default_rng(2)
    d = rng.normal(0.1, 0.3, 60)
    one = hierarchical_paired_bootstrap([d])
    ref = paired_bootstrap(d, np.zeros_like(d))
    assert one["mean_diff"] == pytest.approx(ref["mean_diff"])
    assert one["ci95"] == pytest.approx(ref["ci95"], abs=0.03)
    with pytest.raises(ValueError, match="seeds, utterances"):
        hierarchical_paired_bootstrap(d)
