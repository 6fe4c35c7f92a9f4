"""Codec registry behaviour: lookups, did-you-mean errors, duplicates, availability listing."""

from __future__ import annotations

import pytest

from audiocodecs import CodecUnavailable, codec_names, get_codec, list_codecs
from audiocodecs.registry import _REGISTRY, CodecEntry, add_codec


def test_unknown_codec_names_the_closest_matches() -> None:
    with pytest.raises(KeyError, match="did you mean.*opus@6kbps"):
        get_codec("opus@6kbs")


def test_duplicate_registration_is_rejected() -> None:
    name = codec_names()[0]
    with pytest.raises(ValueError, match="twice"):
        add_codec(CodecEntry(name, lambda: None, lambda: None, "dup", "x"))  # type: ignore[arg-type,return-value]


def test_unavailable_codec_raises_with_the_reason() -> None:
    entry = CodecEntry(
        "test_missing_weights",
        lambda: None,
        lambda: "weights not found at /nowhere",
        "t",
        "t",  # type: ignore[arg-type,return-value]
        test_only=True,
    )
    add_codec(entry)
    try:
        with pytest.raises(CodecUnavailable, match="weights not found at /nowhere"):
            get_codec("test_missing_weights")
        listed = dict((e.name, r) for e, r in list_codecs())
        assert listed["test_missing_weights"] == "weights not found at /nowhere"
    finally:
        del _REGISTRY["test_missing_weights"]


def test_registry_lists_the_reference_codecs() -> None:
    names = codec_names()
    for required in ("passthrough", "opus@6kbps", "opus@12kbps"):
        assert required in names
