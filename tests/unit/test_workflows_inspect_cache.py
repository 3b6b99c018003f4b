"""The engine's inspection cache: keyed by the exact workflow text (and orquesta version),
kept on disk across processes (the user's cache dir, shared by every state dir), and never
answering for a changed file."""

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest
from pacemaker_update.engine import workflow as engine_workflow

ST2 = {"st2": {"action_execution_id": "x", "user": "u", "pack": "p", "api_url": None}}
GOOD = "version: 1.0\ntasks:\n  one:\n    action: core.noop\n"
BAD = "version: 1.0\ntasks:\n  one:\n    action: core.noop\n    next:\n      - do: nowhere\n"


class CountingSpec:
    """Wraps a real WorkflowSpec and counts inspections."""

    def __init__(self, text: str, calls: List[str]) -> None:
        self.real = engine_workflow.WorkflowSpec(text)
        self.calls = calls
        self.text = text

    def inspect(self, **kw: Any) -> Dict[str, Any]:
        self.calls.append(self.text)
        return self.real.inspect(**kw)


@pytest.fixture(autouse=True)
def fresh_process_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_workflow, "_INSPECTED", {})


def test_inspected_once_per_text_and_a_changed_text_is_inspected_again(tmp_path: Path) -> None:
    calls: List[str] = []
    for _ in range(3):
        assert engine_workflow.inspect_text(CountingSpec(GOOD, calls), GOOD, ST2, None) == []
    assert len(calls) == 1
    problems = engine_workflow.inspect_text(CountingSpec(BAD, calls), BAD, ST2, None)
    assert len(calls) == 2 and problems and "nowhere" in " ".join(problems)


def test_disk_cache_survives_the_process_and_is_keyed_by_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: List[str] = []
    engine_workflow.inspect_text(CountingSpec(BAD, calls), BAD, ST2, str(tmp_path))
    files = list((tmp_path / "inspected").glob("*.json"))
    assert len(files) == 1
    monkeypatch.setattr(engine_workflow, "_INSPECTED", {})  # a new process
    again = engine_workflow.inspect_text(CountingSpec(BAD, calls), BAD, ST2, str(tmp_path))
    assert len(calls) == 1 and again and "nowhere" in " ".join(again)
    # one changed character: another key, inspected again
    edited = BAD.replace("nowhere", "elsewhere")
    out = engine_workflow.inspect_text(CountingSpec(edited, calls), edited, ST2, str(tmp_path))
    assert len(calls) == 2 and "elsewhere" in " ".join(out)


def test_a_cache_file_for_another_key_is_ignored(tmp_path: Path) -> None:
    key = engine_workflow.inspection_key(BAD, ST2)
    folder = tmp_path / "inspected"
    folder.mkdir()
    (folder / f"{key}.json").write_text(json.dumps({"key": "other", "problems": []}))
    calls: List[str] = []
    out = engine_workflow.inspect_text(CountingSpec(BAD, calls), BAD, ST2, str(tmp_path))
    assert len(calls) == 1 and out


def test_key_depends_on_text_orquesta_version_and_context_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = engine_workflow.inspection_key(GOOD, ST2)
    assert engine_workflow.inspection_key(GOOD + " ", ST2) != key
    assert engine_workflow.inspection_key(GOOD, dict(ST2, parent={"execution_id": "y"})) != key
    # ids inside the context do not matter, only its keys
    other_ids = {"st2": dict(ST2["st2"], action_execution_id="z")}
    assert engine_workflow.inspection_key(GOOD, other_ids) == key
    monkeypatch.setattr(engine_workflow.orquesta, "__version__", "9.9.9")
    assert engine_workflow.inspection_key(GOOD, ST2) != key


def test_a_run_in_a_new_state_dir_reuses_the_users_inspection_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orquesta.specs.native.v1.models import WorkflowSpec
    from pacemaker_update.engine import Engine
    pack = str(Path(__file__).resolve().parents[1] / "fixtures" / "enginepack")
    monkeypatch.setenv("PACEMAKER_UPDATE_CACHE_DIR", str(tmp_path / "cache"))
    Engine(pack, state_dir=str(tmp_path / "first")).prepare("linear", {"message": "hi"})
    assert list((tmp_path / "cache" / "inspected").glob("*.json"))
    monkeypatch.setattr(engine_workflow, "_INSPECTED", {})  # a new process

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("inspected again")

    monkeypatch.setattr(WorkflowSpec, "inspect", never)
    # from the cache: orquesta is never asked
    Engine(pack, state_dir=str(tmp_path / "second")).prepare("linear", {"message": "hi"})


def test_the_cache_dir_falls_back_to_the_state_dir_when_it_cannot_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("PACEMAKER_UPDATE_CACHE_DIR", str(blocker / "cache"))
    assert engine_workflow.inspection_cache_dir(str(tmp_path / "state")) == str(
        tmp_path / "state")
    monkeypatch.delenv("PACEMAKER_UPDATE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert engine_workflow.inspection_cache_dir("unused") == str(
        tmp_path / "xdg" / "pacemaker_update")
