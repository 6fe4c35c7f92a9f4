"""EnCodec (Défossez et al. 2022) through the ``encodec`` package: the causal 24 kHz model.

=============================  ===========  ===================================================
name                           codebooks    nominal bitrate (75 Hz × K × log2 1024)
=============================  ===========  ===================================================
encodec_24khz@1.5kbps          2            1500 bps
encodec_24khz@3kbps            4            3000 bps
encodec_24khz@6kbps            8            6000 bps
encodec_24khz@12kbps           16           12000 bps
encodec_24khz@24kbps           32           24000 bps
encodec_24khz_random@1.5kbps   2            same architecture, random init (tests only)
encodec_24khz_random@6kbps     8            same architecture, random init (tests only)
=============================  ===========  ===================================================

The package sets the number of residual codebooks from the bandwidth (``set_target_bandwidth``).
Weights come only from a local file, never a download: ``encodec_24khz-d7cc33bc.th`` in
``$ENCODEC_WEIGHTS_DIR`` if set, else where ``torch.hub`` caches it
(``$TORCH_HOME/hub/checkpoints``, ``TORCH_HOME`` defaulting to ``~/.cache/torch``). The file is
published at ``https://dl.fbaipublicfiles.com/encodec/v0/encodec_24khz-d7cc33bc.th``; its name
carries the first 8 hex digits of its SHA-256, which is checked (a mismatch warns and is recorded in
the result's provenance). The 24 kHz model is causal and trained on aligned reconstruction, so the
decoded signal has no delay to remove; its output is padded to whole 320-sample frames and the
harness trims it. The 48 kHz model is not registered: it is stereo, non-causal, and codes 1 s
segments with a per-segment float scale that is side information beyond the integer codes.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path
from typing import Any

import torch

from audiocodecs.base import Codec, CodecUnavailable, file_sha256
from audiocodecs.registry import register_codec

ENCODEC_PIN = "encodec==0.1.1"
#: Directory holding the checkpoint (like ``repository=`` in ``EncodecModel.encodec_model_24khz``).
WEIGHTS_ENV = "ENCODEC_WEIGHTS_DIR"
CHECKPOINT_24KHZ = "encodec_24khz-d7cc33bc.th"
#: First hex digits of the checkpoint's SHA-256, as encodec's own loader checks them.
CHECKSUM_PREFIX = "d7cc33bc"
#: ``encodec.model.ROOT_URL``; the package downloads ``ROOT_URL + checkpoint name``.
ROOT_URL = "https://dl.fbaipublicfiles.com/encodec/v0/"
#: Bandwidths (kbps) of the pretrained entries: the model's own ``target_bandwidths``.
BANDWIDTHS_KBPS: tuple[float, ...] = (1.5, 3.0, 6.0, 12.0, 24.0)
#: Bandwidths of the random-init test entries (the lowest, and a mid one with 8 codebooks).
RANDOM_BANDWIDTHS_KBPS: tuple[float, ...] = (1.5, 6.0)
#: Seed of the random-init entries, so their (meaningless) outputs are reproducible.
RANDOM_SEED = 0


def weights_dir() -> Path:
    """Folder searched for the checkpoint: ``$ENCODEC_WEIGHTS_DIR``, else torch.hub's cache."""
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        return Path(env).expanduser()
    return Path(torch.hub.get_dir()) / "checkpoints"


def weights_path() -> Path:
    """Where the 24 kHz checkpoint is expected."""
    return weights_dir() / CHECKPOINT_24KHZ


def _package_missing() -> str | None:
    if importlib.util.find_spec("encodec") is None:
        return f"package encodec not installed: pip install {ENCODEC_PIN}"
    return None


def _pretrained_missing() -> str | None:
    missing = _package_missing()
    if missing:
        return missing
    path = weights_path()
    if not path.is_file():
        return (
            f"weights not found — put the file at {path} (or in ${WEIGHTS_ENV}), "
            f"obtained from {ROOT_URL}{CHECKPOINT_24KHZ}"
        )
    return None


def _label(kbps: float) -> str:
    return f"{kbps:g}kbps"


