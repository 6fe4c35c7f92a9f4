"""Codec adapters behind one interface (:class:`audiocodecs.base.Codec`) and a name registry.

Layering: the ground floor — ``audiocodecs`` imports neither ``bench`` nor ``taae`` (tested).
"""

from audiocodecs.base import Codec, CodecError, CodecUnavailable, Packets, RoundTrip, align_length
from audiocodecs.registry import (
    CodecEntry,
    codec_names,
    get_codec,
    get_entry,
    list_codecs,
    register_codec,
)

__all__ = [
    "Codec",
    "CodecEntry",
    "CodecError",
    "CodecUnavailable",
    "Packets",
    "RoundTrip",
    "align_length",
    "codec_names",
    "get_codec",
    "get_entry",
    "list_codecs",
    "register_codec",
]
