"""The pack/CLI config: what an operator writes, what the library builds, what it refuses."""

import copy
import dataclasses
import inspect
import sys
import types
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from pacemaker_update.config import (
    build_adhoc_cluster,
    find_config_file,
    load_config,
    load_config_file,
)
from pacemaker_update.errors import ConfigError, InvalidInputError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "pacemaker_update.yaml.example"


def minimal(**cluster):
    data = {"nodes": [{"name": "n1", "address": "10.0.0.1"}, {"name": "n2", "address": "n2.lan"}]}
    data.update(cluster)
    return {"clusters": {"prod": data}}


def problems_of(data):
    with pytest.raises(ConfigError) as info:
        load_config(data)
    assert info.value.code == "CONFIG_INVALID"
    return info.value, {p["path"]: p["message"] for p in info.value.details["problems"]}


class ReadOnlyMapping(Mapping):
    """Stands for st2's PackConfigDict: a Mapping, not necessarily a plain dict."""

    def __init__(self, data):
        self._data = data

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)


def test_example_file_loads_with_overrides_and_inheritance():
    config = load_config_file(EXAMPLE)
    assert config.cluster_names == ("db_rhel7", "web_pcs")
    db = config.cluster("db_rhel7")
    assert (db.frontend, db.package_manager, db.on_unexpected_failover) == ("crmsh", "yum", "pause")
    assert db.node_names == ("db01", "db02")
    db02 = db.node("db02")
    assert db02.ssh.port == 2222  # node override
    assert db02.ssh.user == "pcmkadmin" and db02.ssh.sudo is True  # inherited
    assert db.node("db01").ssh.port == 22
    assert db.maintenance_windows[0].timezone == "Asia/Tokyo"
    web = config.cluster("web_pcs")
    assert web.frontend == "pcs" and web.on_unexpected_failover == "rollback"
    assert web.ssh.connect_timeout == 10 and web.ssh.command_timeout == 120  # schema defaults
    assert web.ssh.allow_unknown_host_keys is False


def test_schema_defaults_fill_a_minimal_cluster():
    cluster = load_config(minimal()).cluster("prod")
    assert (cluster.frontend, cluster.package_manager) == ("auto", "auto")
    assert cluster.on_unexpected_failover == "pause"
    assert cluster.chat_route is None and cluster.maintenance_windows == ()
    ssh = cluster.node("n1").ssh
    assert (ssh.user, ssh.port, ssh.use_agent, ssh.sudo) == ("root", 22, True, False)
    assert ssh.allow_unknown_host_keys is False and ssh.password is None


def test_st2_mapping_and_st2_filled_defaults_are_accepted():
    data = yaml.safe_load(EXAMPLE.read_text())
    assert load_config(ReadOnlyMapping(data)).cluster("web_pcs").node("web3").address == (
        "198.51.100.23")
    filled = minimal(ssh=None, maintenance_windows=None)  # st2 allow_default_none leaves nulls
    assert load_config(filled).cluster("prod").ssh.port == 22


def test_input_mapping_is_not_modified():
    data = minimal()
    before = copy.deepcopy(data)
    load_config(data)
    assert data == before


def test_bad_address_names_the_key_path():
    data = minimal()
    data["clusters"]["prod"]["nodes"][1]["address"] = "bad host;rm"
    error, problems = problems_of(data)
    assert "clusters.prod.nodes[1].address" in error.message
    assert list(problems) == ["clusters.prod.nodes[1].address"]


def test_every_problem_is_listed_once():
    data = minimal(frontend="heartbeat", ssh={"port": 70000, "usr": "x"})
    data["clusters"]["prod"]["nodes"].append({"name": "n1", "address": "10.0.0.3"})
    data["clusters"]["prod"]["nodes"].append({"name": "-n4"})
    data["extra"] = 1
    error, problems = problems_of(data)
    assert set(problems) == {
        "clusters.prod.frontend", "clusters.prod.ssh.port", "clusters.prod.ssh.usr",
        "clusters.prod.nodes[2].name", "clusters.prod.nodes[3].address",
        "clusters.prod.nodes[3].name", "extra",
    }
    assert "duplicate node name 'n1'" in problems["clusters.prod.nodes[2].name"]
    assert problems["clusters.prod.nodes[3].address"] == "is required"
    assert problems["extra"].startswith("unknown key")
    assert "6 more problems" in error.message


