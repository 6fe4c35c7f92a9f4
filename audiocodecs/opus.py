"""Opus through libsndfile's Ogg/Opus writer (bundled with ``soundfile``): no FFmpeg needed.

Two families: ``opus@Nkbps`` (libsndfile's writer, libopus in its default VBR mode: on speech with
pauses the payload lands 6–9 % under the target) and ``opus_cbr@Nkbps`` (libopus in constant-bitrate
mode through PyAV's bundled FFmpeg, ``vbr=off``: every 20 ms packet has the same size, so the
payload equals the target; libsndfile's writer cannot switch VBR off). Both write Ogg/Opus, are
decoded by libsndfile at 16 kHz and share one bit account.

libsndfile sets the Opus target bitrate from the compression level ``c`` as
``bitrate = 6000 + (1 − c) · 250000`` bps per channel (``ogg_opus.c``), so ``opus@Nkbps`` uses
``c = 1 − (N·1000 − 6000) / 250000``. libopus runs in its default VBR mode at 16 kHz.
The payload bitrate counts the Opus audio packets only (RFC 7845: the two header packets
``OpusHead`` and ``OpusTags`` and every Ogg page header are container overhead, ~900 bytes per file
here); the container's own bytes are reported beside it.
"""

from __future__ import annotations

import io

import numpy as np
import torch

from audiocodecs.base import Codec, CodecError, Packets
from audiocodecs.registry import register_codec

#: Target bitrates (kbps) registered as ``opus@<N>kbps``.
OPUS_KBPS: tuple[int, ...] = (6, 8, 12)


def compression_level_for(bps: float) -> float:
    """libsndfile compression level that gives target ``bps`` (valid 6–256 kbps)."""
    if not 6000 <= bps <= 256000:
        raise ValueError(f"libsndfile's Opus encoder supports 6–256 kbps, not {bps / 1000:g} kbps")
    return 1.0 - (bps - 6000.0) / 250000.0


class Opus(Codec):
    """Opus at a fixed target bitrate (byte-stream codec)."""

    stream = "bytes"
    frame_rate = 50.0  # libopus' default 20 ms frames
    num_codebooks = 0
    codebook_sizes = ()

    def __init__(self, target_bps: float, sample_rate: int = 16000) -> None:
        super().__init__()
        self.target_bps = float(target_bps)
        self.sample_rate = sample_rate
        self.compression_level = compression_level_for(target_bps)

    @property
    def nominal_bps(self) -> float:  # configured target; the harness measures bytes
        return self.target_bps

    @property
    def bitrate_formula(self) -> str:
        return (
            f"configured target {self.target_bps / 1000:g} kbps "
            f"(libsndfile compression_level {self.compression_level:.3f}); payload rate from the "
            "Opus packets (Ogg container excluded)"
        )

    @property
    def min_samples(self) -> int:
        return 1

    def extra_config(self) -> dict[str, object]:
        import soundfile as sf

        return {
            "target_bps": self.target_bps,
            "compression_level": self.compression_level,
            "libsndfile": sf.__libsndfile_version__,
            "container": "Ogg; payload = Opus audio packets (headers and page framing excluded)",
        }

    def encode_bytes(self, wav: torch.Tensor) -> Packets:
        import soundfile as sf

        data, lengths = [], []
        for item in wav.detach().float().cpu().numpy():
            buf = io.BytesIO()
            x = np.clip(item[0], -1.0, 1.0)
            try:
                sf.write(
                    buf,
                    x,
                    self.sample_rate,
                    format="OGG",
                    subtype="OPUS",
                    compression_level=self.compression_level,
                )
            except Exception as exc:
                raise CodecError(f"opus encode failed: {exc}") from exc
            data.append(buf.getvalue())
            lengths.append(len(x))
        return Packets(data=data, num_samples=lengths)

    def payload_bytes(self, packets: Packets) -> list[int]:
        """Bytes of the Opus audio packets, without the Ogg container and the two header packets."""
        return [sum(ogg_packet_sizes(blob)[2:]) for blob in packets.data]

    def decode_bytes(self, packets: Packets) -> torch.Tensor:
        import soundfile as sf

        outs = []
        for blob, n in zip(packets.data, packets.num_samples, strict=True):
            try:
                y, sr = sf.read(io.BytesIO(blob), dtype="float32", always_2d=True)
            except Exception as exc:
                raise CodecError(f"opus decode failed: {exc}") from exc
            if sr != self.sample_rate:
                raise CodecError(f"opus stream decoded at {sr} Hz, expected {self.sample_rate}")
            y = y[:, 0]
            y = np.pad(y, (0, max(0, n - len(y))))[:n]
            outs.append(torch.from_numpy(np.ascontiguousarray(y)))
        return torch.stack(outs)[:, None].to(self.device)


