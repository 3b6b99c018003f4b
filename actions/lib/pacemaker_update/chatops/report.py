"""The final report of an update, rendered as Markdown (chat, tickets) and as plain JSON.

Input is the ``report`` output of the update workflows (``update_cluster`` and the method
workflows): ``{method, cluster, dry_run, status, nodes: {node: {versions_before,
versions_after, changed, steps: [{step, ok, started, ended}]}}, failovers, warnings, plan,
failure, denied}``, plus ``interruptions`` (``[{resource, node, seconds}]``) when the
failover watcher measured any. Missing keys are tolerated: a failed run reports what it got.
"""

import datetime as dt
from typing import Any, Dict, List, Mapping, Optional

from pacemaker_update.actionbase import command_trace

MAX_MARKDOWN = 3500  # Slack shows ~4000 characters of a message before "show more"


def _seconds(step: Mapping[str, Any]) -> Optional[float]:
    start, end = _epoch(step.get("started")), _epoch(step.get("ended"))
    return round(end - start, 1) if start is not None and end is not None else None


def _epoch(value: Any) -> Optional[float]:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


def _versions(value: Any) -> Dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    return {}


def summarize_node(name: str, node: Mapping[str, Any]) -> Dict[str, Any]:
    """One node's row: versions before/after, what changed, step timings, total seconds."""
    before, after = _versions(node.get("versions_before")), _versions(node.get("versions_after"))
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    steps = [{"step": s.get("step"), "ok": s.get("ok"), "seconds": _seconds(s)}
             for s in node.get("steps") or [] if isinstance(s, Mapping)]
    timed = [s["seconds"] for s in steps if s["seconds"] is not None]
    return {"node": name, "state": node.get("state"), "versions_before": before,
            "versions_after": after, "changed": changed, "steps": steps,
            "seconds": round(sum(timed), 1) if timed else None,
            "ok": all(s["ok"] is not False for s in steps)}


def operator_checks(report: Mapping[str, Any]) -> List[str]:
    """What a person should look at after this update, most urgent first."""
    checks: List[str] = []
    cluster = report.get("cluster") or "<cluster>"
    failure = report.get("failure") if isinstance(report.get("failure"), Mapping) else None
    if failure:
        checks.append(f"The update stopped at node {failure.get('node')} step "
                      f"{failure.get('step')} ({failure.get('code')}): "
                      f"{failure.get('message')}")
        if failure.get("next"):
            checks.append(str(failure["next"]))
    if report.get("denied"):
        checks.append("An approval was denied: the update stopped; nothing after it ran.")
    if report.get("failovers"):
        checks.append("Resources moved during the update: check they run where you want them "
                      f"(crm_mon -1 on {cluster}) and that failback matched the request.")
    if report.get("interruptions"):
        checks.append("Services were interrupted (see the table): confirm with the service "
                      "owners that clients reconnected.")
    if report.get("dry_run"):
        checks.append("Dry run: nothing was changed. Review the plan, then start the update.")
    elif report.get("status") == "succeeded":
        checks.append(f"Check crm_mon -1 on {cluster}: all nodes online, no failed actions.")
    for warning in report.get("warnings") or []:
        checks.append(f"Warning: {warning}")
    return checks


# The report's own keys, in the order a method workflow has always output them.
_PASSED_ON = ("failovers", "approvals")
_PASSED_AFTER = ("snapshot", "failure", "denied", "stopped", "nodes_done", "step_seconds",
                 "window_checks", "run_id")


def _step_rows(progress: List[Mapping[str, Any]], node: Optional[str]) -> List[Dict[str, Any]]:
    return [{"step": p.get("step"), "ok": p.get("ok"), "started": p.get("started"),
             "ended": p.get("ended")} for p in progress if p.get("node") == node]


