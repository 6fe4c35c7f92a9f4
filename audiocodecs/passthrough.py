"""Identity codecs: the trivial reference implementation the harness is tested with.

``passthrough`` returns its input unchanged (16 kHz, no resampling); ``passthrough@24khz`` and
``passthrough@8khz`` go through the shared resampler (16 → N → 16 kHz) so the resampling
policy itself is measured. They produce no tokens and report 0 bps.
"""

from __future__ import annotations

import torch

from audiocodecs.base import Codec
from audiocodecs.registry import register_codec


class Passthrough(Codec):
    """Identity at ``sample_rate``: ``decode(encode(x)) == x`` after resampling."""

    frame_rate = 0.0
    num_codebooks = 0
    codebook_sizes = ()

    def __init__(self, sample_rate: int = 16000) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self._held: torch.Tensor | None = None

    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        # No tokens: an empty [B, 0, 0] code tensor; the waveform is held for decode.
        self._held = wav
        return torch.zeros(wav.shape[0], 0, 0, dtype=torch.int64, device=wav.device)

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        if self._held is None:
            raise RuntimeError("passthrough.decode called before encode")
        out, self._held = self._held, None
        return out

    def extra_config(self) -> dict[str, object]:
        return {"note": "identity (no compression); harness reference"}


@register_codec(
    "passthrough", description="identity at 16 kHz (harness reference)", family="passthrough"
)
def _passthrough() -> Codec:
    return Passthrough(16000)


@register_codec(
    "passthrough@24khz",
    description="identity via 16 → 24 → 16 kHz resampling (measures the resampler)",
    family="passthrough",
)
def _passthrough24() -> Codec:
    return Passthrough(24000)


@register_codec(
    "passthrough@8khz",
    description="identity via 16 → 8 → 16 kHz (band-limits to 4 kHz, like Codec2's path)",
    family="passthrough",
)
def _passthrough8() -> Codec:
    return Passthrough(8000)
