"""Model backends by name: what plugins offer through the ``medtuned_register_backends`` hook.

``hf``, ``vllm`` and ``openai`` are built-in plugins of the hook (builtin_backends.py, registered by the core
the way datasette registers its default plugins); a third-party distribution adds a backend the same way
from the module its ``medtuned.plugins`` entry point names. Listing backends imports no model library: a
backend's ``load`` runs only when ``--backend NAME`` chooses it, and ``requires`` is checked with
``importlib.util.find_spec`` (no import).
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import MedTunedError

CORE_DISTRIBUTION = "medtuned-core"
_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")


@dataclass(frozen=True)
class BackendInfo:
    """One registered backend. ``load(model, **options)`` returns the backend object (backend.Backend)."""

    name: str
    load: Callable[..., Any]
    description: str = ""
    options: tuple[str, ...] = ()  # the backend options a user may set (--backend-option KEY=VALUE and the named flags)
    requires: tuple[str, ...] = ()  # modules ``load`` imports; listing checks them without importing
    install: str = ""  # how to install what ``requires`` names
    provider: str = ""  # the distribution of the plugin that registered it

    @property
    def missing(self) -> list[str]:
        return [m for m in self.requires if not _installed(m)]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "options": list(self.options),
            "provider": self.provider,
            "installed": not self.missing,
            "missing": self.missing,
            "install": self.install,
        }


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@dataclass
class Backends:
    """Every backend the registry's plugins registered, and the registrations that failed."""

    found: dict[str, BackendInfo] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        return sorted(self.found)

    def get(self, name: str) -> BackendInfo:
        if name in self.found:
            return self.found[name]
        close = difflib.get_close_matches(name, self.found, n=2)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise MedTunedError(f"unknown backend {name!r}: installed backends are {', '.join(self.names()) or 'none'}.{hint}")

    def summary(self) -> str:
        """One line per backend for ``--help`` and listings: name, what it is, what it still needs."""
        lines = []
        for name in self.names():
            info = self.found[name]
            note = f" [not installed: {info.install or 'pip install ' + ' '.join(info.missing)}]" if info.missing else ""
            lines.append(f"{name}: {info.description}{note}")
        return "\n".join(lines)


def collect(registry: Any) -> Backends:
    """Call every ``medtuned_register_backends`` implementation (built-ins first, in registration order).

    A plugin whose hook raises, or that registers a bad or taken name, is reported in ``problems`` and the
    rest still load (the same isolation as for tasks)."""
    out = Backends()
    for impl in registry.pm.hook.medtuned_register_backends.get_hookimpls():
        provider = registry.distribution_of(impl.plugin) or (CORE_DISTRIBUTION if impl.plugin_name.startswith("medtuned_core.") else impl.plugin_name)

        def register(name: str, load: Callable[..., Any], *, provider: str = provider, **meta: Any) -> None:
            if not isinstance(name, str) or not _NAME.match(name):
                out.problems.append(f"{provider}: backend name {name!r} must be lower-case letters, digits, '-', '_' or '.'")
            elif not callable(load):
                out.problems.append(f"{provider}: backend {name!r}: load is not callable")
            elif name in out.found:
                out.problems.append(f"{provider}: backend {name!r} is already provided by {out.found[name].provider}")
            else:
                meta = {k: tuple(v) if k in ("options", "requires") else v for k, v in meta.items()}
                out.found[name] = BackendInfo(name, load, provider=provider, **meta)

        try:
            impl.function(register)
        except Exception as exc:  # a broken plugin never stops the others
            out.problems.append(f"{provider}: medtuned_register_backends failed: {type(exc).__name__}: {exc}")
    return out


def load_backend(registry: Any, name: str, model: Any, options: Mapping[str, Any], settings: Mapping[str, Any]) -> Any:
    """The backend ``name`` loaded for ``model``.

    ``options`` are what the user set for this backend (checked against the options it declares);
    ``settings`` are the run's own (dtype, prompt format, score-mode decoding), passed to every backend,
    which takes what it uses."""
    info = collect(registry).get(name)
    if info.missing:
        raise MedTunedError(f"--backend {name} needs {', '.join(info.missing)}: {info.install or 'pip install ' + ' '.join(info.missing)}")
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        takes = ", ".join(info.options) or "none"
        raise MedTunedError(f"backend {name} takes no option {', '.join(unknown)} (its options: {takes})")
    backend = info.load(model, **{**settings, **options})
    problems = [attr for attr in ("name", "capabilities", "generate", "count_tokens") if not hasattr(backend, attr)]
    if problems:
        raise MedTunedError(f"backend {name} ({info.provider}) returned a {type(backend).__name__} without {', '.join(problems)}")
    return backend


def plugin_rows(registry: Any, include_core: bool = False) -> tuple[list[dict[str, Any]], Backends]:
    """``medtuned plugins``: each plugin's JSON with the backends it registered (and failed to), plus the
    core's built-in backend plugin when ``include_core`` (datasette's ``plugins --all``)."""
    from importlib import metadata

    found = collect(registry)
    by_provider: dict[str, list[str]] = {}
    for info in found.found.values():
        by_provider.setdefault(info.provider, []).append(info.name)
    rows = []
    if include_core:
        version = metadata.version(CORE_DISTRIBUTION) if _installed("medtuned_core") else ""
        core = {"name": "builtin_backends", "distribution": CORE_DISTRIBUTION, "version": version, "hooks": ["medtuned_register_backends"], "tasks": []}
        rows.append({**core, "status": "ok", "error": None})
    rows += [p.to_json() for p in registry.plugins]
    for row in rows:
        row["backends"] = sorted(by_provider.get(row["distribution"], []))
        problems = [m for m in found.problems if m.startswith(row["distribution"] + ":")]
        if problems and row["status"] == "ok":
            row.update(status="error", error=" | ".join(problems))
    return rows, found
