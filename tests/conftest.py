"""Shared fixtures and the hypothesis profiles (`ci` is loaded when CI is set)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=40,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    deadline=None,
    max_examples=1000,
    stateful_step_count=80,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

REPO_ROOT = Path(__file__).resolve().parents[1]


def _find_shared_data() -> Path | None:
    """The real market data lives in ../shared/data beside the repository (never copied into it)."""
    candidates = [os.environ.get("DAYTAPE_SHARED_DATA"), REPO_ROOT.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "lean" / "equity" / "usa" / "minute").is_dir():
            return Path(candidate)
    return None


SHARED_DATA = _find_shared_data()


@pytest.fixture(scope="session")
def lean_root() -> Path:
    """Root of the LEAN data (`.../lean`); tests that need it skip where it is absent."""
    if SHARED_DATA is None:
        pytest.skip("the real market data in ../shared/data is absent on this machine")
    return SHARED_DATA / "lean"
