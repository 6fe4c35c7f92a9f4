"""Codebook utilisation / entropy bitrate and the bootstrap statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.codebook import CodebookStats
from bench.stats import bootstrap_ci, paired_bootstrap, summarize


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
