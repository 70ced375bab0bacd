"""``GET /playground``: one static page that streams an answer from ``/v1/chat/sse``.

Shipped as package data and read once: the page is the browser endpoint's own smoke test for a
user, with no build step and nothing fetched from elsewhere.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def playground_page() -> bytes:
    return files("sseguard.gateway").joinpath("playground.html").read_bytes()
