"""sseguard: turn broken Anthropic Messages streams into well-formed ones, or honest typed errors."""

__version__ = "0.1.0"
