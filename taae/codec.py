"""TAAE codecs: this project's transformer auto-encoder as a ``bench.codecs`` plugin.

Registered through the entry point ``taae = "taae.codec"`` in ``pyproject.toml`` (the worked
example of an installed plugin: ``audiocodecs`` never imports ``taae``).

Entries and the checkpoints they load (``$TAAE_CHECKPOINTS`` or ``<repo>/checkpoints``, one folder
per preset holding ``model.safetensors`` + ``config.json``). The unprefixed names are the CPU recipe
(``tinyspec``: STFT front end + iSTFT head, ``results/recipes.md`` #2); the paper-faithful patch
front end + linear head at tiny size carries the ``taae_tiny_`` prefix:

=======================  ==============================  ===========================================
name                     preset (checkpoint folder)      bottleneck
=======================  ==============================  ===========================================
taae_fsq                 tinyspec_fsq_hybrid_adv_613bps  FSQ 6 × 17, hybrid, 613 bps, then
                                                         the adversarial stage of issue #24
taae_rvq                 tinyspec_rvq_adv_613bps         RVQ 2 × 4913, 613 bps, same stage
taae_fsq_recon           tinyspec_fsq_hybrid_613bps      ``taae_fsq`` before that stage
taae_rvq_recon           tinyspec_rvq_613bps             ``taae_rvq`` before that stage
taae_fsq_advlarge        tinyspec_fsq_hybrid_advlarge_…  the stage on a decoder grown to 5.2 M
taae_rvq_advlarge        tinyspec_rvq_advlarge_613bps    parameters (``results/recipes.md`` A5)
taae_fsq_ste             tinyspec_fsq_ste_613bps         FSQ, straight-through-only
taae_fsq_noise           tinyspec_fsq_noise_613bps       FSQ, noise-only training
taae_fsq_none            tinyspec_fsq_none_613bps        FSQ, no quantization emulation
taae_fsq@400bps          tinyspec_fsq_hybrid_adv_613bps  post-hoc residual FSQ 1 × 6^6, 388 bps
taae_fsq@700bps          tinyspec_fsq_hybrid_adv_613bps  post-hoc residual FSQ 2 × 5^6, 697 bps
taae_fsq@1000bps         tinyspec_fsq_hybrid_adv_613bps  post-hoc residual FSQ 4 × 3^6, 951 bps
taae_fsq_348 …           tinyspec_fsq_hybrid_348bps …    FSQ 6 × 5 (348 bps), five variants
taae_rvq_348             tinyspec_rvq_348bps             RVQ 2 × 125 entries (348 bps)
taae_tiny_fsq …          tiny_fsq_hybrid_613bps …        the same names with ``taae_tiny_``
taae_tiny_fsq_ste_348 …  tiny_fsq_ste_348bps …           for the patch/linear tiny models
taae_small_fsq …         small_fsq_hybrid_613bps …       five variants at small / paper scale
taae_test_fsq …          test_fsq_hybrid_613bps …        micro presets for the ablation tests
taae_fsq_random          (none: random init)             tiny FSQ hybrid, untrained (tests)
=======================  ==============================  ===========================================

Frame rate 25 Hz at 16 kHz; nominal bitrate = 25 × Σ log2(codebook size), derived from the loaded
bottleneck. Missing checkpoints make an entry unavailable with the command that trains it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from audiocodecs.base import Codec, CodecUnavailable
from audiocodecs.registry import register_codec, set_family_default

CHECKPOINT_ENV = "TAAE_CHECKPOINTS"
TRAIN_DATA_HINT = (
    "../shared/data/speech/ljspeech ../shared/data/speech/librispeech/other data/asterisk"
)

#: ablation variant → registry-name stem (``taae_fsq_ste`` …)
ABLATION_STEMS: dict[str, str] = {
    "hybrid": "taae_fsq",
    "ste": "taae_fsq_ste",
    "noise": "taae_fsq_noise",
    "none": "taae_fsq_none",
    "rvq": "taae_rvq",
}
#: bitrate family → registry-name suffix (the paper's 613 bps point has none)
FAMILY_SUFFIX: dict[int, str] = {613: "", 348: "_348"}


#: registry-name suffix of an ablation preset whose plain name serves its fine-tuned preset
#: (``taae_fsq_recon``: trained with reconstruction losses only, before issue #24's stage)
RECON_SUFFIX = "_recon"


#: base preset → the fine-tuned preset (one of ``taae.presets.FINETUNED``) that serves the base's
#: plain registry name (``taae_fsq``): chosen on dev-clean by the rules of ``results/recipes.md``.
#: The base then answers to ``<name>_recon``; every other fine-tune of it to ``<name>_<tag>``
#: (``taae_fsq_advlarge``: :func:`finetune_tag`).
SERVES_PLAIN_NAME: dict[str, str] = {
    "tinyspec_fsq_hybrid_613bps": "tinyspec_fsq_hybrid_adv_613bps",
    "tinyspec_rvq_613bps": "tinyspec_rvq_adv_613bps",
}


def finetune_of(preset: str) -> str | None:
    """The fine-tuned preset that starts from ``preset``'s checkpoint and takes over its
    registry name (:data:`SERVES_PLAIN_NAME`), or ``None``."""
    return SERVES_PLAIN_NAME.get(preset)


def finetune_tag(tuned: str, base: str) -> str:
    """What fine-tuned preset ``tuned`` inserts before the bitrate of ``base``:
    ``finetune_tag("tinyspec_rvq_advlarge_613bps", "tinyspec_rvq_613bps") == "advlarge"``."""
    stem, bps = base.rsplit("_", 1)
    if not (tuned.startswith(stem + "_") and tuned.endswith("_" + bps)):
        raise ValueError(f"fine-tuned preset {tuned!r} is not named <{stem}>_<tag>_<{bps}>")
    return tuned[len(stem) + 1 : -len(bps) - 1]


def other_finetunes(preset: str) -> list[str]:
    """Fine-tunes of ``preset`` that do not serve its plain registry name (in preset order)."""
    from taae.presets import FINETUNED

    return [t for t, b in FINETUNED.items() if b == preset and t != finetune_of(preset)]


def ablation_codec_name(variant: str, bps: int, scale: str = "tinyspec") -> str:
    """Registry name of an ablation variant: ``taae_fsq_ste_348`` (the default ``tinyspec``
    scale), ``taae_tiny_rvq_348``, ``taae_small_rvq`` … (``taae_fsq_recon`` where the plain name
    serves a fine-tuned model: :func:`finetune_of`)."""
    stem = ABLATION_STEMS[variant]
    if scale != DEFAULT_SCALE:
        stem = stem.replace("taae_", f"taae_{scale}_", 1)
    name = stem + FAMILY_SUFFIX[bps]
    return name + RECON_SUFFIX if finetune_of(ablation_preset(variant, bps, scale)) else name


def ablation_preset(variant: str, bps: int, scale: str = "tinyspec") -> str:
    """Preset of an ablation variant: ``tiny_fsq_hybrid_613bps`` … ``tiny_rvq_613bps``."""
    if variant == "rvq":
        return f"{scale}_rvq_{bps}bps"
    return f"{scale}_fsq_{variant}_{bps}bps"


#: post-hoc residual-FSQ ladder served from a tiny hybrid model: suffix → (preset, stages, bps)
LADDER: dict[str, tuple[str, str, int]] = {
    "@400bps": ("1x46656_400bps", "1×6^6", 388),
    "@700bps": ("2x15625_700bps", "2×5^6", 697),
    "@1000bps": ("4x729_1000bps", "4×3^6", 951),
}
LADDER_SUFFIXES = tuple(LADDER)
SCALES = ("tiny", "tinyspec", "small", "paper", "test")
#: the scale whose registry names carry no scale prefix (``taae_fsq``, ``taae_rvq`` …): the CPU
#: recipe that beats Codec 2 700C (``results/recipes.md``)
DEFAULT_SCALE = "tinyspec"
#: scales whose FSQ hybrid models also serve the post-hoc residual-FSQ ladder
LADDER_SCALES = ("tiny", "tinyspec")
TEST_SCALE_PREFIX = "taae_test_"
_MODE_TEXT = {
    "hybrid": "hybrid-trained",
    "ste": "STE-only",
    "noise": "noise-only",
    "none": "no quantization emulation",
}


def _entries() -> dict[str, tuple[str, str | None, str]]:
    """registry name → (preset, post-hoc residual FSQ preset or None, description).

    Every ablation family whose presets exist (tinyspec and tiny at 613 and 348 bps; small and
    paper at 613 bps — the GPU path; the micro ``test`` scale used by tests), plus the
    residual-FSQ ladder of each tiny / tinyspec hybrid model.
    """
    from taae.presets import PRESETS

    out: dict[str, tuple[str, str | None, str]] = {}
    for scale in SCALES:
        for bps in FAMILY_SUFFIX:
            for variant in ABLATION_STEMS:
                preset = ablation_preset(variant, bps, scale)
                if preset not in PRESETS:
                    continue
                levels = PRESETS[preset].bottleneck.levels
                grid = f"FSQ {len(levels)}×{levels[0]}"
                what = "RVQ" if variant == "rvq" else f"{grid} {_MODE_TEXT[variant]}"
                name = ablation_codec_name(variant, bps, scale)
                label = f"TAAE {scale}, {what}, {bps} bps"
                tuned = finetune_of(preset)
                recon = ", reconstruction losses only" if tuned else ""
                out[name] = (preset, None, label + recon)
                if tuned:  # the plain name (and its ladder) serves the fine-tuned model
                    for other in other_finetunes(preset):
                        tag = finetune_tag(other, preset)
                        grown = PRESETS[other].model != PRESETS[preset].model
                        what = f"adversarial stage{' on a grown decoder' if grown else ''}"
                        plain = name.removesuffix(RECON_SUFFIX)
                        out[f"{plain}_{tag}"] = (other, None, f"{label}, + {what} ({other})")
                    name, preset = name.removesuffix(RECON_SUFFIX), tuned
                    out[name] = (preset, None, f"{label}, + adversarial stage")
                if scale in LADDER_SCALES and variant == "hybrid":
                    for suffix, (posthoc, stages, ladder_bps) in LADDER.items():
                        out[name + suffix] = (
                            preset,
                            posthoc,
                            f"TAAE {scale} {grid} hybrid, post-hoc residual FSQ {stages}, "
                            f"{ladder_bps} bps",
                        )
    return out


def checkpoint_root() -> Path:
    """Folder holding one checkpoint folder per preset (``$TAAE_CHECKPOINTS`` overrides)."""
    env = os.environ.get(CHECKPOINT_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "checkpoints"


def checkpoint_dir(preset: str) -> Path:
    """Where the checkpoint of ``preset`` is expected."""
    return checkpoint_root() / preset


class TAAECodec(Codec):
    """A TAAE model behind the :class:`Codec` interface (16 kHz, 25 Hz frames).

    Args:
        model: a :class:`taae.model.TAAE` (eval mode).
        preset: preset name the weights were trained with.
        checkpoint: folder the weights came from (``None`` for random init).
        step: training step of the weights.
        posthoc: post-hoc residual FSQ preset, if any.
        seed: training seed of the weights (ablation runs differ only in it).
    """

    sample_rate = 16000

    def __init__(
        self,
        model: torch.nn.Module,
        preset: str,
        checkpoint: Path | None,
        step: int | None,
        posthoc: str | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.model = model.eval()
        self.preset = preset
        self.checkpoint = checkpoint
        self.step = step
        self.posthoc = posthoc
        self.seed = seed
        bn = model.bottleneck
        self.frame_rate = float(model.frame_rate)
        self.num_codebooks = int(bn.num_codebooks)
        self.codebook_sizes = tuple(int(s) for s in bn.codebook_sizes)
        self.codebook_levels = bn.codebook_levels
        self.device = next(model.parameters()).device

    def _modules(self) -> list[torch.nn.Module]:
        return [self.model]

    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        return self.model.encode(wav)

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        return self.model.decode(codes)

    def extra_config(self) -> dict[str, Any]:
        return {
            "checkpoint": _display_checkpoint(self.checkpoint) if self.checkpoint else None,
            "weights_sha256": _weights_sha256(self.checkpoint) if self.checkpoint else None,
            "preset": self.preset,
            "step": self.step,
            "posthoc": self.posthoc,
            "train_seed": self.seed,
        }


def _display_checkpoint(folder: Path) -> str:
    """``checkpoints/<preset>`` (or ``$TAAE_CHECKPOINTS/<preset>``): no machine path in results,
    and the same text on every clone; the weights' SHA-256 beside it is the identity."""
    folder = Path(folder)
    repo = Path(__file__).resolve().parent.parent
    try:
        return str(folder.resolve().relative_to(repo))
    except ValueError:
        return f"${CHECKPOINT_ENV}/{folder.name}"


