"""The lab's test handle gives up after repeated failures to make a lab healthy (lab/pmlab,
testing.bring_up / LabCluster.reset). CI stop 10 spent its 90 minutes on 30 tests that each
took 3 minutes to find the same broken lab; the breaker makes the third attempt fail at once
with the reason of the last one. Only the breaker is tested here: the lab itself is replaced
by a function that fails, and the state directory is a temporary one. The rebuild of a stale
lab on a real lab is tests/lab/test_lab.py::test_a_stale_lab_record_is_rebuilt_not_trusted.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lab"))

from pmlab import lifecycle, testing  # noqa: E402
from pmlab.errors import LabError  # noqa: E402


@pytest.fixture
def failing_up(monkeypatch, tmp_path):
    """No lab recorded in a private state directory; every `up` fails and is counted."""
    monkeypatch.setenv("PMU_LAB_DIR", str(tmp_path))
    monkeypatch.setattr(testing, "_FAILURES", [])
    calls = []

    def up(nodes, frontend, pcsd):
        calls.append((nodes, frontend, pcsd))
        raise LabError(f"cluster did not settle within 120 s (attempt {len(calls)})")

    monkeypatch.setattr(lifecycle, "up", up)
    monkeypatch.setattr(lifecycle, "down", lambda: [])  # nothing recorded to remove
    return calls


def test_third_bring_up_fails_at_once_with_the_last_reason(failing_up):
    for attempt in (1, 2):
        with pytest.raises(LabError, match=f"attempt {attempt}"):
            testing.bring_up(2, "crmsh", False)
    with pytest.raises(LabError) as info:
        testing.bring_up(2, "crmsh", False)
    assert len(failing_up) == 2  # not tried a third time
    message = str(info.value)
    assert "not trying again" in message
    assert "2 nodes, crmsh" in message and "attempt 2" in message


def test_a_success_clears_the_count(failing_up, monkeypatch):
    with pytest.raises(LabError):
        testing.bring_up(2, "crmsh", False)
    monkeypatch.setattr(lifecycle, "up", lambda nodes, frontend, pcsd: None)
    assert testing.bring_up(3, "pcs", True).node_count == 3
    assert testing._FAILURES == []


def test_reset_of_a_lab_that_is_gone_rebuilds_and_counts_a_failed_rebuild(failing_up):
    handle = testing.LabCluster(2, "crmsh", False)  # nothing recorded: the lab is gone
    with pytest.raises(LabError, match="attempt 1"):
        handle.reset()
    assert failing_up == [(2, "crmsh", False)]  # rebuilt with the handle's configuration
    with pytest.raises(LabError, match="attempt 2"):
        handle.reset()
    with pytest.raises(LabError, match="not trying again"):
        handle.reset()
    assert len(failing_up) == 2
