"""st2 PollingSensor: watch every configured cluster's crm_mon for unexpected failovers.

Thin on purpose: detection lives in ``pacemaker_update.detect`` (actions/lib). Each
cluster has its own worker thread (``detect.workers``); ``poll()`` only ticks them, so a
slow or unreachable cluster never delays another. Triggers (payloads in the YAML):
``pacemaker_update.cluster_event``, ``.unexpected_failover``, ``.cluster_unreachable``,
``.cluster_reachable``. The ledger is read from st2's datastore through sensor_service.
"""

import os
import sys
import threading
from typing import Any, Dict, List

# The one place the sensor finds the pack library: st2 puts actions/lib on the path of
# actions only (a pack-root lib/ would need enable_common_libs, off by default).
_LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "actions", "lib")
if os.path.normpath(_LIB) not in sys.path:
    sys.path.insert(0, os.path.normpath(_LIB))

from pacemaker_update.config import load_config  # noqa: E402
from pacemaker_update.detect.poller import ClusterPoller, Dispatch  # noqa: E402
from pacemaker_update.detect.store import LedgerStoreError, ServiceLedgerStore  # noqa: E402
from pacemaker_update.detect.workers import ClusterWorker  # noqa: E402
from pacemaker_update.st2compat import PollingSensor  # noqa: E402


def _config_transport(cluster: Any, node: str) -> Any:
    return cluster.transport_for(node)


class CrmMonWatcher(PollingSensor):
    """Polls crm_mon XML of every cluster in the pack config and dispatches its events."""

    transport_factory = staticmethod(_config_transport)

    def __init__(self, sensor_service: Any, config: Any = None, poll_interval: float = 5) -> None:
        super().__init__(sensor_service=sensor_service, config=config,
                         poll_interval=poll_interval)
        self._logger = sensor_service.get_logger(name=self.__class__.__name__)
        self._dispatch_lock = threading.Lock()
        self.workers: Dict[str, ClusterWorker] = {}

    def setup(self) -> None:
        """Build one poller + worker per configured cluster."""
        pack_config = load_config(self.config or {}, source="pack config")
        try:
            ledger = ServiceLedgerStore(self.sensor_service)
        except LedgerStoreError:
            ledger = None
        interval = float(self.get_poll_interval() or 5)
        for cluster in pack_config.clusters:
            poller = ClusterPoller(cluster, ledger, type(self).transport_factory,
                                   timeout=max(5.0, 2 * interval))
            self.workers[cluster.name] = ClusterWorker(poller, self._dispatch,
                                                       self._worker_error).start()

    def poll(self) -> None:
        """Tick every cluster's worker; restart one whose thread died."""
        for name, worker in list(self.workers.items()):
            if not worker.alive() and not worker.stopping.is_set():
                self._logger.warning("watch thread of %s died; restarting it", name)
                worker = ClusterWorker(worker.poller, self._dispatch, self._worker_error).start()
                self.workers[name] = worker
            if not worker.tick():
                self._logger.debug("cluster %s is still answering the last poll", name)

    def cleanup(self) -> None:
        """Stop every worker and close its SSH connections."""
        for worker in self.workers.values():
            worker.stop()

    def add_trigger(self, trigger: Any) -> None:
        """No per-trigger state: every trigger type is dispatched for every cluster."""

    def update_trigger(self, trigger: Any) -> None:
        """No per-trigger state."""

    def remove_trigger(self, trigger: Any) -> None:
        """No per-trigger state."""

    def _dispatch(self, dispatches: List[Dispatch]) -> None:
        with self._dispatch_lock:
            for item in dispatches:
                self._logger.info("%s %s", item.trigger, item.payload.get("message"))
                self.sensor_service.dispatch(trigger=item.trigger, payload=item.payload)

    def _worker_error(self, exc: BaseException) -> None:
        self._logger.error("watch round failed: %s", exc, exc_info=exc)
