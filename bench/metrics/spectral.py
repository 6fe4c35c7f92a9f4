"""Spectral distances: multi-scale log-mel L1 (DAC) and multi-resolution STFT (auraloss).

Both follow a reference implementation exactly so that numbers are comparable with papers that use
them; ``tests/test_metrics.py`` checks the values against ``auraloss`` (STFT) and against an
independent librosa computation (mel).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from bench.metrics import METRIC_SAMPLE_RATE, Metric, register_metric

# ---------------------------------------------------------------------------------------- mel
#: DAC's ``MelSpectrogramLoss`` configuration (conf/base.yml of descript-audio-codec).
MEL_WINDOW_LENGTHS: tuple[int, ...] = (32, 64, 128, 256, 512, 1024, 2048)
MEL_N_MELS: tuple[int, ...] = (5, 10, 20, 40, 80, 160, 320)
MEL_CLAMP_EPS = 1e-5
MEL_POW = 1.0

MEL_DEFINITION = (
    "Σ over 7 scales (window w ∈ {32,64,128,256,512,1024,2048}, hop w/4, periodic Hann, "
    "torch.stft center=True reflect-padded; mel bands n ∈ {5,10,20,40,80,160,320}, librosa Slaney "
    "filters 0–8 kHz at 16 kHz) of mean |log10(max(M_ref, 1e-5)) − log10(max(M_dec, 1e-5))|, "
    "M = mel filterbank × |STFT| (magnitude, power 1) — DAC's MelSpectrogramLoss with its "
    "published config (mag_weight 0, log_weight 1, pow 1)."
)


@functools.lru_cache(maxsize=32)
def _mel_basis(n_fft: int, n_mels: int, sr: int) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=0.0, fmax=None)


@functools.lru_cache(maxsize=32)
def _periodic_hann(n: int) -> torch.Tensor:
    return torch.hann_window(n, periodic=True, dtype=torch.float32)


def log_mel_scales(
    wav: torch.Tensor, sr: int = METRIC_SAMPLE_RATE, device: str = "cpu"
) -> list[torch.Tensor]:
    """Per scale, ``log10(max(mel, eps))`` of ``wav [B, T]`` → list of ``[B, n_mels, frames]``."""
    import warnings

    out = []
    x = wav.to(device, torch.float32)
    for w, n in zip(MEL_WINDOW_LENGTHS, MEL_N_MELS, strict=True):
        spec = torch.stft(
            x,
            n_fft=w,
            hop_length=w // 4,
            win_length=w,
            window=_periodic_hann(w).to(x.device),
            center=True,
            pad_mode="reflect",
            return_complex=True,
        ).abs()
        with warnings.catch_warnings():
            # Librosa warns that the lowest scales (5 mels from a 32-point FFT) have empty
            # filters; DAC uses them as they are, and so do we.
            warnings.simplefilter("ignore")
            basis = torch.from_numpy(_mel_basis(w, n, sr)).to(x.device, torch.float32)
        mel = torch.einsum("mf,bft->bmt", basis, spec)
        out.append(mel.clamp(min=MEL_CLAMP_EPS).pow(MEL_POW).log10())
    return out


def mel_distance(reference: np.ndarray, decoded: np.ndarray, device: str = "cpu") -> float:
    """Multi-scale log-mel L1 distance (lower is better); see :data:`MEL_DEFINITION`."""
    ref = torch.as_tensor(np.asarray(reference, dtype=np.float32))[None]
    dec = torch.as_tensor(np.asarray(decoded, dtype=np.float32))[None]
    total = 0.0
    for r, d in zip(
        log_mel_scales(ref, device=device), log_mel_scales(dec, device=device), strict=True
    ):
        total += float((r - d).abs().mean())
    return total


register_metric(
    Metric(
        name="mel",
        label="Mel distance",
        unit="",
        higher_is_better=False,
        fn=mel_distance,
        definition=MEL_DEFINITION,
    )
)

# --------------------------------------------------------------------------------------- stft
#: auraloss ``MultiResolutionSTFTLoss`` defaults.
STFT_FFT_SIZES: tuple[int, ...] = (1024, 2048, 512)
STFT_HOP_SIZES: tuple[int, ...] = (120, 240, 50)
STFT_WIN_LENGTHS: tuple[int, ...] = (600, 1200, 240)
STFT_EPS = 1e-8

STFT_DEFINITION = (
    "Mean over 3 resolutions (FFT 1024/2048/512, hop 120/240/50, Hann window 600/1200/240, "
    "torch.stft center=True reflect-padded) of spectral convergence ‖|Y|−|X|‖_F/‖|Y|‖_F plus "
    "mean |ln|Y| − ln|X||, with |·| = sqrt(max(re²+im², 1e-8)), Y = reference, X = decoded — "
    "auraloss MultiResolutionSTFTLoss with its defaults (w_sc = w_log_mag = 1, w_lin_mag = 0)."
)


def _stft_mag(x: torch.Tensor, n_fft: int, hop: int, win: int) -> torch.Tensor:
    spec = torch.stft(
        x,
        n_fft=n_fft,
        hop_length=hop,
        win_length=win,
        window=torch.hann_window(win, periodic=True, device=x.device),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    return torch.sqrt(torch.clamp(spec.real**2 + spec.imag**2, min=STFT_EPS))


def stft_distance(reference: np.ndarray, decoded: np.ndarray, device: str = "cpu") -> float:
    """Multi-resolution STFT distance (lower is better); see :data:`STFT_DEFINITION`."""
    y = torch.as_tensor(np.asarray(reference, dtype=np.float32), device=device)[None]
    x = torch.as_tensor(np.asarray(decoded, dtype=np.float32), device=device)[None]
    total = 0.0
    for n_fft, hop, win in zip(STFT_FFT_SIZES, STFT_HOP_SIZES, STFT_WIN_LENGTHS, strict=True):
        xm, ym = _stft_mag(x, n_fft, hop, win), _stft_mag(y, n_fft, hop, win)
        sc = torch.linalg.norm(ym - xm) / torch.linalg.norm(ym)
        log_mag = (torch.log(ym) - torch.log(xm)).abs().mean()
        total += float(sc + log_mag)
    return total / len(STFT_FFT_SIZES)


register_metric(
    Metric(
        name="stft",
        label="STFT distance",
        unit="",
        higher_is_better=False,
        fn=stft_distance,
        definition=STFT_DEFINITION,
    )
)
