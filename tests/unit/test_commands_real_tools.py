"""The argv the dialects build, run against the real crm/pcs/crm_mon installed here.

Offline mode (notes/pacemaker-lab.md): a CIB file, no daemons. crmsh and
crm_mon read CIB_file; pcs needs ``-f FILE`` instead (it ignores CIB_file), so
the pcs argv gets ``-f FILE`` inserted after "pcs" -- the rest is exactly what
the dialect built. crmsh's standby/online need ``ping`` and ``crm_node -l``
stand-ins on PATH (without them crmsh skips the node with rc 0: the quirk).
Each effect is checked in crm_mon's XML, the way the ops layer verifies.
"""

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from pacemaker_update.commands import (
    get_dialect,
    parse_crm_mon_version,
    parse_crm_version,
    parse_pcs_version,
    probe_crm_argv,
    probe_crm_mon_argv,
    probe_pcs_argv,
)

pytestmark = pytest.mark.slow

CRMSH = get_dialect("crmsh", "4.4.0", "2.1.5")
PCS010 = get_dialect("pcs", "0.11.5", "2.1.5")
PCS09 = get_dialect("pcs", "0.9.169", "2.1.5")


def _run(argv, env, check=True):
    assert shutil.which(argv[0], path=env["PATH"]), f"{argv[0]} not installed (scripts/bootstrap)"
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    if check:
        assert proc.returncode == 0, (argv, proc.stdout, proc.stderr)
    return proc


@pytest.fixture()
def cib(tmp_path):
    """A settled two-node CIB with one Dummy resource, and the env to use it."""
    path = tmp_path / "cib.xml"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "ping").write_text("#!/bin/sh\nexit 0\n")
    (bindir / "crm_node").write_text(
        "#!/bin/sh\necho '1 server1 member'\necho '2 server2 member'\n")
    for tool in bindir.iterdir():
        tool.chmod(0o755)
    env = {"PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}:/usr/sbin:/sbin",
           "HOME": str(tmp_path), "CIB_file": str(path), "LC_ALL": "C.UTF-8"}
    path.write_text(_run(["cibadmin", "--empty"], env).stdout)
    for node_id, name in (("1", "server1"), ("2", "server2")):
        _run(["cibadmin", "-C", "-o", "nodes", "-X", f'<node id="{node_id}" uname="{name}"/>'],
             env)
    _run(["pcs", "-f", str(path), "property", "set", "stonith-enabled=false"], env)
    _run(["pcs", "-f", str(path), "resource", "create", "vip", "ocf:pacemaker:Dummy"], env)
    _run(["crm_simulate", "-x", str(path), "-u", "server1", "-u", "server2", "-S",
          "-O", str(path)], env)
    return path, env


def _state(env):
    root = ET.fromstring(_run(["crm_mon", "-1", "--output-as=xml"], env).stdout)
    nodes = {n.get("name"): n.attrib for n in root.iter("node") if n.get("id")}
    resources = {r.get("id"): r.attrib for r in root.iter("resource")}
    options = root.find("summary/cluster_options").attrib
    return nodes, resources, options


def _pcs_file(argv, path):
    assert argv[0] == "pcs"
    return ["pcs", "-f", str(path)] + argv[1:]


def _apply(dialect, argv, cib):
    path, env = cib
    _run(_pcs_file(argv, path) if dialect.frontend == "pcs" else argv, env)


@pytest.mark.parametrize("dialect", [CRMSH, PCS010], ids=["crmsh", "pcs010"])
def test_state_changes_show_in_crm_mon(dialect, cib):
    env = cib[1]
    _apply(dialect, dialect.node_standby("server1", True), cib)
    assert _state(env)[0]["server1"]["standby"] == "true"
    _apply(dialect, dialect.node_standby("server1", False), cib)
    assert _state(env)[0]["server1"]["standby"] == "false"
    _apply(dialect, dialect.node_maintenance("server2", True), cib)
    assert _state(env)[0]["server2"]["maintenance"] == "true"
    _apply(dialect, dialect.node_maintenance("server2", False), cib)
    assert _state(env)[0]["server2"]["maintenance"] == "false"
    _apply(dialect, dialect.resource_manage("vip", False), cib)
    assert _state(env)[1]["vip"]["managed"] == "false"
    _apply(dialect, dialect.resource_manage("vip", True), cib)
    assert _state(env)[1]["vip"]["managed"] == "true"
    _apply(dialect, dialect.cluster_maintenance(True), cib)
    assert _state(env)[2]["maintenance-mode"] == "true"
    _apply(dialect, dialect.cluster_maintenance(False), cib)
    assert _state(env)[2]["maintenance-mode"] == "false"


