"""ops over a scripted transport double and real crm_mon fixtures.

Every test lists the exact commands an op must run, in order; the double fails on an
unexpected argv, an extra call, or a call never made (script.assert_done()).
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.fake_transport import (  # noqa: E402
    CRM_MON,
    CommandScript,
    FakeClock,
    fixture,
    make_ctx,
    unreachable,
)
from pacemaker_update import ops  # noqa: E402
from pacemaker_update.errors import (  # noqa: E402
    ClusterStateError,
    InvalidInputError,
    SafetyGuardError,
    VerificationError,
    WaitTimeoutError,
)
from pacemaker_update.ops import base  # noqa: E402

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "crm_mon"
PCS_PROBE = [(["pcs", "--version"], "0.11.5\n"),
             (["crm_mon", "--version"], "Pacemaker 2.1.5\nWritten by Andrew Beekhof\n")]
CRM_PROBE = [(["crm", "--version"], "crm 4.4.0\n"),
             (["crm_mon", "--version"], "Pacemaker 2.1.5\nWritten by Andrew Beekhof\n")]
SIMULATE = ["crm_simulate", "--live-check", "--simulate", "--output-as=xml"]
SIM_FIX = Path(__file__).resolve().parents[1] / "fixtures" / "crm_simulate"
IDLE = (SIM_FIX / "idle.xml").read_text()
PENDING = (SIM_FIX / "pending_standby.xml").read_text()
POLL = base.POLL_INTERVAL
POLLS_IN_1S = int(1.0 / POLL) + 1  # reads until a 1 s timeout: at 0, POLL, 2*POLL ... 1.0


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(base, "CLOCK", fake)
    for mod in ("services", "settle", "guard"):
        monkeypatch.setattr(sys.modules[f"pacemaker_update.ops.{mod}"], "CLOCK", fake)
    ops.forget_probes()
    yield fake
    ops.forget_probes()


@pytest.fixture
def script():
    s = CommandScript()
    yield s
    s.assert_done()


def probe(script, host="server1", frontend="pcs"):
    for argv, out in (PCS_PROBE if frontend == "pcs" else CRM_PROBE):
        script.expect(host, argv, stdout=out)
    return script


def planned(ctx):
    return [(c["host"], c["argv"]) for c in ctx.commands if c.get("planned")]


# --- status -------------------------------------------------------------------------

def test_status_reads_first_node_and_caches_the_probe(script):
    probe(script).expect_status("server1", "two_node_normal")
    ctx = make_ctx(script)
    data = ops.cluster_status(ctx)
    assert data["read_from"] == "server1" and data["frontend"] == "pcs"
    assert data["primary"] == "server1" and data["order"] == ["server2", "server1"]
    assert data["placement"]["vip"] == ["server1"] and data["quorum"] is True
    assert [c["argv"] for c in ctx.commands][:2] == [PCS_PROBE[0][0], PCS_PROBE[1][0]]


def test_status_skips_an_unreachable_node_with_a_warning(script):
    script.expect("server1", ["pcs", "--version"], raises=unreachable("server1"))
    probe(script, "server2").expect_status("server2", "two_node_normal")
    ctx = make_ctx(script)
    assert ops.cluster_status(ctx)["read_from"] == "server2"
    assert any("server1 unreachable" in w for w in ctx.warnings)


# --- standby ------------------------------------------------------------------------

def test_standby_runs_once_and_polls_until_resources_moved(script, clock):
    probe(script).expect_status("server1", "two_node_normal")
    script.expect("server1", ["pcs", "node", "standby", "server1"])
    script.expect_status("server1", "two_node_normal", times=2)
    script.expect_status("server1", "two_node_standby")
    ctx = make_ctx(script)
    data = ops.set_node_standby(ctx, "server1", True)
    assert data["changed"] is True and data["resources_on_node"] == []
    assert clock.sleeps == [POLL, POLL]
    assert ctx.state_after["nodes"]["server2"]["resources"] == [
        "app:Started", "ping:Started", "vip:Started"]


def test_standby_already_is_success_with_warning_and_no_command(script):
    probe(script).expect_status("server1", "two_node_standby")
    script.expect_status("server1", "two_node_standby")
    ctx = make_ctx(script)
    data = ops.set_node_standby(ctx, "server1", True)
    assert data["changed"] is False and ctx.warnings == ["server1 is already in standby"]


def test_crmsh_silent_skip_is_caught_by_verification(script):
    """crm node standby returns 0 for an unreachable name; crm_mon never shows standby."""
    probe(script, frontend="crmsh").expect_status("server1", "two_node_normal")
    script.expect("server1", ["crm", "node", "standby", "server1"],
                  stdout="WARNING: node server1 is unreachable, skipped\n")
    script.expect_status("server1", "two_node_normal", times=POLLS_IN_1S)
    ctx = make_ctx(script, timeout=1.0, frontend="crmsh")
    with pytest.raises(VerificationError) as err:
        ops.set_node_standby(ctx, "server1", True)
    details = err.value.details
    assert err.value.code == "VERIFICATION_FAILED"
    assert "server1 standby=False" in details["seen"]
    assert "vip still Started on server1" in details["seen"]
    assert details["nodes"]["server1"]["standby"] is False


def test_standby_dry_run_reads_but_changes_nothing(script):
    probe(script).expect_status("server1", "two_node_normal")
    ctx = make_ctx(script, dry_run=True)
    data = ops.set_node_standby(ctx, "server1", True)
    assert data["planned"] == [{"host": "server1", "argv": ["pcs", "node", "standby",
                                                               "server1"]}]
    assert data["changed"] is False


def test_dry_run_plans_online_for_a_node_a_real_run_would_find_in_standby(script):
    """In an update's dry run the standby before was only planned: the node is online now,
    yet the plan must list the command a real run sends at this step (found in the lab)."""
    probe(script).expect_status("server1", "two_node_normal")
    ctx = make_ctx(script, dry_run=True)
    data = ops.set_node_standby(ctx, "server1", False)
    assert data["planned"] == [{"host": "server1", "argv": ["pcs", "node", "unstandby",
                                                               "server1"]}]
    assert data["changed"] is False and "planned anyway" in ctx.warnings[0]


def test_dry_run_plans_maintenance_off_without_simulating_an_exit(script):
    probe(script).expect_status("server1", "two_node_normal")
    ctx = make_ctx(script, dry_run=True)
    data = ops.set_maintenance(ctx, "server2", False)
    assert data["planned"] == [{"host": "server2", "argv": ["pcs", "node", "unmaintenance",
                                                               "server2"]}]
    assert data["guard"] is None


def test_unstandby_verifies_online(script):
    probe(script).expect_status("server1", "two_node_standby")
    script.expect("server1", ["pcs", "node", "unstandby", "server1"])
    script.expect_status("server1", "two_node_normal")
    assert ops.set_node_standby(make_ctx(script), "server1", False)["changed"] is True


@pytest.mark.parametrize("node", ["server1; reboot", "$(id)", "", "server9", None, "-rf"])
def test_bad_node_is_refused_before_any_command(script, node):
    with pytest.raises(InvalidInputError):
        ops.set_node_standby(make_ctx(script), node, True)
    assert script.calls == []


def test_negative_timeout_refused(script):
    with pytest.raises(InvalidInputError):
        ops.set_node_standby(make_ctx(script), "server1", True, timeout=-5)
    assert script.calls == []


# --- maintenance --------------------------------------------------------------------

def test_cluster_maintenance_on_verifies_everything_unmanaged(script):
    probe(script).expect_status("server1", "two_node_normal")
    script.expect_status("server1", "two_node_normal")  # control node lookup
    script.expect("server1", ["pcs", "property", "set", "maintenance-mode=true"])
    script.expect_status("server1", "two_node_cluster_maintenance")
    data = ops.set_maintenance(make_ctx(script), None, True)
    assert data["unmanaged"] == ["app", "ping", "vip"]


def test_node_maintenance_on_only_that_nodes_resources(script):
    probe(script).expect_status("server1", "two_node_normal")
    script.expect("server2", ["pcs", "node", "maintenance", "server2"])
    script.expect_status("server1", "two_node_normal")
    script.expect_status("server1", "two_node_node_maintenance")
    data = ops.set_maintenance(make_ctx(script), "server2", True)
    assert data["unmanaged"] == ["ping"] and data["changed"] is True


def cib_text(name):
    return (FIX / f"{name}.cib.xml").read_text()


def reprobed(text):
    """The CIB once every resource's probe wrote its new record (new transition keys)."""
    return text.replace('transition-key="', 'transition-key="reprobe-')


