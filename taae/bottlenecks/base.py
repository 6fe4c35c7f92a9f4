"""The bottleneck interface shared by FSQ, residual FSQ and RVQ."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass(frozen=True)
class BottleneckResult:
    """What a bottleneck returns for one batch.

    Attributes:
        z_q: quantized (or, in training, quantization-emulated) latent ``[B, D, F]``.
        codes: integer codes ``[B, K, F]`` int64 (hard codes, whatever the training mode).
        aux_loss: scalar auxiliary loss (RVQ commitment; zero for FSQ).
        metrics: detached scalars for logging (e.g. ``fsq/frac_noise``).
    """

    z_q: torch.Tensor
    codes: torch.Tensor
    aux_loss: torch.Tensor
    metrics: dict[str, float] = field(default_factory=dict)


class Bottleneck(nn.Module, ABC):
    """Maps an encoder latent ``[B, D, F]`` to codes ``[B, K, F]`` and back.

    Attributes:
        latent_dim: ``D``, channels of the latent it consumes and produces.
        num_codebooks: ``K``.
        codebook_sizes: entries per codebook (FSQ: the product of its levels).
        codebook_levels: per-codebook mixed-radix levels (FSQ), ``None`` for plain indices (RVQ).
    """

    latent_dim: int
    num_codebooks: int
    codebook_sizes: tuple[int, ...]
    codebook_levels: tuple[tuple[int, ...], ...] | None = None

    @abstractmethod
    def forward(self, z: torch.Tensor) -> BottleneckResult:
        """Quantize ``z [B, D, F]`` (training behaviour depends on ``self.training``)."""

    @abstractmethod
    def encode(self, z: torch.Tensor) -> torch.Tensor:
        """Hard codes ``[B, K, F]`` int64 for ``z [B, D, F]``."""

    @abstractmethod
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Latent ``[B, D, F]`` for codes ``[B, K, F]``."""

    @abstractmethod
    def bound(self, z: torch.Tensor) -> torch.Tensor:
        """The unquantized latent the decoder would see without quantization, ``[B, D, F]``.

        Used to measure the quantization gap (decode of ``bound(z)`` vs of ``decode(encode(z))``).
        """
