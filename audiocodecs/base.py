"""The one interface every codec adapter implements.

A codec sees mono audio at its own ``sample_rate``. Everything that converts between the
harness's 16 kHz evaluation audio and a codec's native rate — resampling, length alignment,
delay compensation — happens here, in :meth:`Codec.roundtrip`, never in an adapter.

Tensors are channel-first: waveforms ``[B, 1, T]`` float32 in [-1, 1], codes ``[B, K, F]`` int64
(``K`` = ``num_codebooks``, ``F`` = frames).
"""

from __future__ import annotations

import math
import os
from abc import ABC
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from audiocodecs.resample import resample


class CodecError(RuntimeError):
    """A codec failed on one input (bad length, decode error …); recorded per utterance."""


#: Length slack beyond one codec frame (:attr:`Codec.length_tolerance_ms`): the resampler's
#: rounding (≤ 1 sample) and decoders a few samples short (DAC: 8 samples, 0.5 ms), with margin.
#: Measured on every registered codec (raw decode after the declared delay, 0.5–3.3 s clips):
#: |Δ| ≤ 35.2 ms for 40 ms frames (TAAE), 32.0 ms (Codec 2 700C), ≤ 15.2 ms for 20 ms frames
#: (Lyra, DAC), 8.5 ms for 13.3 ms (EnCodec), 0 (Opus, passthrough), 0.06 ms (16 → 8 → 16 kHz).
LENGTH_SLACK_MS = 10.0


class CodecUnavailable(RuntimeError):
    """A codec cannot be built here (missing package or weights); the message says the fix."""


@dataclass
class RoundTrip:
    """What one pass through a codec produced.

    Attributes:
        wav: decoded audio at the caller's sample rate, aligned to the input length, ``[B, 1, T]``.
        codes: integer tokens ``[B, K, F]`` for token codecs, ``None`` for byte-stream codecs.
        num_bytes: bytes actually produced per batch item for byte-stream codecs (container
            included), else ``None``.
        payload_bytes: of those, the codec payload (no container headers or framing), else ``None``.
        encode_seconds: wall-clock seconds spent in encode (device-synchronised).
        decode_seconds: wall-clock seconds spent in decode (device-synchronised).
        length_diff: samples (at the caller's rate) the decoded audio had beyond the input's
            length once the delay was removed: > 0 were trimmed, < 0 zero-padded
            (:func:`check_length` bounds it).
    """

    wav: torch.Tensor
    codes: torch.Tensor | None
    num_bytes: list[int] | None
    encode_seconds: float
    decode_seconds: float
    payload_bytes: list[int] | None = None
    length_diff: int = 0