def expect_guard(script, summary, node=None, host="server1", pending_reads=0):
    refresh = ["crm_resource", "--refresh", "--node", node] if node else \
        ["pcs", "resource", "refresh"]
    cib = cib_text("two_node_cluster_maintenance")
    script.expect(host, ["cibadmin", "-Q"], stdout=cib)  # the records before the refresh
    script.expect(host, refresh)
    for _ in range(pending_reads):  # probes not reported yet: the old records only
        script.expect(host, ["cibadmin", "-Q"], stdout=cib)
    script.expect(host, ["cibadmin", "-Q"], stdout=reprobed(cib))
    script.expect_status(host, "two_node_cluster_maintenance", times=2)  # quiet window
    script.expect(host, ["cibadmin", "-Q"], stdout=cib_text("two_node_cluster_maintenance"))
    script.expect(host, ["crm_simulate", "-p", "-R"], stdout=summary,
                  stdin=lambda s: 'name="maintenance-mode" value="false"' in s)


def test_leaving_cluster_maintenance_refused_with_what_would_happen(script):
    probe(script).expect_status("server1", "two_node_cluster_maintenance")
    script.expect_status("server1", "two_node_cluster_maintenance")
    expect_guard(script, "Transition Summary:\n  * Start      app     ( server1 )\n\n")
    ctx = make_ctx(script)
    with pytest.raises(SafetyGuardError) as err:
        ops.set_maintenance(ctx, None, False)
    assert err.value.details["actions"][0]["resource"] == "app"
    assert "Start" in err.value.message
    assert not any("maintenance-mode=false" in " ".join(c["argv"]) for c in ctx.commands)