def _weights_sha256(folder: Path) -> str | None:
    from audiocodecs.base import file_sha256

    path = Path(folder) / "model.safetensors"
    return file_sha256(path) if path.is_file() else None


def load_codec(preset: str, posthoc: str | None = None, folder: Path | None = None) -> TAAECodec:
    """Build a :class:`TAAECodec` from the checkpoint of ``preset`` (or ``folder``)."""
    from taae.bottlenecks import ResidualFSQ
    from taae.checkpoint import load_model

    folder = folder or checkpoint_dir(preset)
    reason = _missing(preset, folder)
    if reason:
        raise CodecUnavailable(reason)
    model, cfg, meta = load_model(folder)
    if posthoc:
        model.set_bottleneck(ResidualFSQ.from_preset(posthoc))
    preset_name = meta.get("preset", cfg.name)
    return TAAECodec(model, preset_name, folder, meta.get("step"), posthoc, cfg.train.seed)


def _missing(preset: str, folder: Path | None = None) -> str | None:
    folder = folder or checkpoint_dir(preset)
    if (folder / "model.safetensors").exists() and (folder / "config.json").exists():
        return None
    return (
        f"checkpoint not found at {folder}; train it with `python -m taae train --preset {preset} "
        f"--data {TRAIN_DATA_HINT} --out runs/{preset}`, then `python -m taae export "
        f"runs/{preset} --out {folder}` (or set ${CHECKPOINT_ENV})"
    )


