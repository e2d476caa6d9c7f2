"""Skipping a test whose server is missing, except on CI, where a missing server fails the run (issue 15)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def on_ci() -> bool:
    """Whether the suite runs on CI (CI=true, as GitHub, GitLab and .ci/run set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing_server(reason: str) -> NoReturn:
    """Skip the test for want of a server; on CI, fail it instead: a half of the suite that never ran
    must not look like a green run (the PostgreSQL variants and the multi-process exactly-once tests)."""
    if on_ci():
        pytest.fail(f"CI=true and a server the suite needs is missing: {reason}", pytrace=False)
    pytest.skip(reason)
