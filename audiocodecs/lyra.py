"""Lyra v2 (Google's SoundStream: encoder, residual VQ, GAN decoder) on the LiteRT interpreter.

===============  ==========  ==============  =====================================
name             quantizers  bits per frame  bitrate (50 Hz × bits per frame)
===============  ==========  ==============  =====================================
lyra@3.2kbps     16          64              3200 bps
lyra@6kbps       30          120             6000 bps
lyra@9.2kbps     46          184             9200 bps
===============  ==========  ==============  =====================================

The three pretrained TFLite models of lyra release 1.3.2 (``soundstream_encoder.tflite``,
``quantizer.tflite``, ``lyragan.tflite``; Apache-2.0, "Lyra v2, Google") are read from
``$LYRA_MODELS_DIR``, else ``../shared/models/lyra-v2`` beside this repository, and checked against
the SHA-256 of the released files before use. They are never downloaded.

**Bytes, not tokens.** Each 20 ms hop (320 samples at 16 kHz) becomes one packet: the first
``bits / 4`` residual-quantizer indices (4 bits each), packed most-significant bit first with the
first quantizer in the top bits, no header — the packet layout of lyra's own bitstream. An
utterance's packets are concatenated (every packet is a whole number of bytes: 8 / 15 / 23), so the
payload bitrate is exact: 50 packets/s × bits. Decoding reads the indices back from the bytes alone,
sets the unused quantizers to −1, and runs the quantizer's ``decode`` signature and the GAN decoder.

**State.** The encoder and decoder models keep streaming state inside the interpreter, so every
utterance gets fresh interpreters and its hops are fed in order. Input is scaled as lyra does
(int16 / 32768), the last partial hop is zero-padded, and the decoder's output (same unit scale) is
clipped to the int16 range. The decoded signal has no delay to remove (measured: the lag of the
best cross-correlation is 0 samples on real speech; ``tests/test_lyra.py``).
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiocodecs.base import Codec, CodecError, Packets, file_sha256
from audiocodecs.registry import register_codec

LITERT_PIN = "ai-edge-litert==2.3.0"
MODELS_ENV = "LYRA_MODELS_DIR"
#: Where the models sit in this project's layout (``../shared/models/lyra-v2``).
SHARED_MODELS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "models" / "lyra-v2"
RELEASE = "google/lyra v1.3.2 (commit 47698dadf0010abff6a848e02642f55f806d4842), lyra/model_coeffs/"
#: SHA-256 of the released model files (as published in the release's SHA256SUMS).
MODEL_SHA256: dict[str, str] = {
    "soundstream_encoder.tflite": (
        "237da0b16226fb0a68d49551c81bebf614e42142af72764448359f68581e88f1"
    ),
    "quantizer.tflite": "841ee05989687d32d1f616a8ad1419fc7eda37599d3c05c7cf5a0d60ccf8ac5c",
    "lyragan.tflite": "50e7839cda4f30599a3a34cfaddcd9c98449b049eee884e1a74295780448ad06",
}
SAMPLE_RATE = 16000
HOP = 320  # samples per packet (20 ms)
BITS_PER_QUANTIZER = 4
MAX_QUANTIZERS = 46
FEATURES = 64
#: registry suffix → bits per 20 ms packet
RATES: dict[str, int] = {"3.2kbps": 64, "6kbps": 120, "9.2kbps": 184}


def models_dir() -> Path:
    """Folder searched for the models: ``$LYRA_MODELS_DIR``, else ``../shared/models/lyra-v2``."""
    env = os.environ.get(MODELS_ENV)
    return Path(env).expanduser() if env else SHARED_MODELS_DIR


def _interpreter_class() -> Any:
    """LiteRT's interpreter, or the older ``tflite_runtime`` one; ``None`` when neither is here."""
    if importlib.util.find_spec("ai_edge_litert") is not None:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
    if importlib.util.find_spec("tflite_runtime") is not None:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter
    return None


def _check_models(folder: str) -> str | None:
    """``None`` when every model file is in ``folder`` with the released checksum, else why not."""
    stamp = []
    for fname in MODEL_SHA256:
        try:
            st = (Path(folder) / fname).stat()
            stamp.append((st.st_size, st.st_mtime_ns))
        except OSError:
            stamp.append(None)
    return _check_models_cached(folder, tuple(stamp))


