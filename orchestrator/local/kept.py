"""What ``orchestrator run`` keeps between runs of a workflow that did not change.

A compiled plan is kept under a digest of the workflow model (``runs.cached_plan``). Before that
model exists, its spec document is validated; validating is pure too, a function of the document
and this package, so :class:`ValidDocuments` keeps digests of the documents found valid, and a
workflow loaded again unchanged is built without the checks: they, jsonschema-rs and its imports
cost ~10 ms of a one-task run and ~15 ms of a 200-task one. Both digests begin with
:func:`package_fingerprint`, so editing or upgrading the package checks and compiles again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from orchestrator.local.store import Store, store_file


@functools.cache
def package_fingerprint() -> str:
    """This package's version and place, the path, size and modification time of each source
    file and of each JSON file it reads (the spec schema the checks validate against), and the
    Python version (~1 ms: one stat per file)."""
    import orchestrator

    package = str(Path(__file__).resolve().parents[1])
    parts = [sys.version, orchestrator.__version__, package]
    for root, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        # Each file's path relative to the package (``os.path.relpath`` costs as much as the stat).
        prefix = root[len(package) + 1:] + os.sep if root != package else ""
        for name in sorted(files):
            if name.endswith((".py", ".json")):
                st = os.stat(os.path.join(root, name))
                parts.append(f"{prefix}{name} {st.st_size} {st.st_mtime_ns}")
    return "\n".join(parts)


_SCALARS = (str, int, float, bool, type(None))


def _json_only(value: Any) -> bool:
    """Whether ``value`` is dicts with string keys, lists, and plain JSON scalars only: then its JSON
    text stands for it alone (an integer key, or a subclass of str or int, reads as another value)."""
    kind = type(value)
    if kind is dict:
        return all(type(key) is str and _json_only(item) for key, item in value.items())
    if kind is list:
        return all(_json_only(item) for item in value)
    return kind in _SCALARS


class ValidDocuments:
    """``spec.validate.KnownValid`` kept in the store of ``home`` (see the module's docstring).

    The store is opened on first need; looking a document up opens only a store that exists, so
    a workflow that fails to load leaves no store behind, as before.
    """

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self._home = home
        self._store: Store | None = None
        # The last document looked up and its digest: ``add`` follows the lookup of the same one.
        self._last: tuple[object, str | None] = (None, None)

    def _digest(self, document: object) -> str | None:
        """The document's digest, None for one that is not only JSON data (never kept)."""
        if self._last[0] is not document:
            digest = None
            try:
                if _json_only(document):
                    text = json.dumps(document, allow_nan=False, separators=(",", ":"))
                    digest = hashlib.sha256(f"{package_fingerprint()}\n{text}".encode()).hexdigest()
            except (ValueError, RecursionError):  # NaN or infinity; a very deep document
                pass
            self._last = (document, digest)
        return self._last[1]

    def __contains__(self, document: object) -> bool:
        digest = self._digest(document)
        if digest is None:
            return False
        if self._store is None and not store_file(self._home).exists():
            return False
        return self.store().valid_document(digest)

    def add(self, document: dict[str, Any]) -> None:
        digest = self._digest(document)
        if digest is not None:
            self.store().put_valid_document(digest)

    def store(self) -> Store:
        """The store these are kept in, opened (and created) on first use."""
        if self._store is None:
            self._store = Store(self._home)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
