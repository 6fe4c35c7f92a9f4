"""Loss terms and the discriminator."""

from __future__ import annotations

import dataclasses

import torch

from taae.discriminators import (
    MultiResolutionSTFTDiscriminator,
    discriminator_hinge_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)
from taae.losses import ReconstructionLoss, weighted_total
from taae.presets import get_preset

LOSS = get_preset("test").loss


def test_reconstruction_terms_are_named_and_zero_for_perfect_output() -> None:
    x = torch.randn(2, 1, 4000) * 0.1
    terms = ReconstructionLoss(LOSS)(x, x)
    assert set(terms) == {"rec/mel", "rec/stft", "rec/complex", "rec/wave"}
    for value in terms.values():
        assert float(value) < 1e-5
    noisy = ReconstructionLoss(LOSS)(x + 0.05 * torch.randn_like(x), x)
    assert all(float(v) > 1e-3 for v in noisy.values())


def test_complex_term_sees_phase_that_magnitude_terms_ignore() -> None:
    t = torch.arange(8000) / 16000
    x = torch.sin(2 * torch.pi * 440 * t)[None, None]
    shifted = torch.sin(2 * torch.pi * 440 * t + 1.5)[None, None]  # same magnitude, other phase
    quieter = 0.7 * x  # same phase, other magnitude
    loss = ReconstructionLoss(LOSS)
    phase, gain = loss(shifted, x), loss(quieter, x)
    assert float(phase["rec/mel"]) < float(gain["rec/mel"])
    assert float(phase["rec/complex"]) > 3 * float(gain["rec/complex"])


def test_weighted_total_uses_config_weights() -> None:
    terms = {"rec/mel": torch.tensor(2.0), "rec/stft": torch.tensor(3.0)}
    cfg = dataclasses.replace(LOSS, mel_weight=0.5, stft_weight=2.0)
    assert float(weighted_total(terms, cfg)) == 0.5 * 2.0 + 2.0 * 3.0


def test_discriminator_losses() -> None:
    disc = MultiResolutionSTFTDiscriminator((256, 512), channels=4)
    x = torch.randn(2, 1, 4000) * 0.1
    real, fake = disc(x), disc(torch.zeros_like(x) + 0.01 * torch.randn_like(x))
    assert len(real) == 2 and real[0][0].dim() == 4
    assert float(discriminator_hinge_loss(real, fake).detach()) >= 0
    assert float(generator_adversarial_loss(fake).detach()) >= 0
    assert float(feature_matching_loss(real, real).detach()) == 0.0
    assert float(feature_matching_loss(real, fake).detach()) > 0
