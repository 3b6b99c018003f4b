"""Render an update report as Markdown and JSON (chatops/report.py)."""

from typing import Any, Dict, Optional, Tuple

from pacemaker_update.chatops.report import build_report, render_markdown
from pacemaker_update.st2compat import Action


class RenderReport(Action):
    """Thin wrapper over chatops.report."""

    def run(self, report: Dict[str, Any], execution_id: Optional[str] = None,
            max_chars: int = 3500) -> Tuple[bool, Dict[str, Any]]:
        return True, {"ok": True, "error": None, "data": {
            "markdown": render_markdown(report, execution_id, max_chars),
            "report": build_report(report)}}
