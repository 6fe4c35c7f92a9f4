"""Name → codec factory registry.

Adapters register with :func:`register_codec`; heavy packages are imported only inside factories, so
listing codecs never imports torch models or third-party codec packages. Unknown names get an error
naming the closest valid ones.

A family name (``dac``, ``codec2``, ``taae`` …) stands for one documented entry of the family
(:data:`FAMILY_DEFAULTS`, or a plugin's :func:`set_family_default`), so the command a user types
first — ``--codecs taae_fsq,taae_rvq,dac`` — runs; :func:`resolve` is the one place that decides
what a name means, and every lookup (``get_entry``, ``get_codec``) goes through it. A name that
could mean several entries (``dac_24khz``) is refused with the candidates, never guessed.
"""

from __future__ import annotations

import difflib
import importlib
import re
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


@dataclass(frozen=True)
class FamilyDefault:
    """What a family name means on the command line.

    Attributes:
        name: the registry entry the family name stands for.
        why: one line saying why this entry represents the family (shown by ``bench list``).
    """

    name: str
    why: str


#: The entry each built-in family's name stands for. The project compares speech codecs at low
#: bitrates (TAAE at 350–700 bps beside Codec 2 700C, the paper's DAC and EnCodec rows near
#: 1–3 kbps), so each family is represented by its setting closest to that range, at 16 kHz where
#: the family has it; other settings stay one exact name away (``bench list``). Written here
#: rather than in each family module so the choices and their reasons read as one table (the
#: README's "Family names" section is this table in prose). Families that enter through an entry
#: point declare theirs with :func:`set_family_default` (``taae`` → ``taae_fsq``, in
#: ``taae.codec``), so this generic layer names no model of the project's own.
FAMILY_DEFAULTS: dict[str, FamilyDefault] = {
    "codec2": FamilyDefault(
        "codec2@700", "mode 700C, Codec 2's lowest rate: the classical vocoder at TAAE's 613 bps"
    ),
    "dac": FamilyDefault(
        "dac_16khz@1kbps",
        "DAC's lowest rate, on its native-16 kHz model (no resampling); the paper's DAC row "
        "is at 1 kbps",
    ),
    "encodec": FamilyDefault(
        "encodec_24khz@1.5kbps", "EnCodec's lowest rate (2 of 32 codebooks), its nearest to 1 kbps"
    ),
    "lyra": FamilyDefault("lyra@3.2kbps", "Lyra v2's lowest rate"),
    "opus": FamilyDefault(
        "opus@6kbps", "the lowest Opus rate here (libsndfile's writer), VBR as Opus is deployed"
    ),
}
# Plugins may add defaults for their own families; tracked so a refused plugin's go with it.
plugins.track("family default", FAMILY_DEFAULTS)


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


def set_family_default(family: str, name: str, why: str) -> None:
    """Declare the entry ``family``'s name stands for (a plugin's own family); a second,
    different declaration for the same family is rejected like a duplicate codec name."""
    known = FAMILY_DEFAULTS.get(family)
    if known is not None and known.name != name:
        raise ValueError(
            f"family default registered twice: {family!r} is already {known.name!r}, not {name!r}"
        )
    FAMILY_DEFAULTS[family] = FamilyDefault(name, why)


def _families() -> dict[str, list[str]]:
    """Family → its entries that are not test-only, in name order."""
    out: dict[str, list[str]] = {}
    for n in sorted(_REGISTRY):
        if not _REGISTRY[n].test_only:
            out.setdefault(_REGISTRY[n].family, []).append(n)
    return out


def family_default(family: str) -> tuple[str, str] | None:
    """``(entry name, why)`` the family name stands for, or ``None`` when it stands for none
    (no such family, or several entries and no declared default)."""
    members = _families().get(family)
    if not members:
        return None
    declared = FAMILY_DEFAULTS.get(family)
    if declared is not None and declared.name in _REGISTRY:
        return declared.name, declared.why
    if len(members) == 1:  # a one-entry family (e.g. a plugin's): its name can mean nothing else
        return members[0], "the family's only entry"
    return None


def family_defaults() -> dict[str, tuple[str, str]]:
    """Every family name that resolves, with ``(entry name, why)`` (for ``bench list``)."""
    _load_families()
    out = {}
    for family in _families():
        found = family_default(family)
        if found is not None and family not in _REGISTRY:  # an exact name wins over its family
            out[family] = found
    return out


