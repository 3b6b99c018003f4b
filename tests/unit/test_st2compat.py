"""st2compat: st2's base classes when st2 is there, faithful stand-ins when it is not."""

import copy
import inspect
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pacemaker_update import st2compat
from pacemaker_update.st2compat import (
    Action,
    PollingSensor,
    assign_schema_defaults,
    st2_schema_to_json_schema,
)

LIB = Path(__file__).resolve().parents[2] / "actions" / "lib"
ST2_INSTALLED = st2compat.ST2_ACTION_AVAILABLE


class Echo(Action):
    def run(self, **kwargs):
        return True, kwargs


class Watcher(PollingSensor):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.polls = 0

    def setup(self):
        pass

    def poll(self):
        self.polls += 1
        if self.polls == 3:
            raise KeyboardInterrupt  # the only way out of st2's endless loop

    def cleanup(self):
        pass

    def add_trigger(self, trigger):
        pass

    def update_trigger(self, trigger):
        pass

    def remove_trigger(self, trigger):
        pass


@pytest.mark.skipif(ST2_INSTALLED, reason="checks the stand-in; st2 is installed here")
def test_stand_in_is_used_without_st2():
    assert Action is st2compat._StandInAction
    assert PollingSensor is st2compat._StandInPollingSensor


def test_action_has_st2s_constructor_and_attributes():
    params = inspect.signature(Action.__init__).parameters
    assert [(n, p.default) for n, p in params.items()][1:] == [
        ("config", None), ("action_service", None)]
    service = object()
    action = Echo(config={"clusters": {}}, action_service=service)
    assert action.config == {"clusters": {}}
    assert action.action_service is service
    assert isinstance(action.logger, logging.Logger) and "Echo" in action.logger.name
    assert Echo().config == {}
    assert Echo().run(a=1) == (True, {"a": 1})


def test_action_without_run_cannot_be_instantiated():
    class NoRun(Action):
        pass

    with pytest.raises(TypeError):
        NoRun()


def test_polling_sensor_has_st2s_constructor_and_interval():
    params = inspect.signature(PollingSensor.__init__).parameters
    assert [(n, p.default) for n, p in params.items()][1:] == [
        ("sensor_service", inspect.Parameter.empty), ("config", None), ("poll_interval", 5)]
    service = object()
    sensor = Watcher(service, config={"a": 1}, poll_interval=30)
    assert sensor.sensor_service is service and sensor.config == {"a": 1}
    assert sensor.get_poll_interval() == 30
    sensor.set_poll_interval(2.5)
    assert sensor.get_poll_interval() == 2.5
    assert Watcher(service).config == {}
    # st2's Sensor has no logger attribute; the stand-in must not offer one either.
    assert not hasattr(Watcher(service), "logger")


def test_polling_sensor_run_polls_until_stopped():
    sensor = Watcher(object(), poll_interval=0)
    with pytest.raises(KeyboardInterrupt):
        sensor.run()
    assert sensor.polls == 3


def test_sensor_missing_a_hook_cannot_be_instantiated():
    class NoPoll(PollingSensor):
        def setup(self):
            pass

    with pytest.raises(TypeError):
        NoPoll(object())


def test_st2_classes_are_used_when_importable(tmp_path):
    """With st2common/st2reactor on the path, the pack's classes ARE st2's (not subclasses)."""
    fake = {
        "st2common/__init__.py": "",
        "st2common/runners/__init__.py": "",
        "st2common/runners/base_action.py": "class Action(object):\n    st2 = True\n",
        "st2reactor/__init__.py": "",
        "st2reactor/sensor/__init__.py": "",
        "st2reactor/sensor/base.py": "class PollingSensor(object):\n    st2 = True\n",
    }
    for name, text in fake.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    code = textwrap.dedent("""
        from pacemaker_update import st2compat
        import st2common.runners.base_action as a, st2reactor.sensor.base as s
        assert st2compat.Action is a.Action and st2compat.PollingSensor is s.PollingSensor
        assert st2compat.ST2_ACTION_AVAILABLE and st2compat.ST2_SENSOR_AVAILABLE
        print("st2-classes")
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(LIB)]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "st2-classes"


ST2_SCHEMA = {
    "clusters": {
        "type": "object", "required": True,
        "additionalProperties": {
            "type": "object",
            "properties": {
                "nodes": {"type": "array", "required": True, "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string", "required": True},
                                   "pw": {"type": "string", "secret": True}}}},
                "mode": {"type": "raw_string", "required": False, "position": 0},
            },
        },
    },
}


def test_property_level_required_becomes_draft4_required_lists():
    schema = st2_schema_to_json_schema(ST2_SCHEMA)
    assert schema["required"] == ["clusters"]
    cluster = schema["properties"]["clusters"]["additionalProperties"]
    assert cluster["required"] == ["nodes"]
    assert cluster["properties"]["nodes"]["items"]["required"] == ["name"]
    assert cluster["properties"]["mode"] == {"type": "string"}
    assert "secret" not in cluster["properties"]["nodes"]["items"]["properties"]["pw"]
    assert schema["additionalProperties"] is False


def test_conversion_leaves_the_st2_schema_untouched():
    before = copy.deepcopy(ST2_SCHEMA)
    st2_schema_to_json_schema(ST2_SCHEMA)
    assert before == ST2_SCHEMA


def test_defaults_are_filled_like_st2s_config_loader():
    schema = {"properties": {
        "ssh": {"type": "object", "default": {}, "properties": {
            "port": {"type": "integer", "default": 22}}},
        "clusters": {"type": "object", "additionalProperties": {
            "type": "object", "properties": {
                "mode": {"type": "string", "default": "auto"},
                "windows": {"type": "array", "items": {
                    "type": "object", "properties": {"tz": {"default": "UTC"}}}}}}},
    }}
    data = {"ssh": None,
            "clusters": {"a": {"windows": [{}, {"tz": "Asia/Tokyo"}]}, "b": {"mode": "pcs"}}}
    assign_schema_defaults(data, schema)
    assert data == {"ssh": {"port": 22}, "clusters": {
        "a": {"mode": "auto", "windows": [{"tz": "UTC"}, {"tz": "Asia/Tokyo"}]},
        "b": {"mode": "pcs"}}}


def test_defaults_leave_wrongly_typed_values_for_validation():
    schema = {"properties": {"ssh": {"type": "object", "properties": {
        "port": {"default": 22}}}}}
    data = {"ssh": "root@host"}
    assert assign_schema_defaults(data, schema) == {"ssh": "root@host"}
