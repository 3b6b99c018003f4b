"""safety.settle.pending_transition on real crm_simulate output (tests/fixtures/crm_simulate,
recorded by its record.sh with Pacemaker 2.1.5): the settle wait's "no pending transition"
evidence, the check crm_resource --wait makes."""

from pathlib import Path

import pytest
from pacemaker_update.safety.settle import pending_transition

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "crm_simulate"


def test_idle_cluster_has_nothing_pending() -> None:
    assert pending_transition((FIX / "idle.xml").read_text()) == []


def test_standby_plans_every_real_action_and_no_pseudo_action() -> None:
    pending = pending_transition((FIX / "pending_standby.xml").read_bytes())
    assert pending is not None and len(pending) == 7
    assert "rsc_action node=server1 op=stop resource=app" in pending
    assert "rsc_action interval=10000 node=server2 op=monitor resource=vip" in pending
    assert not any("pseudo" in p for p in pending)


def test_notifications_alone_are_not_pending_as_with_crm_resource_wait() -> None:
    text = (FIX / "idle.xml").read_text().replace(
        "<transition/>", '<transition><rsc_action resource="db" op="notify" node="server1"/>'
        '<pseudo_action task="db-clone_confirmed-post_notify_running_0"/></transition>')
    assert pending_transition(text) == []


def test_fencing_is_pending() -> None:
    text = (FIX / "idle.xml").read_text().replace(
        "<transition/>", '<transition><cluster_action task="stonith" node="server2" '
        'reason="peer is no longer part of the cluster"/></transition>')
    assert pending_transition(text) == [
        "cluster_action node=server2 reason=peer is no longer part of the cluster task=stonith"]


@pytest.mark.parametrize("output", [
    "",
    "Current cluster status:\n  * Node List:\n\nTransition Summary:\n",  # text (< 2.1)
    (FIX / "idle.xml").read_text()[:400],  # truncated
    (FIX / "idle.xml").read_text().replace("<transition/>", ""),  # no transition element
    (FIX / "idle.xml").read_text().replace('code="0" message="OK"', 'code="102" message="x"'),
])
def test_output_that_cannot_be_judged_is_none(output: str) -> None:
    assert pending_transition(output) is None
