"""FSQ bottleneck: Q_L definition, code round trips, the four training modes, float32 rounding."""

from __future__ import annotations

import math

import pytest
import torch

from taae.bottlenecks import FSQ

LEVELS = (17,) * 6
MIXED = (3, 5, 17, 4, 8, 6)


def q_l(x: torch.Tensor, levels: tuple[int, ...]) -> torch.Tensor:
    """DESIGN.md §2: Q_L(x) = 2/(L-1) * round((L-1) * (tanh(x)+1) / 2) - 1, per dim of [B, D, F]."""
    lm1 = torch.tensor(levels, dtype=torch.float32)[None, :, None] - 1
    return 2 / lm1 * torch.round(lm1 * (torch.tanh(x) + 1) / 2) - 1


@pytest.mark.parametrize("levels", [LEVELS, MIXED])
def test_fsq_eval_output_is_q_l(levels: tuple[int, ...]) -> None:
    fsq = FSQ(levels).eval()
    z = torch.randn(4, len(levels), 50) * 2
    out = fsq(z)
    torch.testing.assert_close(out.z_q, q_l(z, levels), rtol=0, atol=1e-6)
    assert out.codes.shape == (4, 1, 50) and out.codes.dtype == torch.int64


@pytest.mark.parametrize("levels", [LEVELS, MIXED])
def test_fsq_codes_values_round_trip(levels: tuple[int, ...]) -> None:
    fsq = FSQ(levels)
    size = math.prod(levels)
    codes = torch.randint(0, size, (3, 1, 40))
    codes[0, 0, :2] = torch.tensor([0, size - 1])
    values = fsq.decode(codes)
    assert values.shape == (3, len(levels), 40)
    assert values.min() >= -1 and values.max() <= 1
    # values are exact grid points; re-encoding them (atanh of interior points) gives the same codes
    re = fsq.indices_to_codes(
        torch.round((torch.tensor(levels)[None, :, None] - 1) * (values + 1) / 2).long()
    )
    assert torch.equal(re, codes)
    z = torch.randn(3, len(levels), 40) * 3
    c = fsq.encode(z)
    assert c.min() >= 0 and c.max() < size
    torch.testing.assert_close(fsq.decode(c), q_l(z, levels), rtol=0, atol=1e-6)


def test_fsq_ste_passes_gradient() -> None:
    fsq = FSQ(LEVELS, mode="ste").train()
    z = (torch.randn(2, 6, 30) * 2).requires_grad_()
    out = fsq(z)
    torch.testing.assert_close(out.z_q.detach(), q_l(z.detach(), LEVELS), rtol=0, atol=1e-6)
    g = torch.randn_like(z)
    out.z_q.backward(g)
    # identity through the rounding: the only factor left is tanh'
    expected = g * (1 - torch.tanh(z.detach()) ** 2)
    torch.testing.assert_close(z.grad, expected)


def test_fsq_noise_within_half_step() -> None:
    fsq = FSQ(LEVELS, mode="noise").train()
    z = torch.randn(64, 6, 100)
    out = fsq(z)
    diff = out.z_q - torch.tanh(z)
    half = 1.0 / (17 - 1)  # Δ/2 with Δ = 2/(L-1)
    assert diff.abs().max() <= half + 1e-6
    assert diff.abs().max() > 0.9 * half  # really uses the whole interval
    assert abs(float(diff.mean())) < 0.01 * half * 10
    assert float(diff.std()) == pytest.approx(2 * half / math.sqrt(12), rel=0.05)  # uniform
    assert out.metrics["fsq/frac_noise"] == 1.0


def test_fsq_none_is_unmodified_in_training_and_rounded_in_eval() -> None:
    fsq = FSQ(LEVELS, mode="none")
    z = torch.randn(8, 6, 20)
    torch.testing.assert_close(fsq.train()(z).z_q, torch.tanh(z))
    torch.testing.assert_close(fsq.eval()(z).z_q, q_l(z, LEVELS), rtol=0, atol=1e-6)


