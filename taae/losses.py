"""Reconstruction losses; every term is returned by name (``rec/mel``, ``rec/stft`` ...).

Definitions (all on 16 kHz waveforms ``[B, 1, T]``, Hann windows, hop = n_fft / 4, centred STFT):
    ``rec/mel``: mean over resolutions of L1 between ``log10(max(mel, 1e-5))`` of the reference and
        the reconstruction (Slaney mel filters, 0 – 8 kHz; DAC / audiotools style).
    ``rec/stft``: mean over resolutions of spectral convergence ``‖|Y| - |X|‖_F / ‖|Y|‖_F`` plus
        L1 of ``log(max(|·|, loss.mag_floor))`` magnitudes (auraloss MR-STFT style).
    ``rec/complex``: mean over resolutions of L1 between power-law compressed complex spectra
        ``S · |S|^(c - 1)`` with ``c = 0.3`` (real and imaginary parts): a phase-aware term, because
        magnitude-only losses leave the waveform incoherent (DESIGN.md §7).
    ``rec/wave``: waveform L1.
Adversarial and feature-matching terms live in :mod:`taae.discriminators`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from taae.config import LossConfig

MEL_FLOOR = 1e-5
MAG_FLOOR = 1e-7
COMPRESSION = 0.3


def stft(x: torch.Tensor, n_fft: int) -> torch.Tensor:
    """Complex STFT ``[B, n_fft / 2 + 1, frames]`` of ``x [B, 1, T]`` (Hann, hop n_fft / 4)."""
    window = torch.hann_window(n_fft, device=x.device, dtype=torch.float32)
    return torch.stft(
        x.float().reshape(-1, x.shape[-1]),
        n_fft=n_fft,
        hop_length=n_fft // 4,
        window=window,
        center=True,
        return_complex=True,
    )


class ReconstructionLoss(nn.Module):
    """Multi-resolution mel / STFT / complex-STFT / waveform losses for one config."""

    def __init__(
        self, cfg: LossConfig, sample_rate: int = 16000, device: str | torch.device = "cpu"
    ) -> None:
        super().__init__()
        import torchaudio.functional as AF

        self.cfg = cfg
        if len(cfg.mel_fft_sizes) != len(cfg.mel_bins):
            raise ValueError("mel_fft_sizes and mel_bins must have the same length")
        for i, (n_fft, n_mels) in enumerate(zip(cfg.mel_fft_sizes, cfg.mel_bins, strict=True)):
            fb = AF.melscale_fbanks(
                n_fft // 2 + 1, 0.0, sample_rate / 2, n_mels, sample_rate, "slaney", "slaney"
            )
            self.register_buffer(f"mel_fb{i}", fb, persistent=False)  # [freqs, mels]
        self.to(device)

    def forward(self, y_hat: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Terms with non-zero weight for reconstruction ``y_hat`` of ``y`` (both ``[B, 1, T]``)."""
        cfg = self.cfg
        out: dict[str, torch.Tensor] = {}
        specs: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

        def spec(n_fft: int) -> tuple[torch.Tensor, torch.Tensor]:
            if n_fft not in specs:
                specs[n_fft] = (stft(y_hat, n_fft), stft(y, n_fft))
            return specs[n_fft]

        with torch.autocast(device_type=y.device.type, enabled=False):
            if cfg.mel_weight:
                terms = []
                for i, n_fft in enumerate(cfg.mel_fft_sizes):
                    s_hat, s = spec(n_fft)
                    fb = getattr(self, f"mel_fb{i}")
                    m_hat = torch.matmul(s_hat.abs().transpose(1, 2), fb)
                    m = torch.matmul(s.abs().transpose(1, 2), fb)
                    terms.append(
                        F.l1_loss(
                            torch.log10(m_hat.clamp(min=MEL_FLOOR)),
                            torch.log10(m.clamp(min=MEL_FLOOR)),
                        )
                    )
                out["rec/mel"] = torch.stack(terms).mean()
            if cfg.stft_weight:
                terms = []
                for n_fft in cfg.stft_fft_sizes:
                    s_hat, s = spec(n_fft)
                    a_hat, a = s_hat.abs(), s.abs()
                    sc = torch.linalg.vector_norm(a - a_hat) / torch.linalg.vector_norm(a).clamp(
                        min=MAG_FLOOR
                    )
                    # floor from the config: 1e-7 lets the empty bins of band-limited training
                    # audio dominate the log term; auraloss's effective floor is ~1e-4
                    floor = cfg.mag_floor
                    log_mag = F.l1_loss(
                        torch.log(a_hat.clamp(min=floor)), torch.log(a.clamp(min=floor))
                    )
                    terms.append(sc + log_mag)
                out["rec/stft"] = torch.stack(terms).mean()
            if cfg.complex_weight:
                terms = []
                for n_fft in cfg.stft_fft_sizes:
                    s_hat, s = spec(n_fft)
                    c_hat = torch.view_as_real(compress(s_hat))
                    c = torch.view_as_real(compress(s))
                    terms.append(F.l1_loss(c_hat, c))
                out["rec/complex"] = torch.stack(terms).mean()
            if cfg.wave_weight:
                out["rec/wave"] = F.l1_loss(y_hat.float(), y.float())
        return out


def compress(s: torch.Tensor, power: float = COMPRESSION) -> torch.Tensor:
    """``S · |S|^(power - 1)``: magnitude compressed to ``|S|^power``, phase kept."""
    mag = s.abs().clamp(min=MAG_FLOOR)
    return s * mag.pow(power - 1.0)


def mel_distance(y_hat: torch.Tensor, y: torch.Tensor, cfg: LossConfig) -> float:
    """``rec/mel`` as a float (validation), whatever its training weight."""
    probe = LossConfig(
        mel_weight=1.0,
        stft_weight=0.0,
        mel_fft_sizes=cfg.mel_fft_sizes,
        mel_bins=cfg.mel_bins,
    )
    return float(ReconstructionLoss(probe).to(y.device)(y_hat, y)["rec/mel"])


def weighted_total(terms: dict[str, torch.Tensor], cfg: LossConfig) -> torch.Tensor:
    """``Σ weight(name) · term`` using the config's coefficient for each logged name."""
    weights = loss_weights(cfg)
    total = None
    for name, value in terms.items():
        w = weights[name]
        if w:
            total = w * value if total is None else total + w * value
    if total is None:
        raise ValueError("no loss term has a non-zero weight")
    return total


def loss_weights(cfg: LossConfig) -> dict[str, float]:
    """Logged name → weight."""
    return {
        "rec/mel": cfg.mel_weight,
        "rec/stft": cfg.stft_weight,
        "rec/complex": cfg.complex_weight,
        "rec/wave": cfg.wave_weight,
        "adv/gen": cfg.adv_weight,
        "fm/l1": cfg.fm_weight,
        "vq/aux": cfg.aux_weight,
    }
