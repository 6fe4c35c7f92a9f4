"""Reading evaluation audio: one policy for every dataset, with bad input reported, never guessed.

Policy (also in the README):
- decoded with ``soundfile`` (WAV, FLAC, OGG, MP3 …), float32;
- several channels → mean of the channels (downmix), noted in the record;
- any other rate → 16 kHz with the project's one resampler (:mod:`audiocodecs.resample`), noted;
- samples at |x| ≥ 0.999 are counted (``clipped_fraction``) and scored as they are; float input
  beyond full scale (|x| > 1) is refused (decoded audio is scored clamped to [-1, 1], so the
  reference must live in the same range);
- unreadable, empty, non-finite, silent or DC-only (AC peak below :data:`SILENCE_PEAK`) or
  too-short (< :data:`MIN_SECONDS`) files raise :class:`AudioError`, which the runner records as a
  per-utterance failure of the input (decoded output gets the same silence test in the runner, as a
  failure of the codec).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TARGET_SR = 16000
#: Shortest reference the harness scores: PESQ and STOI are unreliable or undefined below this.
MIN_SECONDS = 0.5
#: A signal whose AC peak (peak of the mean-removed signal) stays below this is silent or DC-only:
#: no metric is defined on it.
SILENCE_PEAK = 1e-4
CLIP_LEVEL = 0.999


class AudioError(ValueError):
    """An input file that cannot be scored; the message is the per-utterance failure reason."""


@dataclass
class LoadedAudio:
    """A reference waveform ready for the harness.

    Attributes:
        wav: mono float32 samples at 16 kHz, shape ``[T]``.
        notes: what was done to it (``"downmixed 2→1 channels"``, ``"resampled 22050→16000 Hz"``).
        clipped_fraction: fraction of samples at full scale in the original file.
        source_sr: the file's own sample rate.
    """

    wav: np.ndarray
    notes: list[str] = field(default_factory=list)
    clipped_fraction: float = 0.0
    source_sr: int = TARGET_SR

    @property
    def seconds(self) -> float:
        return len(self.wav) / TARGET_SR


def load_audio(path: str | Path, allow_over_full_scale: bool = False) -> LoadedAudio:
    """Load ``path`` as mono 16 kHz float32 per the module's policy; raises :class:`AudioError`.

    ``allow_over_full_scale`` reads a float file beyond full scale instead of refusing it, with a
    note (decoded audio from elsewhere: the runner clamps it to [-1, 1] as it does codec output).
    """
    import soundfile as sf

    path = Path(path)
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types for corrupt / non-audio files
        raise AudioError(f"unreadable audio file: {type(exc).__name__}: {exc}") from None
    notes: list[str] = []
    if data.size == 0:
        raise AudioError("empty audio file (0 samples)")
    if not np.isfinite(data).all():
        raise AudioError("input contains NaN or infinite samples")
    channels = data.shape[1]
    if channels > 1:
        notes.append(f"downmixed {channels}→1 channels (mean)")
    wav = data.mean(axis=1).astype(np.float32)
    peak = float(np.max(np.abs(wav)))
    over = peak > 1.0
    if over and not allow_over_full_scale:
        # decoded audio is scored clamped to [-1, 1]; an over-full-scale reference would make
        # even the identity codec lose (SI-SDR 16.7 dB, PESQ 3.29 seen): refuse, never rescale
        raise AudioError(
            f"over-full-scale input (peak {peak:.3f} > 1.0, float file): rescale it to [-1, 1]"
        )
    if over:
        notes.insert(0, f"float file beyond full scale (peak {float(np.max(np.abs(data))):.3f})")
    clipped = float(np.mean(np.abs(wav) >= CLIP_LEVEL))
    if clipped > 0 and not over:
        notes.append(f"clipped input ({clipped:.2%} of samples at full scale), scored as is")
    if sr != TARGET_SR:
        import torch

        from audiocodecs.resample import resample

        wav = resample(torch.from_numpy(wav)[None], sr, TARGET_SR)[0].numpy()
        notes.append(f"resampled {sr}→{TARGET_SR} Hz")
    check_reference(wav)
    return LoadedAudio(wav=wav, notes=notes, clipped_fraction=clipped, source_sr=int(sr))


def check_reference(wav: np.ndarray) -> None:
    """Raise :class:`AudioError` when ``wav`` (16 kHz) is too short or silent to be scored."""
    seconds = len(wav) / TARGET_SR
    if seconds < MIN_SECONDS:
        raise AudioError(f"too short to score: {seconds:.3f} s < {MIN_SECONDS} s")
    peak = ac_peak(wav)
    if peak < SILENCE_PEAK:
        raise AudioError(
            f"silent or DC-only input (AC peak {peak:.2e} < {SILENCE_PEAK:g}); no metric is defined"
        )


def ac_peak(wav: np.ndarray) -> float:
    """Peak magnitude of ``wav [T]`` after removing its mean (0 for silence, DC or a constant)."""
    x = np.asarray(wav, dtype=np.float64)
    return float(np.max(np.abs(x - x.mean()))) if x.size else 0.0


def pcm_sha256(wav: np.ndarray) -> str:
    """SHA-256 of ``wav`` as little-endian int16 PCM — a format-independent content hash."""
    import hashlib

    pcm = np.clip(np.round(np.asarray(wav, dtype=np.float64) * 32768.0), -32768, 32767)
    return hashlib.sha256(pcm.astype("<i2").tobytes()).hexdigest()
