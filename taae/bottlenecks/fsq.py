"""Finite scalar quantization with the paper's four training modes.

Each latent dim ``d`` is bounded and rounded to ``L_d`` levels (DESIGN.md §2)::

    Q_L(x) = 2 / (L - 1) * round((L - 1) * (tanh(x) + 1) / 2) - 1

i.e. ``L`` evenly spaced values in [-1, 1] with step ``Δ = 2 / (L - 1)``. The per-dim level index is
``round((L - 1) * (tanh(x) + 1) / 2)`` in ``[0, L - 1]``; a frame's code is the mixed-radix number
``Σ_d idx_d * Π_{e<d} L_e`` (first dim least significant, as in ``vector_quantize_pytorch``),
one index per frame in the implicit product codebook of size ``Π_d L_d`` (``K = 1``).

Training modes (inference always rounds):
    ``hybrid``: per example, 50 % uniform noise ``U(-Δ/2, Δ/2)`` added to ``tanh(x)``, 25 % rounding
    with a straight-through gradient, 25 % unmodified ``tanh(x)`` (probabilities configurable).
    ``ste``: always rounded, straight-through gradient. ``noise``: always noise. ``none``: always
    unmodified.

Bounding and rounding run in float32 with autocast disabled (low-precision rounding gives
out-of-range indices).
"""

from __future__ import annotations

import math

import torch

from taae.bottlenecks.base import Bottleneck, BottleneckResult

MODES = ("hybrid", "ste", "noise", "none")


