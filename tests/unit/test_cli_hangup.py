"""SIGHUP (the operator's terminal or SSH session went away) pauses a run like SIGTERM.

A real CLI process on a real pseudo-terminal: closing the terminal's master side is a
hangup, the kernel sends SIGHUP (to the session leader and its foreground group) and every
later write to the terminal fails with EIO. The run must finish the running action, pause
(exit 3), and resume to its end from another process. Same with output pipes whose reader
went away (EPIPE) and a SIGHUP sent twice.
"""

import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import termios
import threading
import time
from typing import Any, List

import pytest
from test_cli import base as base_args
from test_cli import call, lines, the_run, wait_for


def _slow_run(state: Any, log: str, hold: Any) -> List[str]:
    return [sys.executable, "-m", "pacemaker_update.cli", "run", "slow", "--param",
            "path=" + log, "--param", "seconds=0", "--param", f"hold={hold}"] + base_args(state)


def _take_terminal() -> None:  # in the child: own session, the pty as controlling terminal
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _drain(fd: int, stop: threading.Event, seen: List[bytes]) -> None:
    while not stop.is_set():
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return
            if not data:
                return
            seen.append(data)


def _assert_paused_then_resumes(state: Any, log: str, hold: Any) -> None:
    assert lines(log) == ["start a", "end a"]  # a finished, b never started
    run_id = the_run(state)
    rc, out, err = call(state, "show", run_id, "--json")
    assert rc == 0, err
    shown = json.loads(out)
    assert shown["status"] == "paused" and shown["inflight"] == []
    # whoever finds the run paused later reads why: the session went away
    cause = shown["pause_cause"]
    assert cause["kind"] == "signal" and cause["signal"] == "SIGHUP", cause
    assert "SSH session" in cause["message"]
    rc, out, err = call(state, "show", run_id)
    assert "paused by signal: SIGHUP:" in out
    rc, out, err = call(state, "resume", run_id)
    assert rc == 0, err
    assert lines(log) == ["start a", "end a", "start b", "end b", "start c", "end c"]


@pytest.mark.slow
def test_terminal_hangup_pauses_after_the_running_action_and_the_run_resumes(tmp_path):
    log, hold = str(tmp_path / "log"), tmp_path / "release"
    master, slave = os.openpty()
    proc = subprocess.Popen(_slow_run(tmp_path, log, hold), stdin=slave, stdout=slave,
                            stderr=slave, preexec_fn=_take_terminal, close_fds=True)
    os.close(slave)
    stop, seen = threading.Event(), []  # type: threading.Event, List[bytes]
    reader = threading.Thread(target=_drain, args=(master, stop, seen), daemon=True)
    reader.start()
    try:
        wait_for(log, "start a")
        # the live display is on the terminal (the reader may get it after the step began)
        deadline = time.monotonic() + 30
        while b"running: a" not in b"".join(seen) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert b"running: a" in b"".join(seen)
    finally:
        stop.set()
        reader.join(5)
        os.close(master)  # hangup: SIGHUP, then EIO on every write to the terminal
    hold.write_text("a b c")
    assert proc.wait(timeout=60) == 3  # paused, not killed by the signal nor by EIO
    _assert_paused_then_resumes(tmp_path, log, hold)


@pytest.mark.slow
def test_sighup_twice_with_the_output_pipes_gone_still_pauses(tmp_path):
    log, hold = str(tmp_path / "log"), tmp_path / "release"
    proc = subprocess.Popen(_slow_run(tmp_path, log, hold), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    wait_for(log, "start a")
    proc.stdout.close()  # nobody reads any more: writes fail with EPIPE
    proc.stderr.close()
    proc.send_signal(signal.SIGHUP)
    proc.send_signal(signal.SIGHUP)  # a hangup often comes twice: never "stop now"
    hold.write_text("a b c")
    assert proc.wait(timeout=60) == 3
    _assert_paused_then_resumes(tmp_path, log, hold)
