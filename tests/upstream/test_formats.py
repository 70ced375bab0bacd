"""What each upstream format makes of an error body: Anthropic's shape with the status's type."""

from __future__ import annotations

import orjson
import pytest

from sseguard.upstream.formats import ANTHROPIC_FORMAT, OPENAI_FORMAT, UpstreamFormat

ANTHROPIC_ERROR = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
# LiteLLM's proxy and one-api answer their own errors so, on their Anthropic routes too.
OPENAI_ERROR = {
    "error": {"message": "litellm.RateLimitError: slow down", "type": None, "code": "429"}
}


@pytest.mark.parametrize("fmt", [ANTHROPIC_FORMAT, OPENAI_FORMAT], ids=["anthropic", "openai"])
def test_an_openai_shaped_error_body_keeps_its_words_under_the_status_type(
    fmt: UpstreamFormat,
) -> None:
    body = orjson.loads(fmt.error_body(429, orjson.dumps(OPENAI_ERROR)))
    assert body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "litellm.RateLimitError: slow down"},
    }


def test_an_anthropic_error_body_passes_as_it_came() -> None:
    raw = orjson.dumps(ANTHROPIC_ERROR)
    assert ANTHROPIC_FORMAT.error_body(529, raw) == raw
    assert ANTHROPIC_FORMAT.json_answer(raw, "m") == (None, raw)


@pytest.mark.parametrize("fmt", [ANTHROPIC_FORMAT, OPENAI_FORMAT], ids=["anthropic", "openai"])
def test_an_error_object_under_a_200_gets_the_type_its_code_stands_for(fmt: UpstreamFormat) -> None:
    raw = orjson.dumps({"error": {"message": "engine overloaded", "code": 503}})
    message, error = fmt.json_answer(raw, "m")
    assert message is None and error is not None
    assert orjson.loads(error)["error"] == {
        "type": "overloaded_error",
        "message": "engine overloaded",
    }


def test_a_body_in_no_error_shape_is_left_for_the_caller_to_call_garbage() -> None:
    page = b"<html>502 Bad Gateway</html>"
    assert ANTHROPIC_FORMAT.error_body(502, page) == page
    assert ANTHROPIC_FORMAT.json_answer(b'{"status": "ok"}', "m") == (None, None)
