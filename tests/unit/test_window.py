"""Maintenance windows with a fake clock: a step that cannot finish is refused, the update
stops at a node boundary, and the next window resumes it (start_scheduled_update)."""

import datetime as dt
import sys

import pytest
from pacemaker_update.chatops import gate
from pacemaker_update.config import load_config
from pacemaker_update.errors import ConfigError, InvalidInputError
from pacemaker_update.window import (
    can_start_step,
    estimate_step_seconds,
    next_window,
    parse_cron,
    parse_window,
    parse_window_flag,
    window_at,
)

UTC = dt.timezone.utc
SAT_0200_UTC = {"start": "0 2 * * sat", "duration_minutes": 120, "timezone": "UTC"}
CONFIG = {"clusters": {"prod": {
    "nodes": [{"name": "node1", "address": "10.0.0.1"}, {"name": "node2", "address": "10.0.0.2"}],
    "maintenance_windows": [SAT_0200_UTC]}}}


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_cron_fields_names_steps_and_vixie_day_or():
    spec = parse_cron("*/15 1-3 1 * mon")
    assert spec.minutes == {0, 15, 30, 45} and spec.hours == {1, 2, 3}
    assert spec.matches_day(dt.date(2024, 6, 1))   # the 1st (a Saturday): day-of-month
    assert spec.matches_day(dt.date(2024, 6, 3))   # a Monday: day-of-week
    assert not spec.matches_day(dt.date(2024, 6, 4))
    assert parse_cron("0 0 * * 7").weekdays == {0}
    for bad in ("0 2 * *", "61 2 * * *", "0 2 * * funday", "0 2 * 13 *", "0 2/0 * * *"):
        with pytest.raises(InvalidInputError):
            parse_cron(bad)


def test_window_open_and_next():
    windows = [parse_window(SAT_0200_UTC)]
    assert window_at(windows, at("2024-06-01T01:59")) is None
    span = window_at(windows, at("2024-06-01T03:59"))
    assert span is not None and span.start == at("2024-06-01T02:00")
    assert window_at(windows, at("2024-06-01T04:00")) is None  # end is exclusive
    assert next_window(windows, at("2024-06-01T03:00")).start == at("2024-06-08T02:00")


def test_refuses_to_start_outside_a_window_and_says_when_next():
    decision = can_start_step(at("2024-06-05T12:00"), [parse_window(SAT_0200_UTC)], 600)
    assert (decision.allowed, decision.code) == (False, "OUTSIDE_WINDOW")
    assert "2024-06-08T02:00:00+00:00" in decision.message


def test_node_steps_stop_at_the_boundary_that_would_overrun():
    """Fake clock through a 2 h window: measured steps of 40 min, 5 min margin."""
    windows, now, measured, done = [parse_window(SAT_0200_UTC)], at("2024-06-01T02:00"), [], []
    for node in ("node1", "node2", "node3", "node4"):
        decision = can_start_step(now, windows, estimate_step_seconds(measured, 1800), 300)
        if not decision.allowed:
            assert decision.code == "WINDOW_TOO_SHORT" and decision.next_window is not None
            break
        now += dt.timedelta(minutes=40)   # the step runs
        measured.append(40 * 60)
        done.append(node)
    # 02:00 (30+5 min needed) ok, 02:40 ok, 03:20 would need 45 min with 40 left: stop
    assert done == ["node1", "node2"] and now == at("2024-06-01T03:20")
    resumed = can_start_step(at("2024-06-08T02:00"), windows,
                             estimate_step_seconds(measured, 1800), 300)
    assert resumed.allowed and resumed.code == "OK"


def test_no_windows_is_not_enforced():
    assert can_start_step(at("2024-06-05T12:00"), [], 600).code == "NO_WINDOWS"


@pytest.mark.skipif(sys.version_info < (3, 9), reason="IANA zones need zoneinfo (3.9+)")
def test_dst_gap_and_overlap_in_berlin():
    daily = [parse_window({"start": "30 2 * * *", "duration_minutes": 120,
                           "timezone": "Europe/Berlin"})]
    gap = next_window(daily, at("2024-03-30T12:00"))   # 02:30 does not exist on 31 March
    assert gap.start == at("2024-03-31T01:30") and gap.local_start.hour == 3
    fold = next_window(daily, at("2024-10-26T12:00"))  # 02:30 happens twice on 27 October
    assert fold.start == at("2024-10-27T00:30")         # first occurrence (CEST)
    assert fold.end - fold.start == dt.timedelta(hours=2)  # elapsed, not wall clock
    assert fold.local_end.isoformat() == "2024-10-27T03:30:00+01:00"


def test_fixed_offsets_work_without_zone_database():
    windows = [parse_window({"start": "0 2 * * *", "duration_minutes": 60,
                             "timezone": "UTC+09:00"})]
    assert next_window(windows, at("2024-06-01T00:00")).start == at("2024-06-01T17:00")


def test_window_flag_parser():
    assert parse_window_flag("Sat 02:00/2h") == SAT_0200_UTC
    assert parse_window_flag("Mon-Fri 22:30/1h30m UTC+01:00") == {
        "start": "30 22 * * mon-fri", "duration_minutes": 90, "timezone": "UTC+01:00"}
    assert parse_window_flag("03:00/45m")["start"] == "0 3 * * *"
    for bad in ("Sat 2h", "Sat 25:00/2h", "Sat 02:00/0m", "Caturday 02:00/2h"):
        with pytest.raises(InvalidInputError) as exc:
            parse_window_flag(bad)
        assert exc.value.code in ("INVALID_WINDOW", "INVALID_CRON")