class OpusCBR(Opus):
    """Opus in constant-bitrate mode (libopus ``vbr=off`` via PyAV), Ogg container, 16 kHz."""

    @property
    def bitrate_formula(self) -> str:
        return (
            f"configured target {self.target_bps / 1000:g} kbps, libopus CBR (vbr=off, PyAV); "
            "payload rate from the Opus packets (Ogg container excluded)"
        )

    def extra_config(self) -> dict[str, object]:
        import av

        return {
            "target_bps": self.target_bps,
            "mode": "CBR (libopus vbr=off)",
            "pyav": av.__version__,
            "libopus_via": "FFmpeg bundled with PyAV",
            "container": "Ogg; payload = Opus audio packets (headers and page framing excluded)",
        }

    def encode_bytes(self, wav: torch.Tensor) -> Packets:
        import av

        data, lengths = [], []
        for item in wav.detach().float().cpu().numpy():
            x = np.ascontiguousarray(np.clip(item[0], -1.0, 1.0), dtype=np.float32)
            buf = io.BytesIO()
            try:
                with av.open(buf, mode="w", format="ogg") as container:
                    stream = container.add_stream("libopus", rate=self.sample_rate)
                    stream.bit_rate = int(self.target_bps)
                    stream.layout = "mono"
                    stream.codec_context.options = {"vbr": "off"}
                    frame = av.AudioFrame.from_ndarray(x[None], format="flt", layout="mono")
                    frame.sample_rate = self.sample_rate
                    for packet in [*stream.encode(frame), *stream.encode(None)]:
                        container.mux(packet)
            except Exception as exc:
                raise CodecError(f"opus (CBR) encode failed: {exc}") from exc
            data.append(buf.getvalue())
            lengths.append(len(x))
        return Packets(data=data, num_samples=lengths)


def _pyav_missing() -> str | None:
    try:
        import av  # noqa: F401
    except ImportError:
        return "PyAV is not installed: pip install 'av==18.1.0' (bundles FFmpeg with libopus)"
    return None


def ogg_packet_sizes(blob: bytes) -> list[int]:
    """Sizes of the logical packets of an Ogg stream (RFC 3533), in stream order.

    A page is ``OggS``, 22 more header bytes, a segment count ``n`` and ``n`` lacing values; a
    packet ends at the first lacing value below 255 (packets may continue across pages).
    """
    sizes: list[int] = []
    pos, current = 0, 0
    while pos < len(blob):
        if blob[pos : pos + 4] != b"OggS" or pos + 27 > len(blob):
            raise CodecError(f"not an Ogg page at byte {pos}")
        nseg = blob[pos + 26]
        lacing = blob[pos + 27 : pos + 27 + nseg]
        if len(lacing) != nseg:
            raise CodecError("truncated Ogg page header")
        body = 0
        for v in lacing:
            current += v
            body += v
            if v < 255:
                sizes.append(current)
                current = 0
        pos += 27 + nseg + body
    if pos != len(blob):
        raise CodecError("truncated Ogg page body")
    return sizes


def _make(kbps: int, cbr: bool) -> None:
    """Register ``opus@<kbps>kbps`` (libsndfile, VBR) or ``opus_cbr@<kbps>kbps`` (PyAV, CBR)."""
    cls, via, mode = (OpusCBR, "PyAV/FFmpeg", "CBR") if cbr else (Opus, "libsndfile", "VBR")
    register_codec(
        f"opus{'_cbr' if cbr else ''}@{kbps}kbps",
        description=f"Opus (libopus via {via}, Ogg/Opus), target {kbps} kbps {mode}, 16 kHz",
        family="opus",
        availability=_pyav_missing if cbr else (lambda: None),
    )(lambda: cls(kbps * 1000))


for _k in OPUS_KBPS:
    _make(_k, cbr=False)
    _make(_k, cbr=True)
