"""Plugins: codecs and metrics from outside the package, through the same registries.

Three doors, one loader (pytest's ``pytest11`` entry points and lm-evaluation-harness's
``--include_path`` are the models):

- ``--plugin FILE.py`` or ``--plugin dotted.module`` on any ``bench`` subcommand that resolves
  codec or metric names (the CLI passes the values to :func:`load_plugins`);
- the environment variable ``BENCH_PLUGINS`` (an ``os.pathsep``-separated list of the same);
- installed distributions that declare the entry-point groups ``bench.codecs`` /
  ``bench.metrics`` (``[project.entry-points."bench.codecs"] name = "package.module"``), found
  without configuration. This project's own TAAE enters this way (``taae.codec``).

A plugin registers exactly as a built-in does (``@register_codec``, ``register_metric``). Each
registry hands its name → entry dict to :func:`track`, so a plugin that fails to import or
registers a name that is already taken is rolled back (none of its names stay registered) and
refused with one line naming the plugin and the fix; everything else keeps running. Every loaded
plugin is recorded (:func:`loaded_plugins`) with its module, its file's SHA-256 or its
distribution's version, and the names it added; result files carry that list in provenance.

Loaded ``--plugin`` values are appended to ``BENCH_PLUGINS`` in this process's environment, so
subprocesses (metric workers, per-codec throughput processes, ``taae ablate``'s ``bench run``)
load the same plugins.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ENV_VAR = "BENCH_PLUGINS"


@dataclass
class Plugin:
    """One loaded (or refused) plugin."""

    spec: str  # as given: a file path, a dotted module, or ``group:name`` for an entry point
    origin: str  # "file", "module" or "entry point"
    module: str  # the imported module's name
    sha256: str | None = None  # of the file (file plugins, and modules that have one)
    distribution: str | None = None  # entry points: the distribution that declares it
    version: str | None = None  # … and its version
    registered: dict[str, list[str]] = field(default_factory=dict)  # registry → names added
    error: str | None = None  # one line when refused
    reported: bool = False  # the refusal was printed (once per process)


#: registry kind ("codec", "metric") → its live name → entry dict
_TRACKED: dict[str, dict[str, Any]] = {}
#: spec key → plugin (loaded once per process)
_PLUGINS: dict[str, Plugin] = {}
_ENTRY_GROUPS_DONE: set[str] = set()


#: registry kind → names it held when tracked (its built-ins, when tracked after them)
_TRACK_BASE: dict[str, set[str]] = {}


def track(kind: str, registry: dict[str, Any]) -> None:
    """Let plugin loading snapshot and roll back ``registry``: called once by each registry, after
    its built-in entries (a registry first imported by a plugin then counts only what the plugin
    adds after it)."""
    _TRACKED[kind] = registry
    _TRACK_BASE[kind] = set(registry)


def _snapshot() -> dict[str, set[str]]:
    return {kind: set(reg) for kind, reg in _TRACKED.items()}


def _added(before: dict[str, set[str]]) -> dict[str, list[str]]:
    out = {}
    for kind, reg in _TRACKED.items():
        new = sorted(set(reg) - before.get(kind, _TRACK_BASE[kind]))
        if new:
            out[kind] = new
    return out


def _rollback(before: dict[str, set[str]]) -> None:
    for kind, reg in _TRACKED.items():
        for name in set(reg) - before.get(kind, _TRACK_BASE[kind]):
            del reg[name]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _is_file_spec(spec: str) -> bool:
    return spec.endswith(".py") or os.sep in spec or (os.altsep or "\0") in spec


def _import_file(path: Path) -> str:
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    name = f"bench_plugin_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return name


def not_found(spec: str) -> str | None:
    """Why a ``--plugin`` value names nothing that exists (a mistyped path or module: a usage
    error, exit 2 in the CLI), or ``None`` when there is something to import."""
    spec = spec.strip()
    if _is_file_spec(spec):
        path = Path(spec).expanduser()
        if path.is_file():
            return None
        what = "is a folder, not a .py file" if path.is_dir() else "does not exist"
        return (
            f"--plugin {spec}: {what} (relative to {Path.cwd()}); pass the path of a .py file "
            "or an importable dotted module name"
        )
    try:
        found = importlib.util.find_spec(spec) is not None
    except (ImportError, ValueError):  # a parent package missing, or an empty/relative name
        found = False
    if found:
        return None
    return (
        f"--plugin {spec}: no module named {spec!r} is importable here; install it, or pass the "
        "path of a .py file (--plugin path/to/file.py)"
    )


def _refuse(plugin: Plugin, exc: BaseException, before: dict[str, set[str]]) -> Plugin:
    _rollback(before)
    if isinstance(exc, ValueError) and "registered twice" in str(exc):
        fix = "rename the entry in the plugin (or drop the duplicate plugin)"
    elif isinstance(exc, FileNotFoundError) and plugin.origin == "file":
        fix = "check the path (a .py file, or an importable dotted module name)"
    elif isinstance(exc, ModuleNotFoundError) and plugin.origin == "module":
        fix = "install it, or pass a file path (--plugin path/to/file.py)"
    elif plugin.origin == "file":
        fix = f"fix the plugin (`python {plugin.spec}` shows the traceback)"
    elif plugin.origin == "module":
        fix = f"fix the plugin (`python -c 'import {plugin.module}'` shows the traceback)"
    else:
        fix = f"fix or reinstall the distribution that declares {plugin.spec}"
    what = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    plugin.error = f"plugin {plugin.spec} refused: {what} — {fix}"
    plugin.registered = {}
    return plugin


def load_plugin(spec: str) -> Plugin:
    """Import one ``--plugin`` value (a ``.py`` file or a dotted module); never raises for a bad
    plugin — the returned :class:`Plugin` carries ``error`` instead (and registered nothing)."""
    spec = spec.strip()
    if _is_file_spec(spec):
        path = Path(spec).expanduser().resolve()
        key = f"file:{path}"
        if key in _PLUGINS:
            return _PLUGINS[key]
        plugin = Plugin(spec=spec, origin="file", module=path.stem)
        before = _snapshot()
        try:
            if not path.is_file():
                raise FileNotFoundError(f"no such file: {spec}")
            plugin.sha256 = _sha256(path)
            plugin.module = _import_file(path)
            plugin.registered = _added(before)
        except Exception as exc:  # a broken plugin must not stop the other codecs
            _refuse(plugin, exc, before)
    else:
        key = f"module:{spec}"
        if key in _PLUGINS:
            return _PLUGINS[key]
        plugin = Plugin(spec=spec, origin="module", module=spec)
        before = _snapshot()
        try:
            mod = importlib.import_module(spec)
            if getattr(mod, "__file__", None):
                plugin.sha256 = _sha256(Path(mod.__file__))  # type: ignore[arg-type]
            plugin.registered = _added(before)
        except Exception as exc:
            _refuse(plugin, exc, before)
    _PLUGINS[key] = plugin
    return plugin


def load_plugins(specs: list[str] | tuple[str, ...], export: bool = True) -> list[Plugin]:
    """Load several ``--plugin`` values; with ``export`` the good ones are added to
    ``$BENCH_PLUGINS`` (absolute paths) so this process's subprocesses load them too."""
    out = [load_plugin(s) for s in specs if s and s.strip()]
    if export:
        current = [s for s in os.environ.get(ENV_VAR, "").split(os.pathsep) if s]
        for p in out:
            if p.error is None:
                value = str(Path(p.spec).expanduser().resolve()) if p.origin == "file" else p.spec
                if value not in current:
                    current.append(value)
        if current:
            os.environ[ENV_VAR] = os.pathsep.join(current)
    return out


