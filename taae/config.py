"""Configuration of a TAAE model, its bottleneck, its losses and its training run.

Everything a run depends on lives in one frozen :class:`TAAEConfig` (nanoGPT-style: no hidden
defaults in constructors). Presets are built in :mod:`taae.presets`; a checkpoint stores its config
as JSON and :func:`config_from_dict` rebuilds it exactly.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

FSQMode = Literal["hybrid", "ste", "noise", "none"]
BottleneckKind = Literal["fsq", "rvq"]
Frontend = Literal["patch", "stft"]
Head = Literal["linear", "mlp", "istft"]


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the transformer auto-encoder (encoder and mirrored decoder)."""

    sample_rate: int = 16000  # Hz; the model's only rate (callers resample)
    patch_size: int = 320  # samples per patch: 20 ms at 16 kHz → 50 Hz tokens
    downsample: int = 2  # stride of the conv that takes 50 Hz tokens to 25 Hz latents
    dim: int = 128  # transformer width (same at 50 Hz and 25 Hz)
    num_heads: int = 2  # attention heads per block
    mlp_hidden: int = 336  # SwiGLU hidden width
    enc_blocks_50hz: int = 2  # encoder blocks before the strided conv
    enc_blocks_25hz: int = 2  # encoder blocks after the strided conv
    dec_blocks_25hz: int = 2  # decoder blocks before the transposed conv (mirror)
    dec_blocks_50hz: int = 2  # decoder blocks after the transposed conv (mirror)
    window: int = (
        16  # sliding-window half width in tokens (|i - j| <= window); <= 0: full attention
    )
    layer_scale_init: float = 0.1  # LayerScale init on both residual branches (paper: 1e-5 at 950M)
    norm_eps: float = 1e-2  # LayerNorm epsilon; large so silence does not blow up activations
    rope_base: float = 10000.0  # RoPE frequency base
    latent_dim: int = 6  # bottleneck width (the paper's 6-dim FSQ latent)
    unpatch_hidden: int = 0  # width of the "mlp" head's GELU layer (> 0 also selects "mlp")
    frontend: Frontend = "patch"  # "patch": linear 320-sample patches (paper); "stft": log-|STFT|
    head: Head = "linear"  # "linear" token → patch (paper), "mlp", or "istft" (Vocos-style)
    stft_n_fft: int = 640  # FFT size of the STFT front end and the iSTFT head (40 ms)
    stft_hop: int = 160  # their hop (10 ms); patch_size / stft_hop frames per 50 Hz token
    # width of a residual GELU branch beside the iSTFT head's linear projection (0: none); its
    # output layer starts at zero, so the head starts as the plain linear one
    head_hidden: int = 0

    def __post_init__(self) -> None:
        if self.frontend not in ("patch", "stft"):
            raise ValueError(f"model.frontend must be 'patch' or 'stft', not {self.frontend!r}")
        if self.head not in ("linear", "mlp", "istft"):
            raise ValueError(f"model.head must be 'linear', 'mlp' or 'istft', not {self.head!r}")
        if self.head == "mlp" and self.unpatch_hidden <= 0:
            raise ValueError("model.head='mlp' needs model.unpatch_hidden > 0")
        if self.head_hidden and self.head != "istft":
            raise ValueError("model.head_hidden > 0 needs model.head='istft'")
        if "stft" in (self.frontend, self.head[1:]) and (
            self.patch_size % self.stft_hop or (self.stft_n_fft - self.stft_hop) % 2
        ):
            raise ValueError("stft_hop must divide patch_size and n_fft − hop must be even")

    @property
    def hop_length(self) -> int:
        """Samples per latent frame (640 = 40 ms)."""
        return self.patch_size * self.downsample

    @property
    def frame_rate(self) -> float:
        """Latent frames per second (25 Hz)."""
        return self.sample_rate / self.hop_length


