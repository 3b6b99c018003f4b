"""The maintenance-exit guard's pure half: CIB copy edits and Transition Summary parsing.

The simulation cases run the real crm_simulate (Pacemaker 2.1.5 here) on the recorded
CIBs in tests/fixtures/crm_mon/*.cib.xml, piping the edited copy in exactly as the op does.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
from pacemaker_update.errors import ParseError
from pacemaker_update.safety.transition import (
    edit_cib_leave_maintenance,
    parse_transition_summary,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "crm_mon"
needs_simulate = pytest.mark.skipif(shutil.which("crm_simulate") is None,
                                    reason="crm_simulate (pacemaker-cli-utils) not installed")


def simulate(cib: bytes, *extra: str) -> str:
    proc = subprocess.run(["crm_simulate", "-p", "-R", *extra], input=cib,
                          capture_output=True, check=True)
    return proc.stdout.decode()


def inject(cib_path: Path, tmp_path: Path, *opspecs: str) -> bytes:
    out = tmp_path / "injected.xml"
    args = ["crm_simulate", "-x", str(cib_path), "-O", str(out)]
    for spec in opspecs:
        args += ["-i", spec]
    subprocess.run(args, capture_output=True, check=True)
    return out.read_bytes()


def test_edit_cluster_maintenance_sets_false_and_keeps_input():
    raw = (FIX / "two_node_cluster_maintenance.cib.xml").read_bytes()
    edited = edit_cib_leave_maintenance(raw)
    assert b'name="maintenance-mode" value="true"' in raw
    assert b'name="maintenance-mode" value="false"' in edited
    assert b'name="maintenance-mode" value="true"' not in edited


def test_edit_node_maintenance_turns_only_that_node_off():
    raw = (FIX / "two_node_node_maintenance.cib.xml").read_bytes()
    edited = edit_cib_leave_maintenance(raw, node="server2")
    assert b'name="maintenance" value="on"' in raw
    assert b'name="maintenance" value="on"' not in edited
    assert edit_cib_leave_maintenance(raw, node="server1").count(b'value="on"') == \
        raw.count(b'value="on"')


@pytest.mark.parametrize("bad", [b"", b"<cib", b"<html/>",
                                 b'<!DOCTYPE x [<!ENTITY e "x">]><cib><configuration/></cib>x'])
def test_edit_rejects_what_is_not_a_cib(bad):
    with pytest.raises(ParseError):
        edit_cib_leave_maintenance(bad)


def test_entities_are_not_expanded():
    doc = (b'<?xml version="1.0"?><!DOCTYPE cib [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<cib><configuration><crm_config/></configuration><status>&x;</status></cib>')
    assert b"root:" not in edit_cib_leave_maintenance(doc)


@needs_simulate
def test_leaving_untouched_cluster_maintenance_would_do_nothing():
    raw = (FIX / "two_node_cluster_maintenance.cib.xml").read_bytes()
    assert parse_transition_summary(simulate(edit_cib_leave_maintenance(raw))) == []


@needs_simulate
def test_resource_stopped_during_maintenance_would_be_started(tmp_path):
    cib = inject(FIX / "two_node_cluster_maintenance.cib.xml", tmp_path,
                 "app_monitor_0@server1=7")
    actions = parse_transition_summary(simulate(edit_cib_leave_maintenance(cib)))
    assert [(a["action"], a["resource"], a["nodes"]) for a in actions] == [
        ("Start", "app", ["server1"])]


@needs_simulate
def test_node_maintenance_exit_with_stopped_resource(tmp_path):
    cib = inject(FIX / "two_node_node_maintenance.cib.xml", tmp_path,
                 "ping_monitor_0@server2=7")
    actions = parse_transition_summary(simulate(edit_cib_leave_maintenance(cib, "server2")))
    assert [a["action"] for a in actions] == ["Start"]
    assert actions[0]["nodes"] == ["server2"]


@needs_simulate
def test_move_promote_and_restart_lines_from_real_scheduler():
    raw = (FIX / "three_node_normal.cib.xml").read_bytes()
    actions = parse_transition_summary(simulate(raw, "-d", "server1"))
    assert ("Promote", "db:0") in [(a["action"], a["resource"]) for a in actions]
    assert {"action": "Start", "resource": "vip", "nodes": ["server2"]}.items() <= \
        actions[0].items()
    failed = parse_transition_summary(
        simulate((FIX / "two_node_normal.cib.xml").read_bytes(), "-i",
                 "vip_monitor_10000@server1=7"))
    assert [(a["action"], a["detail"]) for a in failed] == [
        ("Recover", ""), ("Restart", "due to required vip start")]


def test_pacemaker_1_1_text_and_special_lines():
    text = """Transition Summary:
 * Move    vip\t(Started server1 -> server2)
 * Promote db:0\t(Slave -> Master server2)
 * Leave   ping:0\t(Started server1)
 * Fence (reboot) server1 'peer is no longer part of the cluster'
 * Shutdown server2

Executing cluster transition:
"""
    actions = parse_transition_summary(text)
    assert [(a["action"], a["resource"], a["nodes"]) for a in actions] == [
        ("Move", "vip", ["server1", "server2"]),
        ("Promote", "db:0", ["server2"]),
        ("Fence", None, ["server1"]),
        ("Shutdown", None, ["server2"]),
    ]


def test_missing_summary_is_an_error_not_an_all_clear():
    with pytest.raises(ParseError) as err:
        parse_transition_summary("Could not connect to the CIB\n")
    assert err.value.code == "SIMULATION_PARSE_ERROR"
