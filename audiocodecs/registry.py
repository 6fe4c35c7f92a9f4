"""Name → codec factory registry.

Adapters register with :func:`register_codec`; heavy packages are imported only inside factories, so
listing codecs never imports torch models or third-party codec packages. Unknown names get an error
naming the closest valid ones.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from audiocodecs import plugins
from audiocodecs.base import Codec, CodecUnavailable

#: Built-in modules that register codecs when imported (one per codec family). Codecs from
#: elsewhere — this project's TAAE included — enter as plugins (:mod:`audiocodecs.plugins`).
FAMILY_MODULES: tuple[str, ...] = (
    "audiocodecs.passthrough",
    "audiocodecs.opus",
    "audiocodecs.encodec",
    "audiocodecs.dac",
    "audiocodecs.codec2",
    "audiocodecs.lyra",
)


@dataclass(frozen=True)
class CodecEntry:
    """One registry entry.

    Attributes:
        name: registry name (``family@setting`` where a family has several settings).
        factory: builds the codec; may raise :class:`CodecUnavailable`.
        availability: returns ``None`` when the codec can be built here, else a one-line reason with
            the fix (e.g. "weights not found at …").
        description: one line for ``bench list``.
        family: codec family (``opus``, ``taae`` …).
        test_only: random-init or synthetic entries that must never appear on the leaderboard.
    """

    name: str
    factory: Callable[[], Codec]
    availability: Callable[[], str | None]
    description: str
    family: str
    test_only: bool = False


_REGISTRY: dict[str, CodecEntry] = {}
_LOADED = False
plugins.track("codec", _REGISTRY)


def _always() -> str | None:
    return None


def register_codec(
    name: str,
    *,
    description: str,
    family: str,
    availability: Callable[[], str | None] = _always,
    test_only: bool = False,
) -> Callable[[Callable[[], Codec]], Callable[[], Codec]]:
    """Decorator registering ``factory`` under ``name``; duplicate names are rejected."""

    def deco(factory: Callable[[], Codec]) -> Callable[[], Codec]:
        add_codec(CodecEntry(name, factory, availability, description, family, test_only=test_only))
        return factory

    return deco


def add_codec(entry: CodecEntry) -> None:
    """Register an entry built elsewhere (used for parametrised families)."""
    if entry.name in _REGISTRY:
        owner = getattr(_REGISTRY[entry.name].factory, "__module__", "?")
        raise ValueError(f"codec name registered twice: {entry.name!r} (already from {owner})")
    _REGISTRY[entry.name] = entry


def _load_families() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for mod in FAMILY_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            # Only a missing family module itself is tolerated (it may not exist yet in a
            # partial checkout); a module that exists but fails to import is a bug to surface.
            if exc.name != mod:
                raise
    # Installed plugins, then $BENCH_PLUGINS; a broken one is refused with one line.
    plugins.report_refusals(plugins.load_entry_points("bench.codecs"))
    plugins.report_refusals(plugins.load_env_plugins())


def load_plugins(specs: list[str] | tuple[str, ...]) -> list[plugins.Plugin]:
    """Load ``--plugin`` values (files or modules) after the built-in families; refused plugins
    are reported on stderr and returned with their ``error``."""
    _load_families()
    loaded = plugins.load_plugins(specs)
    plugins.report_refusals(loaded)
    return loaded


def codec_names(include_test_only: bool = True) -> list[str]:
    """All registered names, sorted."""
    _load_families()
    return sorted(n for n, e in _REGISTRY.items() if include_test_only or not e.test_only)


def get_entry(name: str) -> CodecEntry:
    """The entry for ``name``; ``KeyError`` with the closest valid names when unknown."""
    _load_families()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown codec {name!r}{hint} (`python -m bench list` shows all)")
    return _REGISTRY[name]


def get_codec(name: str, device: str | None = None) -> Codec:
    """Build codec ``name``; :class:`CodecUnavailable` (with the fix) when it cannot be built."""
    entry = get_entry(name)
    reason = entry.availability()
    if reason is not None:
        raise CodecUnavailable(f"{name}: {reason}")
    try:
        codec = entry.factory()
        codec.name = name
        codec.test_only = entry.test_only
        if device is not None:
            codec.to(device)
    except CodecUnavailable:
        raise
    except Exception as exc:  # corrupt weights, unsupported device …: the codec cannot run here
        raise CodecUnavailable(
            f"{name}: cannot be built here: {type(exc).__name__}: {str(exc)[:200]} "
            "(check its weights with `python -m bench weights` / `python -m bench list`, "
            "or use --device cpu)"
        ) from exc
    return codec


def list_codecs() -> list[tuple[CodecEntry, str | None]]:
    """Every entry with its availability reason (``None`` = available)."""
    _load_families()
    return [(_REGISTRY[n], _REGISTRY[n].availability()) for n in sorted(_REGISTRY)]