def load_env_plugins() -> list[Plugin]:
    """The plugins listed in ``$BENCH_PLUGINS`` (each loaded once per process)."""
    specs = [s for s in os.environ.get(ENV_VAR, "").split(os.pathsep) if s.strip()]
    return load_plugins(specs, export=False)


def load_entry_points(group: str) -> list[Plugin]:
    """Import every installed ``group`` entry point once (``bench.codecs`` / ``bench.metrics``).

    An entry point names a module (imported for its registrations) or a callable in one
    (``pkg.mod:register``, called with no arguments).
    """
    if group in _ENTRY_GROUPS_DONE:
        return []
    _ENTRY_GROUPS_DONE.add(group)
    out = []
    for ep in sorted(importlib.metadata.entry_points(group=group), key=lambda e: e.name):
        key = f"entry:{group}:{ep.name}:{ep.value}"
        if key in _PLUGINS:
            continue
        dist = getattr(ep, "dist", None)
        plugin = Plugin(
            spec=f"{group}:{ep.name}",
            origin="entry point",
            module=ep.module,
            distribution=dist.metadata["Name"] if dist is not None else None,
            version=dist.version if dist is not None else None,
        )
        before = _snapshot()
        try:
            obj = ep.load()
            if ep.attr and callable(obj):
                obj()
            plugin.registered = _added(before)
        except Exception as exc:
            _refuse(plugin, exc, before)
        _PLUGINS[key] = plugin
        out.append(plugin)
    return out


def report_refusals(plugins: list[Plugin]) -> None:
    """Print each refused plugin's one line to stderr (once per plugin per process)."""
    for p in plugins:
        if p.error is not None and not p.reported:
            print(f"warning: {p.error}", file=sys.stderr)
            p.reported = True


def loaded_plugins() -> list[dict[str, Any]]:
    """Provenance: every plugin loaded in this process (refused ones with their error)."""
    out = []
    for p in sorted(_PLUGINS.values(), key=lambda p: (p.origin, p.spec)):
        rec = {k: v for k, v in asdict(p).items() if v not in (None, {}) and k != "reported"}
        if p.registered:  # how many names, by registry (`bench list` shows them)
            rec["registered"] = {kind: len(names) for kind, names in p.registered.items()}
        if p.origin == "file":  # no machine path in a result file: the name and the SHA-256 say it
            rec["spec"] = Path(p.spec).name
        out.append(rec)
    return out


__all__ = [
    "ENV_VAR",
    "Plugin",
    "load_entry_points",
    "load_env_plugins",
    "load_plugin",
    "load_plugins",
    "loaded_plugins",
    "not_found",
    "report_refusals",
    "track",
]
