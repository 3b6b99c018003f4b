"""Assemble (from a workflow's parts) and render an update report (chatops/report.py)."""

from typing import Any, Dict, Optional, Tuple

from pacemaker_update.chatops.report import assemble_report, build_report, render_markdown
from pacemaker_update.errors import InvalidInputError
from pacemaker_update.st2compat import Action


class RenderReport(Action):
    """Thin wrapper over chatops.report."""

    def run(self, report: Optional[Dict[str, Any]] = None,
            parts: Optional[Dict[str, Any]] = None, execution_id: Optional[str] = None,
            max_chars: int = 3500) -> Tuple[bool, Dict[str, Any]]:
        if (report is None) == (parts is None):
            error = InvalidInputError("give the report or its parts, not both and not neither",
                                      hint="report=<a workflow's report> or parts=<...>")
            return False, {"ok": False, "error": error.to_dict(), "data": {}}
        data: Dict[str, Any] = {}
        shown: Dict[str, Any] = report if parts is None else assemble_report(parts)
        if parts is not None:
            data["assembled"] = shown
        data["markdown"] = render_markdown(shown, execution_id, max_chars)
        data["report"] = build_report(shown)
        return True, {"ok": True, "error": None, "data": data}