@pytest.mark.parametrize("mode", ["hybrid", "ste", "noise", "none"])
def test_fsq_inference_always_rounds(mode: str) -> None:
    fsq = FSQ(LEVELS, mode=mode).eval()
    z = torch.randn(5, 6, 30)
    torch.testing.assert_close(fsq(z).z_q, q_l(z, LEVELS), rtol=0, atol=1e-6)


def test_fsq_hybrid_mode_frequencies() -> None:
    torch.manual_seed(0)
    fsq = FSQ(LEVELS, mode="hybrid").train()
    n = 20000
    z = torch.randn(n, 6, 2)
    out = fsq(z)
    bounded, hard = torch.tanh(z), q_l(z, LEVELS)
    is_none = (out.z_q == bounded).all(dim=2).all(dim=1)
    is_ste = ((out.z_q - hard).abs() < 1e-6).all(dim=2).all(dim=1)
    is_noise = ~(is_none | is_ste)
    # a noise example stays within ±Δ/2 of tanh(z) but matches neither other branch
    assert ((out.z_q - bounded)[is_noise].abs() <= 1 / 16 + 1e-6).all()
    tol = 4 * math.sqrt(0.25 / n)  # ~4 standard errors
    assert float(is_noise.float().mean()) == pytest.approx(0.5, abs=tol)
    assert float(is_ste.float().mean()) == pytest.approx(0.25, abs=tol)
    assert float(is_none.float().mean()) == pytest.approx(0.25, abs=tol)
    # the whole example shares one mode (not per element)
    assert (is_none.int() + is_ste.int() + is_noise.int() == 1).all()


def test_fsq_rounds_in_float32_under_autocast() -> None:
    fsq = FSQ(LEVELS).eval()
    z = torch.randn(2, 6, 64) * 2
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = fsq(z)
    assert torch.equal(out.codes, fsq.encode(z))
    assert out.codes.max() < 17**6


@pytest.mark.parametrize("levels", [(5,) * 6, (3, 5, 7, 9, 17, 33), LEVELS])
def test_hard_codes_agree_with_vector_quantize_pytorch(levels: tuple[int, ...]) -> None:
    """Compare with vector_quantize_pytorch.FSQ (``preserve_symmetry=True``).

    That mode implements the same Q_L (``floor(x + 0.5)`` where we use ``round``: they differ only
    on exact .5 ties, which random inputs do not hit) and the same mixed-radix index (first dim
    least significant). Its default bound (``preserve_symmetry=False``) scales tanh by (1 + 1e-3)
    and shifts even levels, so it is not the paper's Q_L and is not compared. Its flat index is
    summed in float32, which is inexact above 2^24 (17^6 ≈ 2^24.5), so for such codebooks the
    per-dimension level indices (recovered from its quantized values) are compared instead.
    """
    from vector_quantize_pytorch import FSQ as RefFSQ

    small = math.prod(levels) < 2**24
    # return_indices builds an implicit codebook of prod(L) x D floats: skip it for 17^6
    ref = RefFSQ(levels=list(levels), preserve_symmetry=True, return_indices=small)
    ours = FSQ(levels).eval()
    z = torch.randn(4, len(levels), 200) * 2
    ref_out, ref_idx = ref(z.transpose(1, 2))  # [B, N, D], [B, N]
    out = ours(z)
    torch.testing.assert_close(out.z_q, ref_out.transpose(1, 2), rtol=0, atol=1e-6)
    lm1 = torch.tensor(levels)[None, :, None] - 1
    ref_level_idx = torch.round(lm1 * (ref_out.transpose(1, 2) + 1) / 2).long()
    assert torch.equal(ours.level_indices(z), ref_level_idx)
    if small:
        assert torch.equal(out.codes[:, 0], ref_idx.long())
