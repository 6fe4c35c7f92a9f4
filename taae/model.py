"""The transformer auto-encoder (TAAE): patching, transformer blocks, 25 Hz latent, decoder.

Encoder: waveform ``[B, 1, T]`` (T padded to a multiple of 640) → patches of 320 samples → linear
patch embedding → ``enc_blocks_50hz`` blocks at 50 Hz → strided conv (stride 2) →
``enc_blocks_25hz`` blocks at 25 Hz → LayerNorm → linear projection to a 6-dim latent ``[B, 6, F]``.
Decoder (mirror): linear 6 → d → blocks at 25 Hz → transposed conv (stride 2) → blocks at 50 Hz →
LayerNorm → linear d → 320 samples per token → waveform, trimmed back to ``T``.

Options (``model.frontend`` / ``model.head``; the paper's patch + linear path is the default): an
``stft`` front end embeds the log-magnitude STFT (``stft_n_fft``, hop ``stft_hop``; the
``patch_size / stft_hop`` frames of each token concatenated) instead of raw samples, and an
``istft`` head predicts per 10 ms frame a log-magnitude and a phase angle, inverted by windowed
overlap-add with "same" padding (Vocos-style), instead of 320 samples per token. Both are
departures from the paper, made because the linear 320-sample head is the binding limit of quality
at CPU scale (DESIGN.md §8).

Block (pre-norm): ``x + γ₁ · Attn(LN(x))`` then ``x + γ₂ · SwiGLU(LN(x))`` with LayerNorm eps 1e-2,
QK-norm (LayerNorm over the head dim), RoPE, sliding-window attention (``|i - j| <= window``)
through ``scaled_dot_product_attention`` (a boolean mask on any device; no mask when the window
covers the whole sequence, so CUDA can use its fused kernels), and LayerScale ``γ`` on both
branches.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from taae.bottlenecks import Bottleneck, BottleneckResult, build_bottleneck
from taae.config import BottleneckConfig, ModelConfig


def rope_tables(
    length: int, head_dim: int, base: float, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotary cos/sin tables ``[T, head_dim / 2]`` (float32)."""
    inv = 1.0 / (base ** (torch.arange(0, head_dim, 2, device=device).float() / head_dim))
    angles = torch.arange(length, device=device).float()[:, None] * inv[None, :]
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (first half, second half) of ``x [B, H, T, Dh]`` by position."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


def sliding_window_mask(length: int, window: int, device: torch.device) -> torch.Tensor | None:
    """Boolean ``[T, T]`` mask, True where ``|i - j| <= window``; ``None`` if nothing is masked."""
    if window <= 0 or window >= length - 1:
        return None
    pos = torch.arange(length, device=device)
    return (pos[:, None] - pos[None, :]).abs() <= window


class Attention(nn.Module):
    """Multi-head self-attention with QK-norm, RoPE and an optional sliding-window mask."""

    def __init__(self, dim: int, num_heads: int, norm_eps: float, rope_base: float) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        if self.head_dim % 2:
            raise ValueError("head_dim must be even for RoPE")
        self.rope_base = rope_base
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_norm = nn.LayerNorm(self.head_dim, eps=norm_eps)
        self.k_norm = nn.LayerNorm(self.head_dim, eps=norm_eps)
        self.out = nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, window: int = 0) -> torch.Tensor:
        """``x [B, T, C]`` → ``[B, T, C]``.

        With ``window > 0`` and ``mask`` ``None`` the sliding window is applied blockwise: each
        block of :data:`LOCAL_BLOCK` queries attends to its keys within ``±window`` only, so memory
        grows linearly with ``T`` (the dense ``[T, T]`` mask and scores are never built). The
        result equals the dense masked attention up to float rounding.
        """
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k = self.q_norm(q), self.k_norm(k)
        cos, sin = rope_tables(t, self.head_dim, self.rope_base, x.device)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if mask is None and 0 < window < t - 1:
            y = _local_attention(q, k, v, window)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(b, t, c))


#: Queries per block of the blockwise sliding-window attention (long inputs only).
LOCAL_BLOCK = 256
#: Sequences longer than this many tokens use the blockwise path (shorter: one dense mask).
LOCAL_THRESHOLD = 2 * LOCAL_BLOCK


