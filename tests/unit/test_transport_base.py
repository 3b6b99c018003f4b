"""Result, validation, the remote command string and sudo error mapping (pure functions)."""

import dataclasses
import json
import shlex

import pytest
from pacemaker_update.errors import InvalidInputError, TransportError
from pacemaker_update.transport.base import Result, check_sudo_result, validate_env
from pacemaker_update.transport.ssh import SSHTransport, build_remote_command


def make_result(rc: int = 0, stdout: str = "", stderr: str = "") -> Result:
    return Result("n1", ("crm", "status"), rc, stdout, stderr, 0.5, 1700000000.0)


def test_result_ok_failed_and_frozen() -> None:
    assert make_result(0).ok and not make_result(0).failed
    assert make_result(2).failed and not make_result(2).ok
    with pytest.raises(dataclasses.FrozenInstanceError):
        make_result().rc = 1  # type: ignore[misc]


def test_tail_prefers_stderr_and_keeps_last_lines() -> None:
    lines = "\n".join(f"line {i}" for i in range(30)) + "\n"
    assert make_result(1, stderr=lines).tail(3) == "line 27\nline 28\nline 29"
    assert make_result(1, stdout="only out\n", stderr=" \n").tail() == "only out"


def test_to_dict_is_json_serialisable() -> None:
    data = json.loads(json.dumps(make_result(3, "o", "e").to_dict()))
    assert data == {"host": "n1", "argv": ["crm", "status"], "rc": 3, "stdout": "o",
                    "stderr": "e", "duration": 0.5, "started_at": 1700000000.0}


@pytest.mark.parametrize("stderr,code", [
    ("sudo: a password is required\n", "SUDO_PASSWORD_REQUIRED"),
    ("sudo: a terminal is required to read the password; either use -S\n",
     "SUDO_PASSWORD_REQUIRED"),
    ("Sorry, user bob is not allowed to execute '/usr/sbin/crm status' as root on n1.\n",
     "SUDO_NOT_PERMITTED"),
    ("bob is not in the sudoers file.  This incident will be reported.\n", "SUDO_NOT_PERMITTED"),
])
def test_sudo_refusals_are_coded(stderr: str, code: str) -> None:
    with pytest.raises(TransportError) as info:
        check_sudo_result(make_result(1, stderr=stderr))
    assert info.value.code == code and info.value.details["host"] == "n1"


@pytest.mark.parametrize("rc,stderr", [
    (1, "crm: resource not found\n"),     # the command's own failure: data
    (2, "sudo: a password is required"),  # not sudo's rc
    (127, "env: 'crm': No such file or directory\n"),  # the command is missing, not sudo
])
def test_command_failures_under_sudo_stay_data(rc: int, stderr: str) -> None:
    check_sudo_result(make_result(rc, stderr=stderr))


@pytest.mark.parametrize("stderr", [
    "bash: line 1: sudo: command not found\n", "sh: 1: sudo: not found\n",
    "timeout: failed to run command 'sudo': No such file or directory\n"])
def test_missing_sudo_is_coded(stderr: str) -> None:
    with pytest.raises(TransportError) as info:
        check_sudo_result(make_result(127, stderr=stderr))
    assert info.value.code == "SUDO_NOT_FOUND"


def test_remote_command_quotes_every_element() -> None:
    argv = ("crm", "node", "standby", "a b;$(id)`x`\n'\"")
    words = shlex.split(build_remote_command(argv, False, {"X": "1 2"}, 30.0))
    assert words == ["env", "LC_ALL=C", "X=1 2", "timeout", "-k", "2", "30.000"] + list(argv)


def test_remote_command_with_sudo_puts_env_behind_sudo() -> None:
    plain = shlex.split(build_remote_command(("id",), True, {}, 5.0))
    assert plain == ["env", "LC_ALL=C", "timeout", "-k", "2", "5.000", "sudo", "-n", "--", "id"]
    with_env = shlex.split(build_remote_command(("id",), True, {"A": "b"}, 5.0))
    assert with_env[-6:] == ["sudo", "-n", "--", "env", "A=b", "id"]


@pytest.mark.parametrize("env", [{"A B": "x"}, {"": "x"}, {"9A": "x"}, {"A": "x\x00"},
                                 {"A=B": "x"}, {"A": 1}])
def test_bad_env_is_invalid_input(env: dict) -> None:
    with pytest.raises(InvalidInputError):
        validate_env(env)


@pytest.mark.parametrize("port", [0, 70000, "22", True])
def test_bad_port_is_invalid_input(port: object) -> None:
    with pytest.raises(InvalidInputError):
        SSHTransport("n1", "127.0.0.1", port=port)  # type: ignore[arg-type]
