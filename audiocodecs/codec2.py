"""Codec 2 (David Rowe's low-bitrate speech vocoder) via ``pycodec2``: an 8 kHz byte-stream codec.

===========  ======  ======================  ===============  ===========================
name         mode    frame                   bits per frame   nominal bitrate
===========  ======  ======================  ===============  ===========================
codec2@700   700C    40 ms (320 samples)     28               25 Hz × 28 bits = 700 bps
codec2@1200  1200    40 ms                   48               1200 bps
codec2@1600  1600    40 ms                   64               1600 bps
codec2@2400  2400    20 ms (160 samples)     48               2400 bps
codec2@3200  3200    20 ms                   64               3200 bps
===========  ======  ======================  ===============  ===========================

The ``pycodec2`` manylinux wheel bundles its own ``libcodec2`` (no system package needed). The
harness resamples 16 → 8 → 16 kHz, so everything above 4 kHz is lost by construction.

**Why bytes, not tokens.** A Codec 2 frame is a bit-packed record of fields of different widths
(pitch, energy, voicing, LSP / vector-quantiser indices), not one codebook index; a 64-bit frame
does not even fit an int64 token, and per-codebook usage statistics would be meaningless. So the
adapter is a byte-stream codec like Opus: each utterance's frames are concatenated bit-exactly
(``bits_per_frame`` bits each, MSB first, no per-frame byte padding or header) into one byte
string, and the harness measures the real bitrate from its length. (``c2enc``'s raw ``.c2`` files
instead pad every frame to whole bytes: 700C then costs 4 bytes per 40 ms = 800 bps; that figure
is recorded as ``c2enc_file_bps``.)

**Delay.** The decoder lags its input by a fixed amount, removed by the harness
(``delay_samples``, at 8 kHz): 140 samples (17.5 ms) for 1200–3200 and 224 samples (28 ms) for
700C, measured as the lag maximising the cross-correlation of 10 ms log-energy envelopes on 15
real-speech files (LibriSpeech, LJSpeech; per-mode medians 138–145 and 227). Waveform correlation
cannot measure it: Codec 2 is a parametric vocoder that does not transmit phase, so its SI-SDR is
near or below 0 dB whatever the alignment. To get the whole utterance back after removing the
delay, the encoder is fed ``delay_samples`` of trailing silence (at most one extra frame, counted
in the bytes). Encoder and decoder state is fresh per utterance; library defaults otherwise.

**Determinism.** libcodec2's decoder draws the phases of unvoiced harmonics (and its post-filter's
noise) from one process-wide linear-congruential generator, ``static unsigned long next`` in
``codec2.c`` stepped by ``codec2_rand()``; a fresh ``CODEC2`` object does not reset it. Left
alone, an utterance's decoded audio depends on every utterance decoded before it in the process
(order, sharding, batch position). :class:`RandomPhaseState` finds that variable through the
library's ELF symbol table, checks it is the one ``codec2_rand()`` steps, and writes its
load-time value back before each utterance is decoded, so every utterance decodes exactly as it
would first thing in a fresh process. A reset is one 8-byte write: 0.08 µs measured, against
~4 ms to decode 1 s of 700C (10 s decoded in 43 ms with the reset, 41 ms without: noise).
Where the variable cannot be found (another libcodec2 build) the codec is unavailable, with the
reason, rather than silently order-dependent.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import math
import struct
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiocodecs.base import Codec, CodecError, Packets
from audiocodecs.registry import register_codec

PYCODEC2_PIN = "pycodec2==4.1.1"
SAMPLE_RATE = 8000
#: registry suffix → (pycodec2 mode, decoder delay in samples at 8 kHz; see module docstring)
MODES: dict[str, tuple[int, int]] = {
    "700": (700, 224),  # 700C
    "1200": (1200, 140),
    "1600": (1600, 140),
    "2400": (2400, 140),
    "3200": (3200, 140),
}


def _package_missing() -> str | None:
    if importlib.util.find_spec("pycodec2") is None:
        return f"package pycodec2 not installed: pip install {PYCODEC2_PIN}"
    try:
        random_phase_state()
    except RandomStateError as exc:
        return str(exc)
    return None


class RandomStateError(RuntimeError):
    """libcodec2's random-phase generator cannot be located (an unexpected library build)."""


#: ``codec2_rand()``'s recurrence (ANSI C's example ``rand``, on an ``unsigned long``).
_LCG_MUL, _LCG_ADD, _LCG_MOD = 1103515245, 12345, 1 << 64