def _local_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int
) -> torch.Tensor:
    """Sliding-window attention ``|i − j| ≤ window`` over ``[B, H, T, Dh]``, block by block."""
    t = q.shape[2]
    out = torch.empty_like(q)
    for start in range(0, t, LOCAL_BLOCK):
        end = min(t, start + LOCAL_BLOCK)
        lo, hi = max(0, start - window), min(t, end + window)
        qi = torch.arange(start, end, device=q.device)[:, None]
        kj = torch.arange(lo, hi, device=q.device)[None, :]
        out[:, :, start:end] = F.scaled_dot_product_attention(
            q[:, :, start:end], k[:, :, lo:hi], v[:, :, lo:hi], attn_mask=(qi - kj).abs() <= window
        )
    return out


class SwiGLU(nn.Module):
    """Gated SiLU MLP: ``W₂ (silu(W₁ x) ⊙ W₃ x)``."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.w13 = nn.Linear(dim, 2 * hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, T, C]`` → ``[B, T, C]``."""
        a, g = self.w13(x).chunk(2, dim=-1)
        return self.w2(F.silu(a) * g)


class Block(nn.Module):
    """Pre-norm transformer block with LayerScale on both residual branches."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.dim, eps=cfg.norm_eps)
        self.attn = Attention(cfg.dim, cfg.num_heads, cfg.norm_eps, cfg.rope_base)
        self.norm2 = nn.LayerNorm(cfg.dim, eps=cfg.norm_eps)
        self.mlp = SwiGLU(cfg.dim, cfg.mlp_hidden)
        self.gamma1 = nn.Parameter(torch.full((cfg.dim,), cfg.layer_scale_init))
        self.gamma2 = nn.Parameter(torch.full((cfg.dim,), cfg.layer_scale_init))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, window: int = 0) -> torch.Tensor:
        """``x [B, T, C]`` → ``[B, T, C]``."""
        x = x + self.gamma1 * self.attn(self.norm1(x), mask, window)
        return x + self.gamma2 * self.mlp(self.norm2(x))


class Stack(nn.Module):
    """A run of blocks at one token rate sharing one sliding-window mask."""

    def __init__(self, cfg: ModelConfig, depth: int) -> None:
        super().__init__()
        self.window = cfg.window
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, T, C]`` → ``[B, T, C]``."""
        if not len(self.blocks):
            return x
        if self.window > 0 and x.shape[1] > LOCAL_THRESHOLD:
            # long input: blockwise local attention, memory linear in length
            for block in self.blocks:
                x = block(x, None, self.window)
            return x
        mask = sliding_window_mask(x.shape[1], self.window, x.device)
        for block in self.blocks:
            x = block(x, mask)
        return x


#: Frames per block in the STFT front end and the iSTFT head. Longer inputs are processed
#: blockwise, so their memory grows with the block, not with the input (600 s of audio would
#: otherwise hold ~1 GB of frame tensors). Both are frame-wise operations, so the result equals the
#: one-pass computation up to float summation order at the overlap-add seams; inputs of at most one
#: block (41 s at hop 160, and every training crop) take the one-pass path unchanged.
STFT_BLOCK_FRAMES = 4096


