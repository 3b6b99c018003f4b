"""Fixtures shared by the unit tests of one layer (see each helpers module)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.ops_fixtures import ops_clock, ops_script  # noqa: E402,F401