def test_leaving_cluster_maintenance_when_simulation_is_clean(script, clock):
    probe(script).expect_status("server1", "two_node_cluster_maintenance")
    script.expect_status("server1", "two_node_cluster_maintenance")
    expect_guard(script, "Transition Summary:\n\nExecuting Cluster Transition:\n")
    script.expect_status("server1", "two_node_cluster_maintenance")  # control node
    script.expect("server1", ["pcs", "property", "set", "maintenance-mode=false"])
    script.expect_status("server1", "two_node_normal")
    data = ops.set_maintenance(make_ctx(script), None, False)
    assert data["guard"]["safe"] is True and data["unmanaged"] == []
    assert clock.sleeps == [2.0]  # quiet window: crm_resource --wait never idles in maintenance


CLEAN = "Transition Summary:\n\nExecuting Cluster Transition:\n"


def fresh_check(**changes):
    """What check_maintenance_exit returned just before, on the maintenance fixture's CIB."""
    import time

    check = {"safe": True, "actions": [], "node": None, "simulated_on": "server1",
             "reprobed": True, "cib_version": "0.13.4", "checked_at": time.time() - 1}
    check.update(changes)
    return check


def expect_simulation_only(script, summary, cib=None):
    script.expect_status("server1", "two_node_cluster_maintenance")  # the guard's read
    script.expect("server1", ["cibadmin", "-Q"],
                  stdout=cib or cib_text("two_node_cluster_maintenance"))
    script.expect("server1", ["crm_simulate", "-p", "-R"], stdout=summary,
                  stdin=lambda s: 'name="maintenance-mode" value="false"' in s)


def expect_leaving(script):
    script.expect_status("server1", "two_node_cluster_maintenance")  # control node
    script.expect("server1", ["pcs", "property", "set", "maintenance-mode=false"])
    script.expect_status("server1", "two_node_normal")


def test_the_guard_result_reports_the_cib_it_simulated_on(script):
    probe(script).expect_status("server1", "two_node_cluster_maintenance")
    expect_guard(script, CLEAN)
    data = ops.check_maintenance_exit(make_ctx(script))
    assert data["cib_version"] == "0.13.4" and data["reprobed"] is True
    assert data["checked_at"] > 0


def test_leaving_right_after_a_safe_check_reuses_its_re_probe(script, clock):
    """The workflows run the guard as a step, then leave maintenance: with the CIB unchanged
    since that check, leaving simulates again on it but does not re-probe a second time."""
    probe(script).expect_status("server1", "two_node_cluster_maintenance")
    expect_simulation_only(script, CLEAN)
    expect_leaving(script)
    data = ops.set_maintenance(make_ctx(script), None, False, exit_check=fresh_check())
    assert data["guard"]["safe"] is True and data["guard"]["reprobed"] is False
    assert data["guard"]["probes_of"] > 0 and data["unmanaged"] == []
    assert not any(c["argv"][:2] in (["pcs", "resource"], ["crm_resource", "--refresh"])
                   for c in script.calls)
    assert clock.sleeps == []  # no probe wait, no quiet window


