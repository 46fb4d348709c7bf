"""The README's make targets: `make demo` installs comms alone, `make test` adds the test tools."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def planned(target: str, folder: Path) -> str:
    """What `make <target>` would run in a fresh checkout (no .venv yet), without running it."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, folder / name)
    result = subprocess.run(
        ["make", "-n", target], cwd=folder, capture_output=True, text=True, check=True
    )
    return result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_installs_comms_without_the_test_tools(tmp_path):
    demo = planned("demo", tmp_path)
    assert "pip install --quiet -e .\n" in demo and ".venv/bin/comms demo" in demo
    assert "[test]" not in demo
    assert '-e ".[test]"' in planned("test", tmp_path)
