"""Residual vector quantization: a thin wrapper over ``vector_quantize_pytorch.ResidualVQ``.

The library provides the usual codec tricks: k-means codebook initialisation on the first training
batch, EMA codebook updates, dead-code replacement (codes whose EMA usage falls below a threshold
are re-seeded from the batch), a commitment loss, and optional quantizer dropout. This wrapper only
fixes the layout (``[B, D, F]`` channel-first latents, ``[B, K, F]`` int64 codes) and derives the
codebook size from a target bitrate so an RVQ variant matches an FSQ variant within ±5 %::

    codebook_size = round(2 ** (target_bps / frame_rate / K))

(613 bps at 25 Hz with K = 2 → 4913 = 17^3 entries → 25 × 2 × log2(4913) = 613.1 bps).
"""

from __future__ import annotations

import math

import torch

from taae.bottlenecks.base import Bottleneck, BottleneckResult


def rvq_codebook_size(target_bps: float, frame_rate: float, num_quantizers: int) -> int:
    """Codebook size giving ``target_bps`` with ``num_quantizers`` equal codebooks."""
    if target_bps <= 0 or frame_rate <= 0 or num_quantizers < 1:
        raise ValueError("target_bps, frame_rate and num_quantizers must be positive")
    return max(2, round(2.0 ** (target_bps / frame_rate / num_quantizers)))


class RVQ(Bottleneck):
    """Residual VQ over a ``latent_dim``-channel latent.

    Args:
        latent_dim: channels ``D`` of the latent.
        codebook_size: entries per stage.
        num_quantizers: stages ``K``.
        decay: EMA decay of the codebooks.
        kmeans_init: initialise codebooks with k-means on the first training batch.
        dead_code_threshold: EMA cluster size below which a code is replaced.
        commitment_weight: weight of the commitment term in ``aux_loss``.
        quantize_dropout: train with a random number of stages (for bitrate scalability).
    """

    def __init__(
        self,
        latent_dim: int,
        codebook_size: int,
        num_quantizers: int,
        decay: float = 0.99,
        kmeans_init: bool = True,
        dead_code_threshold: float = 2.0,
        commitment_weight: float = 1.0,
        quantize_dropout: bool = False,
        rotation_trick: bool = False,
    ) -> None:
        super().__init__()
        from vector_quantize_pytorch import ResidualVQ

        self.latent_dim = latent_dim
        self.num_codebooks = num_quantizers
        self.codebook_sizes = (codebook_size,) * num_quantizers
        self.codebook_levels = None
        self.rvq = ResidualVQ(
            dim=latent_dim,
            num_quantizers=num_quantizers,
            codebook_size=codebook_size,
            decay=decay,
            kmeans_init=kmeans_init,
            kmeans_iters=10,
            threshold_ema_dead_code=dead_code_threshold,
            commitment_weight=commitment_weight,
            quantize_dropout=quantize_dropout,
            rotation_trick=rotation_trick,
        )

    def bits_per_frame(self) -> float:
        """``Σ_k log2(codebook_size_k)``."""
        return sum(math.log2(s) for s in self.codebook_sizes)

    def bound(self, z: torch.Tensor) -> torch.Tensor:
        """RVQ does not bound its input: the unquantized latent is ``z`` itself."""
        return z.float()

    def forward(self, z: torch.Tensor) -> BottleneckResult:
        """Quantize ``z [B, D, F]``; in training also update codebooks (EMA), commitment loss."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            x = z.float().transpose(1, 2)  # [B, F, D]
            quantized, indices, commit = self.rvq(x)
        aux = commit.sum() if torch.is_tensor(commit) else torch.zeros((), device=z.device)
        codes = indices.long().transpose(1, 2)  # [B, K, F]
        metrics: dict[str, float] = {}
        if self.training:
            for k in range(codes.shape[1]):
                used = torch.unique(codes[:, k]).numel()
                metrics[f"rvq/used_frac_{k}"] = used / self.codebook_sizes[k]
        return BottleneckResult(
            z_q=quantized.transpose(1, 2).to(z.dtype), codes=codes, aux_loss=aux, metrics=metrics
        )

    def encode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, K, F]`` int64 (no codebook update)."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                codes = self.forward(z).codes
        finally:
            self.train(was_training)
        return codes

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Latent ``[B, D, F]`` for codes ``[B, K, F]``."""
        out = self.rvq.get_output_from_indices(codes.long().transpose(1, 2))  # [B, F, D]
        return out.transpose(1, 2).float()
