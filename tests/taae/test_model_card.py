"""Model cards list only the result files that scored the card's own weights."""

from __future__ import annotations

import json
from pathlib import Path

from audiocodecs.base import file_sha256
from taae.model_card import _results_for, render

REPO = Path(__file__).resolve().parents[2]
CKPT = REPO / "checkpoints" / "tinyspec_fsq_ste_348bps"


def test_ablation_results_are_matched_by_weights_digest_not_by_name() -> None:
    digest = file_sha256(CKPT / "model.safetensors")
    found = _results_for({"taae_fsq_ste_348"}, REPO / "results", digest)
    assert found and {where for _, where in found} == {"ablation_tinyspec/seed0"}
    assert all(r["codec"]["weights_sha256"] == digest for r, _ in found)
    # seeds 1 and 2 (other weights, same registry name) never reach the card
    assert _results_for({"taae_fsq_ste_348"}, REPO / "results", "0" * 64) == []
    card = render(CKPT, ["taae_fsq_ste_348"], REPO / "results")
    assert "`results/ablation_tinyspec/seed0/` (same weights)" in card
    assert "librispeech-test-clean-122" in card


def test_leaderboard_results_of_other_weights_under_the_same_name_are_left_out(
    tmp_path: Path,
) -> None:
    """A registry name that moved to new weights (``taae_fsq`` after issue #24) keeps no stale
    leaderboard rows on the new card."""
    src = REPO / "results" / "librispeech-test-clean-122" / "taae_tiny_fsq.json"
    (tmp_path / "librispeech-test-clean-122").mkdir()
    (tmp_path / "librispeech-test-clean-122" / src.name).write_bytes(src.read_bytes())
    digest = json.loads(src.read_text())["codec"]["weights_sha256"]
    assert len(_results_for({"taae_tiny_fsq"}, tmp_path, digest)) == 1
    assert _results_for({"taae_tiny_fsq"}, tmp_path, "0" * 64) == []


def test_a_fine_tune_names_its_source_and_how_its_decoder_was_grown() -> None:
    from taae.model_card import _finetune_text

    train = {"init_from": "checkpoints/base"}
    assert _finetune_text({"init_from": ""}, {}) == ""
    assert _finetune_text(train, {}) == "; fine-tuned from `checkpoints/base`"
    grown = {"init": {"grown": {"model.dec_blocks_25hz": [2, 5], "model.head_hidden": [0, 64]}}}
    text = _finetune_text(train, grown)
    assert "`model.dec_blocks_25hz` 2 → 5" in text and "`model.head_hidden` 0 → 64" in text
    assert "identity" in text