def assemble_report(parts: Mapping[str, Any]) -> Dict[str, Any]:
    """A method workflow's ``report`` output, from the pieces of its context.

    ``parts``: ``method, cluster, dry_run, order, primary, node_states, versions, progress``
    (the workflow's per-step entries ``{node, step, ok, started, ended, commands, warnings}``),
    ``failovers, approvals, ledger_warnings, snapshot, failure, denied, stopped, nodes_done,
    step_seconds, window_checks, run_id`` and ``extra`` (method-specific keys, added last).
    The result is what each workflow's ``report_fallback`` task builds in YAQL (used when
    this action fails); building it here costs about a millisecond instead of 60-90 ms of
    YAQL at the end of every run.
    """
    progress = [p for p in parts.get("progress") or [] if isinstance(p, Mapping)]
    order = list(parts.get("order") or [])
    node_states = parts.get("node_states") or {}
    versions = parts.get("versions") or {}
    dry_run = parts.get("dry_run")
    failure, denied, stopped = parts.get("failure"), parts.get("denied"), parts.get("stopped")
    if failure is not None:
        status = "failed"
    elif denied is not None:
        status = "denied"
    elif stopped is not None:
        status = stopped.get("status")
    else:
        status = "succeeded"
    nodes = {}
    for name in order:
        got = versions.get(name) or {}
        nodes[name] = {"state": "unchanged (dry run)" if dry_run else node_states.get(name),
                       "versions_before": got.get("before"), "versions_after": got.get("after"),
                       "changed": got.get("changed"), "steps": _step_rows(progress, name)}
    warnings = [w for p in progress for w in p.get("warnings") or []]
    warnings += list(parts.get("ledger_warnings") or [])
    if stopped is not None:
        warnings.append(stopped.get("message"))
    report: Dict[str, Any] = {
        "method": parts.get("method"), "cluster": parts.get("cluster"), "dry_run": dry_run,
        "status": status, "order": order, "primary": parts.get("primary"), "nodes": nodes,
        "cluster_steps": _step_rows(progress, None)}
    report.update((key, parts.get(key)) for key in _PASSED_ON)
    report["warnings"] = warnings
    report["plan"] = [{"node": p.get("node"), "step": p.get("step"), "host": c["host"],
                       "argv": c["argv"], "dry_run": c["dry_run"]}
                      for p in progress for c in command_trace(p.get("commands") or [])]
    report.update((key, parts.get(key)) for key in _PASSED_AFTER)
    report.update(parts.get("extra") or {})
    return report


def build_report(report: Mapping[str, Any]) -> Dict[str, Any]:
    """The machine-readable report: normalised nodes (ordered), timings and checks."""
    raw = report.get("nodes")
    nodes: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    order = [n for n in report.get("order") or [] if n in nodes] or sorted(nodes)
    rows = [summarize_node(n, nodes[n]) for n in order]
    return {"cluster": report.get("cluster"), "method": report.get("method"),
            "status": report.get("status") or ("failed" if report.get("failure") else None),
            "dry_run": bool(report.get("dry_run")), "nodes": rows,
            "failovers": list(report.get("failovers") or []),
            "interruptions": list(report.get("interruptions") or []),
            "warnings": [str(w) for w in report.get("warnings") or []],
            "failure": report.get("failure"), "checks": operator_checks(report),
            "plan_steps": len(report.get("plan") or [])}


def _fmt_versions(row: Mapping[str, Any]) -> str:
    if not row["changed"]:
        return "unchanged"
    parts = [f"{p} {row['versions_before'].get(p, '-')} → {row['versions_after'].get(p, '-')}"
             for p in row["changed"][:4]]
    more = len(row["changed"]) - 4
    return ", ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def _fmt_seconds(value: Optional[float]) -> str:
    if value is None:
        return "-"
    minutes, seconds = divmod(int(round(value)), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def render_markdown(report: Mapping[str, Any], execution_ref: Optional[str] = None,
                    max_chars: int = MAX_MARKDOWN) -> str:
    """Markdown for a chat message or a ticket comment, trimmed to ``max_chars``.

    Trimmed text ends with a pointer to the full report (``execution_ref``, e.g. the
    st2 execution id or the embedded run id).
    """
    data = build_report(report)
    status = data["status"] or "unknown"
    title = (f"**{data['method']} on {data['cluster']}: {status}**"
             + (" (dry run)" if data["dry_run"] else ""))
    lines = [title, "", "| node | result | versions | time |", "|---|---|---|---|"]
    for row in data["nodes"]:
        result = "ok" if row["ok"] else "FAILED"
        lines.append(f"| {row['node']} | {result} | {_fmt_versions(row)} | "
                     f"{_fmt_seconds(row['seconds'])} |")
    if data["failovers"]:
        lines += ["", "**Failovers**"] + [f"- {_one_line(f)}" for f in data["failovers"]]
    if data["interruptions"]:
        lines += ["", "**Service interruptions**"] + [
            f"- {i.get('resource')} on {i.get('node')}: {_fmt_seconds(i.get('seconds'))}"
            for i in data["interruptions"] if isinstance(i, Mapping)]
    if data["checks"]:
        lines += ["", "**Check**"] + [f"- {c}" for c in data["checks"]]
    return trim_text("\n".join(lines), max_chars, execution_ref)


def _one_line(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def trim_text(text: str, max_chars: int, execution_ref: Optional[str] = None) -> str:
    """``text`` cut at a line boundary to fit ``max_chars``, with where to read the rest."""
    if len(text) <= max_chars:
        return text
    pointer = (f"\n… trimmed; full report: `st2 execution get {execution_ref}` "
               f"(embedded runner: `pacemaker-update show {execution_ref}`)"
               if execution_ref else "\n… trimmed; see the execution for the full report")
    cut = text[: max(0, max_chars - len(pointer))]
    if "\n" in cut:
        cut = cut[: cut.rfind("\n")]
    return cut + pointer
