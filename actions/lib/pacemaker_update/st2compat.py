"""Everything the pack borrows from StackStorm, in one place.

``Action`` and ``PollingSensor`` are st2's own classes when st2 is importable (inside the
action runner / sensor container) and minimal stand-ins otherwise (tests, the CLI, the
embedded runner). The stand-ins have st2's constructor signatures and attributes and NOTHING
more, so code that works against them works in st2:

- ``Action(config=None, action_service=None)``: ``config``, ``action_service``, ``logger``;
  abstract ``run(**kwargs)``.
- ``PollingSensor(sensor_service, config=None, poll_interval=5)``: ``sensor_service``,
  ``config``, ``get_poll_interval()`` / ``set_poll_interval()``; abstract ``setup``,
  ``poll``, ``cleanup``, ``add_trigger``, ``update_trigger``, ``remove_trigger``. st2 gives
  sensors no ``logger`` attribute: use ``self.sensor_service.get_logger(name)``.

Also here: st2's config-schema dialect (property-level ``required: true``, ``secret``,
``position``, ``immutable``) converted to draft-4 JSON schema, and st2's way of filling
schema defaults into a pack config, so the CLI sees the config exactly as st2 would.
"""

import abc
import copy
import logging
import time
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

ST2_ONLY_KEYWORDS = ("secret", "position", "immutable")


class _StandInAction(abc.ABC):
    """st2common.runners.base_action.Action, for when st2 is not installed."""

    description: Optional[str] = None

    def __init__(self, config: Optional[Mapping[str, Any]] = None,
                 action_service: Any = None) -> None:
        self.config: Any = dict(config or {})
        self.action_service = action_service
        self.logger = logging.getLogger("pacemaker_update.actions." + type(self).__name__)

    @abc.abstractmethod
    def run(self, **kwargs: Any) -> Any:
        """Run the action; return ``(ok, result)`` or a result (st2 treats it as success)."""


class _StandInPollingSensor(abc.ABC):
    """st2reactor.sensor.base.PollingSensor, for when st2 is not installed."""

    def __init__(self, sensor_service: Any, config: Optional[Mapping[str, Any]] = None,
                 poll_interval: float = 5) -> None:
        self.sensor_service = sensor_service
        self._sensor_service = sensor_service
        self.config: Any = dict(config or {})
        self._config = self.config
        self._poll_interval = poll_interval

    @abc.abstractmethod
    def setup(self) -> None:
        """Prepare the sensor (connections, state) before the first poll."""

    @abc.abstractmethod
    def poll(self) -> None:
        """Look once and dispatch triggers through ``self.sensor_service.dispatch``."""

    @abc.abstractmethod
    def cleanup(self) -> None:
        """Release what setup() acquired."""

    @abc.abstractmethod
    def add_trigger(self, trigger: Any) -> None:
        """Called by st2 when a trigger of this sensor's types is created."""

    @abc.abstractmethod
    def update_trigger(self, trigger: Any) -> None:
        """Called by st2 when such a trigger is updated."""

    @abc.abstractmethod
    def remove_trigger(self, trigger: Any) -> None:
        """Called by st2 when such a trigger is deleted."""

    def run(self) -> None:
        """Poll forever, sleeping ``poll_interval`` seconds between polls (as st2 does)."""
        while True:
            self.poll()
            time.sleep(self._poll_interval)

    def get_poll_interval(self) -> float:
        """Seconds between two polls."""
        return self._poll_interval

    def set_poll_interval(self, poll_interval: float) -> None:
        """Change the seconds between two polls."""
        self._poll_interval = poll_interval


# Loaders (st2's and the embedded runner's) recognise a pack action as a subclass of a class
# named ``Action``; the stand-in must carry st2's name for that to find ClusterAction's children.
_StandInAction.__name__ = _StandInAction.__qualname__ = "Action"
_StandInPollingSensor.__name__ = _StandInPollingSensor.__qualname__ = "PollingSensor"

if TYPE_CHECKING:
    Action = _StandInAction
    PollingSensor = _StandInPollingSensor
    ST2_ACTION_AVAILABLE = False
    ST2_SENSOR_AVAILABLE = False
else:
    try:
        from st2common.runners.base_action import Action

        ST2_ACTION_AVAILABLE = True
    except ImportError:
        Action = _StandInAction
        ST2_ACTION_AVAILABLE = False
    try:
        from st2reactor.sensor.base import PollingSensor

        ST2_SENSOR_AVAILABLE = True
    except ImportError:
        PollingSensor = _StandInPollingSensor
        ST2_SENSOR_AVAILABLE = False


def st2_schema_to_json_schema(st2_schema: Mapping[str, Any]) -> Dict[str, Any]:
    """Convert an st2 config schema (attribute name → property) to a draft-4 JSON schema.

    st2 marks ``required: true`` on the property itself (draft-3 style, st2's
    CustomValidator); draft 4 wants a ``required`` list on the parent. st2-only keywords
    are dropped. The top level is closed (unknown top-level keys are errors), which is
    stricter than st2, which tolerates them.
    """
    root = {"type": "object", "properties": copy.deepcopy(dict(st2_schema)),
            "additionalProperties": False}
    _convert_node(root)
    return root


def _convert_node(node: Any) -> None:
    if not isinstance(node, dict):
        return
    for keyword in ST2_ONLY_KEYWORDS:
        node.pop(keyword, None)
    if node.get("type") == "raw_string":
        node["type"] = "string"
    props = node.get("properties")
    if isinstance(props, dict):
        required = [name for name, sub in props.items()
                    if isinstance(sub, dict) and sub.pop("required", False) is True]
        for sub in props.values():
            _convert_node(sub)
        if required:
            node["required"] = sorted(required)
    for keyword in ("additionalProperties", "items", "not"):
        _convert_node(node.get(keyword))
    for keyword in ("patternProperties", "definitions"):
        for sub in (node.get(keyword) or {}).values():
            _convert_node(sub)
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(keyword) or []:
            _convert_node(sub)


def assign_schema_defaults(instance: Any, schema: Mapping[str, Any]) -> Any:
    """Fill schema ``default``s into ``instance`` in place, as st2's config loader does.

    A key that is absent or null gets its default; the walk continues into nested
    ``properties``, ``additionalProperties`` objects (st2 >= 3.5) and array ``items``
    (st2 >= 3.8). Values of the wrong type are left for validation to report.
    """
    if isinstance(instance, dict):
        props = schema.get("properties") or {}
        for name, sub in props.items():
            if instance.get(name) is None and "default" in sub:
                instance[name] = copy.deepcopy(sub["default"])
            if name in instance:
                assign_schema_defaults(instance[name], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for name, value in instance.items():
                if name not in props:
                    assign_schema_defaults(value, extra)
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for item in instance:
            assign_schema_defaults(item, schema["items"])
    return instance
