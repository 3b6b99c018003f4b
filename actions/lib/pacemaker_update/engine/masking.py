"""Keeping secret parameter values out of the store, the output and the events.

Secrets never reach the SQLite file: conductor state is written with every
occurrence of a secret (also inside published strings) replaced by a
reversible marker, and restored when the run is resumed with the values given
again. Everything shown to a person gets st2's ``********``.
"""

import json
from typing import Any, Dict, Mapping

from pacemaker_update.engine.params import MASK


class Masker:
    """Hides and restores the secret values of one run (and its subworkflows)."""

    def __init__(self, secrets: Mapping[str, Any]) -> None:
        self.secrets: Dict[str, str] = {
            name: str(value)
            for name, value in secrets.items()
            if value is not None and str(value) != ""
        }

    def child(self, secrets: Mapping[str, Any]) -> "Masker":
        """A masker for a subworkflow: the parent's secrets plus its own."""
        merged = dict(self.secrets)
        merged.update({f"{k}": v for k, v in secrets.items()})
        return Masker(merged)

    def _pairs(self):  # type: ignore[no-untyped-def]
        # Longest first, so a secret containing another is replaced whole.
        return sorted(self.secrets.items(), key=lambda kv: -len(kv[1]))

    def hide_state(self, text: str) -> str:
        """JSON text with each secret replaced by ``@@secret:NAME@@`` (reversible)."""
        for name, value in self._pairs():
            text = text.replace(json.dumps(value)[1:-1], f"@@secret:{name}@@")
        return text

    def reveal_state(self, text: str) -> str:
        """Inverse of ``hide_state`` for the secrets this masker knows."""
        for name, value in self._pairs():
            text = text.replace(f"@@secret:{name}@@", json.dumps(value)[1:-1])
        return text

    def mask_text(self, text: str) -> str:
        """A string with every secret shown as ``********``."""
        for _name, value in self._pairs():
            text = text.replace(value, MASK)
        return text

    def mask(self, value: Any) -> Any:
        """Any JSON-like value with every secret (also inside strings) masked."""
        if not self.secrets:
            return value
        return json.loads(self.hide_display(json.dumps(value)))

    def hide_display(self, text: str) -> str:
        """JSON text with each secret shown as ``********``."""
        for _name, value in self._pairs():
            text = text.replace(json.dumps(value)[1:-1], MASK)
        return text
