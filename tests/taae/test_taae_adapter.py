"""TAAE codec adapters in the audiocodecs registry."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from audiocodecs.registry import codec_names, get_codec, get_entry

NAMES = [
    "taae_fsq",
    "taae_fsq_ste",
    "taae_fsq_noise",
    "taae_fsq_none",
    "taae_rvq",
    "taae_fsq@400bps",
    "taae_fsq@700bps",
    "taae_fsq@1000bps",
]


def test_all_taae_entries_registered() -> None:
    names = codec_names()
    for name in [*NAMES, "taae_fsq_random"]:
        assert name in names
    assert get_entry("taae_fsq_random").test_only
    assert "taae_fsq_random" not in codec_names(include_test_only=False)


def test_random_codec_round_trip_at_other_rate() -> None:
    codec = get_codec("taae_fsq_random")
    assert not codec.pretrained
    assert codec.frame_rate == 25.0 and codec.num_codebooks == 1
    assert codec.codebook_sizes == (17**6,) and codec.codebook_levels == ((17,) * 6,)
    assert codec.nominal_bps == pytest.approx(613.1, abs=0.1)
    wav = torch.randn(2, 1, 12345) * 0.1  # 24 kHz input goes through the shared resampler
    rt = codec.roundtrip(wav, 24000)
    assert rt.wav.shape == (2, 1, 12345)
    assert rt.codes is not None and rt.codes.shape == (2, 1, -(-8230 // 640))
    assert rt.codes.dtype == torch.int64
    assert codec.describe()["preset"] == "tiny_fsq_hybrid_613bps"


def test_missing_checkpoint_is_unavailable_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAAE_CHECKPOINTS", str(tmp_path))
    for name in NAMES:
        reason = get_entry(name).availability()
        assert reason is not None and str(tmp_path) in reason
        assert "python -m taae train --preset tinyspec_" in reason


def test_default_fsq_and_rvq_share_one_recipe_at_one_bitrate() -> None:
    """The mission's ``--codecs taae_fsq,taae_rvq`` compares the same recipe (the CPU recipe,
    ``tinyspec``) differing only in the bottleneck."""
    import dataclasses

    from taae.codec import _entries
    from taae.presets import get_preset

    entries = _entries()
    fsq, rvq = (get_preset(entries[n][0]) for n in ("taae_fsq", "taae_rvq"))
    assert fsq.name.startswith("tinyspec_") and rvq.name.startswith("tinyspec_")
    assert fsq.model == rvq.model and fsq.loss == rvq.loss and fsq.train == rvq.train
    assert dataclasses.replace(rvq.bottleneck, kind="fsq") == fsq.bottleneck
    # the bitrates themselves (613.1 bps each) are checked on built models below
    for tiny in ("taae_tiny_fsq", "taae_tiny_rvq", "taae_tiny_fsq_348"):
        assert entries[tiny][0].startswith("tiny_")


def test_checkpoint_loads_with_posthoc_ladder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from taae.checkpoint import save_model
    from taae.model import TAAE
    from taae.presets import get_preset

    cfg = get_preset("tinyspec_fsq_hybrid_613bps")
    save_model(
        tmp_path / cfg.name, TAAE(cfg.model, cfg.bottleneck), cfg, {"preset": cfg.name, "step": 7}
    )
    monkeypatch.setenv("TAAE_CHECKPOINTS", str(tmp_path))
    assert get_entry("taae_fsq").availability() is None
    expected = {
        "taae_fsq": (1, 613.1),
        "taae_fsq@400bps": (1, 387.7),
        "taae_fsq@700bps": (2, 696.6),
        "taae_fsq@1000bps": (4, 950.9),
    }
    x = torch.randn(1, 1, 4000) * 0.1
    for name, (k, bps) in expected.items():
        codec = get_codec(name)
        assert codec.num_codebooks == k and codec.nominal_bps == pytest.approx(bps, abs=0.1)
        assert codec.describe()["step"] == 7 and codec.pretrained
        assert codec.encode(x, 16000).shape == (1, k, 7)


def test_rvq_checkpoint_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from taae.checkpoint import save_model
    from taae.model import TAAE
    from taae.presets import get_preset

    cfg = get_preset("tinyspec_rvq_613bps")
    torch.manual_seed(0)
    model = TAAE(cfg.model, cfg.bottleneck)
    model.train()
    model(torch.randn(4, 1, 32000) * 0.1)  # k-means init of the codebooks
    save_model(tmp_path / cfg.name, model, cfg, {"preset": cfg.name, "step": 1})
    monkeypatch.setenv("TAAE_CHECKPOINTS", str(tmp_path))
    codec = get_codec("taae_rvq")
    assert codec.codebook_sizes == (4913, 4913) and codec.codebook_levels is None
    assert codec.nominal_bps == pytest.approx(613.1, abs=0.1)
    x = torch.randn(1, 1, 8000) * 0.1
    assert torch.equal(codec.encode(x, 16000), model.eval().encode(x))
