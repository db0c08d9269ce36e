"""The platforms openpost knows, found by looking: every package under chalicelib/platforms/ is one.

A platform package's ``__init__`` declares ``PLATFORM`` (descriptor.py); nothing else lists
platforms. Discovery is one directory listing and an import of each small ``__init__``, done once
per container on first use: about 5 ms, nearly all of it the platforms' settings models, which the
API's schema needs anyway; an explicit list would save only the listing, and every new platform
would have to remember to edit it. Plain modules beside the packages (base, http, sandbox, ...) are
the machinery all platforms share, never platforms.

Adapters are imported on first use only, so a function that never publishes to Bluesky never pays
for atproto.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import Any

from chalicelib.platforms.descriptor import PlatformDescriptor

_PACKAGE = "chalicelib.platforms"
SANDBOX_ADAPTER = "chalicelib.platforms.sandbox:Sandbox"


@functools.lru_cache(maxsize=1)
def _found() -> dict[str, PlatformDescriptor]:
    # A directory listing, as pkgutil.iter_modules would make (without importing pkgutil): the
    # packages here are the sub-directories with an __init__.py.
    here = os.path.dirname(os.path.abspath(__file__))
    packages = sorted(
        entry.name
        for entry in os.scandir(here)
        if entry.is_dir() and entry.name.isidentifier() and os.path.isfile(os.path.join(entry.path, "__init__.py"))
    )
    found: dict[str, PlatformDescriptor] = {}
    for name in packages:
        declared = getattr(importlib.import_module(f"{_PACKAGE}.{name}"), "PLATFORM", None)
        if not isinstance(declared, PlatformDescriptor) or declared.name != name:
            raise TypeError(f"{_PACKAGE}.{name} must declare PLATFORM, a PlatformDescriptor named {name!r}")
        found[declared.name] = declared
    names = set(found)
    for declared in found.values():
        clash = names.intersection(declared.aliases)
        if clash:
            raise TypeError(f"{declared.name}'s aliases {sorted(clash)} name other platforms")
        names.update(declared.aliases)
    return found


def descriptors() -> tuple[PlatformDescriptor, ...]:
    """Every platform, by name."""
    return tuple(_found().values())


def names() -> tuple[str, ...]:
    return tuple(_found())


@functools.lru_cache(maxsize=1)
def aliases() -> dict[str, str]:
    """Each alias to its platform's name ("x" -> "twitter")."""
    return {alias: item.name for item in _found().values() for alias in item.aliases}


def canonical(name: str) -> str:
    """The platform's name for ``name`` or one of its aliases; any other string unchanged."""
    return aliases().get(name, name)


def get(name: str) -> PlatformDescriptor:
    """The descriptor of ``name`` (or an alias); KeyError for a platform openpost does not know."""
    try:
        return _found()[canonical(name)]
    except KeyError:
        raise KeyError(f"unknown platform {name!r}") from None


def load(path: str):
    """The attribute a "module:attribute" path names, importing its module."""
    module_name, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def adapter_for(integration, credentials: dict[str, Any] | None = None, **options: Any):
    """The adapter for this integration: the sandbox for test-mode accounts, else the platform's own.
    ``options`` are what the deployment gives an adapter when it is built (``deployment``: where
    the platform's API is, the app's credentials)."""
    from chalicelib.platforms.base import PermanentError

    if integration.sandbox:
        return load(SANDBOX_ADAPTER).build(integration, credentials, **options)
    descriptor = _found().get(integration.platform)
    if descriptor is None or descriptor.adapter is None:
        raise PermanentError(
            f"Publishing to {integration.platform} is not available yet.", code="platform_not_available"
        )
    return load(descriptor.adapter).build(integration, credentials, **options)
