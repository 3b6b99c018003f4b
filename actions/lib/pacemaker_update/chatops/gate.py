"""The time gate of unattended updates: window check before a node step, scheduled starts.

``check_window`` backs the check_maintenance_window action; ``due_clusters`` and
``start_due_updates`` back start_scheduled_update (the CronTimer rules). Executions are
found, resumed and started through :class:`pacemaker_update.detect.st2api.St2Api` inside
StackStorm; the embedded runner passes its own object with the same three methods.
"""

import datetime as dt
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from pacemaker_update.config import PackConfig, find_config_file, load_config, load_config_file
from pacemaker_update.errors import PacemakerUpdateError
from pacemaker_update.st2compat import ST2_ACTION_AVAILABLE
from pacemaker_update.window import (
    Span,
    WindowSpec,
    can_start_step,
    estimate_step_seconds,
    parse_window,
    parse_window_flag,
    window_at,
)

UPDATE_REF = "pacemaker_update.update_cluster"
ACTIVE = ("requested", "scheduled", "delayed", "running", "pausing", "paused", "resuming")


def pack_config(config: Optional[Mapping[str, Any]]) -> PackConfig:
    """st2's pack config, or (outside st2, empty config) the CLI's config file."""
    if config:
        return load_config(config, source="pack config")
    if not ST2_ACTION_AVAILABLE:
        return load_config_file(find_config_file())
    return load_config({}, source="pack config")  # raises CONFIG_INVALID: clusters missing


def cluster_windows(config: PackConfig, cluster: str, override: Optional[str] = None
                    ) -> List[WindowSpec]:
    """The cluster's windows (or the one ``--window`` override), parsed."""
    if override:
        return [parse_window(parse_window_flag(override))]
    return [parse_window(vars(w)) for w in config.cluster(cluster).maintenance_windows]


def _envelope(cluster: str) -> Dict[str, Any]:
    return {"ok": False, "cluster": cluster, "data": {}, "warnings": [], "error": None}


def check_window(config: Optional[Mapping[str, Any]], cluster: str, step_seconds: Sequence[float],
                 default_step_seconds: Optional[float], margin: Optional[float],
                 override: Optional[str], enforce: bool, pause_execution: Optional[str],
                 now: dt.datetime, api: Any = None) -> Tuple[bool, Dict[str, Any]]:
    """The check_maintenance_window action: decision envelope; pause the workflow first.

    ``default_step_seconds`` / ``margin`` None = the cluster's configured
    window_step_estimate_minutes / window_safety_margin_minutes.
    """
    envelope = _envelope(cluster)
    try:
        model = pack_config(config)
        windows = cluster_windows(model, cluster, override)
        settings = model.cluster(cluster)
        if default_step_seconds is None:
            default_step_seconds = settings.window_step_estimate_minutes * 60.0
        if margin is None:
            margin = settings.window_safety_margin_minutes * 60.0
        expected = estimate_step_seconds(step_seconds, default_step_seconds)
        decision = can_start_step(now, windows, expected, margin)
        envelope["data"] = dict(decision.to_dict(), enforced=enforce, pause_requested=False)
        if decision.allowed or not enforce:
            envelope["ok"] = True
            if not decision.allowed:
                envelope["warnings"].append("not enforced: " + decision.message)
            return True, envelope
        if pause_execution:
            _pause(api, pause_execution)
            envelope["data"]["pause_requested"] = True
        envelope["error"] = {"code": decision.code, "message": decision.message,
                             "details": decision.to_dict(),
                             "hint": "the update pauses at this node boundary; it is resumed "
                                     "when the next window opens (start_scheduled_update)"}
    except PacemakerUpdateError as exc:
        envelope["error"] = exc.to_dict()
    return False, envelope


def _pause(api: Any, execution_id: str) -> None:
    if api is None:
        from pacemaker_update.detect.st2api import St2Api

        api = St2Api.from_env()
    api.pause_execution(execution_id)


