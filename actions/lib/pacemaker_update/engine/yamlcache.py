"""YAML texts read once per content: the pack's action metadata and workflows at CLI start.

Every CLI start reads the pack's ~45 action metadata files and its workflows; YAML (even
with libyaml, whose constructor is Python) costs tens of ms there, JSON a tenth of it. The
data of a text is kept per process and, given a cache directory, on disk as JSON under
``yaml/<sha256 of loader and text>.json``: a changed file has another key. Only data that
JSON gives back identical (plain mappings, lists, strings, numbers, booleans, null) is
kept; anything else (dates, non-string keys) is read from YAML every time.
"""

import hashlib
import json
import os
from typing import Any, Dict, Optional

import yaml

from pacemaker_update.engine.cachefile import read_cache_file, write_cache_file

_DATA: Dict[str, str] = {}  # key -> JSON text (each caller gets its own fresh objects)


def _key(text: str, loader: Any) -> str:
    head = f"{loader.__module__}.{loader.__name__}\0{text}"
    return hashlib.sha256(head.encode("utf-8")).hexdigest()


def _read(path: str, key: str) -> Optional[str]:
    doc = read_cache_file(path, key)
    if doc is None or "data" not in doc:
        return None
    return json.dumps(doc["data"])


def load_yaml(text: str, loader: Any, cache_dir: Optional[str] = None) -> Any:
    """``yaml.load(text, Loader=loader)``, from the cache when this text was read before.

    YAML errors propagate as from ``yaml.load`` (nothing is cached for them).
    """

    key = _key(text, loader)
    kept: Optional[str] = _DATA.get(key)
    folder = os.path.join(cache_dir, "yaml") if cache_dir else None
    path = os.path.join(folder, key + ".json") if folder else None
    if kept is None and path:
        kept = _read(path, key)
    if kept is not None:
        _DATA[key] = kept
        return json.loads(kept)
    data = yaml.load(text, Loader=loader)  # noqa: S506 - the caller's (safe) loader
    try:
        text_json = json.dumps(data)
        same = json.loads(text_json) == data
    except (TypeError, ValueError):
        same = False
    if same:
        _DATA[key] = text_json
        if folder and path:
            write_cache_file(folder, path, {"key": key, "data": data})
    return data