def _elf_symbols(
    data: bytes,
) -> tuple[dict[str, list[tuple[int, int, int]]], list[tuple[int, int]]]:
    """Symbols of a little-endian ELF64 file, ``name → [(value, size, section index)]``, and the
    sections' ``(address, file offset)``; from ``.symtab`` (local symbols included)."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise RandomStateError("libcodec2 is not a little-endian ELF64 file")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)
    ]
    out: dict[str, list[tuple[int, int, int]]] = {}
    for sh in sections:
        if sh[1] != 2:  # SHT_SYMTAB
            continue
        strtab = sections[sh[6]]
        for k in range(sh[5] // 24):
            name_off, _info, _other, shndx, value, size = struct.unpack_from(
                "<IBBHQQ", data, sh[4] + k * 24
            )
            start = strtab[4] + name_off
            name = data[start : data.index(b"\0", start)].decode("ascii", "replace")
            out.setdefault(name, []).append((value, size, shndx))
    return out, [(sh[3], sh[4]) for sh in sections]


def _loaded_libcodec2() -> Path:
    """The libcodec2 file pycodec2's extension has mapped into this process."""
    import pycodec2.pycodec2  # noqa: F401  (maps the bundled libcodec2)

    maps = Path("/proc/self/maps")
    if not maps.is_file():
        raise RandomStateError("cannot locate libcodec2's random-phase state: no /proc/self/maps")
    paths = {
        line.split(maxsplit=5)[5].strip()
        for line in maps.read_text().splitlines()
        if len(line.split(maxsplit=5)) == 6 and "libcodec2" in Path(line.split()[-1]).name
    }
    if len(paths) != 1:
        raise RandomStateError(f"expected one libcodec2 mapped in this process, found {paths}")
    return Path(paths.pop())


class RandomPhaseState:
    """libcodec2's process-wide random generator (``next`` in ``codec2.c``), reset per utterance.

    Located once per process: ``codec2_rand``'s address from the loaded library minus its
    symbol value gives the load bias; ``next``'s symbol value plus that bias is its address, and
    its load-time value is read from the file's data section. The candidate is confirmed by
    calling ``codec2_rand()`` once and checking the word stepped by the generator's recurrence.
    """

    def __init__(self) -> None:
        path = _loaded_libcodec2()
        data = path.read_bytes()
        symbols, sections = _elf_symbols(data)
        lib = ctypes.CDLL(str(path))  # the mapped copy: dlopen of a loaded path reuses it
        lib.codec2_rand.restype = ctypes.c_int
        rand_value = [v for v, _, _ in symbols.get("codec2_rand", []) if v]
        if len(rand_value) != 1:
            raise RandomStateError(f"{path.name}: no unique codec2_rand symbol")
        bias = ctypes.cast(lib.codec2_rand, ctypes.c_void_p).value - rand_value[0]  # type: ignore[operator]
        for value, size, shndx in symbols.get("next", []):
            if size != 8 or not 0 < shndx < len(sections):
                continue
            word = ctypes.c_uint64.from_address(bias + value)
            before = word.value
            drawn = lib.codec2_rand()
            if (
                word.value == (before * _LCG_MUL + _LCG_ADD) % _LCG_MOD
                and drawn == (word.value >> 16) & 0x7FFF
            ):
                addr, offset = sections[shndx]
                (self.initial,) = struct.unpack_from("<Q", data, offset + value - addr)
                self._word = word
                self.library = path.name
                return
        raise RandomStateError(
            f"{path.name}: cannot locate libcodec2's random-phase state (no `next` that "
            "codec2_rand steps); Codec 2 output would depend on decoding order"
        )

    def reset(self) -> None:
        """Put the generator back to its load-time value (as in a fresh process)."""
        self._word.value = self.initial


@functools.cache
def random_phase_state() -> RandomPhaseState:
    """The process's one :class:`RandomPhaseState` (raises :class:`RandomStateError`)."""
    return RandomPhaseState()


#: One decode at a time touches the process-wide generator (reset, then the frames that draw).
_DECODE_LOCK = threading.Lock()


def _mode_label(mode: int) -> str:
    return "700C" if mode == 700 else str(mode)


