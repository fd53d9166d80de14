"""The product: a music library indexed once and searched by a weighted genre mix or a
reference track, from the command line or a local page.

- ``index``: the embedded database (one SQLite file): schema, packed arrays, reads;
- ``search``: the query language, ranking, filters, each hit's best segment;
- ``neighbours``: an approximate nearest-neighbour graph for very large libraries;
- ``walk``: which files of a folder are indexed, which are left out and why; their tags;
- ``scoring``: a model applied to tracks and segments; tempo; similarity vectors;
- ``ingest``: the incremental, resumable build (``build``);
- ``server``: ``filmgenre serve``, the page.

``index``, ``search`` and ``neighbours`` load no model (NumPy and SQLite only; an
import-linter contract holds it), so this package's own import stays light: ``build`` and
the other names of ``ingest`` are imported when first used (``library.build(...)``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: names re-exported from the modules that need the model (imported on first use)
_LAZY = {"build": "ingest", "BuildReport": "ingest", "choose_library": "ingest",
         "default_index_file": "ingest", "Scorer": "scoring"}  # fmt: skip

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
