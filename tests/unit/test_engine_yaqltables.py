"""YAQL's LALR tables from the cache (engine/yaqltables.py) are PLY's own tables."""

from pathlib import Path

import pytest
from pacemaker_update.engine import compat, yaqltables

compat.apply_fixes()

import yaql  # type: ignore  # noqa: E402
from yaql.language import factory  # type: ignore  # noqa: E402

TEXTS = [
    "$.a.b", "ctx().progress + [dict(node => 1, ok => true)]", "let(n => $) -> $n * 2",
    "switch($ > 1 => 'x', true => 'y')", "$.where($.x = 1).select($.y)", "not $ and ($ or 1)",
    "[1, 2][0]", "{a => 1}", "$.get('k', 3)", "-1 + 2 * 3 mod 4",
]


if not yaqltables.install():  # yaql < 3.2 (Python 3.8 here) uses the external PLY 3.11
    pytest.skip("this yaql builds its tables with the external PLY: not cached",
                allow_module_level=True)


def _engine_answers(engine: object) -> list:
    out = []
    for text in TEXTS:
        expression = engine(text)  # type: ignore[operator]
        data = [{"x": 1, "y": 2, "a": {"b": 3}, "k": 4}, {"x": 2, "y": 5}]
        try:
            value = expression.evaluate(data=data, context=yaql.create_context())
        except Exception as exc:  # noqa: BLE001 - the error is part of the answer
            value = ("error", type(exc).__name__)
        out.append((str(expression), value if not hasattr(value, "__next__") else list(value)))
    return out


def test_cached_tables_equal_plys_and_parse_alike(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACEMAKER_UPDATE_CACHE_DIR", str(tmp_path))
    yaqltables.uninstall()
    try:
        bare = factory.YaqlFactory().create()
    finally:
        assert yaqltables.install()
    computed = factory.YaqlFactory().create()  # computed and written
    assert len(list((tmp_path / "yaql-lalr").glob("*.json"))) == 1
    cached = factory.YaqlFactory().create()  # read back
    for engine in (computed, cached):
        assert engine.parser.action == bare.parser.action
        assert engine.parser.goto == bare.parser.goto
        assert _engine_answers(engine) == _engine_answers(bare)


def test_a_damaged_or_foreign_cache_file_is_computed_again(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACEMAKER_UPDATE_CACHE_DIR", str(tmp_path))
    bare = factory.YaqlFactory().create()
    for path in (tmp_path / "yaql-lalr").glob("*.json"):
        path.write_text('{"key": "another grammar", "action": {}, "goto": {}}')
    again = factory.YaqlFactory().create()
    assert again.parser.action == bare.parser.action
    for path in (tmp_path / "yaql-lalr").glob("*.json"):
        path.write_text("{broken")
    assert factory.YaqlFactory().create().parser.goto == bare.parser.goto
