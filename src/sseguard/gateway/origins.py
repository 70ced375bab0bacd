"""Requests made by web pages: from the gateway's own origin, from the origins listed in
``server.cors_origins`` (answered with CORS headers), and from no other.

A browser sends some cross-origin requests without asking the server first (a POST whose body is
``text/plain``, ``EventSource``'s GET) and marks them with ``Origin``. The page cannot read the
answer, but the request has run: without this check any site a user opens could make their
gateway spend the operator's provider key. Clients that are not browsers (the SDKs, Claude Code,
curl) send no ``Origin`` and pass untouched.

DNS rebinding makes an attacker's host name resolve to the gateway: its page is then the
gateway's own origin to the browser, and no ``Origin`` check can tell. The ``Host`` header still
carries the attacker's name, so a gateway on a loopback address answers only requests to its
own address, localhost, and the names in ``server.allowed_hosts`` (vite and Jupyter check the same
way). On another address the names it is reached by are not known, and only a configured list is
enforced.

Loopback is judged by address, never by how a name starts: an attacker owns ``127.evil.example``
and ``127.0.0.1.evil.example`` as much as any other name. A ``Host`` that is a loopback IP literal
(127.0.0.0/8, ``[::1]``) is answered, since a browser sends one only for a page it loaded from
its own machine's address, which no DNS answer can give it. Literals are read by ``ipaddress``,
which takes dotted quads only: ``127.1`` (inet_aton's shorthand) or ``0177.0.0.1`` are names to
it, and refused; browsers never send them, since their URL parser writes those hosts as
``127.0.0.1``.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from sseguard.errors import GatewayError
from sseguard.gateway.asgi import Scope

Headers = list[tuple[bytes, bytes]]
# Without it a page sees none of the gateway's or the upstream's response headers (request ids,
# rate-limit state); "*" is honoured because the gateway never allows credentialed requests.
_EXPOSE = (b"access-control-expose-headers", b"*")
_PREFLIGHT = [
    (b"access-control-allow-methods", b"GET, POST"),
    (b"access-control-max-age", b"600"),  # seconds a browser may skip asking again
]


class Origins:
    """The configured origins and host names, and the verdict on each request."""

    __slots__ = ("_allowed", "_any", "_hosts")

    def __init__(self, allowed: tuple[str, ...], hosts: frozenset[str] | None = None) -> None:
        self._any = "*" in allowed
        self._allowed = frozenset(allowed)
        self._hosts = hosts  # None: any Host

    def cors(self, scope: Scope) -> Headers | None:
        """The CORS headers a request's answer needs: None for a request without ``Origin`` or
        from the gateway's own; a ``GatewayError`` (403) for a page whose origin is not listed,
        or a request to a host name the gateway does not answer."""
        origin = host = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"host":
                host = value
        if self._hosts is not None and host is not None:
            self._check_host(host.decode("latin-1"))
        if origin is None:
            return None
        text = origin.decode("latin-1")
        if host is not None and _same_origin(text, host.decode("latin-1")):
            return None
        if self._any or text.lower() in self._allowed:
            return [(b"access-control-allow-origin", origin), (b"vary", b"origin"), _EXPOSE]
        raise GatewayError(
            403,
            f"sseguard does not answer web pages from {text}: list that origin in the "
            "gateway's server.cors_origins to allow it",
            "permission_error",
        )

    def _check_host(self, host: str) -> None:
        name = _host_name(host)
        hosts = self._hosts
        # A page cannot send another machine's loopback address as Host: only its own origin's.
        if hosts is None or name in hosts or _is_loopback_address(name):
            return
        raise GatewayError(
            403,
            f"sseguard does not answer requests to the host name {name or host!r} (a page can "
            "make any name resolve to this machine: DNS rebinding); list it in the gateway's "
            "server.allowed_hosts to allow it",
            "permission_error",
        )


def answered_hosts(listen: str, allowed: tuple[str, ...]) -> frozenset[str] | None:
    """The Host names a gateway listening on ``listen`` answers; None for any."""
    if "*" in allowed:
        return None
    own = listen.lower()
    own = f"[{own}]" if ":" in own and not own.startswith("[") else own
    loopback = own == "localhost" or _is_loopback_address(own)
    if not loopback and not allowed:
        return None
    names = {own, *allowed}
    if loopback:
        names.add("localhost")  # loopback addresses are judged by Origins._check_host
    return frozenset(names)


def _host_name(host: str) -> str:
    """The name of a ``Host`` header: lower case, without its port; an IPv6 address keeps its
    brackets. Anything but a port after the brackets leaves no name (""), which no list holds."""
    name = host.lower()
    if not name.startswith("["):
        return name.partition(":")[0]
    end = name.find("]") + 1
    return name[:end] if end and name[end : end + 1] in ("", ":") else ""


def _is_loopback_address(name: str) -> bool:
    """``name`` is a loopback IP literal as a ``Host`` header writes it: a dotted quad in
    127.0.0.0/8, or ``::1`` in brackets (any spelling). An IPv4-mapped ``[::ffff:127.0.0.1]``
    or a zone index is not: browsers write neither for their loopback, and refusing is safe."""
    try:
        if name.startswith("[") and name.endswith("]"):
            return IPv6Address(name[1:-1]) == _IPV6_LOOPBACK
        return IPv4Address(name).is_loopback
    except ValueError:  # not a literal: a name, however it starts
        return False


_IPV6_LOOPBACK = IPv6Address("::1")


def preflight(scope: Scope) -> Headers | None:
    """The headers of the 204 that answers a listed origin's CORS preflight, besides the ones
    ``Origins.cors`` gave; None when this is no preflight.

    Whatever headers the page asks to send are allowed: the Anthropic SDK in a browser sends its
    own (``anthropic-dangerous-direct-browser-access``, ``x-stainless-*``), and ``*`` would not
    cover ``authorization``. A page on a public origin calling a gateway on a private address asks
    for Private Network Access, granted with the origin."""
    if scope["method"] != "OPTIONS":
        return None
    asked: dict[bytes, bytes] = {
        name: value
        for name, value in scope["headers"]
        if name.startswith(b"access-control-request-")
    }
    if b"access-control-request-method" not in asked:
        return None
    headers = list(_PREFLIGHT)
    wanted = asked.get(b"access-control-request-headers")
    if wanted:
        headers.append((b"access-control-allow-headers", wanted))
    if asked.get(b"access-control-request-private-network") == b"true":
        headers.append((b"access-control-allow-private-network", b"true"))
    return headers


def _same_origin(origin: str, host: str) -> bool:
    """The page was served by this gateway under the name the request was sent to. Either scheme:
    behind a TLS-terminating proxy the page is https while the gateway hears http."""
    scheme, sep, authority = origin.partition("://")
    host = host.lower()
    if not sep or scheme.lower() not in ("http", "https"):
        return False
    authority = authority.lower()
    return authority == host or f"{authority}:{80 if scheme.lower() == 'http' else 443}" == host
