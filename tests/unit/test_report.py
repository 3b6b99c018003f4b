"""The final report for people (Markdown) and machines (JSON)."""

from pacemaker_update.chatops.report import build_report, render_markdown, trim_text

REPORT = {
    "method": "rolling_standby", "cluster": "prod", "dry_run": False, "status": "succeeded",
    "order": ["node2", "node1"],
    "nodes": {
        "node1": {"versions_before": {"pacemaker": "2.1.5", "corosync": "3.1.7"},
                  "versions_after": {"pacemaker": "2.1.6", "corosync": "3.1.7"},
                  "steps": [{"step": "standby", "ok": True, "started": 100.0, "ended": 130.0},
                            {"step": "update", "ok": True, "started": "1970-01-01T00:02:10Z",
                             "ended": "1970-01-01T00:04:40Z"}]},
        "node2": {"versions_before": {"pacemaker": "2.1.5"},
                  "versions_after": {"pacemaker": "2.1.5"}, "steps": []}},
    "failovers": [{"resource": "vip", "from": "node1", "to": "node2"}],
    "interruptions": [{"resource": "vip", "node": "node1", "seconds": 4.2}],
    "warnings": ["node2 had no update available"],
}


def test_json_report_has_versions_timings_and_checks():
    data = build_report(REPORT)
    assert [n["node"] for n in data["nodes"]] == ["node2", "node1"]
    node1 = data["nodes"][1]
    assert node1["changed"] == ["pacemaker"] and node1["seconds"] == 180.0
    assert [s["seconds"] for s in node1["steps"]] == [30.0, 150.0]
    assert data["nodes"][0]["changed"] == [] and data["nodes"][0]["seconds"] is None
    checks = " ".join(data["checks"])
    assert "Resources moved" in checks and "interrupted" in checks and "no update" in checks


def test_markdown_table_and_sections():
    text = render_markdown(REPORT, "ex1")
    assert text.startswith("**rolling_standby on prod: succeeded**")
    assert "| node1 | ok | pacemaker 2.1.5 → 2.1.6 | 3m00s |" in text
    assert "| node2 | ok | unchanged | - |" in text
    assert "vip on node1: 4s" in text and "**Check**" in text


def test_failure_says_where_and_what_next():
    failed = dict(REPORT, status="failed", failure={
        "node": "node1", "step": "update", "code": "COMMAND_FAILED", "message": "apt broke",
        "next": "pacemaker-update run rollback --cluster prod"})
    checks = build_report(failed)["checks"]
    assert checks[0].startswith("The update stopped at node node1 step update (COMMAND_FAILED)")
    assert checks[1] == "pacemaker-update run rollback --cluster prod"


def test_long_report_is_trimmed_with_a_pointer():
    many = dict(REPORT, order=[], nodes={f"n{i:03d}": REPORT["nodes"]["node1"]
                                         for i in range(200)})
    text = render_markdown(many, "ex42", max_chars=1000)
    assert len(text) <= 1000 and text.endswith("`pacemaker-update show ex42`)")
    assert trim_text("short", 10) == "short"


def test_partial_report_from_a_failed_run_still_renders():
    assert "unknown" in render_markdown({"cluster": "prod"})
