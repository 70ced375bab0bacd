"""The OpenAI chat.completions dialect: a request read as the ask ``content`` answers, an answer (a
Message) written as ``chat.completion.chunk`` frames or a ``chat.completion`` body, and the few faults
only this format has. Pure. It must not import ``sseguard.translate``: that is the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import zip_longest
from typing import Any

import orjson

from sseguard.sim.content import JSON, JSON_CUTS, build_message, pieces, shape_of
from sseguard.sim.mutations import Match, Mutation, sse_only
from sseguard.sim.wire import Ask, Dialect, Frame, Item, Raw

CREATED = 1_759_104_000  # every answer's ``created``: fixed, so plans stay deterministic
DONE = Frame(None, "[DONE]")
FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
}
NO_REASONING = (None, "none", "minimal")  # reasoning_effort values that ask for no reasoning


def as_messages(body: JSON) -> JSON:
    """The little ``content`` reads, taken from a chat.completions request: the conversation (its last
    assistant message is a prefill, as on /v1/messages), the tools it may call, whether it reasons.
    Max tokens are read on neither endpoint: the answer is fixed (``oa_length`` plays a cut one)."""
    ask: JSON = {"model": body.get("model"), "messages": body.get("messages")}
    tools = _tools(body)
    if tools:
        ask["tools"] = tools
    if body.get("reasoning_effort") not in NO_REASONING:
        ask["thinking"] = {"type": "enabled"}
    return ask


def _tools(body: JSON) -> list[JSON]:
    """Function tools as Messages tools; ``tool_choice: "none"`` offers none, a named one goes first
    (the answer calls the first tool)."""
    offered, choice = body.get("tools"), body.get("tool_choice")
    if choice == "none" or not isinstance(offered, list):
        return []
    tools = [
        {
            "name": str(f.get("name", "tool")),
            "description": str(f.get("description", "")),
            "input_schema": f.get("parameters", {}),
        }
        for t in offered
        if isinstance(t, dict) and isinstance(f := t.get("function"), dict)
    ]
    named = choice.get("function") if isinstance(choice, dict) else None
    if isinstance(named, dict):
        tools.sort(key=lambda tool: tool["name"] != named.get("name"))
    return tools


@dataclass(frozen=True, slots=True)
class Arguments:
    """How tool-call arguments travel in a stream: healthy by default, the F14 faults on demand."""

    cuts: tuple[int, ...] = JSON_CUTS  # fragment sizes, cycled
    head_on_every_fragment: bool = False  # id, type and name again on every fragment
    whole_again: bool = False  # the whole arguments string once more after the fragments


def chunks(ask: Ask, message: JSON, arguments: Arguments = Arguments()) -> tuple[Item, ...]:
    """The clean chunk stream for a Message, as OpenAI and vLLM send it: a role chunk, reasoning and
    content deltas, tool-call fragments, a finish chunk, the usage chunk if asked, ``[DONE]``."""
    usage_asked = _usage_asked(ask.body)
    head = _head(message, "chat.completion.chunk")

    def chunk(delta: JSON, finish: str | None = None) -> Frame:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        payload = {**head, "choices": [choice]}
        # With include_usage, every chunk but the last carries ``"usage": null``.
        return Frame(None, {**payload, "usage": None} if usage_asked else payload)

    deltas: list[JSON] = [{"role": "assistant", "content": ""}]
    calls: list[list[JSON]] = []
    for block in message["content"]:
        if block["type"] == "thinking":
            deltas += ({"reasoning_content": p} for p in pieces(block["thinking"]))
        elif block["type"] == "text":
            deltas += ({"content": p} for p in pieces(block["text"]))
        elif block["type"] == "tool_use":
            calls.append(_call_deltas(len(calls), block, arguments))
    # Parallel calls take turns, as the format allows: each fragment names its call by index.
    deltas += (d for turn in zip_longest(*calls) for d in turn if d is not None)
    frames = [chunk(d) for d in deltas]
    frames.append(chunk({}, FINISH.get(message["stop_reason"], "stop")))
    if usage_asked:
        frames.append(Frame(None, {**head, "choices": [], "usage": usage(message)}))
    return (*frames, DONE)


def _call_deltas(index: int, block: JSON, arguments: Arguments) -> list[JSON]:
    ident = {"index": index, "id": block["id"], "type": "function"}
    raw = _arguments(block)
    parts = pieces(raw, arguments.cuts) + ([raw] if arguments.whole_again else [])
    calls = [{**ident, "function": {"name": block["name"], "arguments": ""}}]
    for part in parts:
        if arguments.head_on_every_fragment:
            calls.append({**ident, "function": {"name": block["name"], "arguments": part}})
        else:
            calls.append({"index": index, "function": {"arguments": part}})
    return [{"tool_calls": [call]} for call in calls]


def completion(ask: Ask, message: JSON) -> JSON:
    """The non-streaming ``chat.completion`` body for a Message."""
    blocks = message["content"]
    reply: JSON = {
        "role": "assistant",
        "content": "".join(b["text"] for b in blocks if b["type"] == "text") or None,
    }
    thinking = "".join(b["thinking"] for b in blocks if b["type"] == "thinking")
    if thinking:
        reply["reasoning_content"] = thinking
    calls = [
        {
            "id": b["id"],
            "type": "function",
            "function": {"name": b["name"], "arguments": _arguments(b)},
        }
        for b in blocks
        if b["type"] == "tool_use"
    ]
    if calls:
        reply["tool_calls"] = calls
    choice = {
        "index": 0,
        "message": reply,
        "logprobs": None,
        "finish_reason": FINISH.get(message["stop_reason"], "stop"),
    }
    return {**_head(message, "chat.completion"), "choices": [choice], "usage": usage(message)}


def usage(message: JSON) -> JSON:
    prompt, completion_tokens = message["usage"]["input_tokens"], message["usage"]["output_tokens"]
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
    }


def error_body(kind: str, message: str, code: str | int | None = None) -> JSON:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def expected_completion(request_body: JSON) -> JSON:
    """The ``chat.completion`` a clean answer to a chat.completions request adds up to."""
    message = build_message(shape_of(as_messages(request_body)))
    return completion(Ask(request_body, stream=False), message)


def _head(message: JSON, kind: str) -> JSON:
    return {
        "id": "chatcmpl-" + str(message["id"]).removeprefix("msg_"),
        "object": kind,
        "created": CREATED,
        "model": message["model"],
    }


def _arguments(block: JSON) -> str:
    return orjson.dumps(block["input"]).decode()


def _usage_asked(body: JSON) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


CHAT = Dialect(
    name="chat.completions",
    path="/v1/chat/completions",
    as_messages=as_messages,
    stream=chunks,
    whole=completion,
    error=error_body,
    request_id_header="x-request-id",
)


# Predicates over a chunk stream's items.
def _choice(item: Item) -> JSON:
    payload = item.payload if isinstance(item, Frame) else None
    choices = payload.get("choices") if isinstance(payload, dict) else None
    return choices[0] if isinstance(choices, list) and choices else {}


def carries(field: str) -> Match:
    """A chunk whose delta holds a non-empty ``field`` (``content``, ``reasoning_content``...)."""
    return lambda item: bool(_choice(item).get("delta", {}).get(field))


def is_finish(item: Item) -> bool:
    return _choice(item).get("finish_reason") is not None


def is_done(item: Item) -> bool:
    return item == DONE


# Faults only chat.completions has.
KEEPALIVE = Raw(b": keep-alive\n\n")
# Azure OpenAI's first chunk: the prompt's content-filter verdicts, no choices, no id.
EMPTY_CHOICES: JSON = {"choices": [], "created": 0, "id": "", "model": "", "object": ""}
PROMPT_FILTER: JSON = {
    **EMPTY_CHOICES,
    "prompt_filter_results": [
        {
            "prompt_index": 0,
            "content_filter_results": {
                kind: {"filtered": False, "severity": "safe"}
                for kind in ("hate", "self_harm", "sexual", "violence")
            },
        }
    ],
}
OVERLOADED_CHUNK = Frame(
    None, error_body("server_error", "The model is overloaded. Please try again later.", 503)
)
RATE_LIMITED = error_body(
    "requests",
    "Rate limit reached for requests per minute (RPM): limit 3, used 3, requested 1. "
    "Please try again in 1s.",
    "rate_limit_exceeded",
)


def arguments(**changes: Any) -> Mutation:
    """F14: the same answer with its tool-call arguments sent another way (see ``Arguments``). It
    renders the stream anew, so it comes first in a scenario."""
    shape = Arguments(**changes)
    return sse_only(lambda d: replace(d, items=chunks(d.ask, d.message, shape)))


def null_usage(payload: JSON) -> JSON | None:
    """F15: ``"usage": null`` on every chunk and no usage chunk, even when the request asked for it."""
    if payload.get("choices") == [] and payload.get("usage"):
        return None
    return {**payload, "usage": None}
