"""The daemon's configuration: warnings that `check-config` prints are logged at start and reload too."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from gateway.rules import live as live_config
from gateway.rules.live import read_config
from gateway.settings import Settings
from tests.conftest import REPO


class Recorder:
    """Stands in for the module's logger: structlog caches loggers on first use, so capturing its output
    depends on which test configured logging first."""

    def __init__(self) -> None:
        self.warnings: list[dict[str, Any]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.warnings.append({"event": event, **fields})


def test_a_common_word_of_another_language_is_logged_when_the_daemon_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REPO / "tests" / "fixtures" / "config", tmp_path, dirs_exist_ok=True)
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules.read_text().replace("words: [lum*, lunta,", "words: [is, lum*, lunta,"))
    recorder = Recorder()
    monkeypatch.setattr(live_config, "log", recorder)
    config = read_config(Settings(config_dir=tmp_path))
    assert [r.name for r in config.rules] == ["snow", "parking"]  # a warning does not stop the load
    warnings = [e["problem"] for e in recorder.warnings if e["event"] == "configuration warning"]
    assert any("rules.yaml:8:" in w and "'is'" in w and "English" in w for w in warnings), warnings