@dataclass(frozen=True)
class BottleneckConfig:
    """The quantizer between encoder and decoder; ``kind`` picks which fields apply."""

    kind: BottleneckKind = "fsq"  # "fsq" (finite scalar) or "rvq" (residual vector quantization)
    levels: tuple[int, ...] = (17,) * 6  # FSQ levels per latent dim (L = 2^n + 1 nests post hoc)
    fsq_mode: FSQMode = (
        "hybrid"  # FSQ training-time quantization emulation (inference always rounds)
    )
    hybrid_probs: tuple[float, float, float] = (
        0.5,
        0.25,
        0.25,
    )  # hybrid: P(noise), P(STE), P(none)
    rvq_target_bps: float = 0.0  # RVQ bitrate to match; 0 = the FSQ ``levels`` bitrate
    rvq_num_quantizers: int = 2  # RVQ stages (codebook size is derived from the target bitrate)
    rvq_decay: float = 0.99  # EMA decay of RVQ codebooks
    rvq_kmeans_init: bool = True  # k-means initialisation of codebooks on the first batch
    rvq_dead_code_threshold: float = 2.0  # replace codes whose EMA usage falls below this
    rvq_commitment_weight: float = 1.0  # commitment loss weight inside the RVQ aux loss
    rvq_quantize_dropout: bool = False  # quantizer dropout (train with a random number of stages)
    # False: straight-through gradient as in EnCodec/DAC (vector-quantize-pytorch 1.32 defaults to
    # the rotation trick; checkpoints written before this field existed were trained with it)
    rvq_rotation_trick: bool = False

    def fsq_bits_per_frame(self) -> float:
        """``Σ_d log2(L_d)``: bits of one FSQ frame."""
        return sum(math.log2(level) for level in self.levels)


@dataclass(frozen=True)
class LossConfig:
    """Loss terms (names as logged) and their weights; a weight of 0 disables a term."""

    mel_weight: float = 1.0  # rec/mel: multi-resolution log-mel L1
    stft_weight: float = 1.0  # rec/stft: multi-resolution STFT (spectral convergence + log-mag L1)
    wave_weight: float = 0.0  # rec/wave: waveform L1 (cheap phase-aware term)
    complex_weight: float = 0.0  # rec/complex: L1 on compressed complex STFT (phase-aware)
    adv_weight: float = 0.0  # adv/gen: hinge adversarial loss of the generator
    fm_weight: float = 0.0  # fm/l1: normalised L1 feature matching
    aux_weight: float = 1.0  # vq/aux: bottleneck auxiliary loss (RVQ commitment; FSQ has none)
    adv_start_step: int = 0  # adversarial and feature-matching terms switch on at this step
    mag_floor: float = 1e-7  # rec/stft log-magnitude floor (1e-4 ≈ auraloss's effective floor)
    mel_fft_sizes: tuple[int, ...] = (512, 1024, 2048)  # mel loss FFT sizes (hop = n_fft / 4)
    mel_bins: tuple[int, ...] = (40, 80, 128)  # mel bands per resolution
    stft_fft_sizes: tuple[int, ...] = (512, 1024, 2048)  # STFT/complex loss FFT sizes (hop n/4)
    disc_fft_sizes: tuple[int, ...] = (512, 1024, 2048)  # MR-STFT discriminator resolutions
    disc_channels: int = 32  # discriminator conv width
    disc_lr: float = 1e-4  # discriminator AdamW learning rate
    disc_crops: int = 0  # adversarial / FM terms and the D step on the first N crops (0: all)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and bookkeeping of a training run."""

    steps: int = 6000  # total optimizer steps (cosine schedule length)
    batch_size: int = 16  # crops per step per process
    crop_seconds: float = 1.0  # random crop length (rounded up to a multiple of the hop)
    lr: float = 1e-3  # peak AdamW learning rate
    betas: tuple[float, float] = (0.9, 0.95)  # AdamW betas
    weight_decay: float = 0.01  # AdamW weight decay
    warmup_steps: int = 200  # linear warm-up steps
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio
    grad_clip: float = 1.0  # max global gradient norm
    seed: int = 0  # seeds model init, data sampling and quantization noise
    ckpt_every: int = 500  # steps between checkpoints
    val_every: int = 500  # steps between validation passes
    val_segments: int = 8  # fixed validation crops (from --val-data, else from the training files)
    val_seconds: float = 2.0  # validation crop length
    log_every: int = 25  # steps between log lines in log.jsonl
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU); FSQ rounding stays in float32
    init_from: str = ""  # start from this checkpoint's weights (fine-tuning; same architecture)
    # let ``init_from`` be a smaller model: more decoder blocks and/or a ``head_hidden`` branch;
    # the added parts start as the identity (LayerScale 0, zero output layer), see init_weights
    init_grow: bool = False

    def crop_samples(self, hop: int, sample_rate: int) -> int:
        """Crop length in samples, a multiple of ``hop``."""
        n = int(round(self.crop_seconds * sample_rate))
        return max(hop, int(math.ceil(n / hop)) * hop)


