"""The official ``openai`` SDK reading bytes we rendered, as if a gateway had sent them.

Strict response validation is on, so a field of the wrong type fails here rather than in a client.
"""

from __future__ import annotations

import httpx2
import openai


def client(body: bytes, *, status: int = 200, stream: bool = True) -> openai.OpenAI:
    """A client whose every request is answered with ``body``."""
    content_type = "text/event-stream" if stream else "application/json"

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, headers={"content-type": content_type}, content=body)

    return openai.OpenAI(
        api_key="test",
        base_url="http://gateway.test/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(answer)),
        _strict_response_validation=True,
    )


ASK = {"model": "claude-test", "messages": [{"role": "user", "content": "hi"}]}
