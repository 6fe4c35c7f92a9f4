"""Multi-resolution STFT discriminator, hinge adversarial losses and normalised L1 feature matching.

Each sub-discriminator sees the complex STFT (real and imaginary parts as 2 channels,
``[B, 2, frames, bins]``) at one FFT size and is a small 2-D conv stack (EnCodec's MS-STFT-D layout,
narrower). Losses:
    discriminator: ``mean(relu(1 - D(x))) + mean(relu(1 + D(x̂)))`` summed over sub-discriminators;
    ``adv/gen``: ``mean(relu(1 - D(x̂)))`` averaged over sub-discriminators;
    ``fm/l1``: mean over sub-discriminators and layers of ``mean|f(x) - f(x̂)| / mean|f(x)|``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from taae.losses import stft


class STFTDiscriminator(nn.Module):
    """One resolution: complex STFT ``[B, 2, frames, bins]`` → logits + feature maps."""

    def __init__(self, n_fft: int, channels: int) -> None:
        super().__init__()
        self.n_fft = n_fft
        c = channels
        self.convs = nn.ModuleList(
            [
                weight_norm(nn.Conv2d(2, c, (3, 9), padding=(1, 4))),
                weight_norm(nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4))),
                weight_norm(
                    nn.Conv2d(c, c, (3, 9), stride=(1, 2), dilation=(2, 1), padding=(2, 4))
                ),
                weight_norm(
                    nn.Conv2d(c, c, (3, 9), stride=(1, 2), dilation=(4, 1), padding=(4, 4))
                ),
                weight_norm(nn.Conv2d(c, c, (3, 3), padding=(1, 1))),
            ]
        )
        self.out = weight_norm(nn.Conv2d(c, 1, (3, 3), padding=(1, 1)))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``wav [B, 1, T]`` → (logits ``[B, 1, frames, bins']``, feature maps)."""
        s = stft(wav, self.n_fft)  # [B, bins, frames]
        x = torch.view_as_real(s).permute(0, 3, 2, 1)  # [B, 2, frames, bins]
        feats = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
            feats.append(x)
        return self.out(x), feats


class MultiResolutionSTFTDiscriminator(nn.Module):
    """One :class:`STFTDiscriminator` per FFT size."""

    def __init__(
        self, fft_sizes: tuple[int, ...], channels: int, device: str | torch.device = "cpu"
    ) -> None:
        super().__init__()
        self.discs = nn.ModuleList(STFTDiscriminator(n, channels) for n in fft_sizes)
        self.to(device)

    def forward(self, wav: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        """Per resolution (logits, features) for ``wav [B, 1, T]``."""
        return [d(wav) for d in self.discs]


def discriminator_hinge_loss(
    real: list[tuple[torch.Tensor, list[torch.Tensor]]],
    fake: list[tuple[torch.Tensor, list[torch.Tensor]]],
) -> torch.Tensor:
    """Hinge loss of the discriminator (``fake`` computed on detached reconstructions)."""
    loss = torch.zeros((), device=real[0][0].device)
    for (lr, _), (lf, _) in zip(real, fake, strict=True):
        loss = loss + F.relu(1.0 - lr).mean() + F.relu(1.0 + lf).mean()
    return loss


def generator_adversarial_loss(fake: list[tuple[torch.Tensor, list[torch.Tensor]]]) -> torch.Tensor:
    """``adv/gen``: hinge generator loss averaged over sub-discriminators."""
    return torch.stack([F.relu(1.0 - lf).mean() for lf, _ in fake]).mean()


def feature_matching_loss(
    real: list[tuple[torch.Tensor, list[torch.Tensor]]],
    fake: list[tuple[torch.Tensor, list[torch.Tensor]]],
) -> torch.Tensor:
    """``fm/l1``: feature L1, each layer normalised by the real features' mean magnitude."""
    terms = []
    for (_, fr), (_, ff) in zip(real, fake, strict=True):
        for a, b in zip(fr, ff, strict=True):
            a = a.detach()
            terms.append((a - b).abs().mean() / a.abs().mean().clamp(min=1e-8))
    return torch.stack(terms).mean()
