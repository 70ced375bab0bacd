"""Who may see the dashboard. One function, ``refusal``, decides.

The dashboard shows which models were asked what and when, and with raw captures the prompts and
answers themselves. With an admin key configured (``admin:``, the key of ``/admin/keys``) or a
dashboard token (``dashboard.token_env``), only a client that presents one of them sees it, from
any address; with neither, only a client on the gateway's own machine (a loopback peer address).
Cross-origin requests are refused whatever ``server.cors_origins`` lists (those origins may call
models, not read the log), and the gateway's Host check against DNS rebinding runs before this
(``Origins.cors``). Behind a reverse proxy on the same machine every client looks local: set a
token or an admin key there.
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from ipaddress import ip_address

from sseguard.config.teams import key_digest
from sseguard.gateway.asgi import Scope
from sseguard.gateway.origins import _same_origin as same_origin

COOKIE = "sseguard_dashboard"


def presented_token(scope: Scope) -> str | None:
    """The secret a request carries: ``Authorization: Bearer`` or ``x-api-key`` (scripts, as the
    admin API takes its key) or the cookie the page set when it was opened with ``?token=`` (a
    browser, whose EventSource sends no headers)."""
    for name, value in scope["headers"]:
        if name == b"x-api-key" and value.strip():
            return bytes(value).decode("latin-1").strip()
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


def accepted(given: str, token: str | None, admin_digest: str | None) -> bool:
    """``given`` is the dashboard token or the admin key (kept as its SHA-256 digest)."""
    ok = token is not None and hmac.compare_digest(given.encode(), token.encode())
    if admin_digest is not None:
        ok = hmac.compare_digest(key_digest(given), admin_digest) or ok
    return ok


def refusal(
    scope: Scope, token: str | None, admin_digest: str | None = None
) -> tuple[int, str] | None:
    """None when this request may read the dashboard, else its status and a reason."""
    for name, _ in scope["headers"]:
        if name == b"origin" and not _same_origin(scope):
            return 403, "the dashboard does not answer pages of other origins"
    if token is not None or admin_digest is not None:
        given = presented_token(scope)
        if given is not None and accepted(given, token, admin_digest):
            return None
        return 401, (
            "the dashboard needs the admin key or its token: open /dashboard?token=... once, or "
            "send Authorization: Bearer ... (admin, dashboard.token_env)"
        )
    client = scope.get("client")
    try:
        local = client is not None and ip_address(client[0]).is_loopback
    except ValueError:  # a Unix socket's peer, or a name: not known to be local
        local = False
    if local:
        return None
    return 403, (
        "the dashboard answers clients on this machine only; configure an admin key or "
        "dashboard.token_env to reach it from elsewhere"
    )


def _same_origin(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    origin = headers.get(b"origin", b"").decode("latin-1")
    host = headers.get(b"host")
    return host is not None and same_origin(origin, host.decode("latin-1"))