def test_a_reused_check_still_refuses_what_the_simulation_now_plans(script):
    probe(script).expect_status("server1", "two_node_cluster_maintenance")
    expect_simulation_only(script, "Transition Summary:\n  * Start      app     ( server1 )\n")
    ctx = make_ctx(script)
    with pytest.raises(SafetyGuardError) as err:
        ops.set_maintenance(ctx, None, False, exit_check=fresh_check())
    assert "Start" in err.value.message
    assert not any("maintenance-mode=false" in " ".join(c["argv"]) for c in ctx.commands)


@pytest.mark.parametrize("why,changes", [
    ("the CIB changed since", {"cib_version": "0.13.3"}),
    ("older than the reuse limit", {"checked_at": 1.0}),
    ("it was not safe", {"safe": False}),
    ("a dry run did not re-probe", {"reprobed": False}),
    ("another scope", {"node": "server2"}),
    ("no CIB version", {"cib_version": None}),
    ("not a check result", None),
])
def test_leaving_re_probes_again_unless_the_check_is_reusable(script, why, changes):
    # made here, not at collection: a fresh check must be fresh when the test runs
    check = {"safe": True} if changes is None else fresh_check(**changes)
    probe(script).expect_status("server1", "two_node_cluster_maintenance")
    if why == "the CIB changed since":  # noticed on the CIB read for the simulation
        expect_simulation_only(script, CLEAN)
    script.expect_status("server1", "two_node_cluster_maintenance")  # the guard's read
    expect_guard(script, CLEAN)
    expect_leaving(script)
    data = ops.set_maintenance(make_ctx(script), None, False, exit_check=check)
    assert data["guard"]["reprobed"] is True, why


def test_the_guard_simulates_only_once_every_resource_is_re_probed(script, clock):
    """A probe that has not reported yet is not 'settled': the guard reads the CIB until
    every resource has a new record (a ping probe took 2.16 s in the lab; the 2 s quiet
    window alone let crm_simulate plan a Start of it)."""
    probe(script).expect_status("server1", "two_node_cluster_maintenance")
    expect_guard(script, "Transition Summary:\n\n", pending_reads=3)
    data = ops.check_maintenance_exit(make_ctx(script))
    assert data["safe"] is True and data["reprobed"] is True
    assert clock.sleeps[:3] == [POLL, POLL, POLL] and clock.sleeps[3:] == [2.0]


def test_the_guard_gives_up_on_a_probe_that_never_reports(script, clock):
    probe(script).expect_status("server1", "two_node_cluster_maintenance")
    cib = cib_text("two_node_cluster_maintenance")
    script.expect("server1", ["cibadmin", "-Q"], stdout=cib)
    script.expect("server1", ["pcs", "resource", "refresh"])
    for _ in range(POLLS_IN_1S):  # timeout 1 s, polled every POLL s: never a new record
        script.expect("server1", ["cibadmin", "-Q"], stdout=cib)
    with pytest.raises(WaitTimeoutError) as err:
        ops.check_maintenance_exit(make_ctx(script), timeout=1)
    assert "the re-probe did not finish" in err.value.message and err.value.details["pending"]
    assert not any(c["argv"][0] == "crm_simulate" for c in script.calls)


def test_check_maintenance_exit_dry_run_plans_the_reprobe_but_still_simulates(script):
    probe(script).expect_status("server1", "two_node_cluster_maintenance")
    script.expect("server1", ["cibadmin", "-Q"], stdout=cib_text("two_node_cluster_maintenance"))
    script.expect("server1", ["crm_simulate", "-p", "-R"],
                  stdout="Transition Summary:\n  * Start      app     ( server1 )\n")
    ctx = make_ctx(script, dry_run=True)
    data = ops.check_maintenance_exit(ctx)
    assert data["safe"] is False and data["reprobed"] is False
    assert planned(ctx) == [("server1", ["pcs", "resource", "refresh"])]


# --- stop / start -------------------------------------------------------------------

def test_stop_pacemaker_verified_from_the_other_node_and_locally(script):
    probe(script, "server2").expect_status("server2", "two_node_normal")
    script.expect("server1", ["systemctl", "stop", "pacemaker"])
    script.expect("server1", ["systemctl", "stop", "corosync"])
    script.expect_status("server2", "two_node_shutdown_pending")
    script.expect_status("server2", "two_node_stopped_node")
    script.expect("server1", ["systemctl", "is-active", "pacemaker"], rc=3, stdout="inactive\n")
    script.expect("server1", ["systemctl", "is-active", "corosync"], rc=3, stdout="inactive\n")
    data = ops.stop_pacemaker(make_ctx(script), "server1")
    assert data["stopped"] == ["pacemaker", "corosync"] and data["online_nodes"] == ["server2"]