@dataclass
class Packets:
    """A byte-stream codec's output: one ``bytes`` object per batch item plus what decode needs."""

    data: list[bytes]
    num_samples: list[int]
    extra: dict[str, Any] = field(default_factory=dict)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Codec(ABC):
    """Abstract speech codec.

    Subclasses set the class or instance attributes below and implement :meth:`_encode` and
    :meth:`_decode` (token codecs) or override :meth:`encode_bytes` / :meth:`decode_bytes` and set
    ``stream = "bytes"`` (byte-stream codecs such as Opus).

    Attributes:
        name: registry name, e.g. ``"opus@6kbps"``.
        sample_rate: the codec's native rate in Hz; the harness resamples to and from it.
        frame_rate: code frames (or packets) per second of audio.
        num_codebooks: ``K``, codes per frame.
        codebook_sizes: entries per codebook; FSQ's implicit codebook is the product of its levels.
        codebook_levels: optional per-codebook mixed-radix levels (FSQ: ``((17,)*6,)``) so the
            harness can report per-dimension level usage; ``None`` when codes are plain indices.
        delay_samples: samples (at ``sample_rate``) the decoded signal lags the input; removed in
            :meth:`roundtrip` before length alignment.
        stream: ``"tokens"`` (encode → int codes) or ``"bytes"`` (encode → a byte string).
        pretrained: whether this entry uses trained weights (random-init entries say so here).
    """

    name: str = "codec"
    sample_rate: int = 16000
    frame_rate: float = 0.0
    num_codebooks: int = 0
    codebook_sizes: tuple[int, ...] = ()
    codebook_levels: tuple[tuple[int, ...], ...] | None = None
    delay_samples: int = 0
    stream: ClassVar[str] = "tokens"
    pretrained: bool = True
    test_only: bool = False  # set from the registry entry: never written into results/

    def __init__(self) -> None:
        self.device = torch.device("cpu")

    # ----------------------------------------------------------------------------------- metadata
    @property
    def nominal_bps(self) -> float:
        """Bits per second a fixed-length code needs: ``frame_rate × Σ_k log2(codebook_size_k)``."""
        return self.frame_rate * sum(math.log2(s) for s in self.codebook_sizes)

    @property
    def bitrate_formula(self) -> str:
        """Human-readable derivation of :attr:`nominal_bps`, shown in tables."""
        if not self.codebook_sizes:
            return f"{self.nominal_bps:.0f} bps (configured)"
        sizes = sorted(set(self.codebook_sizes))
        size_txt = " + ".join(f"{self.codebook_sizes.count(s)}×log2({s})" for s in sizes)
        return f"{self.frame_rate:g} Hz × ({size_txt}) = {self.nominal_bps:.0f} bps"

    def describe(self) -> dict[str, Any]:
        """Configuration recorded in every result file."""
        return {
            "name": self.name,
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "sample_rate": self.sample_rate,
            "frame_rate": self.frame_rate,
            "num_codebooks": self.num_codebooks,
            "codebook_sizes": list(self.codebook_sizes),
            "codebook_levels": [list(x) for x in self.codebook_levels]
            if self.codebook_levels
            else None,
            "nominal_bps": self.nominal_bps,
            "bitrate_formula": self.bitrate_formula,
            "delay_samples": self.delay_samples,
            "stream": self.stream,
            "pretrained": self.pretrained,
            "test_only": self.test_only,
            **self.extra_config(),
        }

    def extra_config(self) -> dict[str, Any]:
        """Adapter-specific settings (checkpoint path, bandwidth, ...) for provenance."""
        return {}

    @property
    def length_tolerance_ms(self) -> float:
        """Largest ``|decoded − input|`` duration, after the declared delay is removed, that
        :meth:`roundtrip` trims or zero-pads; beyond it the input fails (:func:`check_length`).
        One frame (a decoder emits whole frames) plus :data:`LENGTH_SLACK_MS`."""
        frame = 1000.0 / self.frame_rate if self.frame_rate > 0 else 0.0
        return frame + LENGTH_SLACK_MS

    @property
    def min_samples(self) -> int:
        """Shortest input (at ``sample_rate``) the codec accepts; one frame by default."""
        if self.frame_rate <= 0:
            return 1
        return int(math.ceil(self.sample_rate / self.frame_rate))

    # ------------------------------------------------------------------------------------ device
    def to(self, device: str | torch.device) -> Codec:
        """Move the codec's model (if any) to ``device``; returns ``self``."""
        self.device = torch.device(device)
        for module in self._modules():
            module.to(self.device)
        return self

    def _modules(self) -> list[torch.nn.Module]:
        """Torch modules owned by the adapter (moved by :meth:`to`)."""
        return []

    # ---------------------------------------------------------------------- token codec interface
    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        """``[B, 1, T]`` at ``sample_rate`` on ``device`` → codes ``[B, K, F]`` int64."""
        raise NotImplementedError

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, K, F]`` → waveform ``[B, 1, T']`` at ``sample_rate``."""
        raise NotImplementedError

    @torch.inference_mode()
    def encode(self, wav: torch.Tensor, sr: int) -> torch.Tensor:
        """Encode ``wav [B, 1, T]`` sampled at ``sr`` into codes ``[B, K, F]`` (int64)."""
        x = self._prepare(wav, sr)
        codes = self._encode(x)
        if codes.dtype != torch.int64:
            codes = codes.long()
        return codes

    @torch.inference_mode()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Decode codes ``[B, K, F]`` into a waveform ``[B, 1, T']`` at the codec's rate."""
        return self._decode(codes.to(self.device))

    # ----------------------------------------------------------------------- byte codec interface
    def encode_bytes(self, wav: torch.Tensor) -> Packets:
        """Byte-stream codecs: ``[B, 1, T]`` at ``sample_rate`` → one byte string per item."""
        raise NotImplementedError(f"{self.name} is a token codec; use encode()")

    def decode_bytes(self, packets: Packets) -> torch.Tensor:
        """Byte-stream codecs: packets → ``[B, 1, T']`` at ``sample_rate``."""
        raise NotImplementedError(f"{self.name} is a token codec; use decode()")

    def payload_bytes(self, packets: Packets) -> list[int]:
        """Codec payload per item, without container overhead (all bytes unless overridden)."""
        return [len(p) for p in packets.data]

    # ------------------------------------------------------------------------------- shared path
    def _prepare(self, wav: torch.Tensor, sr: int) -> torch.Tensor:
        if wav.dim() != 3 or wav.shape[1] != 1:
            raise CodecError(f"expected mono audio [B, 1, T], got shape {tuple(wav.shape)}")
        x = resample(wav.to(self.device, torch.float32), sr, self.sample_rate)
        if x.shape[-1] < self.min_samples:
            raise CodecError(
                f"input too short for {self.name}: {x.shape[-1]} samples at {self.sample_rate} Hz, "
                f"needs at least {self.min_samples} (one frame)"
            )
        return x

    @torch.inference_mode()
    def roundtrip(self, wav: torch.Tensor, sr: int) -> RoundTrip:
        """Encode and decode ``wav [B, 1, T]`` at ``sr``; return audio at ``sr`` aligned to ``T``.

        This is the one place where resampling (to the codec's rate and back), delay compensation
        and length alignment (trim, or zero-pad at the end) happen for every codec. Decoder output
        of another shape than ``[B, 1, T']`` fails ("wrong shape"), and so does one whose length,
        once the delay is removed, is off by more than :attr:`length_tolerance_ms` ("length
        mismatch"): padding half an utterance with zeros would be scored as a codec's output.
        """
        import time

        length = wav.shape[-1]
        _sync(self.device)
        t0 = time.perf_counter()
        x = self._prepare(wav, sr)  # resampling to the codec's rate counts as encode time
        codes: torch.Tensor | None = None
        num_bytes: list[int] | None = None
        payload: list[int] | None = None
        if self.stream == "bytes":
            packets = self.encode_bytes(x)
            num_bytes = [len(p) for p in packets.data]
            payload = self.payload_bytes(packets)
        else:
            codes = self._encode(x).long()
        _sync(self.device)
        t1 = time.perf_counter()
        y = self.decode_bytes(packets) if self.stream == "bytes" else self._decode(codes)
        check_shape(y, wav.shape[0], f"{self.name}'s decoder")
        y = y.float()
        if self.delay_samples:
            y = y[..., self.delay_samples :]
        y = resample(y, self.sample_rate, sr)  # resampling back counts as decode time
        _sync(self.device)
        t2 = time.perf_counter()
        diff = check_length(y.shape[-1], length, sr, self.length_tolerance_ms)
        y = align_length(y, length)
        return RoundTrip(
            wav=y,
            codes=codes.cpu() if codes is not None else None,
            num_bytes=num_bytes,
            encode_seconds=t1 - t0,
            decode_seconds=t2 - t1,
            payload_bytes=payload,
            length_diff=diff,
        )


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a (weights) file, recorded in result provenance."""
    import hashlib

    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def check_shape(wav: torch.Tensor, batch: int, what: str = "decoder") -> None:
    """Raise :class:`CodecError` ("wrong shape [..]") unless ``wav`` is ``[batch, 1, T]``."""
    if wav.dim() != 3 or wav.shape[0] != batch or wav.shape[1] != 1:
        raise CodecError(
            f"wrong shape {list(wav.shape)} from {what}: expected [B, 1, T] with B = {batch}"
        )


def check_length(got: int, want: int, sr: int, tolerance_ms: float, what: str = "decoded") -> int:
    """The one length rule of ``bench run`` and ``bench score``: ``got − want`` samples (at
    ``sr``) when ``|got − want|`` is at most ``tolerance_ms`` — the caller then trims or zero-pads
    (:func:`align_length`) and records it — else :class:`CodecError` "length mismatch X s vs Y s".
    """
    diff = got - want
    if abs(diff) * 1000.0 > tolerance_ms * sr:
        raise CodecError(
            f"length mismatch {got / sr:.3f} s vs {want / sr:.3f} s ({what} vs input: "
            f"|Δ| = {abs(diff) * 1000.0 / sr:.1f} ms > {tolerance_ms:g} ms allowed)"
        )
    return diff


def align_length(wav: torch.Tensor, length: int) -> torch.Tensor:
    """Trim ``wav [..., T']`` to ``length`` samples, or zero-pad its end up to ``length``."""
    n = wav.shape[-1]
    if n >= length:
        return wav[..., :length]
    return torch.nn.functional.pad(wav, (0, length - n))