def _register(
    name: str, preset: str, posthoc: str | None, description: str, test_only: bool = False
) -> None:
    @register_codec(
        name,
        description=description,
        family="taae",
        availability=lambda: _missing(preset),
        test_only=test_only,
    )
    def _factory() -> Codec:
        return load_codec(preset, posthoc)


for _name, (_preset, _posthoc, _desc) in _entries().items():
    _register(_name, _preset, _posthoc, _desc, test_only=_name.startswith(TEST_SCALE_PREFIX))
set_family_default(
    "taae",
    "taae_fsq",
    "the project's shipped FSQ model (613 bps, the paper's bottleneck), the one the board "
    "compares with codec2@700",
)


@register_codec(
    "taae_fsq_random",
    description="TAAE tiny FSQ hybrid, random init (seed 0), untrained: tests only",
    family="taae",
    test_only=True,
)
def _random() -> Codec:
    from taae.model import TAAE
    from taae.presets import get_preset

    cfg = get_preset("tiny_fsq_hybrid_613bps")
    gen_state = torch.get_rng_state()
    torch.manual_seed(cfg.train.seed)
    try:
        model = TAAE(cfg.model, cfg.bottleneck)
    finally:
        torch.set_rng_state(gen_state)
    codec = TAAECodec(model, cfg.name, None, 0)
    codec.pretrained = False
    return codec
