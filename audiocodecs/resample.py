"""The one resampler used everywhere in the project (harness, adapters, training data).

Peer tools found codec scores shifting with the resampler (torchaudio vs librosa, 24 → 16 kHz), and
a windowed-sinc filter with a roll-off below 1 (librosa's "kaiser_best", cut-off 7.58 kHz for a
16 kHz signal) removed everything between 7.58 and 8 kHz on 16 → 24 → 16 kHz, so that a transparent
path scored SI-SDR 14.7 dB on some LibriSpeech files. Every conversion is therefore done on the
whole signal in the frequency domain: ``rfft`` of the ``T`` samples, keep the bins below both
Nyquist frequencies, zero-pad (up) or truncate (down) to ``round(T · new / orig) / 2 + 1`` bins,
``irfft``, scale by the length ratio. Going up removes nothing below the old Nyquist; going down is
an ideal (brick-wall) low-pass at the new Nyquist; a round trip up and down is exact apart from the
single bin at the old Nyquist frequency (zeroed: it has no unique mirror). The signal is treated as
periodic, so a file that starts or ends far from zero gets a short edge transient. Settings
(:data:`RESAMPLER`) are recorded in every result file.
"""

from __future__ import annotations

import torch

#: Settings of the resampler; copied verbatim into result files.
RESAMPLER: dict[str, object] = {
    "implementation": "audiocodecs.resample.resample (torch.fft)",
    "method": "whole-signal FFT: rfft, keep bins below both Nyquist rates, irfft at the new length",
    "output_length": "round(T * new_sr / orig_sr)",
    "nyquist_bin": "the bin at the lower Nyquist frequency is zeroed",
    "precision": "float32 in, complex64 spectrum",
}


def resample(wav: torch.Tensor, orig_sr: int, new_sr: int) -> torch.Tensor:
    """Resample ``wav [..., T]`` from ``orig_sr`` to ``new_sr`` Hz (identity when equal).

    Works on any device and keeps the input's dtype (computed in float32).
    """
    if int(orig_sr) == int(new_sr):
        return wav
    dtype = wav.dtype
    length = wav.shape[-1]
    if length == 0:
        return wav
    out_len = max(1, round(length * int(new_sr) / int(orig_sr)))
    spec = torch.fft.rfft(wav.float(), dim=-1)
    bins = out_len // 2 + 1
    keep = min(spec.shape[-1], bins)
    out = spec.new_zeros((*spec.shape[:-1], bins))
    out[..., :keep] = spec[..., :keep]
    shorter = min(length, out_len)
    if shorter % 2 == 0 and shorter // 2 < bins:
        out[..., shorter // 2] = 0  # the lower Nyquist bin has no unique mirror
    y = torch.fft.irfft(out, n=out_len, dim=-1) * (out_len / length)
    return y.to(dtype)
