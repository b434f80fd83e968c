"""pybtex's plugin lookups, done once per plugin instead of once per citation.

sphinxcontrib-bibtex asks pybtex for its formatting plugins (style, backend) for every
citation it resolves, and pybtex looks each one up among the entry points of every
installed distribution (``importlib.metadata.entry_points``, which reads the metadata
of all of them): 400 lookups, about 3 s of a build of this book. The installed
distributions do not change during a build, so the entry points found for a (group,
name) are kept; pybtex's own runtime registry is still asked first, each time, as before.
"""

from __future__ import annotations

import functools

_INSTALLED = False


def install_plugin_lookup_cache() -> bool:
    """Keep pybtex's entry-point lookups (idempotent); False if pybtex is not there."""
    global _INSTALLED
    if _INSTALLED:
        return True
    try:
        from pybtex import plugin
    except ImportError:  # pragma: no cover - pinned with sphinxcontrib-bibtex
        return False
    lookup = plugin.entry_points

    @functools.cache
    def entry_points(group: str, name: str):
        return tuple(lookup(group=group, name=name))

    def cached(*, group: str, name: str | None = None):
        if name is None:  # every plugin of a group: not asked while building
            return lookup(group=group)
        return entry_points(group, name)

    cached.uncached = lookup
    plugin.entry_points = cached
    _INSTALLED = True
    return True