@functools.lru_cache(maxsize=16)
def _check_models_cached(folder: str, stamp: tuple[object, ...]) -> str | None:
    # keyed on the files' size and mtime: hashing 3.5 MB once per process, not per lookup
    where = Path(folder)
    for fname, digest in MODEL_SHA256.items():
        path = where / fname
        if not path.is_file():
            return (
                f"model file not found: {path} — put the three TFLite files of {RELEASE} "
                f"in that folder or set ${MODELS_ENV} (https://github.com/google/lyra/tree/"
                "v1.3.2/lyra/model_coeffs)"
            )
        got = file_sha256(path)
        if got != digest:
            return (
                f"{path} has SHA-256 {got[:12]}…, not the released {digest[:12]}…: "
                f"replace it with the file from {RELEASE}"
            )
    return None


def _unavailable() -> str | None:
    if _interpreter_class() is None:
        return f"LiteRT interpreter not installed: pip install {LITERT_PIN}"
    return _check_models(str(models_dir()))


def pack_indices(indices: np.ndarray) -> bytes:
    """Pack ``indices [F, Q]`` (each < 16) into ``F`` packets of ``Q × 4`` bits, MSB first."""
    idx = np.asarray(indices, dtype=np.uint8)
    if idx.size and (idx.min() < 0 or idx.max() >= 1 << BITS_PER_QUANTIZER):
        raise CodecError("lyra quantizer index out of range 0–15")
    bits = np.unpackbits(idx[..., None], axis=-1)[..., -BITS_PER_QUANTIZER:]  # [F, Q, 4]
    return np.packbits(bits.reshape(-1)).tobytes()


def unpack_indices(blob: bytes, quantizers: int) -> np.ndarray:
    """Inverse of :func:`pack_indices`: bytes → ``indices [F, Q]`` (int32)."""
    bits_per_packet = quantizers * BITS_PER_QUANTIZER
    bits = np.unpackbits(np.frombuffer(blob, dtype=np.uint8))
    if bits_per_packet % 8 or len(bits) % bits_per_packet:
        raise CodecError(
            f"lyra stream of {len(blob)} bytes is not a whole number of "
            f"{bits_per_packet // 8}-byte packets"
        )
    nibbles = bits.reshape(-1, quantizers, BITS_PER_QUANTIZER)
    weights = 1 << np.arange(BITS_PER_QUANTIZER - 1, -1, -1)
    return (nibbles * weights).sum(-1).astype(np.int32)


