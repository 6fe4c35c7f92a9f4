"""Post-hoc residual FSQ: re-quantize a model trained with FSQ into ``K`` residual stages.

Stage ``k`` has levels ``L_k`` and a scale ``s_k``; its values are
``s_k * (2 / (L_k - 1) * i - 1)``, ``i ∈ [0, L_k - 1]``. The first stage quantizes ``tanh(z)``;
each later stage quantizes what the previous stages left. Because levels ``L = 2^n + 1`` nest,
``2 × 5`` levels (scales 1, 1/4) and ``4 × 3`` levels (scales 1, 1/2, 1/4, 1/8) reproduce a
17-level grid exactly, so a model trained at ``L = 17`` can be served at several bitrates.
Presets follow the authors' code (stable-codec):

===================  ============================================  ===========================
preset               stages (levels per dim, scale)                nominal bitrate at 25 Hz
===================  ============================================  ===========================
``1x46656_400bps``   (6^6, 1)                                       25 × log2(46656) = 388 bps
``2x15625_700bps``   (5^6, 1), (5^6, 1/4)                           25 × 2 × log2(15625) = 697 bps
``4x729_1000bps``    (3^6, 1), (3^6, 1/2), (3^6, 1/4), (3^6, 1/8)   25 × 4 × log2(729) = 951 bps
===================  ============================================  ===========================

Every stage's grid contains 0 for odd ``L``, so adding a stage never moves a value further from its
target (tested). Codes: one mixed-radix index per stage (``[B, K, F]``), first dim least
significant.
"""

from __future__ import annotations

import math

import torch

from taae.bottlenecks.base import Bottleneck, BottleneckResult

Stage = tuple[tuple[int, ...], float]

POSTHOC_PRESETS: dict[str, tuple[Stage, ...]] = {
    "1x46656_400bps": (((6,) * 6, 1.0),),
    "2x15625_700bps": (((5,) * 6, 1.0), ((5,) * 6, 0.25)),
    "4x729_1000bps": (((3,) * 6, 1.0), ((3,) * 6, 0.5), ((3,) * 6, 0.25), ((3,) * 6, 0.125)),
}


class ResidualFSQ(Bottleneck):
    """Inference-only residual FSQ over a ``len(levels)``-dim latent.

    Args:
        stages: ``((levels, scale), ...)``; all stages must have the same number of dims.
    """

    def __init__(self, stages: tuple[Stage, ...] | list[Stage]) -> None:
        super().__init__()
        if not stages:
            raise ValueError("residual FSQ needs at least one stage")
        dims = {len(levels) for levels, _ in stages}
        if len(dims) != 1:
            raise ValueError(f"all stages need the same number of dims, got {sorted(dims)}")
        self.stages = tuple((tuple(int(x) for x in lv), float(s)) for lv, s in stages)
        self.latent_dim = dims.pop()
        self.num_codebooks = len(self.stages)
        self.codebook_sizes = tuple(math.prod(lv) for lv, _ in self.stages)
        self.codebook_levels = tuple(lv for lv, _ in self.stages)
        for k, (levels, scale) in enumerate(self.stages):
            basis = [1]
            for level in levels[:-1]:
                basis.append(basis[-1] * level)
            self.register_buffer(f"_levels{k}", torch.tensor(levels, dtype=torch.int64), False)
            self.register_buffer(f"_basis{k}", torch.tensor(basis, dtype=torch.int64), False)

    @classmethod
    def from_preset(cls, name: str) -> ResidualFSQ:
        """Build one of :data:`POSTHOC_PRESETS`."""
        if name not in POSTHOC_PRESETS:
            raise KeyError(
                f"unknown residual FSQ preset {name!r}; choose {sorted(POSTHOC_PRESETS)}"
            )
        return cls(POSTHOC_PRESETS[name])

    def _lb(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        return getattr(self, f"_levels{k}"), getattr(self, f"_basis{k}")

    def bound(self, z: torch.Tensor) -> torch.Tensor:
        """``tanh(z)`` in float32, ``[B, D, F]``."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            return torch.tanh(z.float())

    def _stage_quantize(self, r: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Quantize residual ``r [B, D, F]`` with stage ``k`` → (values, per-dim indices)."""
        levels, _ = self._lb(k)
        scale = self.stages[k][1]
        lm1 = (levels - 1).float()[None, :, None]
        idx = torch.round(lm1 * (r / scale + 1.0) / 2.0)
        idx = torch.minimum(torch.clamp(idx, min=0.0), lm1)
        values = scale * (2.0 / lm1 * idx - 1.0)
        return values, idx.long()

    def quantize_stages(self, z: torch.Tensor, num_stages: int | None = None) -> torch.Tensor:
        """Reconstruction ``[B, D, F]`` of ``tanh(z)`` from the first ``num_stages`` stages."""
        n = self.num_codebooks if num_stages is None else num_stages
        return self.decode(self.encode(z)[:, :n])

    def encode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, K, F]`` int64 of the pre-tanh latent ``z [B, D, F]``."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            r = torch.tanh(z.detach().float())
            codes = []
            for k in range(self.num_codebooks):
                values, idx = self._stage_quantize(r, k)
                r = r - values
                _, basis = self._lb(k)
                codes.append((idx * basis[None, :, None]).sum(dim=1))
        return torch.stack(codes, dim=1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Sum of stage values ``[B, D, F]`` for codes ``[B, K', F]`` (``K' <= K`` stages)."""
        out = None
        for k in range(codes.shape[1]):
            levels, basis = self._lb(k)
            scale = self.stages[k][1]
            idx = (codes[:, k : k + 1].long() // basis[None, :, None]) % levels[None, :, None]
            lm1 = (levels - 1).float()[None, :, None]
            values = scale * (2.0 / lm1 * idx.float() - 1.0)
            out = values if out is None else out + values
        if out is None:
            raise ValueError("decode needs at least one codebook")
        return out

    def forward(self, z: torch.Tensor) -> BottleneckResult:
        """Hard residual quantization (identical in train and eval; this bottleneck is post hoc)."""
        codes = self.encode(z)
        z_q = self.decode(codes)
        return BottleneckResult(
            z_q=z_q.to(z.dtype), codes=codes, aux_loss=torch.zeros((), device=z.device)
        )

    def extra_repr(self) -> str:
        return f"stages={self.stages}"
