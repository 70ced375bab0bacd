"""Shared test fixtures: paths to the real captures in tests/fixtures; hypothesis settings; the tiers.

Tiers, as pytest markers set here by where a test lives and what it starts (``scripts/test
--quick`` runs the first): ``unit`` (in-process: the pure layers, the simulator's plans, scripted
loopback servers), ``processes`` (real ``sseguard sim`` / ``sseguard serve`` processes and
official SDKs from Python), ``clients`` (Node, Claude Code and Chromium in front of the gateway).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

if TYPE_CHECKING:
    from postgres import Cluster

# No per-example deadline anywhere: time bounds in tests only detect hangs, and this shared machine
# stalls a sub-millisecond example past hypothesis's default 200 ms now and then (CI at ef00a19:
# 1,188 ms once, 0.7 ms on the replay). Tests that set their own settings inherit this profile.
settings.register_profile("sseguard", deadline=None)
settings.load_profile("sseguard")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"  # captured upstream streams, see its README.md


TIERS = ("unit", "processes", "clients")
_STARTS_PROCESSES = {
    "processes",
    "node_env",
    "browser_env",
    "redis_server",
}  # helper modules that spawn them


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(_tier(item))


def _tier(item: pytest.Item) -> str:
    own = [m.name for m in item.iter_markers() if m.name in TIERS]
    if own:  # a module that starts processes some other way says so itself
        return own[0]
    path = Path(str(item.fspath))
    if "clients" in path.relative_to(ROOT / "tests").parts:
        return "clients"
    module = getattr(item, "module", None)
    used = vars(module).values() if module is not None else ()
    if any(getattr(value, "__module__", None) in _STARTS_PROCESSES for value in used):
        return "processes"
    return "unit"


@pytest.fixture(autouse=True, scope="session")
def _scratch_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Whatever sseguard writes by default (the request log) goes to a scratch folder that every
    process a test starts inherits, never into the user's home."""
    patch = pytest.MonkeyPatch()
    patch.setenv("SSEGUARD_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    yield
    patch.undo()


@pytest.fixture
def fixtures_dir() -> Path:
    assert FIXTURES.is_dir(), f"captures not found at {FIXTURES}"
    return FIXTURES


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL server for the session (tests/postgres.py), started on first use.
    Without PostgreSQL installed the tests that need it are skipped, except in CI, where
    scripts/bootstrap.sh has installed it and its absence is a failure."""
    from postgres import Cluster, binaries

    found = binaries()
    if found is None:
        reason = (
            "PostgreSQL is not installed: scripts/test installs Debian's postgresql package"
            " (apt-get install postgresql) for these tests"
        )
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(reason)
        pytest.skip(reason)
    cluster = Cluster(found)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def pg_dsn(postgres_cluster: Cluster) -> str:
    """A new empty database on the session's server: its DSN."""
    return postgres_cluster.database()
