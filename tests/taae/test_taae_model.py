"""TAAE model: lengths, shapes, sliding-window attention, presets."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from taae.config import config_from_dict, config_to_dict, with_overrides
from taae.model import TAAE, Attention, count_parameters, sliding_window_mask
from taae.presets import FINETUNED, FSQ_MODES, PRESETS, ablation_diff, get_preset
from taae.train import _grows


@pytest.fixture(scope="module")
def model() -> TAAE:
    cfg = get_preset("test")
    torch.manual_seed(0)
    return TAAE(cfg.model, cfg.bottleneck, device="cpu").eval()


@pytest.mark.parametrize("length", [1, 319, 639, 641, 1001, 3203])
def test_odd_lengths_round_trip_shapes(model: TAAE, length: int) -> None:
    x = torch.randn(2, 1, length) * 0.1
    y, result = model(x)
    assert y.shape == (2, 1, length)
    frames = math.ceil(length / 640)
    assert result.codes.shape == (2, 1, frames)
    codes = model.encode(x)
    assert torch.equal(codes, result.codes)
    assert model.decode(codes).shape == (2, 1, frames * 640)
    assert model.decode(codes, length=length).shape == (2, 1, length)
    torch.testing.assert_close(model.decode(codes, length=length), y, rtol=1e-4, atol=1e-5)


def test_rejects_non_mono_input(model: TAAE) -> None:
    with pytest.raises(ValueError):
        model(torch.randn(2, 2, 640))


def test_frame_rate_and_hop(model: TAAE) -> None:
    assert model.frame_rate == 25.0 and model.hop_length == 640


def test_sliding_window_limits_attention() -> None:
    torch.manual_seed(0)
    attn = Attention(dim=16, num_heads=2, norm_eps=1e-2, rope_base=10000.0).eval()
    window = 3
    x = torch.randn(1, 20, 16)
    mask = sliding_window_mask(20, window, x.device)
    assert mask is not None and bool(mask[0, 3]) and not bool(mask[0, 4])
    base = attn(x, mask)
    x2 = x.clone()
    x2[0, 10] += 5.0
    changed = (attn(x2, mask) - base).abs().amax(dim=-1)[0] > 1e-6
    assert changed.nonzero().flatten().tolist() == list(range(10 - window, 10 + window + 1))
    assert sliding_window_mask(20, 0, x.device) is None  # window <= 0: full attention


def test_decoder_sees_quantized_latent_in_eval(model: TAAE) -> None:
    x = torch.randn(1, 1, 3200) * 0.1
    y, _ = model(x)
    yu = model.reconstruct_unquantized(x)
    assert y.shape == yu.shape and not torch.equal(y, yu)


def test_every_ablation_variant_differs_in_exactly_one_field() -> None:
    for name in PRESETS:
        if name == "test" or "_fsq_hybrid_" in name or name in FINETUNED:
            continue
        diff = ablation_diff(name)
        assert len(diff) == 1, (name, diff)
        ((field, (_, value)),) = diff.items()
        assert field in ("bottleneck.fsq_mode", "bottleneck.kind")
        assert value in (*FSQ_MODES, "rvq")


def test_preset_sizes() -> None:
    tiny = get_preset("tiny_fsq_hybrid_613bps")
    n = count_parameters(TAAE(tiny.model, tiny.bottleneck))
    assert 1e6 < n < 5e6
    paper = get_preset("paper_fsq_hybrid_613bps")
    with torch.device("meta"):
        big = TAAE(paper.model, paper.bottleneck, device="meta")
    assert 0.85e9 < count_parameters(big) < 1.05e9


def test_config_json_round_trip() -> None:
    cfg = get_preset("tiny_rvq_613bps")
    assert config_from_dict(config_to_dict(cfg)) == cfg


def test_preset_names_state_bitrate() -> None:
    for name, cfg in PRESETS.items():
        if name == "test":
            continue
        bps = round(25 * cfg.bottleneck.fsq_bits_per_frame())
        assert name.endswith(f"_{bps}bps")


def test_mlp_unpatch_head_keeps_shapes_and_lifts_the_rank_limit() -> None:
    base = get_preset("test")
    cfg = with_overrides(base, ["model.unpatch_hidden=96"])
    torch.manual_seed(0)
    m = TAAE(cfg.model, cfg.bottleneck).eval()
    x = torch.randn(1, 1, 1001) * 0.1
    y, _ = m(x)
    assert y.shape == x.shape
    assert count_parameters(m) > count_parameters(TAAE(base.model, base.bottleneck))
    # a linear head's patches span at most `dim` directions; the MLP head's outputs do not
    tokens = torch.randn(400, cfg.model.dim)
    rank = torch.linalg.matrix_rank(m.decoder.unpatch(tokens))
    assert rank > cfg.model.dim


def test_overrides_parse_types_and_refuse_typos() -> None:
    cfg = with_overrides(
        get_preset("test"),
        ["loss.wave_weight=2", "train.seed=3", "model.unpatch_hidden=64", "train.amp=False"],
    )
    assert cfg.loss.wave_weight == 2.0 and isinstance(cfg.loss.wave_weight, float)
    assert cfg.train.seed == 3 and cfg.model.unpatch_hidden == 64 and cfg.train.amp is False
    assert (
        with_overrides(cfg, ["bottleneck.levels=(5, 5, 5, 5, 5, 5)"]).bottleneck.levels == (5,) * 6
    )
    with pytest.raises(ValueError, match="no field 'wave_wieght'"):
        with_overrides(cfg, ["loss.wave_wieght=1.0"])
    with pytest.raises(ValueError, match="section.field=value"):
        with_overrides(cfg, ["wave_weight=1.0"])
    with pytest.raises(ValueError, match="is int, got str"):
        with_overrides(cfg, ["train.seed=abc"])


def test_blockwise_local_attention_equals_the_dense_mask() -> None:
    from taae.model import LOCAL_BLOCK

    torch.manual_seed(0)
    attn = Attention(dim=16, num_heads=2, norm_eps=1e-2, rope_base=10000.0).eval()
    t, window = 2 * LOCAL_BLOCK + 37, 16
    x = torch.randn(2, t, 16)
    dense = attn(x, sliding_window_mask(t, window, x.device))
    blocked = attn(x, None, window)
    torch.testing.assert_close(blocked, dense, rtol=1e-5, atol=1e-6)


def test_long_input_decodes_like_the_dense_path(model: TAAE) -> None:
    """A 25 s input takes the blockwise path; forcing the dense mask gives the same audio."""
    import taae.model as tm

    x = torch.randn(1, 1, 25 * 16000) * 0.1
    codes = model.encode(x)
    y = model.decode(codes)
    old = tm.LOCAL_THRESHOLD
    tm.LOCAL_THRESHOLD = 10**9  # dense everywhere
    try:
        codes_dense = model.encode(x)
        y_dense = model.decode(codes_dense)
    finally:
        tm.LOCAL_THRESHOLD = old
    assert torch.equal(codes, codes_dense)
    torch.testing.assert_close(y, y_dense, rtol=1e-4, atol=1e-5)


def test_finetuned_presets_start_from_their_base_checkpoint() -> None:
    """A fine-tuned preset is its base preset plus a fine-tuning stage: same bottleneck and
    model (or, with train.init_grow, a model whose only changes are decoder parts that start as
    the identity), started from the base's shipped checkpoint, with adversarial terms on."""
    assert FINETUNED
    for name, base in FINETUNED.items():
        cfg, ref = get_preset(name), get_preset(base)
        assert cfg.bottleneck == ref.bottleneck
        changed = {
            f"model.{f.name}": (getattr(ref.model, f.name), getattr(cfg.model, f.name))
            for f in dataclasses.fields(cfg.model)
            if getattr(ref.model, f.name) != getattr(cfg.model, f.name)
        }
        assert not changed or cfg.train.init_grow, f"{name}: {changed} without init_grow"
        assert all(_grows(k, a, b) for k, (a, b) in changed.items()), f"{name}: {changed}"
        assert cfg.train.init_from == f"checkpoints/{base}"
        assert cfg.loss.adv_weight > 0 and ref.loss.adv_weight == 0
        assert set(ablation_diff(name)) >= {"train.init_from", "loss.adv_weight"}