class Lyra(Codec):
    """Lyra v2 at one bitrate (byte-stream codec, 16 kHz, 50 packets/s).

    Args:
        bits_per_frame: 64, 120 or 184 (3.2 / 6 / 9.2 kbps).
        folder: where the three model files are (default: :func:`models_dir`).
        num_threads: interpreter threads (1 keeps runs reproducible and leaves cores to metrics).
    """

    stream = "bytes"
    sample_rate = SAMPLE_RATE
    frame_rate = SAMPLE_RATE / HOP
    num_codebooks = 0
    codebook_sizes = ()

    def __init__(
        self, bits_per_frame: int, folder: Path | None = None, num_threads: int = 1
    ) -> None:
        super().__init__()
        if bits_per_frame not in RATES.values():
            raise ValueError(f"lyra supports {sorted(RATES.values())} bits per frame")
        self.bits_per_frame = bits_per_frame
        self.quantizers = bits_per_frame // BITS_PER_QUANTIZER
        self.folder = Path(folder) if folder is not None else models_dir()
        self.num_threads = num_threads
        self._interpreter = _interpreter_class()
        if self._interpreter is None:
            raise CodecError(f"LiteRT interpreter not installed: pip install {LITERT_PIN}")

    @property
    def nominal_bps(self) -> float:
        return self.frame_rate * self.bits_per_frame

    @property
    def bitrate_formula(self) -> str:
        return (
            f"{self.frame_rate:g} Hz × {self.bits_per_frame} bits ({self.quantizers} quantizers × "
            f"{BITS_PER_QUANTIZER} bits) = {self.nominal_bps:.0f} bps; real rate from bytes"
        )

    @property
    def min_samples(self) -> int:
        return 1  # the last partial hop is zero-padded

    def extra_config(self) -> dict[str, Any]:
        from importlib.metadata import PackageNotFoundError, version

        try:
            runtime = f"ai-edge-litert=={version('ai-edge-litert')}"
        except PackageNotFoundError:
            runtime = "tflite-runtime"
        return {
            "models": RELEASE,
            "model_sha256": dict(MODEL_SHA256),
            "runtime": runtime,
            "num_threads": self.num_threads,
            "quantizers": self.quantizers,
            "packing": f"{self.quantizers} × 4-bit indices per 20 ms packet, MSB first, "
            "first quantizer in the top bits, no header",
            "licence": "Apache-2.0 (Lyra v2, Google)",
        }

    def _runner(self, model: str, signature: str) -> Any:
        it = self._interpreter(model_path=str(self.folder / model), num_threads=self.num_threads)
        return it.get_signature_runner(signature)

    def encode_bytes(self, wav: torch.Tensor) -> Packets:
        data, lengths = [], []
        quantize = self._runner("quantizer.tflite", "encode")
        nq = np.array(self.quantizers, dtype=np.int32)
        for item in wav.detach().float().cpu().numpy():
            x = item[0]
            n = len(x)
            frames = -(-n // HOP)
            pcm = np.zeros(frames * HOP, dtype=np.float32)
            # lyra's input is int16 PCM scaled by 1/32768
            pcm[:n] = np.round(np.clip(x, -1.0, 1.0) * 32767.0) / 32768.0
            encoder = self._runner("soundstream_encoder.tflite", "serving_default")
            indices = np.empty((frames, self.quantizers), dtype=np.int32)
            try:
                for f in range(frames):
                    feat = encoder(input_audio=pcm[None, f * HOP : (f + 1) * HOP])["output_0"]
                    out = quantize(input_frames=feat, num_quantizers=nq)
                    indices[f] = out["output_0"].reshape(-1)[: self.quantizers]
            except Exception as exc:
                raise CodecError(f"lyra encode failed: {exc}") from exc
            data.append(pack_indices(indices))
            lengths.append(n)
        return Packets(data=data, num_samples=lengths)

    def decode_bytes(self, packets: Packets) -> torch.Tensor:
        dequantize = self._runner("quantizer.tflite", "decode")
        outs = []
        for blob in packets.data:
            indices = unpack_indices(blob, self.quantizers)
            if not len(indices):
                raise CodecError("lyra stream shorter than one packet")
            full = np.full((MAX_QUANTIZERS, 1, 1), -1, dtype=np.int32)  # unused quantizers: -1
            decoder = self._runner("lyragan.tflite", "serving_default")
            y = np.empty(len(indices) * HOP, dtype=np.float32)
            try:
                for f, row in enumerate(indices):
                    full[: self.quantizers, 0, 0] = row
                    feat = dequantize(encoding_indices=full)["output_0"]
                    y[f * HOP : (f + 1) * HOP] = decoder(input_audio=feat)["output_0"][0]
            except Exception as exc:
                raise CodecError(f"lyra decode failed: {exc}") from exc
            outs.append(torch.from_numpy(np.clip(y, -1.0, 32767.0 / 32768.0)))
        length = max(len(o) for o in outs)
        out = torch.stack([torch.nn.functional.pad(o, (0, length - len(o))) for o in outs])
        return out[:, None].to(self.device)


def _register(suffix: str, bits: int) -> None:
    @register_codec(
        f"lyra@{suffix}",
        description=f"Lyra v2 (SoundStream, Google, Apache-2.0) at {suffix}: "
        f"{bits // BITS_PER_QUANTIZER} RVQ stages × 4 bits per 20 ms, 16 kHz, TFLite on LiteRT",
        family="lyra",
        availability=_unavailable,
    )
    def _factory() -> Codec:
        return Lyra(bits)


for _suffix, _bits in RATES.items():
    _register(_suffix, _bits)
