"""The browser edge: request checking and the ``delta``/``thinking``/``tool``/``done``/``error``
frames rendered from valid Messages events."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from sseguard.protocol.events import Event
from sseguard.sse import SSEDecoder
from sseguard.translate.browser import BrowserFraming, messages_request, query_body
from sseguard.translate.errors import TranslationError


def test_prompt_becomes_one_user_message_and_always_streams() -> None:
    body = messages_request(
        {"model": "m", "prompt": "hi", "system": "be brief", "max_tokens": "64"}
    )
    assert body == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "system": "be brief",
        "max_tokens": 64,
        "stream": True,
    }


def test_a_messages_request_passes_with_defaults() -> None:
    messages = [{"role": "user", "content": "hi"}]
    body = messages_request({"model": "m", "messages": messages, "stream": False})
    assert body["messages"] == messages and body["stream"] is True and body["max_tokens"] == 1024


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": "hi"}, "model"),
        ({"model": "m"}, "prompt"),
        ({"model": "m", "prompt": "  "}, "prompt"),
        ({"model": "m", "prompt": "hi", "messages": []}, "prompt"),
        ({"model": "m", "messages": []}, "prompt"),
        ({"model": "m", "prompt": "hi", "max_tokens": 0}, "max_tokens"),
        ({"model": "m", "prompt": "hi", "max_tokens": "ten"}, "max_tokens"),
        ({"model": "m", "prompt": "hi", "max_tokens": True}, "max_tokens"),
        ({"model": "m", "prompt": "hi", "system": 3}, "system"),
    ],
)
def test_malformed_requests_name_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(TranslationError) as info:
        messages_request(body)
    assert info.value.param == param


def test_query_parameters_are_checked_by_name() -> None:
    assert query_body({"model": "m", "prompt": "hi"}) == {"model": "m", "prompt": "hi"}
    with pytest.raises(TranslationError, match="temprature") as info:
        query_body({"model": "m", "prompt": "hi", "temprature": "1"})
    assert info.value.param == "temprature"


def ev(payload: dict[str, Any]) -> Event:
    return Event.of(payload)


START = ev(
    {
        "type": "message_start",
        "message": {"id": "msg_1", "usage": {"input_tokens": 5, "output_tokens": 1}},
    }
)


def frames(raw: bytes) -> list[tuple[str | None, str, Any]]:
    return [(e.event, e.id, orjson.loads(e.data)) for e in SSEDecoder().feed(raw)]


def test_a_whole_answer_with_thinking_and_a_tool_call() -> None:
    framing = BrowserFraming()
    first = framing.encode(
        [
            START,
            ev({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking"}}),
            ev(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "thinking_delta", "thinking": "hmm"},
                }
            ),
            ev(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "signature_delta", "signature": "sig"},
                }
            ),
            ev({"type": "content_block_stop", "index": 0}),
            ev({"type": "content_block_start", "index": 1, "content_block": {"type": "text"}}),
            ev(
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "text_delta", "text": "Let me look.\n"},
                }
            ),
            ev({"type": "content_block_stop", "index": 1}),
        ]
    )
    tool = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    second = framing.encode(
        [
            ev({"type": "content_block_start", "index": 2, "content_block": tool}),
            ev(
                {
                    "type": "content_block_delta",
                    "index": 2,
                    "delta": {"type": "input_json_delta", "partial_json": '{"city": "Z'},
                }
            ),
            ev(
                {
                    "type": "content_block_delta",
                    "index": 2,
                    "delta": {"type": "input_json_delta", "partial_json": 'ürich"}'},
                }
            ),
            ev({"type": "content_block_stop", "index": 2}),
            ev(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "tool_use"},
                    "usage": {"output_tokens": 30},
                }
            ),
            ev({"type": "message_stop"}),
        ]
    )
    assert frames(first + second) == [
        ("thinking", "1", {"text": "hmm"}),
        ("delta", "2", {"text": "Let me look.\n"}),
        ("tool", "3", {"id": "toolu_1", "name": "get_weather", "input": {"city": "Zürich"}}),
        (
            "done",
            "4",
            {"stop_reason": "tool_use", "usage": {"input_tokens": 5, "output_tokens": 30}},
        ),
    ]


def test_an_error_event_becomes_a_readable_error_frame() -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    raw = BrowserFraming().encode([START, ev(error)])
    assert frames(raw) == [("error", "1", {"type": "overloaded_error", "message": "Overloaded"})]


def test_pings_are_comments() -> None:
    assert BrowserFraming().encode([ev({"type": "ping"})]) == b""
    assert BrowserFraming.ping.startswith(b":")
