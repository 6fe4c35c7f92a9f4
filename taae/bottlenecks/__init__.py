"""Bottlenecks: FSQ (four training modes), post-hoc residual FSQ, residual VQ."""

from __future__ import annotations

from taae.bottlenecks.base import Bottleneck, BottleneckResult
from taae.bottlenecks.fsq import FSQ
from taae.bottlenecks.residual_fsq import POSTHOC_PRESETS, ResidualFSQ
from taae.config import BottleneckConfig

__all__ = [
    "Bottleneck",
    "BottleneckResult",
    "FSQ",
    "POSTHOC_PRESETS",
    "ResidualFSQ",
    "build_bottleneck",
]


def build_bottleneck(cfg: BottleneckConfig, latent_dim: int, frame_rate: float) -> Bottleneck:
    """The bottleneck a config describes (RVQ codebook size derived from the target bitrate)."""
    if cfg.kind == "fsq":
        if len(cfg.levels) != latent_dim:
            raise ValueError(
                f"FSQ has {len(cfg.levels)} levels but the latent has {latent_dim} dims"
            )
        return FSQ(cfg.levels, cfg.fsq_mode, cfg.hybrid_probs)
    if cfg.kind == "rvq":
        from taae.bottlenecks.rvq import RVQ, rvq_codebook_size

        target = cfg.rvq_target_bps or cfg.fsq_bits_per_frame() * frame_rate
        size = rvq_codebook_size(target, frame_rate, cfg.rvq_num_quantizers)
        return RVQ(
            latent_dim,
            size,
            cfg.rvq_num_quantizers,
            decay=cfg.rvq_decay,
            kmeans_init=cfg.rvq_kmeans_init,
            dead_code_threshold=cfg.rvq_dead_code_threshold,
            commitment_weight=cfg.rvq_commitment_weight,
            quantize_dropout=cfg.rvq_quantize_dropout,
            rotation_trick=cfg.rvq_rotation_trick,
        )
    raise ValueError(f"unknown bottleneck kind {cfg.kind!r}")
