"""A codec plugin in one file: 8-bit mu-law PCM at 8 kHz (G.711-like, 64 kbps).

python -m bench selftest mulaw_8khz --plugin examples/mulaw_codec.py
python -m bench run --codecs mulaw_8khz,opus@6kbps --plugin examples/mulaw_codec.py
"""

import torch
import torchaudio.functional as F

from audiocodecs import Codec, register_codec


class MuLaw(Codec):
    sample_rate = 8000  # the harness resamples 16 kHz input to this and back
    frame_rate = 8000.0  # one code per sample
    num_codebooks = 1
    codebook_sizes = (256,)  # nominal bps = 8000 × log2(256) = 64 kbps

    def _encode(self, wav: torch.Tensor) -> torch.Tensor:  # [B, 1, T] → [B, 1, T] int64
        return F.mu_law_encoding(wav.clamp(-1, 1), 256).long()

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:  # [B, 1, F] → [B, 1, T]
        return F.mu_law_decoding(codes, 256)


@register_codec("mulaw_8khz", description="8-bit mu-law PCM at 8 kHz (plugin example)",
                family="mulaw")  # fmt: skip
def mulaw_8khz() -> Codec:
    return MuLaw()
