"""Named presets: ``<size>_<bottleneck>[_<fsq mode>]_<bitrate>``.

Sizes: ``tiny`` (1.7 M parameters; trains on 2 CPU cores in tens of minutes), ``small`` (52 M; one
GPU), ``paper`` (≈950 M; the paper's scale, multi-GPU). Within a size and bitrate, every ablation
variant differs from the reference ``*_fsq_hybrid_*`` preset in exactly one field
(:func:`ablation_diff` returns it; a test checks it). ``test`` is a micro config for unit tests.

Bitrates are derived (25 Hz × Σ log2 L = 613 bps for 6 × 17 levels; 348 bps for 6 × 5 levels);
RVQ variants derive their codebook size from the same bitrate (2 stages × 4913 entries = 613 bps).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from taae.config import (
    BottleneckConfig,
    LossConfig,
    ModelConfig,
    TAAEConfig,
    TrainConfig,
    config_diff,
)

FSQ_MODES = ("hybrid", "ste", "noise", "none")

_TINY = TAAEConfig(
    name="tiny",
    model=ModelConfig(
        dim=128,
        num_heads=2,
        mlp_hidden=336,
        enc_blocks_50hz=2,
        enc_blocks_25hz=2,
        dec_blocks_25hz=2,
        dec_blocks_50hz=2,
        window=16,
        layer_scale_init=0.1,
    ),
    bottleneck=BottleneckConfig(levels=(17,) * 6),
    loss=LossConfig(
        mel_weight=1.0,
        stft_weight=1.0,
        complex_weight=1.0,
        wave_weight=0.0,
        adv_weight=0.0,
        fm_weight=0.0,
    ),
    train=TrainConfig(
        steps=6000,
        batch_size=16,
        crop_seconds=1.0,
        lr=1e-3,
        warmup_steps=200,
        grad_clip=1.0,
        ckpt_every=500,
        val_every=500,
    ),
)

# The CPU recipe under search (results/recipes.md): tiny's transformer with the STFT front end and
# the iSTFT head, no complex-STFT loss (it made the output 4–6 dB quiet), an auraloss-like log floor
# and a fixed 12 k-step schedule that resumes without re-warming. Departures from the paper.
_TINYSPEC = dataclasses.replace(
    _TINY,
    name="tinyspec",
    model=dataclasses.replace(_TINY.model, frontend="stft", head="istft"),
    loss=dataclasses.replace(_TINY.loss, complex_weight=0.0, mag_floor=1e-4),
    train=dataclasses.replace(_TINY.train, steps=12000, ckpt_every=1000, val_every=1000),
)

_SMALL = TAAEConfig(
    name="small",
    model=ModelConfig(
        dim=512,
        num_heads=8,
        mlp_hidden=1368,
        enc_blocks_50hz=4,
        enc_blocks_25hz=4,
        dec_blocks_25hz=4,
        dec_blocks_50hz=4,
        window=64,
        layer_scale_init=1e-2,
    ),
    bottleneck=BottleneckConfig(levels=(17,) * 6),
    loss=LossConfig(complex_weight=1.0, adv_weight=1.0, fm_weight=2.0, adv_start_step=20000),
    train=TrainConfig(
        steps=200_000,
        batch_size=32,
        crop_seconds=4.0,
        lr=3e-4,
        warmup_steps=2000,
        ckpt_every=2000,
        val_every=2000,
    ),
)

_PAPER = TAAEConfig(
    name="paper",
    model=ModelConfig(
        dim=1024,
        num_heads=16,
        mlp_hidden=4096,
        enc_blocks_50hz=14,
        enc_blocks_25hz=14,
        dec_blocks_25hz=14,
        dec_blocks_50hz=14,
        window=128,
        layer_scale_init=1e-5,
    ),
    bottleneck=BottleneckConfig(levels=(17,) * 6),
    loss=LossConfig(complex_weight=0.0, adv_weight=1.0, fm_weight=2.0, adv_start_step=0),
    train=TrainConfig(
        steps=500_000,
        batch_size=16,
        crop_seconds=5.12,
        lr=1e-4,
        warmup_steps=5000,
        ckpt_every=5000,
        val_every=5000,
    ),
)

_TEST = TAAEConfig(
    name="test",
    model=ModelConfig(
        dim=32,
        num_heads=2,
        mlp_hidden=64,
        enc_blocks_50hz=1,
        enc_blocks_25hz=1,
        dec_blocks_25hz=1,
        dec_blocks_50hz=1,
        window=2,
        layer_scale_init=0.1,
    ),
    bottleneck=BottleneckConfig(levels=(17,) * 6),
    loss=LossConfig(
        complex_weight=1.0,
        wave_weight=1.0,
        adv_weight=1.0,
        fm_weight=1.0,
        adv_start_step=1,
        mel_fft_sizes=(256, 512),
        mel_bins=(32, 64),
        stft_fft_sizes=(256, 512),
        disc_fft_sizes=(256, 512),
        disc_channels=8,
    ),
    train=TrainConfig(
        steps=20,
        batch_size=4,
        crop_seconds=0.2,
        lr=3e-3,
        warmup_steps=2,
        ckpt_every=10,
        val_every=10,
        val_segments=2,
        val_seconds=0.2,
        log_every=1,
    ),
)


def _bps(levels: tuple[int, ...]) -> int:
    return round(BottleneckConfig(levels=levels).fsq_bits_per_frame() * 25.0)


def _variants(base: TAAEConfig, size: str, levels: tuple[int, ...]) -> dict[str, TAAEConfig]:
    """The five ablation variants of one size at one bitrate."""
    bps = _bps(levels)
    ref = dataclasses.replace(base, bottleneck=dataclasses.replace(base.bottleneck, levels=levels))
    out: dict[str, TAAEConfig] = {}
    for mode in FSQ_MODES:
        name = f"{size}_fsq_{mode}_{bps}bps"
        bottleneck = dataclasses.replace(ref.bottleneck, fsq_mode=mode)
        out[name] = dataclasses.replace(ref, name=name, bottleneck=bottleneck)
    name = f"{size}_rvq_{bps}bps"
    out[name] = dataclasses.replace(
        ref, name=name, bottleneck=dataclasses.replace(ref.bottleneck, kind="rvq")
    )
    return out


PRESETS: dict[str, TAAEConfig] = {}
PRESETS.update(_variants(_TINY, "tiny", (17,) * 6))
PRESETS.update(_variants(_TINY, "tiny", (5,) * 6))  # lower-bitrate point where the bottleneck binds
PRESETS.update(_variants(_TINYSPEC, "tinyspec", (17,) * 6))
PRESETS.update(_variants(_TINYSPEC, "tinyspec", (5,) * 6))  # the ablation at the CPU recipe
PRESETS.update(_variants(_SMALL, "small", (17,) * 6))
PRESETS.update(_variants(_PAPER, "paper", (17,) * 6))
PRESETS.update(_variants(_TEST, "test", (17,) * 6))
PRESETS["test"] = dataclasses.replace(PRESETS["test_fsq_hybrid_613bps"], name="test")


def _tuned_name(base: str, tag: str) -> str:
    """Name of fine-tune ``tag`` of preset ``base``: ``tinyspec_rvq_613bps`` →
    ``tinyspec_rvq_<tag>_613bps`` (``taae.codec.finetune_tag`` reads the tag back)."""
    stem, bps = base.rsplit("_", 1)
    return f"{stem}_{tag}_{bps}"


def _adversarial(base: str) -> TAAEConfig:
    """Adversarial fine-tuning of the shipped checkpoint of ``base`` (issue #24,
    ``results/recipes.md`` A4): the same reconstruction losses plus a light multi-resolution STFT
    discriminator (3 resolutions × 16 channels, hinge loss, on 4 of the 16 crops) at weight 0.3
    with feature matching at 1.0; lr 1e-4 over a 4,000-step schedule from ``checkpoints/<base>``,
    shipped at step 2,000 (chosen on dev-clean). Sized for one CPU thread (0.83 steps/s alone)."""
    cfg = PRESETS[base]
    return dataclasses.replace(
        cfg,
        name=_tuned_name(base, "adv"),
        loss=dataclasses.replace(
            cfg.loss,
            adv_weight=0.3,
            fm_weight=1.0,
            disc_fft_sizes=(512, 1024, 2048),
            disc_channels=16,
            disc_crops=4,
            disc_lr=2e-4,
        ),
        train=dataclasses.replace(
            cfg.train,
            init_from=f"checkpoints/{base}",
            lr=1e-4,
            warmup_steps=100,
            steps=4000,
            val_every=500,
            ckpt_every=500,
            log_every=100,
        ),
    )


def _adversarial_large(base: str) -> TAAEConfig:
    """:func:`_adversarial` on a decoder grown to ≈ 5.2 M parameters in all (issue #24's third
    lever, ``results/recipes.md`` A5): three more transformer blocks at each decoder rate and a
    1,536-wide GELU branch beside the iSTFT head's linear projection, all added as the identity
    (``train.init_grow``), so training starts from exactly the shipped model's output."""
    cfg = _adversarial(base)
    return dataclasses.replace(
        cfg,
        name=_tuned_name(base, "advlarge"),
        model=dataclasses.replace(
            cfg.model, dec_blocks_25hz=5, dec_blocks_50hz=5, head_hidden=1536
        ),
        train=dataclasses.replace(cfg.train, init_grow=True, steps=3000),
    )


