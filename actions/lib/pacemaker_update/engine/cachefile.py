"""The reader and the atomic writer of the runner's JSON caches (inspection, composed
graphs, parsed YAML, YAQL's parser tables): a light module, so the caches used at CLI start
import nothing heavy."""

import json
import os
import tempfile
from typing import Any, Dict, Optional


def write_cache_file(folder: str, path: str, doc: Dict[str, Any]) -> None:
    """Write a cache entry as JSON atomically (tmp file + rename) under ``folder``.

    A cache that cannot be written only costs the next process the work again.
    """
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(doc))
        os.replace(tmp, path)
    except OSError:
        pass


def read_cache_file(path: str, key: str) -> Optional[Dict[str, Any]]:
    """The cache entry at ``path`` if it is a JSON object written for ``key``, else None
    (missing, unreadable, another key: the caller does the work again)."""
    try:
        with open(path) as handle:
            doc = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("key") == key else None
