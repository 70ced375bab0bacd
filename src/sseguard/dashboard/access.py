"""Who may see the dashboard. One function, ``refusal``, decides, so that the gateway's own
client keys (an admin key) can take its place in one edit.

The dashboard shows which models were asked when, by whom, and with raw captures the prompts and
answers themselves: by default only a client on the gateway's own machine (a loopback peer
address) sees it; with ``dashboard.token_env`` set, only a client that presents that token, from
anywhere. Cross-origin requests are refused whatever ``server.cors_origins`` lists (those origins
may call models, not read the log), and the gateway's Host check against DNS rebinding runs
before this (``Origins.cors``). Behind a reverse proxy on the same machine every client looks
local: set a token there.
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from ipaddress import ip_address

from sseguard.gateway.asgi import Scope
from sseguard.gateway.origins import _same_origin as same_origin

COOKIE = "sseguard_dashboard"


def presented_token(scope: Scope) -> str | None:
    """The token a request carries: ``Authorization: Bearer`` (scripts) or the cookie the page
    set when it was opened with ``?token=`` (a browser, whose EventSource sends no headers)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = bytes(value).decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token:
                return token.strip()
        elif name == b"cookie":
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is no token
                continue
            if COOKIE in cookie:
                return str(cookie[COOKIE].value)
    return None


def refusal(scope: Scope, token: str | None) -> tuple[int, str] | None:
    """None when this request may read the dashboard, else its status and a reason."""
    for name, _ in scope["headers"]:
        if name == b"origin" and not _same_origin(scope):
            return 403, "the dashboard does not answer pages of other origins"
    if token is not None:
        given = presented_token(scope)
        if given is not None and hmac.compare_digest(given.encode(), token.encode()):
            return None
        return 401, (
            "the dashboard needs its token: open /dashboard?token=... once, or send "
            "Authorization: Bearer ... (dashboard.token_env)"
        )
    client = scope.get("client")
    try:
        local = client is not None and ip_address(client[0]).is_loopback
    except ValueError:  # a Unix socket's peer, or a name: not known to be local
        local = False
    if local:
        return None
    return 403, (
        "the dashboard answers clients on this machine only; set dashboard.token_env to "
        "reach it from elsewhere"
    )


def _same_origin(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    origin = headers.get(b"origin", b"").decode("latin-1")
    host = headers.get(b"host")
    return host is not None and same_origin(origin, host.decode("latin-1"))
