"""The rules the configuration applies to what it holds, apart from its shape: valid and
reserved header names, header values that cannot inject, credentials masked when shown, host
names and origins spelled as browsers send them, and where sseguard keeps its state.

Pure functions the schema's validators call (and ``sseguard logs`` for the state directory);
they raise ``ValueError`` with the message a user sees.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from sseguard.config.env import has_reference

MASK = "**********"
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token
# Set by the HTTP client or the gateway itself; a config that sets them breaks framing or routing.
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "proxy-connection",
    }
)
CREDENTIAL_HINTS = ("auth", "key", "token", "secret", "cookie", "signature")


def header_name(name: str) -> str:
    if not HEADER_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid HTTP header name")
    # HTTP/2 requires lower case, and one spelling avoids duplicates when headers are merged.
    return name.lower()


def header_value(value: str) -> str:
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError("a header value must not contain CR, LF or NUL")  # header injection
    return value


def shown(name: str, template: str) -> str:
    """A header's template for printing: masked when it reads the environment or names a secret."""
    if has_reference(template) or any(h in name.lower() for h in CREDENTIAL_HINTS):
        return MASK
    return template


DEFAULT_PORTS = {"http": 80, "https": 443}


def host_name(value: str) -> str:
    """A host name as the ``Host`` header carries it without its port: lower case, an IPv6
    address in brackets."""
    if value == "*":
        return value
    name = value.strip().lower()
    if not name or any(c in name for c in "/@ ") or (":" in name and name.count(":") == 1):
        raise ValueError(
            f"{value!r} is not a host name: a name or address without scheme or port, "
            "like gateway.internal"
        )
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"
    return name


def origin(value: str) -> str:
    """An origin as browsers serialize it in the ``Origin`` header, so that a match is equality:
    lower-case scheme and host, no default port, no path (not even "/")."""
    if value == "*":
        return value
    example = "an origin is scheme://host[:port], like http://localhost:5173"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError(f"{value!r} is not an origin: {example}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{value!r} is not an origin: {example}")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{value!r} has more than an origin (a path, even '/'?): {example}")
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


STATE_DIR_ENV = "SSEGUARD_STATE_DIR"
REQUEST_LOG_NAME = "sseguard-requests.sqlite3"


def state_dir() -> Path:
    """Where sseguard keeps what it writes by default: ``$SSEGUARD_STATE_DIR``, else
    ``$XDG_STATE_HOME/sseguard``, else ``~/.local/state/sseguard`` (XDG's place for state that
    outlives a run but is no user document, such as logs), rather than whatever directory a
    command happens to run in. Found, not created: the request log creates it, private (0700).

    Read when ``Observe`` is built, at import for the default one, so it must not fail: without
    any home directory (no HOME, no passwd entry) it is the working directory, as it used to be.
    """
    own = os.environ.get(STATE_DIR_ENV)
    if own:
        return Path(own)
    xdg = os.environ.get("XDG_STATE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec: a relative value is invalid, to be ignored
        return Path(xdg) / "sseguard"
    try:
        return Path.home() / ".local" / "state" / "sseguard"
    except RuntimeError:
        return Path()


def default_request_log() -> str:
    """The request log's file when ``observe.request_log`` is not set; ``sseguard logs`` reads
    the same one."""
    return str(state_dir() / REQUEST_LOG_NAME)