def due_clusters(config: PackConfig, now: dt.datetime, lookback: dt.timedelta,
                 only: Optional[str] = None) -> List[Tuple[str, Span]]:
    """Clusters with a window that opened in ``(now - lookback, now]`` and is still open."""
    due = []
    for cluster in config.clusters:
        if only and cluster.name != only:
            continue
        span = window_at(cluster_windows(config, cluster.name), now)
        if span is not None and now - lookback < span.start <= now:
            due.append((cluster.name, span))
    return due


def scheduled_update(raw_config: Mapping[str, Any], cluster: str) -> Optional[Dict[str, Any]]:
    """``clusters.<name>.scheduled_update`` of the pack config (the update a window starts)."""
    entry = ((raw_config.get("clusters") or {}).get(cluster) or {}).get("scheduled_update")
    if not isinstance(entry, Mapping) or entry.get("enabled") is False:
        return None
    params = {k: v for k, v in entry.items() if k != "enabled"}
    params["cluster"] = cluster
    return params


def start_due_updates(api: Any, raw_config: Mapping[str, Any], config: PackConfig,
                      now: dt.datetime, lookback: dt.timedelta,
                      only: Optional[str] = None,
                      pause_reason: Optional[Callable[[str], Optional[Mapping[str, Any]]]] = None
                      ) -> List[Dict[str, Any]]:
    """For each cluster whose window just opened: resume its paused update, else start one.

    A cluster that already has a running/scheduled update is left alone (the policy would
    cancel a second one anyway); one without ``scheduled_update`` config is reported. An
    update the failover watcher paused (``pause_reason(cluster)`` lists it: what pause_update
    recorded) is never resumed by a window: a person reads why and decides.
    """
    outcomes = []
    for cluster, span in due_clusters(config, now, lookback, only):
        active = [e for e in _executions(api, cluster) if e.get("status") in ACTIVE]
        paused = [e for e in active if e.get("status") == "paused"]
        entry: Dict[str, Any] = {"cluster": cluster, "window": span.to_dict()}
        held = _paused_by_watcher(pause_reason, cluster, paused)
        if held is not None:
            entry.update(action="held", execution_id=paused[0]["id"], reason=(
                f"update {paused[0]['id']} was paused by the failover watcher "
                f"({held.get('reason') or held.get('message')}); a window does not resume "
                "it: check the cluster, then resume or cancel it by hand"))
        elif paused:
            api.request("PUT", f"/executions/{paused[0]['id']}", {"status": "resuming"})
            entry.update(action="resumed", execution_id=paused[0]["id"])
        elif active:
            entry.update(action="skipped", reason=f"an update is already "
                         f"{active[0].get('status')} ({active[0].get('id')})")
        else:
            params = scheduled_update(raw_config, cluster)
            if params is None:
                entry.update(action="skipped", reason=f"no clusters.{cluster}.scheduled_update "
                             "in the pack config")
            else:
                started = api.run_action(UPDATE_REF, params)
                entry.update(action="started", execution_id=started.get("id"), parameters=params)
        outcomes.append(entry)
    return outcomes


def _paused_by_watcher(pause_reason: Optional[Callable[[str], Optional[Mapping[str, Any]]]],
                       cluster: str, paused: List[Dict[str, Any]]
                       ) -> Optional[Mapping[str, Any]]:
    """The watcher's pause record when it paused the first of ``paused``, else None."""
    if pause_reason is None or not paused:
        return None
    record = pause_reason(cluster)
    if not isinstance(record, Mapping):
        return None
    ids = {str(p.get("id")) for p in record.get("paused") or [] if isinstance(p, Mapping)}
    return record if str(paused[0].get("id")) in ids else None


def _executions(api: Any, cluster: str) -> List[Dict[str, Any]]:
    found: List[Dict[str, Any]] = []
    for status in ("scheduled", "running", "pausing", "paused"):
        found += [e for e in api.list_executions(UPDATE_REF, status)
                  if (e.get("parameters") or {}).get("cluster") == cluster]
    return found