@pytest.mark.parametrize("name", ["n1;reboot", "-rf", "nöde", "a b", ""])
def test_node_names_that_could_reach_a_command_line_are_refused(name):
    data = minimal()
    data["clusters"]["prod"]["nodes"][0]["name"] = name
    _, problems = problems_of(data)
    assert "clusters.prod.nodes[0].name" in problems


@pytest.mark.parametrize("field,value", [
    ("connect_timeout", 0), ("command_timeout", -5), ("connect_timeout", "10"),
    ("command_timeout", 10 ** 6),
])
def test_timeouts_must_be_positive_integers_within_bounds(field, value):
    _, problems = problems_of(minimal(ssh={field: value}))
    assert list(problems) == ["clusters.prod.ssh." + field]


def test_per_node_ssh_override_is_validated_too():
    data = minimal()
    data["clusters"]["prod"]["nodes"][0]["ssh"] = {"port": 0, "command_timeout": 0}
    _, problems = problems_of(data)
    assert set(problems) == {"clusters.prod.nodes[0].ssh.port",
                             "clusters.prod.nodes[0].ssh.command_timeout"}


def test_secret_values_never_appear_in_errors_or_reprs():
    _, problems = problems_of(minimal(ssh={"password": 12345678}))
    assert "12345678" not in str(problems)
    config = load_config(minimal(ssh={"password": "hunter2-secret"}))
    assert config.cluster("prod").node("n2").ssh.password == "hunter2-secret"
    assert "hunter2-secret" not in repr(config)


@pytest.mark.parametrize("window,bad", [
    ({"start": "0 2 * *", "duration_minutes": 60}, "start"),
    ({"start": "0 2 * * 0; reboot", "duration_minutes": 60}, "start"),
    ({"start": "0 2 * * 0", "duration_minutes": 0}, "duration_minutes"),
    ({"start": "0 2 * * 0", "duration_minutes": 60, "timezone": "not a zone!"}, "timezone"),
    ({"duration_minutes": 60}, "start"),
])
def test_maintenance_windows_are_checked(window, bad):
    _, problems = problems_of(minimal(maintenance_windows=[window]))
    assert list(problems) == ["clusters.prod.maintenance_windows[0]." + bad]


@pytest.mark.skipif(sys.version_info < (3, 9), reason="zoneinfo (3.9+) knows zone names")
def test_unknown_time_zone_is_refused_where_zoneinfo_exists():
    window = {"start": "0 2 * * 0", "duration_minutes": 60, "timezone": "Mars/Olympus_Mons"}
    _, problems = problems_of(minimal(maintenance_windows=[window]))
    assert list(problems) == ["clusters.prod.maintenance_windows[0].timezone"]


@pytest.mark.parametrize("data,path", [
    ({}, "clusters"),
    ({"clusters": {}}, "clusters"),
    ({"clusters": {"bad name": {"nodes": [{"name": "a", "address": "a"}]}}}, "clusters.bad name"),
    ({"clusters": {"p": {"nodes": []}}}, "clusters.p.nodes"),
    ({"clusters": {"p": "not a mapping"}}, "clusters.p"),
])
def test_structural_problems(data, path):
    _, problems = problems_of(data)
    assert path in problems


def test_non_mapping_config_is_refused():
    with pytest.raises(ConfigError):
        load_config(["clusters"])  # type: ignore[arg-type]


def test_unknown_cluster_and_node_list_the_known_names():
    config = load_config_file(EXAMPLE)
    with pytest.raises(InvalidInputError) as info:
        config.cluster("prdo")
    assert info.value.code == "UNKNOWN_CLUSTER"
    assert info.value.details["known"] == ["db_rhel7", "web_pcs"]
    assert "db_rhel7, web_pcs" in info.value.message
    with pytest.raises(InvalidInputError) as info:
        config.cluster("web_pcs").node("web9")
    assert info.value.code == "UNKNOWN_NODE"
    assert info.value.details["known"] == ["web1", "web2", "web3"]


def test_models_are_frozen():
    cluster = load_config(minimal()).cluster("prod")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cluster.frontend = "pcs"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cluster.nodes[0].ssh.sudo = True  # type: ignore[misc]


