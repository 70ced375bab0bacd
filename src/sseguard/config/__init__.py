"""The gateway's configuration: which upstreams exist, how to reach them, which models go where.

Reads one config file and the environment, nothing else; see docs/configuration.md for every option.
"""

from sseguard.config.errors import ConfigError
from sseguard.config.load import load_config
from sseguard.config.schema import (
    BetaFilter,
    Config,
    Deployment,
    DeploymentTimeouts,
    HeaderAuth,
    Limits,
    Retry,
    Route,
    Server,
    Timeouts,
)

__all__ = [
    "BetaFilter",
    "Config",
    "ConfigError",
    "Deployment",
    "DeploymentTimeouts",
    "HeaderAuth",
    "Limits",
    "Retry",
    "Route",
    "Server",
    "Timeouts",
    "load_config",
]
