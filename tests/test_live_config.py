"""The daemon's configuration: warnings that `check-config` prints are logged at start and reload too."""

from __future__ import annotations

import shutil
from pathlib import Path

import structlog

from gateway.live_config import read_config
from gateway.settings import Settings
from tests.conftest import REPO


def test_a_common_word_of_another_language_is_logged_when_the_daemon_loads(tmp_path: Path) -> None:
    shutil.copytree(REPO / "tests" / "fixtures" / "config", tmp_path, dirs_exist_ok=True)
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules.read_text().replace("words: [lum*, lunta,", "words: [is, lum*, lunta,"))
    with structlog.testing.capture_logs() as logs:
        config = read_config(Settings(config_dir=tmp_path))
    assert [r.name for r in config.rules] == ["snow", "parking"]  # a warning does not stop the load
    warnings = [e["problem"] for e in logs if e["event"] == "configuration warning"]
    assert any("rules.yaml:8:" in w and "'is'" in w and "English" in w for w in warnings), warnings
