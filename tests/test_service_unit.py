"""The systemd unit: it parses, and its sandbox lets the workers do what they do."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

UNIT = REPO / "systemd" / "gateway.service"


def test_the_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("no systemd-analyze on this machine")
    gateway = Path(sys.executable).parent / "gateway"
    unit = tmp_path / "gateway.service"
    unit.write_text(UNIT.read_text().replace("/opt/gateway/.venv/bin/gateway", str(gateway)))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_the_workers_may_lower_their_priority_under_the_syscall_filter() -> None:
    """Denying @resources also denies setpriority, which the workers call (worker_niceness); a denied
    call kills the process unless the unit sets an errno: the workers would die at every start."""
    lines = [line.strip() for line in UNIT.read_text().splitlines()]
    filters = [
        line.removeprefix("SystemCallFilter=") for line in lines if line.startswith("SystemCallFilter=")
    ]
    denied = " ".join(f for f in filters if f.startswith("~"))
    if "@resources" in denied:
        assert "setpriority" in [f for f in filters if not f.startswith("~")]
    assert "SystemCallErrorNumber=EPERM" in lines
