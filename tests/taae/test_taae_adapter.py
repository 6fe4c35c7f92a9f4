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
    "taae_fsq_recon",
    "taae_rvq_recon",
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
    for suffix in ("", "_recon"):  # the shipped pair and the pair before the adversarial stage
        fsq, rvq = (get_preset(entries[n + suffix][0]) for n in ("taae_fsq", "taae_rvq"))
        assert fsq.name.startswith("tinyspec_") and rvq.name.startswith("tinyspec_")
        assert fsq.model == rvq.model and fsq.loss == rvq.loss
        # each fine-tunes its own pre-adversarial checkpoint; nothing else differs
        same_start = dataclasses.replace(rvq.train, init_from=fsq.train.init_from)
        assert fsq.train == same_start
        assert dataclasses.replace(rvq.bottleneck, kind="fsq") == fsq.bottleneck
    recon = get_preset(entries["taae_fsq_recon"][0])
    assert get_preset(entries["taae_fsq"][0]).train.init_from == f"checkpoints/{recon.name}"
    # the bitrates themselves (613.1 bps each) are checked on built models below
    for tiny in ("taae_tiny_fsq", "taae_tiny_rvq", "taae_tiny_fsq_348"):
        assert entries[tiny][0].startswith("tiny_")


def test_checkpoint_loads_with_posthoc_ladder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from taae.checkpoint import save_model
    from taae.model import TAAE
    from taae.presets import get_preset

    cfg = get_preset("tinyspec_fsq_hybrid_adv_613bps")  # the ladder follows `taae_fsq`
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
    codec = get_codec("taae_rvq_recon")
    assert codec.describe()["preset"] == "tinyspec_rvq_613bps"
    assert codec.codebook_sizes == (4913, 4913) and codec.codebook_levels is None
    assert codec.nominal_bps == pytest.approx(613.1, abs=0.1)
    x = torch.randn(1, 1, 8000) * 0.1
    assert torch.equal(codec.encode(x, 16000), model.eval().encode(x))


def test_export_as_preset_renames_only_a_matching_run(tmp_path: Path) -> None:
    """``taae export --as-preset`` ships a fine-tuning run (base preset + ``--set``) under the
    fine-tuned preset's name only when every config field equals that preset's."""
    from taae.__main__ import main
    from taae.checkpoint import MODEL_FILE, export_checkpoint, read_config, save_model
    from taae.config import with_overrides
    from taae.model import TAAE
    from taae.presets import FINETUNED, ablation_diff, get_preset

    target = "tinyspec_fsq_hybrid_adv_613bps"
    base = get_preset(FINETUNED[target])
    overrides = [f"{k}={v!r}" for k, (_, v) in ablation_diff(target).items()]
    run_cfg = with_overrides(base, overrides)  # what `train --preset base --set ...` records
    assert run_cfg.name == base.name
    torch.manual_seed(0)
    save_model(
        tmp_path / "run",
        TAAE(run_cfg.model, run_cfg.bottleneck),
        run_cfg,
        {"preset": base.name, "step": 3},
    )
    meta = export_checkpoint(tmp_path / "run", tmp_path / "out", as_preset=target)
    assert meta["preset"] == target and meta["trained_as"] == base.name and meta["step"] == 3
    cfg, _ = read_config(tmp_path / "out")
    assert cfg == get_preset(target)
    weights = (tmp_path / "out" / MODEL_FILE).read_bytes()
    assert weights == (tmp_path / "run" / MODEL_FILE).read_bytes()

    off = with_overrides(run_cfg, ["train.lr=3e-4"])  # one field away: refused, nothing written
    save_model(tmp_path / "off", TAAE(off.model, off.bottleneck), off, {"preset": base.name})
    with pytest.raises(ValueError, match="train.lr"):
        export_checkpoint(tmp_path / "off", tmp_path / "out2", as_preset=target)
    assert not (tmp_path / "out2").exists()
    code = main(
        ["export", str(tmp_path / "off"), "--out", str(tmp_path / "o3"), "--as-preset", target]
    )
    assert code == 2 and not (tmp_path / "o3").exists()


def test_every_fine_tune_is_reachable_and_one_serves_each_plain_name() -> None:
    """``SERVES_PLAIN_NAME`` picks, per base, the fine-tune behind the plain name (``taae_fsq``);
    the base answers to ``_recon`` and every other fine-tune to ``<plain>_<tag>``."""
    from taae.codec import SERVES_PLAIN_NAME, _entries, finetune_tag
    from taae.presets import FINETUNED

    entries = _entries()
    served = {preset for preset, _, _ in entries.values()}
    assert set(FINETUNED) <= served
    for base, tuned in SERVES_PLAIN_NAME.items():
        assert FINETUNED[tuned] == base
        plain = next(n for n, (p, post, _) in entries.items() if p == tuned and post is None)
        assert entries[plain + "_recon"][0] == base
        for other in (t for t, b in FINETUNED.items() if b == base and t != tuned):
            assert entries[f"{plain}_{finetune_tag(other, base)}"][0] == other
    assert finetune_tag("tinyspec_rvq_advlarge_613bps", "tinyspec_rvq_613bps") == "advlarge"
    with pytest.raises(ValueError, match="not named"):
        finetune_tag("tinyspec_fsq_hybrid_adv_348bps", "tinyspec_fsq_hybrid_613bps")