def test_check_action_envelope_codes_and_pause_request():
    class Api:
        paused = []

        def pause_execution(self, execution_id):
            self.paused.append(execution_id)

    api = Api()
    ok, env = gate.check_window(CONFIG, "prod", [2400], 1800, 300, None, True, "ex1",
                                at("2024-06-01T03:30"), api)
    assert not ok and env["error"]["code"] == "WINDOW_TOO_SHORT" and api.paused == ["ex1"]
    assert env["data"]["pause_requested"] and env["data"]["next_window"]["start_utc"]
    ok, env = gate.check_window(CONFIG, "prod", [], 1800, 300, None, False, None,
                                at("2024-06-05T12:00"), api)
    assert ok and env["warnings"] and api.paused == ["ex1"]
    ok, env = gate.check_window(CONFIG, "prod", [], 1800, 300, "Wed 11:00/2h", True, None,
                                at("2024-06-05T12:00"), api)
    assert ok and env["data"]["code"] == "OK"


class FakeSt2:
    """The three st2 API calls start_due_updates makes, recorded."""

    def __init__(self, executions):
        self.executions, self.calls = executions, []

    def list_executions(self, action, status):
        return [e for e in self.executions if e["status"] == status]

    def request(self, method, path, body):
        self.calls.append((method, path, body))

    def run_action(self, ref, params):
        self.calls.append(("run", ref, params))
        return {"id": "new1"}


def test_next_window_resumes_the_paused_update_else_starts_the_configured_one():
    config = load_config(CONFIG)
    raw = {"clusters": {"prod": dict(CONFIG["clusters"]["prod"], scheduled_update={
        "method": "rolling_standby", "packages": ["pacemaker"]})}}
    opened, lookback = at("2024-06-08T02:03"), dt.timedelta(minutes=5)
    paused = FakeSt2([{"id": "old1", "status": "paused", "parameters": {"cluster": "prod"}}])
    out = gate.start_due_updates(paused, raw, config, opened, lookback)
    assert out[0]["action"] == "resumed"
    assert paused.calls == [("PUT", "/executions/old1", {"status": "resuming"})]
    idle = FakeSt2([])
    out = gate.start_due_updates(idle, raw, config, opened, lookback)
    assert idle.calls == [("run", "pacemaker_update.update_cluster", {
        "method": "rolling_standby", "packages": ["pacemaker"], "cluster": "prod"})]
    late = FakeSt2([])
    assert gate.start_due_updates(late, raw, config, at("2024-06-08T02:30"), lookback) == []
    running = FakeSt2([{"id": "r", "status": "running", "parameters": {"cluster": "prod"}}])
    assert gate.start_due_updates(running, raw, config, opened, lookback)[0]["action"] == \
        "skipped" and running.calls == []


def test_first_step_estimate_and_margin_come_from_the_cluster_config():
    # a 2-hour window opened at 02:00; at 03:30, 30 min remain
    late = at("2024-06-01T03:30")
    ok, env = gate.check_window(CONFIG, "prod", [], None, None, None, True, None, late)
    assert not ok and env["error"]["code"] == "WINDOW_TOO_SHORT"  # 30 + 5 min > 30 min left
    assert env["data"]["expected_seconds"] == 1800.0
    quick = {"clusters": {"prod": dict(CONFIG["clusters"]["prod"],
                                       window_step_estimate_minutes=10,
                                       window_safety_margin_minutes=2)}}
    ok, env = gate.check_window(quick, "prod", [], None, None, None, True, None, late)
    assert ok and env["data"]["code"] == "OK" and env["data"]["expected_seconds"] == 600.0
    # a measured step still wins over the configured estimate
    ok, env = gate.check_window(quick, "prod", [1700], None, None, None, True, None, late)
    assert not ok and env["data"]["expected_seconds"] == 1700.0
    with pytest.raises(ConfigError) as exc:
        load_config({"clusters": {"prod": dict(CONFIG["clusters"]["prod"],
                                               window_step_estimate_minutes=0)}})
    assert exc.value.code == "CONFIG_INVALID"
    assert "clusters.prod.window_step_estimate_minutes" in exc.value.message


def test_a_window_never_resumes_an_update_the_failover_watcher_paused():
    config = load_config(CONFIG)
    raw = {"clusters": {"prod": dict(CONFIG["clusters"]["prod"], scheduled_update={
        "method": "rolling_standby", "packages": ["pacemaker"]})}}
    opened, lookback = at("2024-06-08T02:03"), dt.timedelta(minutes=5)
    # what pause_update recorded (detect.actions.record_reason) when it paused old1
    reasons = {"prod": {"cluster": "prod", "reason": "node server1 offline",
                        "paused": [{"id": "old1", "status": "pausing"}]}}
    paused = FakeSt2([{"id": "old1", "status": "paused", "parameters": {"cluster": "prod"}}])
    out = gate.start_due_updates(paused, raw, config, opened, lookback,
                                 pause_reason=reasons.get)
    assert out[0]["action"] == "held" and "node server1 offline" in out[0]["reason"]
    assert paused.calls == []  # neither resumed nor a second update started
    # a pause of another execution (e.g. an older incident) does not hold this one
    other = FakeSt2([{"id": "old2", "status": "paused", "parameters": {"cluster": "prod"}}])
    out = gate.start_due_updates(other, raw, config, opened, lookback, pause_reason=reasons.get)
    assert out[0]["action"] == "resumed"
