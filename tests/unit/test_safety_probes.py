"""safety/probes.py on CIB status snippets shaped like Pacemaker 2.1's (the ops tests use the
recorded CIB of tests/fixtures/crm_mon)."""

from pacemaker_update.safety.probes import pending_probes, probe_marks

CIB = """<cib><configuration><resources>
  <primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2"/>
  <clone id="ping-clone"><primitive id="ping" class="ocf" provider="pacemaker" type="ping"/></clone>
</resources></configuration><status>
  <node_state uname="server1"><lrm><lrm_resources>
    <lrm_resource id="vip">
      <lrm_rsc_op id="vip_last_0" transition-key="{vip1}" op-status="0"/></lrm_resource>
    <lrm_resource id="ping:0">
      <lrm_rsc_op id="ping_last_0" transition-key="{ping1}" op-status="{ping1_status}"/>
    </lrm_resource>
    <lrm_resource id="gone">
      <lrm_rsc_op id="gone_last_0" transition-key="g" op-status="0"/></lrm_resource>
  </lrm_resources></lrm></node_state>
  <node_state uname="server2"><lrm><lrm_resources>
    <lrm_resource id="vip">
      <lrm_rsc_op id="vip_last_0" transition-key="v2" op-status="0"/></lrm_resource>
  </lrm_resources></lrm></node_state>
</status></cib>"""


def cib(vip1="v1", ping1="p1", ping1_status="0"):
    return CIB.format(vip1=vip1, ping1=ping1, ping1_status=ping1_status)


def test_marks_per_node_count_clone_instances_for_their_primitive_and_skip_orphans():
    assert probe_marks(cib()) == {"server1": {"vip": {"v1"}, "ping": {"p1"}},
                                  "server2": {"vip": {"v2"}}}
    assert probe_marks(cib(), ["server2"]) == {"server2": {"vip": {"v2"}}}


def test_a_probe_is_done_only_with_a_new_completed_record():
    before = probe_marks(cib(), ["server1"])
    assert pending_probes(before, probe_marks(cib(), ["server1"])) == [
        "server1: ping", "server1: vip"]  # nothing new yet (history not even deleted)
    pending = cib(vip1="v1b", ping1="p1b", ping1_status="-1")  # ping's probe still running
    assert pending_probes(before, probe_marks(pending, ["server1"])) == ["server1: ping"]
    done = cib(vip1="v1b", ping1="p1b")
    assert pending_probes(before, probe_marks(done, ["server1"])) == []
