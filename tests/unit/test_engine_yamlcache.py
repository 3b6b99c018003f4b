"""YAML texts kept as JSON per content (engine/yamlcache.py): same data, changed text re-read."""

import json
from pathlib import Path

import yaml
from pacemaker_update.configcheck import SafeLoader
from pacemaker_update.engine import yamlcache
from pacemaker_update.engine.engine import default_pack_dir
from pacemaker_update.engine.registry import ActionRegistry

PACK = Path(default_pack_dir())


def test_every_pack_yaml_reads_the_same_from_the_cache(tmp_path: Path) -> None:
    texts = [p.read_text() for p in sorted(PACK.glob("actions/*.yaml"))]
    texts += [p.read_text() for p in sorted(PACK.glob("actions/workflows/*.yaml"))]
    for text in texts:
        yamlcache._DATA.clear()
        first = yamlcache.load_yaml(text, SafeLoader, str(tmp_path))
        assert first == yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a safe loader
        yamlcache._DATA.clear()  # a new process: from the file this time
        assert yamlcache.load_yaml(text, SafeLoader, str(tmp_path)) == first
    assert len(list((tmp_path / "yaml").glob("*.json"))) == len(set(texts))


def test_a_changed_text_and_data_json_cannot_keep_are_read_again(tmp_path: Path) -> None:
    yamlcache._DATA.clear()
    assert yamlcache.load_yaml("a: 1\n", SafeLoader, str(tmp_path)) == {"a": 1}
    assert yamlcache.load_yaml("a: 2\n", SafeLoader, str(tmp_path)) == {"a": 2}
    dated = yamlcache.load_yaml("when: 2026-11-30\n1: x\n", SafeLoader, str(tmp_path))
    assert str(dated["when"]) == "2026-11-30" and dated[1] == "x"  # a date, an int key
    assert len(list((tmp_path / "yaml").glob("*.json"))) == 2  # not the dated one
    for path in (tmp_path / "yaml").glob("*.json"):
        path.write_text("{broken")  # a damaged entry: read from YAML again
    yamlcache._DATA.clear()
    assert yamlcache.load_yaml("a: 1\n", SafeLoader, str(tmp_path)) == {"a": 1}
    path = tmp_path / "yaml" / (yamlcache._key("a: 1\n", SafeLoader) + ".json")
    assert json.loads(path.read_text())["data"] == {"a": 1}  # written again


def test_registry_from_the_cache_equals_the_registry_from_yaml(tmp_path: Path) -> None:
    yamlcache._DATA.clear()
    bare = ActionRegistry(str(PACK))
    ActionRegistry(str(PACK), str(tmp_path))  # fills the cache
    yamlcache._DATA.clear()
    cached = ActionRegistry(str(PACK), str(tmp_path))
    assert sorted(cached.actions) == sorted(bare.actions)
    for ref, spec in bare.actions.items():
        other = cached.actions[ref]
        assert (other.parameters, other.runner_type, other.entry_point, other.secrets) == (
            spec.parameters, spec.runner_type, spec.entry_point, spec.secrets)
