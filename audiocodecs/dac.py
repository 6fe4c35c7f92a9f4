"""DAC, the Descript Audio Codec (Kumar et al. 2023), through ``descript-audio-codec``.

Three published models, each used at several bitrates by keeping only the first ``K`` of its
residual codebooks (DAC is trained with quantizer dropout, so prefixes are valid codes):

=====================  ===========  ==========================================================
name                   codebooks    nominal bitrate (frame rate × K × log2 1024)
=====================  ===========  ==========================================================
dac_16khz@1kbps        2 of 12      50 Hz × 2 × 10 = 1000 bps
dac_16khz@2kbps        4 of 12      2000 bps
dac_16khz@3kbps        6 of 12      3000 bps
dac_16khz@6kbps        12 of 12     6000 bps (the full model)
dac_24khz@1.5kbps      2 of 32      75 Hz × 2 × 10 = 1500 bps
dac_24khz@3kbps        4 of 32      3000 bps
dac_24khz@6kbps        8 of 32      6000 bps
dac_24khz@24kbps       32 of 32     24000 bps (the full model)
dac_44khz@1.7kbps      2 of 9       44100/512 Hz × 2 × 10 = 1723 bps
dac_44khz@3.4kbps      4 of 9       3445 bps
dac_44khz@7.8kbps      9 of 9       7752 bps (the full "8 kbps" model)
dac_16khz_random       12           16 kHz architecture, random init (tests only); the 24 and
                                    44 kHz ones are built by :func:`build_random` in tests
=====================  ===========  ==========================================================

Architectures (checked against the weight file's stored kwargs when loading): encoder_dim 64,
decoder_dim 1536, codebook_size 1024, codebook_dim 8; 16 and 24 kHz use encoder_rates
[2, 4, 5, 8] / decoder_rates [8, 5, 4, 2] (hop 320), 44.1 kHz uses the package defaults
[2, 4, 8, 8] / [8, 8, 4, 2] (hop 512). The 44 kHz 16 kbps model (tag 1.0.0) is not registered.

Weights come only from local files, never a download: ``weights_<model>_8kbps_<tag>.pth`` in
``$DAC_WEIGHTS_DIR`` if set, else in ``~/.cache/descript/dac/`` — the names and folder
``dac.utils.download`` uses — obtained from the URLs in ``dac.utils.__MODEL_URLS__`` (listed in
:data:`MODELS`). Audio goes through the model's own forward path (pad to whole hops, encode,
quantize, decode), without the loudness normalisation and chunking of ``DAC.compress``. The
convolutions are non-causal and trained on aligned reconstruction, so there is no delay to remove;
the 16/24 kHz decoders return 8 samples fewer than the padded input, which the harness pads back.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from audiocodecs.base import Codec, CodecUnavailable, file_sha256
from audiocodecs.registry import register_codec

DAC_PIN = "descript-audio-codec==1.0.0"
#: Folder holding the weight files (overrides ``~/.cache/descript/dac``).
WEIGHTS_ENV = "DAC_WEIGHTS_DIR"
#: Seed of the random-init entries, so their (meaningless) outputs are reproducible.
RANDOM_SEED = 0
#: Models with a registered random-init entry. Only 16 kHz: the 24/44 kHz architectures differ
#: only in rates and codebook count (checked by ``build_random`` in tests) but would add ~20-30 s
#: each to the registry-wide interface tests on a 2-core CPU.
RANDOM_ENTRIES: tuple[str, ...] = ("16khz",)


@dataclass(frozen=True)
class DACModel:
    """One published DAC model: where its weights live and the architecture they need.

    Attributes:
        key: the package's ``model_type`` (``"16khz"``, ``"24khz"``, ``"44khz"``).
        tag: release tag of the weights (``dac.utils.__MODEL_LATEST_TAGS__``).
        url: download URL (``dac.utils.__MODEL_URLS__``), shown to users; never fetched here.
        sample_rate: native rate in Hz.
        encoder_rates: encoder strides (their product is the hop length).
        decoder_rates: decoder upsampling factors.
        n_codebooks: residual codebooks in the model.
        model_bitrate: the package's ``model_bitrate`` label of the weights.
    """

    key: str
    tag: str
    url: str
    sample_rate: int
    encoder_rates: tuple[int, ...]
    decoder_rates: tuple[int, ...]
    n_codebooks: int
    model_bitrate: str = "8kbps"

    @property
    def filename(self) -> str:
        """File name ``dac.utils.download`` saves the weights under."""
        return f"weights_{self.key}_{self.model_bitrate}_{self.tag}.pth"

    def kwargs(self) -> dict[str, Any]:
        """Constructor arguments of ``dac.DAC`` for this architecture."""
        return {
            "encoder_dim": 64,
            "encoder_rates": list(self.encoder_rates),
            "latent_dim": None,
            "decoder_dim": 1536,
            "decoder_rates": list(self.decoder_rates),
            "n_codebooks": self.n_codebooks,
            "codebook_size": 1024,
            "codebook_dim": 8,
            "sample_rate": self.sample_rate,
        }


_RELEASES = "https://github.com/descriptinc/descript-audio-codec/releases/download"
MODELS: dict[str, DACModel] = {
    "16khz": DACModel(
        "16khz", "0.0.5", f"{_RELEASES}/0.0.5/weights_16khz.pth", 16000, (2, 4, 5, 8),
        (8, 5, 4, 2), 12,
    ),
    "24khz": DACModel(
        "24khz", "0.0.4", f"{_RELEASES}/0.0.4/weights_24khz.pth", 24000, (2, 4, 5, 8),
        (8, 5, 4, 2), 32,
    ),
    "44khz": DACModel(
        "44khz", "0.0.1", f"{_RELEASES}/0.0.1/weights.pth", 44100, (2, 4, 8, 8),
        (8, 8, 4, 2), 9,
    ),
}  # fmt: skip

#: registry name → (model key, codebooks used)
VARIANTS: dict[str, tuple[str, int]] = {
    "dac_16khz@1kbps": ("16khz", 2),
    "dac_16khz@2kbps": ("16khz", 4),
    "dac_16khz@3kbps": ("16khz", 6),
    "dac_16khz@6kbps": ("16khz", 12),
    "dac_24khz@1.5kbps": ("24khz", 2),
    "dac_24khz@3kbps": ("24khz", 4),
    "dac_24khz@6kbps": ("24khz", 8),
    "dac_24khz@24kbps": ("24khz", 32),
    "dac_44khz@1.7kbps": ("44khz", 2),
    "dac_44khz@3.4kbps": ("44khz", 4),
    "dac_44khz@7.8kbps": ("44khz", 9),
}


def weights_dir() -> Path:
    """Folder searched for weight files: ``$DAC_WEIGHTS_DIR``, else the package's cache."""
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "descript" / "dac"


