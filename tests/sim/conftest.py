"""A simulator in a background thread for each test module of the simulator's HTTP side."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sseguard.sim import start_in_thread


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    url, stop = start_in_thread()
    yield url
    stop()