class Codec2(Codec):
    """Codec 2 in one mode (byte-stream codec at 8 kHz).

    Args:
        mode: bit rate selecting the mode (700 = 700C, 1200, 1600, 2400, 3200).
        delay_samples: decoder lag at 8 kHz, removed by the harness.
    """

    stream = "bytes"
    sample_rate = SAMPLE_RATE
    num_codebooks = 0
    codebook_sizes = ()

    def __init__(self, mode: int, delay_samples: int = 0) -> None:
        super().__init__()
        import pycodec2

        self._pycodec2 = pycodec2
        self._random_state = random_phase_state()
        self.mode = mode
        probe = pycodec2.Codec2(mode)
        self.samples_per_frame = int(probe.samples_per_frame())
        self.bits_per_frame = int(probe.bits_per_frame())
        self.bytes_per_frame = int(probe.bytes_per_frame())
        self.frame_rate = SAMPLE_RATE / self.samples_per_frame
        self.delay_samples = delay_samples

    @property
    def nominal_bps(self) -> float:
        """The mode's rate, from the library: ``frame_rate × bits_per_frame``."""
        return self.frame_rate * self.bits_per_frame

    @property
    def min_samples(self) -> int:
        """Any length: the encoder pads the last frame with silence."""
        return 1

    @property
    def bitrate_formula(self) -> str:
        return (
            f"mode {_mode_label(self.mode)}: {self.frame_rate:g} Hz × {self.bits_per_frame} bits "
            f"= {self.nominal_bps:.0f} bps; real rate from bytes (frames bit-packed)"
        )

    def extra_config(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {
            "package": f"pycodec2=={version('pycodec2')} (bundles libcodec2)",
            "mode": _mode_label(self.mode),
            "samples_per_frame": self.samples_per_frame,
            "bits_per_frame": self.bits_per_frame,
            "c2enc_file_bps": self.frame_rate * 8 * self.bytes_per_frame,
            "packing": "frames concatenated bit-exactly, MSB first, no header",
            "flush": f"{self.delay_samples} samples of trailing silence encoded",
            "random_phase": "libcodec2's process-wide generator reset to its load-time value "
            "before each utterance is decoded (as in a fresh process)",
            "caveat": "parametric vocoder at 8 kHz: no phase is sent, so SI-SDR is not meaningful "
            "and nothing above 4 kHz survives (16 → 8 → 16 kHz)",
        }

    def encode_bytes(self, wav: torch.Tensor) -> Packets:
        spf, bpf = self.samples_per_frame, self.bits_per_frame
        data, lengths = [], []
        for item in wav.detach().float().cpu().numpy():
            x = item[0]
            n = len(x)
            frames = math.ceil((n + self.delay_samples) / spf)
            pcm = np.zeros(frames * spf, dtype=np.int16)
            pcm[:n] = np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)
            enc = self._pycodec2.Codec2(self.mode)  # fresh state per utterance
            bits = np.empty((frames, bpf), dtype=np.uint8)
            try:
                for f in range(frames):
                    # pycodec2's encode() codes only the first frame of what it is given.
                    packed = enc.encode(np.ascontiguousarray(pcm[f * spf : (f + 1) * spf]))
                    bits[f] = np.unpackbits(np.frombuffer(packed, dtype=np.uint8))[:bpf]
            except Exception as exc:
                raise CodecError(f"codec2 encode failed: {exc}") from exc
            data.append(np.packbits(bits.reshape(-1)).tobytes())
            lengths.append(n)
        return Packets(data=data, num_samples=lengths, extra={"mode": self.mode})

    def decode_bytes(self, packets: Packets) -> torch.Tensor:
        spf, bpf, nbytes = self.samples_per_frame, self.bits_per_frame, self.bytes_per_frame
        outs = []
        for blob in packets.data:
            frames = len(blob) * 8 // bpf  # exact: bit-packing pads by < 8 bits and bpf ≥ 28
            if frames == 0:
                raise CodecError("codec2 stream shorter than one frame")
            bits = np.unpackbits(np.frombuffer(blob, dtype=np.uint8))[: frames * bpf]
            padded = np.zeros((frames, nbytes * 8), dtype=np.uint8)
            padded[:, :bpf] = bits.reshape(frames, bpf)
            per_frame = np.packbits(padded, axis=1)
            dec = self._pycodec2.Codec2(self.mode)
            try:
                with _DECODE_LOCK:
                    # every utterance draws the phases a fresh process would (module docstring)
                    self._random_state.reset()
                    y = np.concatenate([dec.decode(row.tobytes()) for row in per_frame])
            except Exception as exc:
                raise CodecError(f"codec2 decode failed: {exc}") from exc
            if len(y) != frames * spf:
                raise CodecError(f"codec2 decoded {len(y)} samples from {frames} frames")
            outs.append(torch.from_numpy(y.astype(np.float32) / 32768.0))
        length = max(len(o) for o in outs)
        out = torch.stack([torch.nn.functional.pad(o, (0, length - len(o))) for o in outs])
        return out[:, None].to(self.device)


def _register(suffix: str, mode: int, delay: int) -> None:
    @register_codec(
        f"codec2@{suffix}",
        description=f"Codec 2 mode {_mode_label(mode)} ({mode} bps), 8 kHz (16 → 8 → 16 kHz)",
        family="codec2",
        availability=_package_missing,
    )
    def _factory() -> Codec:
        return Codec2(mode, delay_samples=delay)


for _suffix, (_mode, _delay) in MODES.items():
    _register(_suffix, _mode, _delay)