def weights_path(key: str) -> Path:
    """Where the weights of model ``key`` (``"16khz"`` …) are expected."""
    return weights_dir() / MODELS[key].filename


def _package_missing() -> str | None:
    if importlib.util.find_spec("dac") is None:
        return f"package dac not installed: pip install {DAC_PIN}"
    return None


def _pretrained_missing(key: str) -> str | None:
    missing = _package_missing()
    if missing:
        return missing
    path = weights_path(key)
    if not path.is_file():
        return (
            f"weights not found — put the file at {path} (or in ${WEIGHTS_ENV}), "
            f"obtained from {MODELS[key].url}"
        )
    return None


class DAC(Codec):
    """A ``dac.DAC`` model using its first ``n_codebooks`` residual codebooks (token codec).

    Args:
        model: a ``dac.DAC`` instance.
        n_codebooks: codebooks kept (1 … ``model.n_codebooks``); sets the bitrate.
        pretrained: whether ``model`` holds trained weights.
        weights: the weight file loaded, for provenance.
        weights_sha256: its SHA-256.
    """

    def __init__(
        self,
        model: Any,
        n_codebooks: int,
        *,
        pretrained: bool,
        weights: Path | None = None,
        weights_sha256: str | None = None,
    ) -> None:
        super().__init__()
        if not 1 <= n_codebooks <= model.n_codebooks:
            raise ValueError(f"this DAC model has {model.n_codebooks} codebooks, not {n_codebooks}")
        self.model = model.eval()
        self.pretrained = pretrained
        self.weights = weights
        self.weights_sha256 = weights_sha256
        self.sample_rate = int(model.sample_rate)
        self.hop_length = int(model.hop_length)
        self.frame_rate = self.sample_rate / self.hop_length
        self.num_codebooks = n_codebooks
        self.codebook_sizes = (int(model.codebook_size),) * n_codebooks

    def _modules(self) -> list[torch.nn.Module]:
        return [self.model]

    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        x = self.model.preprocess(wav, self.sample_rate)  # right-pad to whole hops
        _, codes, *_ = self.model.encode(x, n_quantizers=self.num_codebooks)
        return codes[:, : self.num_codebooks]

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        z, _, _ = self.model.quantizer.from_codes(codes)
        return self.model.decode(z)

    def extra_config(self) -> dict[str, Any]:
        m = self.model
        return {
            "package": DAC_PIN,
            "architecture": {
                "encoder_rates": list(m.encoder_rates),
                "decoder_rates": list(m.decoder_rates),
                "encoder_dim": m.encoder_dim,
                "decoder_dim": m.decoder_dim,
                "n_codebooks": m.n_codebooks,
                "codebook_size": m.codebook_size,
                "codebook_dim": m.codebook_dim,
            },
            "codebooks_used": self.num_codebooks,
            "weights": str(self.weights) if self.weights else "random init (seeded)",
            "weights_sha256": self.weights_sha256,
            "loudness_normalisation": False,
        }


