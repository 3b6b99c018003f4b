"""ActionContext.close() at the end of an action: a transport that can keep its connection
for the next action (SSH pool) is released, any other transport is closed; a failing one
does not hide the others."""

from typing import Any, List

from pacemaker_update.actionbase import ActionContext
from pacemaker_update.config import build_adhoc_cluster


class Pooled:
    def __init__(self, log: List[str], name: str, fail: bool = False) -> None:
        self.log, self.name, self.fail = log, name, fail

    def release(self) -> None:
        if self.fail:
            raise OSError("socket already gone")
        self.log.append(f"release {self.name}")

    def close(self) -> None:
        self.log.append(f"close {self.name}")


class Plain:
    def __init__(self, log: List[str], name: str) -> None:
        self.log, self.name = log, name

    def close(self) -> None:
        self.log.append(f"close {self.name}")


def test_close_releases_poolable_transports_and_closes_the_others() -> None:
    log: List[str] = []
    kinds = {"n1": lambda: Pooled(log, "n1", fail=True), "n2": lambda: Plain(log, "n2"),
             "n3": lambda: Pooled(log, "n3")}

    def factory(cluster: Any, node: str) -> Any:
        return kinds[node]()

    ctx = ActionContext(build_adhoc_cluster(["n1", "n2", "n3"]), transport_factory=factory)
    for node in ("n1", "n2", "n3"):
        ctx.transport(node)
    ctx.close()
    assert log == ["close n2", "release n3"]  # n1's failure is swallowed, n3 still released
    ctx.transport("n3")
    ctx.close()
    assert log[-1] == "release n3"
