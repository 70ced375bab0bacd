"""The one error a translation raises: the client's request cannot be expressed in the other format."""

from __future__ import annotations


class TranslationError(ValueError):
    """A request field that is malformed or has no equivalent; ``param`` names it (``messages[2].content``).

    The gateway answers it with HTTP 400 in the format of the endpoint the client called.
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(f"{param}: {message}" if param else message)
        self.param = param
        self.detail = message