#: Constructor arguments that must match the published architecture (``latent_dim`` is derived).
ARCHITECTURE_KEYS: tuple[str, ...] = (
    "encoder_dim",
    "encoder_rates",
    "decoder_dim",
    "decoder_rates",
    "n_codebooks",
    "codebook_size",
    "codebook_dim",
    "sample_rate",
)


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, (list, tuple)) else v


#: Set to 1 to allow full unpickling of a DAC weight file that ``weights_only=True`` refuses.
UNPICKLE_ENV = "DAC_ALLOW_UNPICKLE"


def _load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a DAC weight file with ``weights_only=True``; full unpickling only when the user opts
    in with ``$DAC_ALLOW_UNPICKLE=1`` (a pickle can run code: only for the file from the URL)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as safe_exc:
        if os.environ.get(UNPICKLE_ENV) != "1":
            raise CodecUnavailable(
                f"{path} does not load with weights_only=True ({type(safe_exc).__name__}: "
                f"{str(safe_exc)[:120]}); if it is the published file (`python -m bench weights`), "
                f"set {UNPICKLE_ENV}=1 to allow full unpickling"
            ) from safe_exc
        warnings.warn(f"{path}: loading with full unpickling ({UNPICKLE_ENV}=1)", stacklevel=3)
        return torch.load(path, map_location="cpu", weights_only=False)


def load_pretrained(key: str, n_codebooks: int) -> DAC:
    """Published DAC model ``key`` from its local weight file (never downloads)."""
    reason = _pretrained_missing(key)
    if reason:
        raise CodecUnavailable(reason)
    import dac

    spec = MODELS[key]
    path = weights_path(key)
    try:
        ckpt = _load_checkpoint(path)
        stored = dict(ckpt["metadata"]["kwargs"])
        state = ckpt["state_dict"]
    except Exception as exc:
        raise CodecUnavailable(f"cannot read DAC weights from {path}: {exc}") from exc
    params = inspect.signature(dac.DAC).parameters
    expected = spec.kwargs()
    # Keys the file stores win (as in DAC.load); keys it lacks take the published architecture.
    stored = {k: v for k, v in stored.items() if k in params}
    kwargs = {**expected, **stored}
    wrong = {
        k: (stored[k], expected[k])
        for k in ARCHITECTURE_KEYS
        if k in stored and _plain(stored[k]) != _plain(expected[k])
    }
    if wrong:
        raise CodecUnavailable(
            f"{path} is not the DAC {key} model (stored vs expected: {wrong}); "
            f"get it from {spec.url}"
        )
    model = dac.DAC(**kwargs)
    # DAC.load uses strict=False; refuse a file that would leave any parameter at random init.
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys:
        raise CodecUnavailable(
            f"{path} lacks {len(result.missing_keys)} DAC parameters "
            f"(e.g. {result.missing_keys[:3]}); get the file from {spec.url}"
        )
    if result.unexpected_keys:
        warnings.warn(
            f"{path}: ignoring unexpected keys {result.unexpected_keys[:5]}", stacklevel=2
        )
    return DAC(model, n_codebooks, pretrained=True, weights=path, weights_sha256=file_sha256(path))


def build_random(key: str, n_codebooks: int | None = None, seed: int = RANDOM_SEED) -> DAC:
    """Architecture of published model ``key`` with seeded random weights (tests only)."""
    import dac

    spec = MODELS[key]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = dac.DAC(**spec.kwargs())
    return DAC(model, n_codebooks or spec.n_codebooks, pretrained=False)


def _describe(key: str, n: int) -> str:
    spec = MODELS[key]
    hop = 1
    for r in spec.encoder_rates:
        hop *= r
    bps = spec.sample_rate / hop * n * 10
    return (
        f"DAC {spec.sample_rate / 1000:g} kHz ({spec.filename}), {n} of {spec.n_codebooks} "
        f"codebooks × 1024 = {bps:.0f} bps"
    )


def _register(name: str, key: str, n: int) -> None:
    @register_codec(
        name,
        description=_describe(key, n),
        family="dac",
        availability=lambda: _pretrained_missing(key),
    )
    def _factory() -> Codec:
        return load_pretrained(key, n)


def _register_random(key: str) -> None:
    spec = MODELS[key]

    @register_codec(
        f"dac_{key}_random",
        description=f"DAC {spec.sample_rate / 1000:g} kHz architecture, random init, all "
        f"{spec.n_codebooks} codebooks (tests only)",
        family="dac",
        availability=_package_missing,
        test_only=True,
    )
    def _factory() -> Codec:
        return build_random(key)


for _name, (_key, _n) in VARIANTS.items():
    _register(_name, _key, _n)
for _key in RANDOM_ENTRIES:
    _register_random(_key)