def test_transport_for_maps_effective_settings(monkeypatch):
    calls = []

    class RecordingSSHTransport:
        def __init__(self, *args, **kwargs):
            calls.append((args, kwargs))

    fake = types.ModuleType("pacemaker_update.transport")
    fake.SSHTransport = RecordingSSHTransport  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pacemaker_update.transport", fake)
    load_config_file(EXAMPLE).cluster("db_rhel7").transport_for("db02")
    (args, kwargs), = calls
    assert args == ("db02", "db02.example.net")
    assert kwargs == {
        "port": 2222, "user": "pcmkadmin", "key_file": "/home/stanley/.ssh/pcmk_ed25519",
        "use_agent": False, "known_hosts": "/home/stanley/.ssh/known_hosts",
        "allow_unknown_host": False, "sudo": True, "password": None,
        "connect_timeout": 10, "command_timeout": 300,
    }


def test_transport_for_matches_the_real_ssh_transport_signature():
    transport = pytest.importorskip("pacemaker_update.transport")
    signature = inspect.signature(transport.SSHTransport)
    signature.bind("db02", "db02.example.net", port=22, user="root", key_file=None,
                   use_agent=True, known_hosts=None, allow_unknown_host=False, sudo=False,
                   password=None, connect_timeout=10, command_timeout=120)


def test_transport_for_unknown_node_fails_before_any_transport():
    with pytest.raises(InvalidInputError) as info:
        load_config(minimal()).cluster("prod").transport_for("n9")
    assert info.value.code == "UNKNOWN_NODE"


def test_duplicate_yaml_keys_are_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("clusters:\n  prod:\n    nodes: [{name: a, address: a}]\n"
                    "  prod:\n    nodes: [{name: b, address: b}]\n")
    with pytest.raises(ConfigError) as info:
        load_config_file(path)
    assert "duplicate key 'prod'" in info.value.message
    assert str(path) in info.value.message


def test_file_errors_are_coded(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config_file(tmp_path / "missing.yaml")
    assert info.value.code == "CONFIG_NOT_FOUND"
    bad = tmp_path / "bad.yaml"
    bad.write_text("clusters: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config_file(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError) as info:
        load_config_file(empty)
    assert info.value.details["problems"][0]["path"] == "clusters"
    assert info.value.details["source"] == str(empty)


def test_yaml_tags_that_build_objects_are_refused(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("clusters: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config_file(path)


def test_find_config_file_order(tmp_path, monkeypatch):
    explicit, env, xdg = tmp_path / "explicit.yaml", tmp_path / "env.yaml", tmp_path / "xdg"
    (xdg / "pacemaker_update").mkdir(parents=True)
    default = xdg / "pacemaker_update" / "config.yaml"
    for path in (explicit, env, default):
        path.write_text("clusters: {}\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.delenv("PACEMAKER_UPDATE_CONFIG", raising=False)
    assert find_config_file() == default
    monkeypatch.setenv("PACEMAKER_UPDATE_CONFIG", str(env))
    assert find_config_file() == env
    assert find_config_file(str(explicit)) == explicit


def test_named_config_file_that_is_missing_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    xdg = tmp_path / "xdg"
    (xdg / "pacemaker_update").mkdir(parents=True)
    (xdg / "pacemaker_update" / "config.yaml").write_text("clusters: {}\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.setenv("PACEMAKER_UPDATE_CONFIG", str(tmp_path / "gone.yaml"))
    with pytest.raises(ConfigError) as info:
        find_config_file()
    assert info.value.code == "CONFIG_NOT_FOUND"
    assert info.value.details["origin"] == "PACEMAKER_UPDATE_CONFIG"
    with pytest.raises(ConfigError) as info:
        find_config_file(tmp_path / "also-gone.yaml")
    assert info.value.details["origin"] == "--config"


def test_adhoc_cluster_from_node_names():
    cluster = build_adhoc_cluster(["alpha", "beta.example.net"])
    assert cluster.name == "adhoc"
    assert [(n.name, n.address) for n in cluster.nodes] == [
        ("alpha", "alpha"), ("beta.example.net", "beta.example.net")]
    assert cluster.node("alpha").ssh.user == "root"


def test_adhoc_cluster_refuses_bad_nodes_with_its_own_paths():
    with pytest.raises(InvalidInputError) as info:
        build_adhoc_cluster(["ok", "x;reboot", "ok"])
    assert info.value.code == "INVALID_NODES"
    paths = [p["path"] for p in info.value.details["problems"]]
    assert "nodes[1].name" in paths and "nodes[2].name" in paths
    assert "clusters." not in info.value.message