#: fine-tuned preset → the preset whose shipped checkpoint it starts from (not ablation variants:
#: they differ from their base in the fine-tuning stage, not in one field)
FINETUNED: dict[str, str] = {}
for _base in ("tinyspec_fsq_hybrid_613bps", "tinyspec_rvq_613bps"):
    for _make in (_adversarial, _adversarial_large):
        _cfg = _make(_base)
        PRESETS[_cfg.name] = _cfg
        FINETUNED[_cfg.name] = _base


def get_preset(name: str) -> TAAEConfig:
    """The preset called ``name``; ``KeyError`` listing close names when unknown."""
    if name not in PRESETS:
        import difflib

        close = difflib.get_close_matches(name, list(PRESETS), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown preset {name!r}{hint}")
    return PRESETS[name]


def reference_of(name: str) -> str:
    """The FSQ-hybrid reference preset an ablation variant is compared with (a fine-tuned
    preset's reference is the preset it starts from)."""
    if name in FINETUNED:
        return FINETUNED[name]
    cfg = get_preset(name)
    size = name.split("_")[0]
    bps = _bps(cfg.bottleneck.levels)
    return f"{size}_fsq_hybrid_{bps}bps"


def ablation_diff(name: str) -> dict[str, tuple[Any, Any]]:
    """Fields in which preset ``name`` differs from its reference (``(reference, variant)``)."""
    return config_diff(get_preset(reference_of(name)), get_preset(name))
