"""Lyra v2 adapter: exact packet sizes, bit packing, determinism, delay, a golden PESQ figure and
clear errors without the models. The registry-wide interface tests cover the three entries too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiocodecs import CodecError, get_entry
from audiocodecs.lyra import RATES, Lyra, _check_models, pack_indices, unpack_indices
from tests.conftest import SHARED_TEST_CLEAN, speech

#: PESQ-WB of lyra@3.2kbps on 1089-134686-0000 (shared test-clean), measured with this adapter
#: (ai-edge-litert 2.3.0, 1 thread) on 2026-12-03; a model, packing or scaling change moves it.
GOLDEN_PESQ_3200 = 2.566
GOLDEN_FILE = SHARED_TEST_CLEAN / "1089-134686-0000.flac"


def _lyra(suffix: str) -> Lyra:
    reason = get_entry(f"lyra@{suffix}").availability()
    if reason is not None:
        pytest.skip(f"lyra unavailable here: {reason}")
    return Lyra(RATES[suffix])


def test_bit_packing_round_trips_and_puts_the_first_quantizer_in_the_top_bits() -> None:
    rng = np.random.default_rng(0)
    for q in (16, 30, 46):
        idx = rng.integers(0, 16, size=(7, q)).astype(np.int32)
        blob = pack_indices(idx)
        assert len(blob) == 7 * q * 4 // 8
        assert np.array_equal(unpack_indices(blob, q), idx)
    first = np.zeros((1, 16), dtype=np.int32)
    first[0, 0] = 0xA
    assert pack_indices(first)[0] == 0xA0
    with pytest.raises(CodecError, match="whole number"):
        unpack_indices(b"\x00" * 9, 16)
    with pytest.raises(CodecError, match="out of range"):
        pack_indices(np.full((1, 16), 16))


@pytest.mark.parametrize("suffix", list(RATES))
def test_every_packet_has_exactly_the_rates_bits(suffix: str) -> None:
    codec = _lyra(suffix)
    n = 16000 + 123
    x = torch.from_numpy(speech(n / 16000))[None, None]
    packets = codec.encode_bytes(x)
    frames = -(-n // 320)
    assert len(packets.data[0]) * 8 == frames * RATES[suffix]
    # payload rate over whole packets is the nominal rate exactly
    assert 8 * len(packets.data[0]) / (frames * 320 / 16000) == codec.nominal_bps


def test_decode_from_packets_alone_is_deterministic() -> None:
    codec = _lyra("3.2kbps")
    x = torch.from_numpy(speech(1.0))[None, None]
    packets = codec.encode_bytes(x)
    again = codec.encode_bytes(x)
    assert packets.data == again.data, "encode is not deterministic"
    from audiocodecs import Packets

    blob = bytes(bytearray(packets.data[0]))  # through plain bytes, nothing else kept
    y1 = codec.decode_bytes(Packets([blob], [0]))
    y2 = codec.decode_bytes(Packets([blob], [0]))
    assert torch.equal(y1, y2) and y1.abs().max() > 0.01
    rt = codec.roundtrip(x, 16000)
    assert torch.equal(rt.wav, y1[..., : x.shape[-1]]), "roundtrip must decode the same packets"


def test_decoded_audio_has_no_delay() -> None:
    codec = _lyra("6kbps")
    x = speech(3.0, index=1)
    y = codec.roundtrip(torch.from_numpy(x)[None, None], 16000).wav[0, 0].numpy()
    cc = np.correlate(y, x, "full")
    assert int(np.argmax(cc)) - (len(x) - 1) == 0


def test_golden_pesq_at_3200_bps() -> None:
    if not GOLDEN_FILE.is_file():
        pytest.skip(f"{GOLDEN_FILE} absent")
    from pesq import pesq

    codec = _lyra("3.2kbps")
    x, _ = sf.read(str(GOLDEN_FILE), dtype="float32")
    y = codec.roundtrip(torch.from_numpy(x)[None, None], 16000).wav[0, 0].numpy()
    assert pesq(16000, x, np.clip(y, -1, 1), "wb") == pytest.approx(GOLDEN_PESQ_3200, abs=0.05)


def test_missing_or_altered_models_say_how_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = _check_models(str(tmp_path))
    assert reason is not None and "not found" in reason and "LYRA_MODELS_DIR" in reason
    for name in ("soundstream_encoder.tflite", "quantizer.tflite", "lyragan.tflite"):
        (tmp_path / name).write_bytes(b"not a model")
    reason = _check_models(str(tmp_path))
    assert reason is not None and "SHA-256" in reason and "replace it" in reason
    monkeypatch.setenv("LYRA_MODELS_DIR", str(tmp_path))
    assert "SHA-256" in (get_entry("lyra@3.2kbps").availability() or "")
