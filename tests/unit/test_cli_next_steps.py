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