class EnCodec(Codec):
    """An ``encodec.EncodecModel`` at one target bandwidth (token codec, 24 kHz, 75 Hz frames).

    Args:
        model: a mono ``EncodecModel`` (the 24 kHz one).
        bandwidth_kbps: one of the model's ``target_bandwidths``; sets the codebook count.
        pretrained: whether ``model`` holds trained weights.
        weights: the checkpoint file loaded, for provenance.
        weights_sha256: its SHA-256.
    """

    def __init__(
        self,
        model: Any,
        bandwidth_kbps: float,
        *,
        pretrained: bool,
        weights: Path | None = None,
        weights_sha256: str | None = None,
    ) -> None:
        super().__init__()
        if bandwidth_kbps not in model.target_bandwidths:
            raise ValueError(
                f"EnCodec {model.sample_rate} Hz supports {model.target_bandwidths} kbps, "
                f"not {bandwidth_kbps}"
            )
        if model.channels != 1:
            raise ValueError("only the mono (24 kHz) EnCodec model is supported")
        model.set_target_bandwidth(bandwidth_kbps)
        self.model = model.eval()
        self.bandwidth_kbps = float(bandwidth_kbps)
        self.pretrained = pretrained
        self.weights = weights
        self.weights_sha256 = weights_sha256
        self.sample_rate = int(model.sample_rate)
        self.frame_rate = float(model.frame_rate)
        quantizer = model.quantizer
        self.num_codebooks = quantizer.get_num_quantizers_for_bandwidth(
            model.frame_rate, bandwidth_kbps
        )
        self.codebook_sizes = (int(quantizer.bins),) * self.num_codebooks

    def _modules(self) -> list[torch.nn.Module]:
        return [self.model]

    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        frames = self.model.encode(wav)
        if len(frames) != 1 or frames[0][1] is not None:
            raise RuntimeError("expected one unscaled frame from the 24 kHz EnCodec model")
        return frames[0][0]

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        return self.model.decode([(codes, None)])

    def extra_config(self) -> dict[str, Any]:
        return {
            "package": ENCODEC_PIN,
            "model": "encodec_24khz (causal, weight_norm)",
            "bandwidth_kbps": self.bandwidth_kbps,
            "weights": str(self.weights) if self.weights else "random init (seeded)",
            "weights_sha256": self.weights_sha256,
            "weights_checksum_ok": (
                self.weights_sha256.startswith(CHECKSUM_PREFIX) if self.weights_sha256 else None
            ),
        }


def _build_model() -> Any:
    from encodec import EncodecModel

    return EncodecModel.encodec_model_24khz(pretrained=False)


def load_pretrained(bandwidth_kbps: float) -> EnCodec:
    """The pretrained 24 kHz model from the local checkpoint (never downloads)."""
    reason = _pretrained_missing()
    if reason:
        raise CodecUnavailable(reason)
    path = weights_path()
    digest = file_sha256(path)
    if not digest.startswith(CHECKSUM_PREFIX):
        warnings.warn(
            f"{path}: SHA-256 {digest[:8]}… does not match the published {CHECKSUM_PREFIX}…; "
            "loading it anyway (recorded in the result)",
            stacklevel=2,
        )
    model = _build_model()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:  # a wrong or corrupt file: say which and why
        raise CodecUnavailable(f"cannot load EnCodec weights from {path}: {exc}") from exc
    return EnCodec(model, bandwidth_kbps, pretrained=True, weights=path, weights_sha256=digest)


def build_random(bandwidth_kbps: float, seed: int = RANDOM_SEED) -> EnCodec:
    """The 24 kHz architecture with seeded random weights, as the package builds it (tests only).

    encodec leaves its codebooks at zero until k-means runs on a first training batch, so the
    random model maps every frame to entry 0: fine for shapes, rates and the load path, not for
    codebook statistics.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _build_model()
    return EnCodec(model, bandwidth_kbps, pretrained=False)


def _register(kbps: float) -> None:
    n_q = int(kbps * 1000 // 750)

    @register_codec(
        f"encodec_24khz@{_label(kbps)}",
        description=f"EnCodec 24 kHz (causal), {n_q} codebooks × 1024, 75 Hz = {kbps:g} kbps",
        family="encodec",
        availability=_pretrained_missing,
    )
    def _factory() -> Codec:
        return load_pretrained(kbps)


def _register_random(kbps: float) -> None:
    @register_codec(
        f"encodec_24khz_random@{_label(kbps)}",
        description=f"EnCodec 24 kHz architecture, random init, {kbps:g} kbps (tests only)",
        family="encodec",
        availability=_package_missing,
        test_only=True,
    )
    def _factory() -> Codec:
        return build_random(kbps)


for _kbps in BANDWIDTHS_KBPS:
    _register(_kbps)
for _kbps in RANDOM_BANDWIDTHS_KBPS:
    _register_random(_kbps)
