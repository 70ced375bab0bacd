"""The soak's short variant (bench/soak.py): concurrent official SDK clients through a real gateway
for seconds, each request a random fault of the catalogue. Not one hang, cut answer reported
complete, text delivered twice, or crash; the full run (10 minutes, 200 streams) is bench's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.processes  # bench/soak.py starts the simulator and the gateway
SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


def test_a_short_soak_keeps_the_guarantee() -> None:
    proc = subprocess.run(
        [sys.executable, str(SOAK), "--streams", "16", "--seconds", "15", "--json", "--seed", "7"],
        capture_output=True,
        text=True,
        timeout=300,  # detects a hang of the harness only
    )
    figures = json.loads(proc.stdout)
    assert figures["failures"] == dict.fromkeys(figures["failures"], 0), figures["examples"]
    assert figures["outcomes"].get("complete", 0) > 0
    assert proc.returncode == 0, proc.stderr[-2000:]