def _block_frames(per_token: int) -> int:
    """:data:`STFT_BLOCK_FRAMES` rounded down to whole tokens (at least one token)."""
    return max(per_token, STFT_BLOCK_FRAMES // per_token * per_token)


def _hann(n_fft: int, device: torch.device) -> torch.Tensor:
    return torch.hann_window(n_fft, device=device, dtype=torch.float32)


def _same_frames(wav: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Frames ``[B, T / hop, n_fft]`` (a view) of ``wav [B, 1, T]`` with "same" padding."""
    pad = (n_fft - hop) // 2
    x = F.pad(wav.float().flatten(1), (pad, pad))
    return x.unfold(-1, n_fft, hop)


def stft_same(wav: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Complex STFT ``[B, n_fft / 2 + 1, T / hop]`` of ``wav [B, 1, T]`` (T a multiple of hop).

    "Same" padding: ``(n_fft − hop) / 2`` zeros each side, so frame ``f`` is centred on samples
    ``[f·hop, (f+1)·hop)`` and there are exactly ``T / hop`` frames; periodic Hann window.
    """
    frames = _same_frames(wav, n_fft, hop)  # [B, F, n_fft]
    return torch.fft.rfft(frames * _hann(n_fft, wav.device), dim=-1).transpose(1, 2)


def istft_same(spec: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Inverse of :func:`stft_same`: ``[B, n_fft / 2 + 1, F]`` → waveform ``[B, 1, F · hop]``.

    Windowed overlap-add normalised by the summed squared window (exact inverse of an unmodified
    spectrum), then the same padding trimmed. Spectra longer than :data:`STFT_BLOCK_FRAMES` frames
    are inverted blockwise (:func:`istft_blocks`).
    """
    b, _, n = spec.shape
    return istft_blocks(lambda f0, f1: spec[:, :, f0:f1], b, n, n_fft, hop, spec.device)


def istft_blocks(
    spec_of: Callable[[int, int], torch.Tensor],
    batch: int,
    num_frames: int,
    n_fft: int,
    hop: int,
    device: torch.device,
    block: int = STFT_BLOCK_FRAMES,
) -> torch.Tensor:
    """Overlap-add inverse STFT of ``num_frames`` frames whose spectra ``spec_of(f0, f1)``
    (``[B, n_fft / 2 + 1, f1 − f0]``) are produced ``block`` frames at a time → ``[B, 1, F · hop]``.
    """
    window = _hann(n_fft, device)
    length = (num_frames - 1) * hop + n_fft
    pad = (n_fft - hop) // 2

    def fold(frames: torch.Tensor) -> torch.Tensor:  # [B', m, n_fft] → [B', (m − 1)·hop + n_fft]
        m = frames.shape[1]
        seg = (m - 1) * hop + n_fft
        out = F.fold(frames.transpose(1, 2), (1, seg), kernel_size=(1, n_fft), stride=(1, hop))
        return out.reshape(frames.shape[0], seg)

    def frames_of(f0: int, f1: int) -> torch.Tensor:
        return torch.fft.irfft(spec_of(f0, f1).transpose(1, 2), n=n_fft, dim=-1) * window

    if num_frames <= block:
        y = fold(frames_of(0, num_frames))
        env = fold(window.pow(2).expand(1, num_frames, n_fft))
    else:
        y = torch.zeros(batch, length, device=device, dtype=torch.float32)
        env = torch.zeros(1, length, device=device, dtype=torch.float32)
        for f0 in range(0, num_frames, block):
            f1 = min(num_frames, f0 + block)
            seg = (f1 - f0 - 1) * hop + n_fft
            start = f0 * hop
            y[:, start : start + seg] += fold(frames_of(f0, f1))
            env[:, start : start + seg] += fold(window.pow(2).expand(1, f1 - f0, n_fft))
    y = y[:, pad : length - pad] / env[:, pad : length - pad].clamp_min(1e-8)
    return y[:, None]


class STFTEmbed(nn.Module):
    """``stft`` front end: waveform ``[B, 1, T]`` → token embeddings ``[B, T / patch, C]``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_fft, self.hop = cfg.stft_n_fft, cfg.stft_hop
        self.per_token = cfg.patch_size // cfg.stft_hop
        self.proj = nn.Linear(self.per_token * (cfg.stft_n_fft // 2 + 1), cfg.dim)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        frames = _same_frames(wav, self.n_fft, self.hop)  # [B, F, n_fft] (a view)
        window = _hann(self.n_fft, wav.device)
        b, n, _ = frames.shape
        step = _block_frames(self.per_token)
        out = []
        for f0 in range(0, n, step):  # one pass up to STFT_BLOCK_FRAMES frames
            mag = torch.fft.rfft(frames[:, f0 : f0 + step] * window, dim=-1).abs()  # [B, m, bins]
            feat = torch.log(mag.clamp_min(1e-5))
            m, k = feat.shape[1], feat.shape[2]
            out.append(self.proj(feat.reshape(b, m // self.per_token, self.per_token * k)))
        return out[0] if len(out) == 1 else torch.cat(out, dim=1)


class ISTFTHead(nn.Module):
    """``istft`` head: tokens ``[B, N, C]`` → waveform ``[B, 1, N · patch]``.

    Each token predicts ``patch / hop`` frames of (log-magnitude, phase angle); magnitudes are
    ``exp`` clipped at 100, phase enters only through ``cos``/``sin`` (no wrap-around problem).
    Long inputs are synthesised :data:`STFT_BLOCK_FRAMES` frames at a time (:func:`istft_blocks`).

    A linear map from ``dim`` (128 at tiny scale) to ``2 · per_token · bins`` (1,284) outputs
    confines each token's spectra to a ``dim``-dimensional subspace; ``cfg.head_hidden > 0`` adds
    a GELU branch of that width beside it (output layer zero at init, so it starts as the linear
    head).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_fft, self.hop = cfg.stft_n_fft, cfg.stft_hop
        self.per_token = cfg.patch_size // cfg.stft_hop
        self.bins = cfg.stft_n_fft // 2 + 1
        self.proj = nn.Linear(cfg.dim, self.per_token * 2 * self.bins)
        self.branch: nn.Module | None = None
        if cfg.head_hidden > 0:
            out = nn.Linear(cfg.head_hidden, self.per_token * 2 * self.bins)
            nn.init.zeros_(out.weight)
            nn.init.zeros_(out.bias)
            self.branch = nn.Sequential(nn.Linear(cfg.dim, cfg.head_hidden), nn.GELU(), out)

    def _project(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, N, C]`` → ``[B, N, 2 · per_token · bins]``."""
        y = self.proj(x)
        return y if self.branch is None else y + self.branch(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        p = self.per_token

        def spec_of(f0: int, f1: int) -> torch.Tensor:  # frames [f0, f1) = tokens [f0/p, f1/p)
            t0, t1 = f0 // p, f1 // p
            out = self._project(x[:, t0:t1]).float().reshape(b, (t1 - t0) * p, 2, self.bins)
            mag = torch.exp(out[:, :, 0].clamp(max=math.log(100.0)))
            phase = out[:, :, 1]
            return torch.complex(mag * torch.cos(phase), mag * torch.sin(phase)).transpose(1, 2)

        return istft_blocks(spec_of, b, n * p, self.n_fft, self.hop, x.device, _block_frames(p))


class Encoder(nn.Module):
    """Waveform ``[B, 1, T]`` (T a multiple of ``hop_length``) → latent ``[B, D, T / hop]``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.patch: nn.Module = (
            STFTEmbed(cfg) if cfg.frontend == "stft" else nn.Linear(cfg.patch_size, cfg.dim)
        )
        self.stack50 = Stack(cfg, cfg.enc_blocks_50hz)
        self.down = nn.Conv1d(cfg.dim, cfg.dim, kernel_size=cfg.downsample, stride=cfg.downsample)
        self.stack25 = Stack(cfg, cfg.enc_blocks_25hz)
        self.norm = nn.LayerNorm(cfg.dim, eps=cfg.norm_eps)
        self.proj = nn.Linear(cfg.dim, cfg.latent_dim)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        b, _, t = wav.shape
        if self.cfg.frontend == "stft":
            x = self.patch(wav)  # [B, N, C]
        else:
            x = self.patch(wav.reshape(b, t // self.cfg.patch_size, self.cfg.patch_size))
        x = self.stack50(x)
        x = self.down(x.transpose(1, 2)).transpose(1, 2)  # [B, N / 2, C]
        x = self.stack25(x)
        return self.proj(self.norm(x)).transpose(1, 2)  # [B, D, F]


class Decoder(nn.Module):
    """Latent ``[B, D, F]`` → waveform ``[B, 1, F * hop]``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.proj = nn.Linear(cfg.latent_dim, cfg.dim)
        self.stack25 = Stack(cfg, cfg.dec_blocks_25hz)
        self.up = nn.ConvTranspose1d(
            cfg.dim, cfg.dim, kernel_size=cfg.downsample, stride=cfg.downsample
        )
        self.stack50 = Stack(cfg, cfg.dec_blocks_50hz)
        self.norm = nn.LayerNorm(cfg.dim, eps=cfg.norm_eps)
        if cfg.head == "istft":
            self.unpatch: nn.Module = ISTFTHead(cfg)
        elif cfg.head == "mlp" or cfg.unpatch_hidden > 0:
            # A width-``dim`` linear head confines each patch to a ``dim``-dimensional subspace of
            # the ``patch_size`` samples (128 < 320 at tiny scale); an MLP head lifts that limit.
            self.unpatch = nn.Sequential(
                nn.Linear(cfg.dim, cfg.unpatch_hidden),
                nn.GELU(),
                nn.Linear(cfg.unpatch_hidden, cfg.patch_size),
            )
        else:
            self.unpatch = nn.Linear(cfg.dim, cfg.patch_size)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.proj(z.transpose(1, 2))  # [B, F, C]
        x = self.stack25(x)
        x = self.up(x.transpose(1, 2)).transpose(1, 2)  # [B, 2F, C]
        x = self.stack50(x)
        y = self.unpatch(self.norm(x))  # [B, 2F, P], or [B, 1, 2F · P] from the iSTFT head
        return y.reshape(y.shape[0], 1, -1)


class TAAE(nn.Module):
    """Transformer audio auto-encoder with a swappable bottleneck.

    Args:
        model_cfg: encoder/decoder shape.
        bottleneck_cfg: quantizer description.
        device: where parameters are created.
    """

    def __init__(
        self,
        model_cfg: ModelConfig,
        bottleneck_cfg: BottleneckConfig,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        self.cfg = model_cfg
        self.encoder = Encoder(model_cfg)
        self.decoder = Decoder(model_cfg)
        self.bottleneck: Bottleneck = build_bottleneck(
            bottleneck_cfg, model_cfg.latent_dim, model_cfg.frame_rate
        )
        self.to(device)

    # ---------------------------------------------------------------------------------- lengths
    @property
    def hop_length(self) -> int:
        """Samples per latent frame (640)."""
        return self.cfg.hop_length

    @property
    def frame_rate(self) -> float:
        """Latent frames per second (25.0)."""
        return self.cfg.frame_rate

    def pad(self, wav: torch.Tensor) -> torch.Tensor:
        """Zero-pad ``wav [B, 1, T]`` at the end to a multiple of :attr:`hop_length`."""
        if wav.dim() != 3 or wav.shape[1] != 1:
            raise ValueError(f"expected [B, 1, T] audio, got {tuple(wav.shape)}")
        rem = (-wav.shape[-1]) % self.hop_length
        return F.pad(wav, (0, rem)) if rem else wav

    def num_frames(self, num_samples: int) -> int:
        """Latent frames for ``num_samples`` input samples (``ceil(T / 640)``)."""
        return -(-num_samples // self.hop_length)

    # ------------------------------------------------------------------------------ components
    def encode_latent(self, wav: torch.Tensor) -> torch.Tensor:
        """Pre-bottleneck latent ``[B, D, F]`` of ``wav [B, 1, T]`` (any ``T``)."""
        return self.encoder(self.pad(wav))

    @torch.no_grad()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, K, F]`` int64 of ``wav [B, 1, T]``, ``F = ceil(T / 640)``."""
        return self.bottleneck.encode(self.encode_latent(wav))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Waveform ``[B, 1, F * 640]`` (or trimmed to ``length``) of codes ``[B, K, F]``."""
        y = self.decoder(self.bottleneck.decode(codes))
        return y[..., :length] if length is not None else y

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, BottleneckResult]:
        """Reconstruct ``wav [B, 1, T]``: (``[B, 1, T]``, bottleneck result, codes ``[B, K, F]``).

        In training mode the bottleneck applies its training-time quantization emulation.
        """
        length = wav.shape[-1]
        result = self.bottleneck(self.encode_latent(wav))
        y = self.decoder(result.z_q)
        return y[..., :length], result

    @torch.no_grad()
    def reconstruct_unquantized(self, wav: torch.Tensor) -> torch.Tensor:
        """Decode the bounded but unquantized latent (for the quantization gap), ``[B, 1, T]``."""
        z = self.bottleneck.bound(self.encode_latent(wav))
        return self.decoder(z)[..., : wav.shape[-1]]

    def set_bottleneck(self, bottleneck: Bottleneck) -> None:
        """Swap the bottleneck (e.g. a post-hoc residual FSQ) keeping encoder and decoder."""
        if bottleneck.latent_dim != self.cfg.latent_dim:
            raise ValueError("bottleneck latent_dim does not match the model")
        device = next(self.parameters()).device
        self.bottleneck = bottleneck.to(device)


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