def test_stop_refused_when_no_other_node_is_online(script):
    probe(script, "server1").expect("server1", CRM_MON, rc=102, stderr="Connection refused")
    script.expect_status("server2", "two_node_stopped_node")
    with pytest.raises(ClusterStateError) as err:
        ops.stop_pacemaker(make_ctx(script), "server2")
    assert err.value.code == "WOULD_LOSE_QUORUM"


def test_whole_cluster_stop_of_the_last_node_is_verified_by_systemctl(script):
    """Method 1 stops every node on purpose: the last one is not refused, and with no
    other node running crm_mon its stop is verified on the node itself."""
    probe(script, "server1").expect("server1", CRM_MON, rc=102, stderr="Connection refused")
    script.expect_status("server2", "two_node_stopped_node")
    script.expect("server2", ["systemctl", "stop", "pacemaker"])
    script.expect("server2", ["systemctl", "stop", "corosync"])
    script.expect("server2", ["systemctl", "is-active", "pacemaker"], rc=3, stdout="inactive\n")
    script.expect("server2", ["systemctl", "is-active", "corosync"], rc=3, stdout="inactive\n")
    data = ops.stop_pacemaker(make_ctx(script), "server2", whole_cluster=True)
    assert data["stopped"] == ["pacemaker", "corosync"] and data["online_nodes"] == []


def test_first_start_after_a_whole_cluster_stop_uses_the_nodes_own_view(script):
    script.expect("server1", ["systemctl", "start", "corosync"])
    script.expect("server1", ["systemctl", "start", "pacemaker"])
    probe(script, "server2").expect("server2", CRM_MON, rc=102, stderr="Connection refused")
    script.expect_status("server1", "two_node_normal")
    ctx = make_ctx(script)
    assert ops.start_pacemaker(ctx, "server1")["started"] == ["corosync", "pacemaker"]
    assert any("verified by its own crm_mon" in w for w in ctx.warnings)


def test_start_pacemaker_waits_for_both_views(script):
    script.expect("server1", ["systemctl", "start", "corosync"])
    script.expect("server1", ["systemctl", "start", "pacemaker"])
    probe(script, "server2").expect_status("server2", "two_node_stopped_node")
    script.expect_status("server2", "two_node_normal")
    script.expect("server1", CRM_MON, rc=102, stderr="Connection refused\n")
    script.expect_status("server1", "two_node_normal")
    ctx = make_ctx(script)
    assert ops.start_pacemaker(ctx, "server1")["started"] == ["corosync", "pacemaker"]


def test_start_dry_run_runs_nothing(script):
    ctx = make_ctx(script, dry_run=True)
    data = ops.start_pacemaker(ctx, "server1")
    assert [p["argv"] for p in data["planned"]] == [["systemctl", "start", "corosync"],
                                                   ["systemctl", "start", "pacemaker"]]


def test_restart_services_verifies_active(script):
    script.expect("server1", ["systemctl", "restart", "httpd"])
    script.expect("server1", ["systemctl", "is-active", "httpd"], rc=3)
    script.expect("server1", ["systemctl", "is-active", "httpd"], stdout="active\n")
    assert ops.restart_services(make_ctx(script), "server1", ["httpd"])["restarted"] == ["httpd"]


def test_restart_services_rejects_injection_before_running(script):
    with pytest.raises(InvalidInputError):
        ops.restart_services(make_ctx(script), "server1", ["httpd", "x;reboot"])
    assert script.calls == []


# --- settle -------------------------------------------------------------------------

def test_wait_until_settled_needs_idle_dc_and_two_equal_reads(script):
    probe(script).expect_status("server1", "two_node_shutdown_pending")
    script.expect_status("server1", "two_node_normal")
    script.expect("server1", SIMULATE, stdout=PENDING)  # crm_mon settled, the scheduler not
    script.expect_status("server1", "two_node_normal")
    script.expect("server1", SIMULATE, stdout=IDLE)
    script.expect_status("server1", "two_node_normal")
    progress = []
    data = ops.wait_until_settled(make_ctx(script), 300, progress=progress.append)
    assert data["settled"] is True and data["rounds"] == 3
    assert "node server1 is shutting down" in progress[0]["reasons"]
    assert progress[1]["reasons"][0].startswith("a transition is still pending: rsc_action")
    assert "op=stop" in progress[1]["reasons"][0]


