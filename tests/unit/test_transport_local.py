"""LocalTransport: real processes on this machine."""

import json
import os
import stat
import sys
import time
import uuid
from pathlib import Path
from typing import List

import pytest
from pacemaker_update.errors import CommandTimeoutError, InvalidInputError, TransportError
from pacemaker_update.transport import LocalTransport

PY = sys.executable


def test_rc_stdout_stderr() -> None:
    result = LocalTransport().run(
        [PY, "-c", "import sys; print('out'); sys.stderr.write('err\\n'); sys.exit(4)"])
    assert (result.rc, result.stdout, result.stderr) == (4, "out\n", "err\n")
    assert not result.ok and result.host == "localhost" and result.argv[0] == PY


def test_missing_program_is_rc_127_data() -> None:
    result = LocalTransport().run(["no-such-program-pu", "x"])
    assert result.rc == 127 and "no-such-program-pu" in result.stderr


def test_argv_is_not_interpreted_by_a_shell() -> None:
    args = ["a b", "$(id)", "`id`", "x;y", "line1\nline2", "*", "'\"", ""]
    result = LocalTransport().run([PY, "-c", "import sys, json; print(json.dumps(sys.argv[1:]))"]
                                  + args)
    assert json.loads(result.stdout) == args


def test_environment_is_explicit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PU_SECRET_TOKEN", "s3cret")
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    code = "import os, json; print(json.dumps(dict(os.environ)))"
    env = json.loads(LocalTransport().run([PY, "-c", code], env={"PU_X": "1"}).stdout)
    assert "PU_SECRET_TOKEN" not in env  # the caller's secrets stay with the caller
    assert env["LC_ALL"] == "C" and env["LANG"] == "C" and env["PU_X"] == "1"


def test_stdin_is_fed_and_closed() -> None:
    transport = LocalTransport()
    assert transport.run(["cat"], stdin="hello\n").stdout == "hello\n"
    assert transport.run(["cat"], timeout=5).stdout == ""  # EOF at once, no hang


def _alive(marker: str) -> List[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


def test_timeout_kills_the_whole_process_group() -> None:
    marker = f"pu-local-{uuid.uuid4().hex}"
    # The child spawns a grandchild; both must be gone after the timeout.
    code = ("import subprocess, sys, time\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', sys.argv[1]])\n"
            "time.sleep(60)\n")
    start = time.monotonic()
    with pytest.raises(CommandTimeoutError) as info:
        LocalTransport(host="here").run([PY, "-c", code, marker], timeout=1)
    assert time.monotonic() - start < 10
    assert info.value.details["host"] == "here" and info.value.details["argv"][-1] == marker
    deadline = time.monotonic() + 5
    while _alive(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _alive(marker) == []


def test_megabytes_on_both_streams_do_not_deadlock() -> None:
    code = ("import sys\nsys.stderr.write('e' * 5_000_000)\nsys.stderr.flush()\n"
            "sys.stdout.write('o' * 3_000_000)\n")
    result = LocalTransport().run([PY, "-c", code], timeout=60)
    assert len(result.stderr) == 5_000_000 and len(result.stdout) == 3_000_000


@pytest.mark.parametrize("argv", [[], (), "ls -l", ["ls", 3], ["ls", "a\x00b"], ["", "x"],
                                  ["A=B", "x"], None])
def test_bad_argv_is_invalid_input(argv: object) -> None:
    with pytest.raises(InvalidInputError):
        LocalTransport().run(argv)  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), True, "5"])
def test_bad_timeout_is_invalid_input(timeout: object) -> None:
    with pytest.raises(InvalidInputError):
        LocalTransport().run(["true"], timeout=timeout)  # type: ignore[arg-type]


def _sudo_stand_in(directory: Path, message: str, rc: int) -> Path:
    """A `sudo` stand-in (sudo is not installed here): records its argv, answers like sudo."""
    record = directory / "sudo-argv.json"
    script = directory / "sudo"
    script.write_text(
        f"#!{PY}\nimport json, sys\n"
        f"open({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        f"sys.stderr.write({message!r})\nsys.exit({rc})\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return record


def test_sudo_password_prompt_is_a_coded_error(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    record = _sudo_stand_in(tmp_path, "sudo: a password is required\n", 1)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with pytest.raises(TransportError) as info:
        LocalTransport(sudo=True).run(["crm_mon", "-1"])
    assert info.value.code == "SUDO_PASSWORD_REQUIRED"
    assert info.value.details["argv"] == ["crm_mon", "-1"]
    assert json.loads(record.read_text()) == ["-n", "--", "crm_mon", "-1"]


def test_sudo_missing_is_a_coded_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no sudo on PATH
    with pytest.raises(TransportError) as info:
        LocalTransport().run(["true"], sudo=True)
    assert info.value.code == "SUDO_NOT_FOUND"


def test_command_failing_under_sudo_is_still_data(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _sudo_stand_in(tmp_path, "crm_mon: connection to cluster failed\n", 1)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    result = LocalTransport(sudo=True).run(["crm_mon", "-1"])
    assert result.rc == 1 and "connection to cluster failed" in result.tail()


def test_context_manager_closes() -> None:
    with LocalTransport() as transport:
        assert transport.run(["true"]).ok
