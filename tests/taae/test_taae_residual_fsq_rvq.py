"""Post-hoc residual FSQ presets and the RVQ wrapper."""

from __future__ import annotations

import math

import pytest
import torch

from taae.bottlenecks import FSQ, POSTHOC_PRESETS, ResidualFSQ, build_bottleneck
from taae.bottlenecks.rvq import RVQ, rvq_codebook_size
from taae.config import BottleneckConfig


@pytest.mark.parametrize("preset", sorted(POSTHOC_PRESETS))
def test_more_stages_never_increase_latent_error(preset: str) -> None:
    rfsq = ResidualFSQ.from_preset(preset)
    z = torch.randn(8, 6, 200) * 2
    target = torch.tanh(z)
    # the first stage of an even-level preset (6 levels) has no 0 on its grid, so the
    # monotonicity claim starts from stage 1; later stages (odd levels) all contain 0
    prev = (rfsq.quantize_stages(z, 1) - target).abs()
    assert float(prev.mean()) < float(target.abs().mean())
    for k in range(2, rfsq.num_codebooks + 1):
        err = (rfsq.quantize_stages(z, k) - target).abs()
        assert (err <= prev + 1e-6).all(), f"stage {k} increased the error"
        prev = err


def test_ladder_bitrates_and_nesting_with_17_levels() -> None:
    z = torch.randn(4, 6, 300) * 2
    fsq17 = FSQ((17,) * 6).eval()
    q17 = fsq17(z).z_q
    bps = {}
    errs = {}
    for name in POSTHOC_PRESETS:
        rfsq = ResidualFSQ.from_preset(name)
        codes = rfsq.encode(z)
        assert codes.shape == (4, rfsq.num_codebooks, 300) and codes.dtype == torch.int64
        for k, size in enumerate(rfsq.codebook_sizes):
            assert 0 <= codes[:, k].min() and codes[:, k].max() < size
        bps[name] = 25 * sum(math.log2(s) for s in rfsq.codebook_sizes)
        errs[name] = float((rfsq.decode(codes) - torch.tanh(z)).abs().mean())
        if name != "1x46656_400bps":
            # 2 x 5 levels (scales 1, 1/4) and 4 x 3 levels (1, 1/2, 1/4, 1/8) rebuild the 17-grid
            torch.testing.assert_close(rfsq.decode(codes), q17, rtol=0, atol=1e-5)
    assert bps["1x46656_400bps"] == pytest.approx(387.7, abs=0.1)
    assert bps["2x15625_700bps"] == pytest.approx(696.6, abs=0.1)
    assert bps["4x729_1000bps"] == pytest.approx(950.9, abs=0.1)
    assert errs["1x46656_400bps"] > errs["2x15625_700bps"]


def test_rvq_codebook_size_matches_fsq_bitrate_within_5_percent() -> None:
    fsq_bps = 25 * 6 * math.log2(17)
    for k in (1, 2, 3, 4):
        size = rvq_codebook_size(fsq_bps, 25.0, k)
        rvq_bps = 25 * k * math.log2(size)
        assert abs(rvq_bps - fsq_bps) / fsq_bps < 0.05
    bn = build_bottleneck(BottleneckConfig(kind="rvq"), 6, 25.0)
    assert isinstance(bn, RVQ) and bn.codebook_sizes == (4913, 4913)
    assert 25 * bn.bits_per_frame() == pytest.approx(fsq_bps, rel=0.05)


def test_rvq_codes_ranges_and_decode() -> None:
    torch.manual_seed(0)
    rvq = RVQ(6, codebook_size=64, num_quantizers=3, kmeans_init=True)
    z = torch.randn(4, 6, 100)
    rvq.train()
    out = rvq(z)  # k-means init + EMA update
    assert out.codes.shape == (4, 3, 100) and out.codes.dtype == torch.int64
    assert out.codes.min() >= 0 and out.codes.max() < 64
    assert out.aux_loss.ndim == 0 and float(out.aux_loss.detach()) >= 0
    rvq.eval()
    ev = rvq(z)
    torch.testing.assert_close(rvq.decode(ev.codes), ev.z_q.float(), rtol=1e-5, atol=1e-5)
    assert (ev.z_q - z).pow(2).mean() < 0.5 * z.pow(2).mean()  # codebooks fitted to the data
