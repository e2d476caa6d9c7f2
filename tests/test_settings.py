"""Settings: the automatic number of worker processes, and a bad value refused with its name."""

from __future__ import annotations

import pytest

from gateway.errors import SettingsError
from gateway.settings import load_settings


@pytest.mark.parametrize(
    ("url", "workers", "processes"),
    [
        ("sqlite:///var/gateway.db", None, 2),
        ("postgresql://postgres@127.0.0.1:5432/gateway", None, 3),
        ("postgresql://postgres@127.0.0.1:5432/gateway", "1", 1),
        ("sqlite:///var/gateway.db", "0", 0),
    ],
)
def test_workers_default_to_what_measured_best_for_the_database(
    url: str, workers: str | None, processes: int
) -> None:
    env = {"GATEWAY_DATABASE_URL": url} | ({"GATEWAY_WORKERS": workers} if workers else {})
    assert load_settings(environ=env).worker_processes == processes


def test_a_negative_number_of_workers_is_refused() -> None:
    with pytest.raises(SettingsError, match="workers: -3 is not -1"):
        load_settings(environ={"GATEWAY_WORKERS": "-3"})


def test_a_negative_number_of_parser_processes_is_refused() -> None:
    with pytest.raises(SettingsError, match="intake_parsers: -1 is not 0 or a number of processes"):
        load_settings(environ={"GATEWAY_INTAKE_PARSERS": "-1"})