@dataclass(frozen=True)
class TAAEConfig:
    """A complete preset: model, bottleneck, losses and training."""

    name: str = "custom"  # preset name (recorded in checkpoints)
    model: ModelConfig = field(default_factory=ModelConfig)
    bottleneck: BottleneckConfig = field(default_factory=BottleneckConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def config_to_dict(cfg: TAAEConfig) -> dict[str, Any]:
    """JSON-ready nested dict (tuples become lists)."""
    return dataclasses.asdict(cfg)


def _build(cls: type, data: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    names = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in data.items():
        if key not in names:
            raise ValueError(f"unknown field {cls.__name__}.{key}")
        if isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def config_from_dict(data: dict[str, Any]) -> TAAEConfig:
    """Inverse of :func:`config_to_dict`."""
    return TAAEConfig(
        name=data.get("name", "custom"),
        model=_build(ModelConfig, data.get("model", {})),
        bottleneck=_build(BottleneckConfig, data.get("bottleneck", {})),
        loss=_build(LossConfig, data.get("loss", {})),
        train=_build(TrainConfig, data.get("train", {})),
    )


def flatten(cfg: TAAEConfig) -> dict[str, Any]:
    """``{"bottleneck.fsq_mode": "hybrid", ...}`` for every field except the name."""
    out: dict[str, Any] = {}
    for section in ("model", "bottleneck", "loss", "train"):
        for key, value in dataclasses.asdict(getattr(cfg, section)).items():
            out[f"{section}.{key}"] = value
    return out


def config_diff(a: TAAEConfig, b: TAAEConfig) -> dict[str, tuple[Any, Any]]:
    """Fields (``section.field``) whose values differ between ``a`` and ``b``, as ``(a, b)``."""
    fa, fb = flatten(a), flatten(b)
    return {k: (fa[k], fb[k]) for k in fa if fa[k] != fb[k]}


def with_overrides(cfg: TAAEConfig, overrides: list[str]) -> TAAEConfig:
    """``cfg`` with ``section.field=value`` assignments applied (values parsed as Python literals).

    ``with_overrides(cfg, ["loss.wave_weight=1.0", "model.unpatch_hidden=512"])``; a typo in a
    section or field name raises ``ValueError`` listing the valid names.
    """
    import ast

    sections = {f.name for f in dataclasses.fields(TAAEConfig)} - {"name"}
    for item in overrides:
        key, sep, raw = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or section not in sections:
            raise ValueError(
                f"override {item!r}: expected section.field=value, section in {sorted(sections)}"
            )
        sub = getattr(cfg, section)
        fields = {f.name for f in dataclasses.fields(sub)}
        if name not in fields:
            raise ValueError(
                f"override {item!r}: {section} has no field {name!r} "
                f"(fields: {', '.join(sorted(fields))})"
            )
        try:
            value = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            value = raw.strip()
        if isinstance(value, list):
            value = tuple(value)
        old = getattr(sub, name)
        if isinstance(old, float) and isinstance(value, int):
            value = float(value)
        if type(value) is not type(old):
            raise ValueError(
                f"override {item!r}: {section}.{name} is {type(old).__name__}, "
                f"got {type(value).__name__}"
            )
        cfg = dataclasses.replace(cfg, **{section: dataclasses.replace(sub, **{name: value})})
    return cfg
