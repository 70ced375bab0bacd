"""Shared test fixtures: paths to the real captures in tests/fixtures; hypothesis settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline anywhere: time bounds in tests only detect hangs, and this shared machine
# stalls a sub-millisecond example past hypothesis's default 200 ms now and then (CI at ef00a19:
# 1,188 ms once, 0.7 ms on the replay). Tests that set their own settings inherit this profile.
settings.register_profile("sseguard", deadline=None)
settings.load_profile("sseguard")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"  # captured upstream streams, see its README.md


@pytest.fixture
def fixtures_dir() -> Path:
    assert FIXTURES.is_dir(), f"captures not found at {FIXTURES}"
    return FIXTURES
