"""clusters.<name>.scheduled_update: schema, checks, what start_scheduled_update gets."""

import copy

import pytest
from pacemaker_update.chatops.gate import scheduled_update
from pacemaker_update.config import load_config, load_st2_schema
from pacemaker_update.errors import ConfigError
from pacemaker_update.st2compat import assign_schema_defaults

BASE = {"clusters": {"c1": {"nodes": [{"name": "n1", "address": "192.0.2.1"}],
                            "package_manager": "dnf"}}}


def with_scheduled(entry):
    data = copy.deepcopy(BASE)
    data["clusters"]["c1"]["scheduled_update"] = entry
    return data


def problems(data):
    with pytest.raises(ConfigError) as exc:
        load_config(data)
    return {p["path"]: p["message"] for p in exc.value.details["problems"]}


def test_scheduled_update_is_loaded_and_gives_update_cluster_parameters():
    cluster = load_config(with_scheduled(
        {"method": "rolling_standby", "packages": ["pacemaker"], "failback": "original",
         "approve": "none"})).cluster("c1")
    assert cluster.scheduled_update.enabled is True
    assert cluster.scheduled_update.update_parameters("c1") == {
        "cluster": "c1", "method": "rolling_standby", "packages": ["pacemaker"],
        "failback": "original", "approve": "none"}
    assert load_config(BASE).cluster("c1").scheduled_update is None


def test_start_scheduled_update_reads_the_same_keys_from_the_raw_config():
    raw = with_scheduled({"method": "node_maintenance", "all_packages": True})
    assign_schema_defaults(raw, {"properties": load_st2_schema()})  # as st2 fills them
    load_config(raw)
    assert scheduled_update(raw, "c1") == {"cluster": "c1", "method": "node_maintenance",
                                           "all_packages": True}
    raw["clusters"]["c1"]["scheduled_update"]["enabled"] = False
    assert scheduled_update(raw, "c1") is None


@pytest.mark.parametrize("entry, path, text", [
    ({"method": "rolling_standby"}, "clusters.c1.scheduled_update", "exactly one of"),
    ({"method": "rolling_standby", "packages": ["a"], "all_packages": True},
     "clusters.c1.scheduled_update", "exactly one of"),
    ({"method": "yolo", "all_packages": True}, "clusters.c1.scheduled_update.method",
     "is not one of"),
    ({"all_packages": True}, "clusters.c1.scheduled_update.method", "is required"),
    ({"method": "full_stop", "packages": ["bad;rm -rf"]},
     "clusters.c1.scheduled_update.packages[0]", "rpm package name"),
    ({"method": "full_stop", "all_packages": True, "when": "now"},
     "clusters.c1.scheduled_update.when", "unknown key"),
    ({"method": "full_stop", "all_packages": True, "failback": "back"},
     "clusters.c1.scheduled_update.failback", "is not one of"),
])
def test_bad_scheduled_update_is_refused_with_its_key_path(entry, path, text):
    found = problems(with_scheduled(entry))
    assert path in found and text in found[path], found


def test_disabled_entry_may_omit_packages():
    cluster = load_config(with_scheduled({"method": "full_stop", "enabled": False}))
    assert cluster.cluster("c1").scheduled_update.enabled is False


def test_the_example_config_has_valid_scheduled_updates():
    import os

    from pacemaker_update.config import load_config_file

    path = os.path.join(os.path.dirname(__file__), "..", "..", "pacemaker_update.yaml.example")
    config = load_config_file(path)
    assert config.cluster("db_rhel7").scheduled_update.packages == ("postgresql-server",)
    assert config.cluster("web_pcs").scheduled_update.all_packages is True