def fsq_level_indices(bounded: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Per-dim level index ``round((L - 1) * (b + 1) / 2)`` of bounded values ``b ∈ [-1, 1]``.

    Args:
        bounded: ``[B, D, F]`` float32 values in [-1, 1] (e.g. ``tanh(x)``).
        levels: ``[D]`` int64 levels.
    Returns:
        ``[B, D, F]`` int64 indices in ``[0, L_d - 1]``.
    """
    lm1 = (levels - 1).to(bounded.dtype)[None, :, None]
    idx = torch.round(lm1 * (bounded + 1.0) / 2.0)
    return idx.clamp_(min=torch.zeros_like(lm1), max=lm1).long()


def fsq_values(level_idx: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Quantized values ``2 / (L - 1) * idx - 1`` of level indices ``[B, D, F]`` (float32)."""
    lm1 = (levels - 1).float()[None, :, None]
    return 2.0 / lm1 * level_idx.float() - 1.0


class FSQ(Bottleneck):
    """FSQ bottleneck over ``len(levels)`` latent dims, one implicit codebook (``K = 1``).

    Args:
        levels: levels per dim, e.g. ``(17,) * 6``.
        mode: training mode, one of ``hybrid``, ``ste``, ``noise``, ``none``.
        hybrid_probs: ``(P(noise), P(ste), P(none))`` per example in ``hybrid`` mode.
    """

    def __init__(
        self,
        levels: tuple[int, ...],
        mode: str = "hybrid",
        hybrid_probs: tuple[float, float, float] = (0.5, 0.25, 0.25),
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown FSQ mode {mode!r}; choose one of {MODES}")
        if any(level < 2 for level in levels):
            raise ValueError(f"FSQ levels must be >= 2, got {levels}")
        if abs(sum(hybrid_probs) - 1.0) > 1e-6:
            raise ValueError(f"hybrid_probs must sum to 1, got {hybrid_probs}")
        self.levels = tuple(int(level) for level in levels)
        self.mode = mode
        self.hybrid_probs = tuple(float(p) for p in hybrid_probs)
        self.latent_dim = len(self.levels)
        self.num_codebooks = 1
        self.codebook_sizes = (math.prod(self.levels),)
        self.codebook_levels = (self.levels,)
        basis = [1]
        for level in self.levels[:-1]:
            basis.append(basis[-1] * level)
        self.register_buffer("_levels", torch.tensor(self.levels, dtype=torch.int64), False)
        self.register_buffer("_basis", torch.tensor(basis, dtype=torch.int64), False)

    @property
    def step(self) -> torch.Tensor:
        """``Δ_d = 2 / (L_d - 1)``, ``[D]`` float32."""
        return 2.0 / (self._levels - 1).float()

    # ------------------------------------------------------------------------------ conversions
    def bound(self, z: torch.Tensor) -> torch.Tensor:
        """``tanh(z)`` in float32, ``[B, D, F]``."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            return torch.tanh(z.float())

    def level_indices(self, z: torch.Tensor) -> torch.Tensor:
        """Per-dim level indices ``[B, D, F]`` int64 of the (pre-tanh) latent ``z``."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            return fsq_level_indices(torch.tanh(z.detach().float()), self._levels)

    def indices_to_codes(self, level_idx: torch.Tensor) -> torch.Tensor:
        """Per-dim level indices ``[B, D, F]`` → codes ``[B, 1, F]`` (mixed radix)."""
        return (level_idx * self._basis[None, :, None]).sum(dim=1, keepdim=True)

    def codes_to_indices(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, 1, F]`` → per-dim level indices ``[B, D, F]``."""
        return (codes.long() // self._basis[None, :, None]) % self._levels[None, :, None]

    def encode(self, z: torch.Tensor) -> torch.Tensor:
        """Hard codes ``[B, 1, F]`` int64 of ``z [B, D, F]``."""
        return self.indices_to_codes(self.level_indices(z))

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Quantized latent ``[B, D, F]`` float32 (values ``Q_L``) of codes ``[B, 1, F]``."""
        return fsq_values(self.codes_to_indices(codes), self._levels)

    def quantize(self, z: torch.Tensor) -> torch.Tensor:
        """``Q_L(z)`` with a straight-through gradient (identity w.r.t. ``tanh(z)``)."""
        bounded = self.bound(z)
        hard = fsq_values(fsq_level_indices(bounded.detach(), self._levels), self._levels)
        return bounded + (hard - bounded).detach()

    # --------------------------------------------------------------------------------- forward
    def forward(self, z: torch.Tensor) -> BottleneckResult:
        """Quantize ``z [B, D, F]``; in training, emulate quantization according to ``mode``."""
        if z.dim() != 3 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected latent [B, {self.latent_dim}, F], got {tuple(z.shape)}")
        orig_dtype = z.dtype
        with torch.autocast(device_type=z.device.type, enabled=False):
            bounded = torch.tanh(z.float())
            level_idx = fsq_level_indices(bounded.detach(), self._levels)
            codes = self.indices_to_codes(level_idx)
            hard = fsq_values(level_idx, self._levels)
            ste = bounded + (hard - bounded).detach()
            metrics: dict[str, float] = {}
            if not self.training:
                z_q = ste
            else:
                mode = self._draw_modes(z.shape[0], z.device)  # 0 noise, 1 ste, 2 none
                half = (self.step.to(z.device) / 2.0)[None, :, None]
                noisy = bounded + (torch.rand_like(bounded) * 2.0 - 1.0) * half
                m = mode[:, None, None]
                z_q = torch.where(m == 0, noisy, torch.where(m == 1, ste, bounded))
                for i, name in enumerate(("noise", "ste", "none")):
                    metrics[f"fsq/frac_{name}"] = float((mode == i).float().mean())
        aux = torch.zeros((), device=z.device)
        return BottleneckResult(z_q=z_q.to(orig_dtype), codes=codes, aux_loss=aux, metrics=metrics)

    def _draw_modes(self, batch: int, device: torch.device) -> torch.Tensor:
        """Per-example mode ``[B]`` int64: 0 noise, 1 STE, 2 unmodified."""
        if self.mode == "noise":
            return torch.zeros(batch, dtype=torch.int64, device=device)
        if self.mode == "ste":
            return torch.ones(batch, dtype=torch.int64, device=device)
        if self.mode == "none":
            return torch.full((batch,), 2, dtype=torch.int64, device=device)
        u = torch.rand(batch, device=device)
        p_noise, p_ste, _ = self.hybrid_probs
        return (u >= p_noise).long() + (u >= p_noise + p_ste).long()

    def extra_repr(self) -> str:
        return f"levels={self.levels}, mode={self.mode!r}"