def test_wait_until_settled_changed_second_read_starts_again(script):
    probe(script).expect_status("server1", "two_node_normal")
    script.expect("server1", SIMULATE, stdout=IDLE)
    script.expect_status("server1", "two_node_standby")  # moved meanwhile: not settled yet
    script.expect_status("server1", "two_node_normal")
    script.expect("server1", SIMULATE, stdout=IDLE)
    script.expect_status("server1", "two_node_normal")
    progress = []
    data = ops.wait_until_settled(make_ctx(script), 300, progress=progress.append)
    assert data["rounds"] == 2
    assert progress[0]["reasons"] == ["the state changed between two reads"]


@pytest.mark.parametrize("rc,stdout", [
    (64, ""),  # Pacemaker < 2.1: crm_simulate has no --output-as
    (0, "Current cluster status:\n...\nTransition Summary:\n"),  # text, not XML
    (0, "<pacemaker-result><transition/><status code=\"102\" message=\"Not connected\"/>"
        "</pacemaker-result>"),
])
def test_wait_until_settled_asks_crm_resource_wait_when_the_simulation_cannot_judge(
        script, rc, stdout):
    probe(script).expect_status("server1", "two_node_normal")
    script.expect("server1", SIMULATE, rc=rc, stdout=stdout)
    script.expect("server1", ["crm_resource", "--wait", "--timeout=300s"], rc=124)
    script.expect_status("server1", "two_node_normal")
    script.expect("server1", SIMULATE, rc=rc, stdout=stdout)
    script.expect("server1", ["crm_resource", "--wait", "--timeout=299s"])
    script.expect_status("server1", "two_node_normal")
    progress = []
    data = ops.wait_until_settled(make_ctx(script), 300, progress=progress.append)
    assert data["settled"] is True and data["rounds"] == 2
    assert progress[0]["reasons"] == ["a transition is still pending (crm_resource --wait rc 124)"]


def test_wait_until_settled_times_out_with_reasons(script):
    probe(script).expect_status("server1", "two_node_stopped_node")
    script.expect_status("server1", "two_node_stopped_node", times=POLLS_IN_1S - 1)
    with pytest.raises(WaitTimeoutError) as err:
        ops.wait_until_settled(make_ctx(script), 1)
    assert err.value.details["reasons"] == ["node server1 is not online yet"]


# --- failover -----------------------------------------------------------------------

def test_failover_from_primary_standby_then_online(script):
    probe(script).expect_status("server1", "two_node_normal")
    script.expect_status("server1", "two_node_normal")
    script.expect("server1", ["pcs", "node", "standby", "server1"])
    script.expect_status("server1", "two_node_standby", times=2)
    script.expect_status("server1", "two_node_standby")
    script.expect("server1", ["pcs", "node", "unstandby", "server1"])
    after = fixture("two_node_standby").replace('standby="true"', 'standby="false"')
    for _ in range(2):
        script.expect("server1", CRM_MON, stdout=after)
    script.expect("server1", SIMULATE, stdout=IDLE)
    for _ in range(2):
        script.expect("server1", CRM_MON, stdout=after)
    data = ops.failover_from(make_ctx(script), "server1")
    assert data["resources"] == ["app", "vip"]
    assert data["moved"] == {"app": ["server2"], "vip": ["server2"]}


def test_failover_refuses_when_resources_come_back(script):
    probe(script).expect_status("server1", "two_node_normal")
    script.expect_status("server1", "two_node_normal")
    script.expect("server1", ["pcs", "node", "standby", "server1"])
    script.expect_status("server1", "two_node_standby", times=3)
    script.expect("server1", ["pcs", "node", "unstandby", "server1"])
    script.expect_status("server1", "two_node_normal", times=2)
    script.expect("server1", SIMULATE, stdout=IDLE)
    script.expect_status("server1", "two_node_normal", times=2)
    with pytest.raises(VerificationError) as err:
        ops.failover_from(make_ctx(script), "server1")
    assert err.value.code == "RESOURCES_MOVED_BACK"


def test_failover_dry_run_plans_standby_and_online(script):
    probe(script).expect_status("server1", "two_node_normal")
    script.expect_status("server1", "two_node_normal")
    ctx = make_ctx(script, dry_run=True)
    data = ops.failover_from(ctx, "server1")
    assert [p["argv"] for p in data["planned"]] == [["pcs", "node", "standby", "server1"],
                                                   ["pcs", "node", "unstandby", "server1"]]