def test_crmsh_standby_quirk_unreachable_node_is_skipped_with_rc0(cib):
    """Why the ops layer verifies: without a ping that answers, rc 0 and no effect."""
    path, env = cib
    env = dict(env, PATH=env["PATH"].split(":", 1)[1])  # drop the ping stand-in
    proc = _run(CRMSH.node_standby("server1", True), env)
    assert "unreachable" in proc.stderr + proc.stdout
    assert _state(env)[0]["server1"]["standby"] == "false"


@pytest.mark.parametrize("dialect,method", [
    (CRMSH, "resource_cleanup"), (CRMSH, "resource_refresh"),
    (PCS010, "resource_cleanup"), (PCS010, "resource_refresh"),
])
def test_cleanup_refresh_reach_crm_resource_with_resource_and_node(dialect, method, cib):
    # pcs refuses -f for cleanup/refresh; with CIB_file crm_resource does a dry run
    # and names the resource and node it parsed: the argv shape was accepted.
    proc = _run(getattr(dialect, method)("vip", "server1"), cib[1], check=False)
    assert "Dry run: skipping clean-up of vip on server1 due to CIB_file" in (
        proc.stdout + proc.stderr)


def test_pcs09_node_option_is_rejected_by_pcs_011(cib):
    """The 0.9 spelling (--node) really is different: pcs 0.11 refuses it."""
    proc = _run(PCS09.resource_cleanup("vip", "server1"), cib[1], check=False)
    assert proc.returncode != 0
    assert "'--node'" in proc.stderr and "not supported" in proc.stderr


def test_pcs09_standby_spelling_is_gone_in_pcs_011(cib):
    path, env = cib
    proc = _run(_pcs_file(PCS09.node_standby("server1", True), path), env, check=False)
    assert proc.returncode != 0
    assert _state(env)[0]["server1"]["standby"] == "false"


def test_status_commands_run(cib):
    env = cib[1]
    modern = ET.fromstring(_run(CRMSH.status_xml(), env).stdout)
    assert modern.tag == "pacemaker-result"
    assert modern.find("status").get("code") == "0"
    legacy = ET.fromstring(_run(get_dialect("crmsh", None, "1.1.23").status_xml(), env).stdout)
    assert legacy.tag == "crm_mon"
    text = _run(PCS010.status_text(), env).stdout
    assert "server1" in text and "vip" in text


def test_modern_xml_includes_inactive_resources_and_node_attributes(cib):
    """No -r/-A needed with --output-as=xml (see commands/crm_mon.py)."""
    path, env = cib
    _run(["crm_attribute", "-N", "server1", "-n", "pingd", "-v", "100", "-l", "reboot"], env)
    _run(["pcs", "-f", str(path), "resource", "create", "stopped", "ocf:pacemaker:Dummy",
          "--disabled"], env)
    root = ET.fromstring(_run(CRMSH.status_xml(), env).stdout)
    roles = {r.get("id"): r.get("role") for r in root.iter("resource")}
    assert roles["stopped"] == "Stopped"
    attrs = {a.get("name"): a.get("value") for a in root.iter("attribute")}
    assert attrs["pingd"] == "100"


def test_version_probes_on_real_tools():
    env = {"PATH": os.environ.get("PATH", "") + ":/usr/sbin:/sbin", "LC_ALL": "C.UTF-8"}
    assert parse_pcs_version(_run(probe_pcs_argv(), env).stdout) == "0.11.5"
    assert parse_crm_version(_run(probe_crm_argv(), env).stdout).startswith("4.4.")
    pacemaker = parse_crm_mon_version(_run(probe_crm_mon_argv(), env).stdout)
    assert pacemaker == "2.1.5"
    assert get_dialect("pcs", "0.11.5", pacemaker).status_xml()[-1] == "--output-as=xml"
