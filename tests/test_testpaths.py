"""`make test` runs pytest's `testpaths`: an app whose tests are not listed there is never
run in CI, silently. Every directory holding test modules must be under one of them."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".venv", "node_modules", ".git", "var"}


def _test_dirs() -> set[Path]:
    found = set()
    for path in ROOT.rglob("test_*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in SKIP or rel.parts[0].startswith("."):
            continue
        found.add(rel.parent)
    return found


def _testpaths() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["pytest"]["ini_options"]["testpaths"]


def test_testpaths_cover_every_test_directory():
    testpaths = _testpaths()
    uncovered = sorted(
        str(d) for d in _test_dirs() if not any(d.parts[:1] == (p,) for p in testpaths)
    )
    assert not uncovered, f"add these to [tool.pytest.ini_options] testpaths: {uncovered}"


def test_testpaths_name_existing_directories():
    missing = [p for p in _testpaths() if not (ROOT / p).is_dir()]
    assert not missing, f"testpaths names directories that do not exist: {missing}"
