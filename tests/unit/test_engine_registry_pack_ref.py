"""The pack's ref read from pack.yaml: a broken or empty pack.yaml is a coded ConfigError
that names the file, not an AttributeError from deep inside the runner."""
from pathlib import Path

import pytest
from pacemaker_update.engine.registry import read_pack_ref
from pacemaker_update.errors import ConfigError


@pytest.mark.parametrize("text", ["", "- a list\n", "ref: [unclosed\n", "description: x\n"])
def test_unusable_pack_yaml_is_a_config_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "pack.yaml").write_text(text)
    with pytest.raises(ConfigError) as err:
        read_pack_ref(str(tmp_path))
    assert "pack.yaml" in str(err.value)


def test_ref_then_name(tmp_path: Path) -> None:
    (tmp_path / "pack.yaml").write_text("name: Pacemaker Update\nref: pacemaker_update\n")
    assert read_pack_ref(str(tmp_path)) == "pacemaker_update"
    (tmp_path / "pack.yaml").write_text("name: other_pack\n")
    assert read_pack_ref(str(tmp_path)) == "other_pack"


def test_missing_pack_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        read_pack_ref(str(tmp_path))
