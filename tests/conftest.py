"""Shared pytest fixtures. The lab fixtures bring up a real Pacemaker/Corosync cluster in
namespaces (lab/, docs/LAB.md) once per configuration and tear it down at session end.

Tests that use them are marked `lab`. Without root or the packages of scripts/bootstrap they
FAIL with the reason (CI runs as root after bootstrap); deselect them with `-m "not lab"`.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

LAB_DIR = Path(__file__).resolve().parent.parent / "lab"

# Under pytest-xdist each worker gets a lab instance of its own (docs/LAB.md, "Several labs
# on one machine"): gw0 -> 5, gw1 -> 6, ... Set before anything imports lab/pmlab, whose
# names are fixed at import. Instances 0-4 stay free for people working by hand.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw") and "PMU_LAB_INSTANCE" not in os.environ:
    os.environ["PMU_LAB_INSTANCE"] = str(5 + int(_WORKER[2:]))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep each lab test file on one xdist worker (--dist loadgroup), so a worker brings its
    lab up once per configuration instead of flipping configurations test by test. Tests
    that name their own group (e.g. one group per lab configuration) keep it."""
    for item in items:
        if item.get_closest_marker("lab") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(name=item.path.stem))


def _lab_module() -> Any:
    """pmlab.testing, imported lazily so suites without the lab never load it."""
    if str(LAB_DIR) not in sys.path:
        sys.path.insert(0, str(LAB_DIR))
    import pmlab.testing

    return pmlab.testing


def _require_lab_host() -> None:
    """Fail (not skip) with a clear message when the lab cannot run here."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root (namespaces, bridge, mounts); run as root or "
                    "deselect with -m 'not lab'", pytrace=False)
    missing = [b for b in ("corosync", "pacemakerd", "crm", "pcs", "sshd", "unshare", "nsenter")
               if shutil.which(b, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None]
    if missing:
        pytest.fail(f"lab tests need {', '.join(missing)}: run `bash scripts/bootstrap`",
                    pytrace=False)


@pytest.fixture(scope="session")
def lab_factory() -> Iterator[Callable[..., Any]]:
    """lab_factory(nodes=2, frontend="crmsh", pcsd=False) -> LabCluster.

    One lab exists at a time: asking for another configuration tears the current one down.
    Whatever lab is up at session end is torn down, also after failures.
    """
    used = []

    def make(nodes: int = 2, frontend: str = "crmsh", pcsd: bool = False) -> Any:
        _require_lab_host()
        if not used:
            used.append(_take_session_lock())
        return _lab_module().bring_up(nodes, frontend, pcsd)

    yield make
    if used:
        try:
            left = _lab_module().LabCluster(2, "crmsh", False).down()
            assert not left, f"lab down left: {left}"
        finally:
            used[0].close()


SESSION_LOCK = Path(os.environ.get(
    "PMU_LAB_SESSION_LOCK",
    "/run/lock/pmu-lab%s-session.lock" % (os.environ.get("PMU_LAB_INSTANCE", "0") or "0")))


def _take_session_lock() -> Any:
    """One lab exists per machine: a second pytest session that needs it waits here until the
    first one has torn its lab down, instead of resetting the lab under the first one's feet."""
    SESSION_LOCK.parent.mkdir(parents=True, exist_ok=True)
    handle = open(SESSION_LOCK, "w")  # noqa: SIM115 - held for the whole session
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.stderr.write(f"waiting for another test session's lab ({SESSION_LOCK})\n")
        fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


@pytest.fixture(scope="session")
def lab_cluster(request: pytest.FixtureRequest, lab_factory: Callable[..., Any]) -> Any:
    """The session's lab (default 2 nodes, crmsh, no pcsd; parametrize indirectly with a dict
    such as {"nodes": 3, "pcsd": True} for another configuration)."""
    params = getattr(request, "param", None) or {}
    return lab_factory(**params)


@pytest.fixture()
def fresh_lab(lab_cluster: Any, lab_factory: Callable[..., Any]) -> Any:
    """lab_cluster's configuration, up (again, if another test changed it) and reset to a
    fresh healthy state: all nodes online, no standby/maintenance, failures cleaned, package
    DBs initial, service on server1."""
    lab = lab_factory(lab_cluster.node_count, lab_cluster.frontend, lab_cluster.pcsd)
    lab.reset()
    return lab
