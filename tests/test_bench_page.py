"""bench/page.py runs as typed, at a tiny size (the real sizes take minutes: run it by hand)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_page_benchmark_runs_at_a_tiny_size_and_prints_its_numbers():
    command = [sys.executable, "bench/page.py", "--sizes", "60,120", "--tickets", "60"]
    command += ["--updates", "3", "--loads", "2", "--dashboard", "2x60"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "sqlite, 60 contacts (180 deliveries" in out and "sqlite, 120 contacts" in out
    for name in ("page", "section linked", "section timeline", "api contacts", "api timeline"):
        assert f"  {name} " in out, name
    assert "dashboard of 2 open incidents of 60 contacts" in out
    assert "median 120/60 =" in out and "peak RSS of the serving process" in out
    assert '{"all goals met": ' in out
