"""bench/send.py runs as typed, at a tiny size (the real size takes minutes: run it by hand)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_send_benchmark_prints_the_median_of_its_rounds_and_the_ratio():
    command = [sys.executable, "bench/send.py", "--contacts", "40", "--delays", "0"]
    command += ["--connections", "2", "--rounds", "2"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    assert re.match(r"sqlite +0 ms +2 connections  comms ", lines[0]), lines[0]
    assert "(40 contacts, each once; 2 round(s);" in lines[0]
    ratio, low, high = map(
        float, re.findall(r"ratio +([\d.]+)x \(rounds ([\d.]+)-([\d.]+)x\)", lines[0])[0]
    )
    assert low <= high and ratio > 0
