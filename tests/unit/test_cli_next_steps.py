"""What the CLI tells a person to run next when an update stopped before its end."""
from pacemaker_update.cli.running import next_steps


def test_paused_run_offers_resume_then_cancel_and_rollback() -> None:
    steps = next_steps("r1", "lab", "paused")
    assert steps[0].startswith("pacemaker-update resume r1")
    assert "pacemaker-update cancel r1" in steps[1] and "run rollback --cluster lab" in steps[1]


def test_failed_run_offers_only_rollback_never_resume() -> None:
    # the engine refuses to resume a finished run (RUN_FINISHED): suggesting it wastes the
    # operator's time at 3 a.m.
    steps = next_steps("r1", "lab", "failed")
    assert len(steps) == 1 and steps[0].startswith("pacemaker-update run rollback --cluster lab")
    assert "resume" not in steps[0] and "pacemaker-update show r1" in steps[0]


def test_show_repeats_the_next_steps_of_a_run_that_stopped_early() -> None:
    # `show RUN` / `status RUN` for a person who lost the run's own output
    from pacemaker_update.cli.inspecting import run_next_steps

    def run(status, **extra):
        return {"id": "r9", "parent_id": None, "status": status,
                "params": {"cluster": "lab", "method": "rolling_standby"}, **extra}

    assert run_next_steps(run("failed"))[0].startswith("pacemaker-update run rollback")
    assert run_next_steps(run("paused"))[0].startswith("pacemaker-update resume r9")
    assert run_next_steps(run("succeeded")) == []
    assert run_next_steps(run("failed", parent_id="r8")) == []  # the parent run says it
    assert run_next_steps(run("failed", params={"message": "x"})) == []  # not a cluster run


def test_cluster_now_is_read_only_for_a_cluster_run_that_stopped_early(tmp_path) -> None:
    # `show RUN --cluster-now`: a run that did not stop early reads nothing and says why
    from pacemaker_update.cli.inspecting import run_cluster_now

    def run(status, **extra):
        return {"id": "r9", "parent_id": None, "status": status,
                "params": {"cluster": "lab", "method": "rolling_standby"}, **extra}

    for other in (run("succeeded"), run("failed", parent_id="r8"),
                  run("failed", params={"message": "x"})):
        standing = run_cluster_now(other, None)
        assert standing["next"] == [] and "not read" in standing["note"]
        assert "nodes" not in standing
    # a failed cluster run whose cluster cannot be read: the reason, and still the next step
    config = tmp_path / "config.yaml"
    config.write_text("clusters:\n  other:\n    nodes:\n"
                      "      - name: a\n        address: 192.0.2.1\n"
                      "      - name: b\n        address: 192.0.2.2\n")
    standing = run_cluster_now(run("failed"), str(config))
    assert "could not read the cluster's state" in standing["error"]
    assert "lab" in standing["error"]
    assert standing["next"][0].startswith("pacemaker-update run rollback --cluster lab")


def test_show_cluster_now_prints_the_note_for_a_run_that_is_no_cluster_update(tmp_path) -> None:
    import json

    from test_cli import call, the_run

    assert call(tmp_path, "run", "linear", "--param", "message=x")[0] == 0
    run_id = the_run(tmp_path)
    rc, out, _ = call(tmp_path, "show", run_id, "--cluster-now")
    assert rc == 0 and "cluster now:" in out and "not read" in out
    rc, out, _ = call(tmp_path, "status", run_id, "--cluster-now", "--json")
    assert rc == 0 and "not read" in json.loads(out)["cluster_now"]["note"]
