"""Codebook utilisation / entropy bitrate and the bootstrap statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.codebook import CodebookStats


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


def test_small_samples_of_large_codebooks_are_flagged_undersampled() -> None:
    big = CodebookStats([4096])
    big.update(np.arange(100)[None])
    s = big.summary(frame_rate=25.0)
    assert s["undersampled"] and s["codebooks"][0]["entropy_bits"] <= math.log2(100) + 1e-9
    small = CodebookStats([8])
    small.update(np.tile(np.arange(8), 10)[None])
    assert not small.summary(frame_rate=25.0)["undersampled"]


def test_joint_and_marginal_entropies_compare_like_with_like_and_flag_collapse() -> None:
    rng = np.random.default_rng(0)
    # two independent uniform stages of 16: joint ≈ marginal sum ≈ 8 bits with plenty of frames
    rvq = CodebookStats([16, 16])
    rvq.update(rng.integers(0, 16, size=(2, 20000)))
    s = rvq.summary(frame_rate=25.0)
    assert s["frame_entropy_bits"] == pytest.approx(8.0, abs=0.05)
    assert s["marginal_entropy_bits"] == pytest.approx(8.0, abs=0.01)
    assert not s["collapsed"]
    # an FSQ codebook (levels 4 × 4) whose two digits always move together: marginal sum 4 bits,
    # joint 2 bits
    fsq = CodebookStats([16], [[4, 4]])
    d = rng.integers(0, 4, size=5000)
    fsq.update((d + 4 * d)[None])
    s = fsq.summary(frame_rate=25.0)
    assert s["marginal_entropy_bits"] == pytest.approx(4.0, abs=0.01)
    assert s["frame_entropy_bits"] == pytest.approx(2.0, abs=0.01)
    # 38 distinct codes in 867 frames of a 15,625-entry codebook: collapse, not undersampling
    collapsed = CodebookStats([15625])
    collapsed.update(rng.integers(0, 38, size=867)[None])
    s = collapsed.summary(frame_rate=25.0)
    assert s["collapsed"] and s["distinct_frames"] == 38
    healthy = CodebookStats([15625])
    healthy.update(rng.integers(0, 15625, size=867)[None])
    assert not healthy.summary(frame_rate=25.0)["collapsed"]