def _natural(name: str) -> list[str | float]:
    """Sort key reading numbers as numbers (``@1.5kbps`` < ``@3kbps`` < ``@24kbps``)."""
    parts = re.split(r"(\d+(?:\.\d+)?)", name)
    return [float(t) if i % 2 else t for i, t in enumerate(parts)]


def resolve(name: str) -> str:
    """The registry name that ``name`` stands for.

    In order: an exact registry name is itself; a family name is the family's default
    (:data:`FAMILY_DEFAULTS`, or the only entry of a one-entry family); a name that prefixes
    exactly one ``name@setting`` entry is that entry. A name that could mean several entries,
    or none, raises ``KeyError`` with the candidates / the closest valid names.
    """
    _load_families()
    if name in _REGISTRY:
        return name
    found = family_default(name)
    if found is not None:
        return found[0]
    members = _families().get(name, [])
    settings = [n for n in _REGISTRY if n.startswith(f"{name}@") and not _REGISTRY[n].test_only]
    candidates = members or sorted(settings, key=_natural)
    if len(candidates) == 1:
        return candidates[0]
    defaults = family_defaults()
    chosen = [d for d, _ in defaults.values() if d in settings]
    if not members and len(chosen) == 1:  # ``dac_16khz``: the family default among its settings
        return chosen[0]
    if candidates:
        what = f"the family {name!r}" if members else f"{name!r}"
        raise KeyError(
            f"codec name {what} is ambiguous and has no declared default: name one of "
            f"{', '.join(candidates)} (`python -m bench list` shows all)"
        )
    close = difflib.get_close_matches(name, [*_REGISTRY, *defaults], n=3, cutoff=0.4)
    shown = [f"{c} (= {defaults[c][0]})" if c in defaults else c for c in close]
    hint = f"; did you mean {', '.join(shown)}?" if close else ""
    raise KeyError(f"unknown codec {name!r}{hint} (`python -m bench list` shows all)")


def get_entry(name: str) -> CodecEntry:
    """The entry ``name`` stands for (see :func:`resolve`); ``KeyError`` with the candidates or
    the closest valid names when it stands for none or for several."""
    return _REGISTRY[resolve(name)]


def describe_request(name: str) -> str:
    """How errors name a request: ``name`` itself, or ``dac → dac_16khz@1kbps (the dac
    family's default)`` when a family name was resolved, so the user sees what ran."""
    entry = get_entry(name)
    if entry.name == name:
        return name
    what = f"the {name} family's default" if family_default(name) else f"the one {name}@… entry"
    return f"{name} → {entry.name} ({what})"


def unavailable_reason(entry: CodecEntry) -> str | None:
    """``entry``'s availability reason plus, where a weight file it needs is absent, the command
    that downloads and verifies it (``python -m bench weights fetch LABEL``)."""
    reason = entry.availability()
    if reason is None:
        return None
    try:
        from audiocodecs.weights import specs_for

        absent = [s.label for s in specs_for(entry.name) if not s.path.is_file()]
    except ImportError:  # a family module absent from a partial checkout: no hint, same reason
        absent = []
    if absent:
        labels = " ".join(dict.fromkeys(label.split("/")[0] for label in absent))
        reason += f"; with internet, `python -m bench weights fetch {labels}` downloads it"
    return reason


def get_codec(name: str, device: str | None = None) -> Codec:
    """Build codec ``name`` (any name :func:`resolve` accepts; the codec carries the resolved
    registry name); :class:`CodecUnavailable` (with the fix) when it cannot be built."""
    entry = get_entry(name)
    reason = unavailable_reason(entry)
    if reason is not None:
        raise CodecUnavailable(f"{describe_request(name)}: {reason}")
    try:
        codec = entry.factory()
        codec.name = entry.name
        codec.test_only = entry.test_only
        if device is not None:
            codec.to(device)
    except CodecUnavailable:
        raise
    except Exception as exc:  # corrupt weights, unsupported device …: the codec cannot run here
        raise CodecUnavailable(
            f"{describe_request(name)}: cannot be built here: {type(exc).__name__}: "
            f"{str(exc)[:200]} "
            "(check its weights with `python -m bench weights` / `python -m bench list`, "
            "or use --device cpu)"
        ) from exc
    return codec


def list_codecs() -> list[tuple[CodecEntry, str | None]]:
    """Every entry with its availability reason (``None`` = available)."""
    _load_families()
    return [(_REGISTRY[n], _REGISTRY[n].availability()) for n in sorted(_REGISTRY)]
