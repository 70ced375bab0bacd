"""OpenAI chat.completions request body -> Anthropic Messages request body.

It owns the request's translation only: no I/O, no defaults beyond ``max_tokens``. What has no
Messages equivalent is refused with a ``TranslationError`` naming the field, never dropped quietly,
unless it is on the ``IGNORED_FIELDS`` list of knobs clients send by default.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import orjson

from sseguard.translate.errors import TranslationError

# Top-level fields clients send by default whose effect Messages cannot reproduce and whose absence
# changes no answer's shape: dropped without a word. Fields nobody knows are dropped as well (an
# OpenAI client talking to a compatible server expects that); this list documents the known ones.
IGNORED_FIELDS = frozenset(
    {
        "seed",
        "store",
        "frequency_penalty",
        "presence_penalty",
        "logit_bias",
        "service_tier",
        "prediction",
        "top_logprobs",
        "metadata",  # OpenAI's stored-completion tags; Anthropic's metadata takes only user_id
        "stream_options",  # include_usage is read by the caller, who renders the stream
        "prompt_cache_key",
        "prompt_cache_retention",
        "verbosity",
    }
)

# Top-level field -> whether its value asks for something Messages cannot do (the request is refused,
# because answering without it would silently change the answer's shape).
UNSUPPORTED_FIELDS: dict[str, Callable[[Any], bool]] = {
    "n": lambda v: v is not None and v != 1,
    "logprobs": lambda v: v is True,
    "audio": lambda v: v is not None,
    "modalities": lambda v: isinstance(v, list) and "audio" in v,
    "response_format": lambda v: v is not None and v != {"type": "text"},
    "functions": lambda v: v is not None,
    "function_call": lambda v: v is not None,
    "web_search_options": lambda v: v is not None,
}

# reasoning_effort -> thinking budget in tokens; None means no thinking. 1024 is Anthropic's floor.
REASONING_BUDGET: dict[str, int | None] = {
    "none": None,
    "minimal": None,
    "low": 1024,
    "medium": 4096,
    "high": 16384,
    "xhigh": 32768,
}

# The image media types Anthropic accepts in a base64 source.
IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def messages_request(body: dict[str, Any], *, default_max_tokens: int = 4096) -> dict[str, Any]:
    """The Messages request asking the same question as ``body``.

    Three values are adjusted rather than refused, because each would otherwise make Anthropic
    reject a request that OpenAI accepts: ``temperature`` above 1 (OpenAI allows up to 2, Anthropic
    up to 1) is clamped to 1; when thinking is on, ``max_tokens`` that does not exceed the thinking
    budget is raised to budget + the requested limit (OpenAI counts reasoning inside the limit,
    Anthropic requires the budget below it), so the visible answer keeps the room the client asked
    for; and the sampling knobs thinking forbids (``temperature``, ``top_p``, ``top_k``) are dropped,
    since the client asked for reasoning explicitly and sampling only by habit.
    """
    if not isinstance(body, dict):
        raise TranslationError("the request body must be a JSON object")
    for field, unsupported in UNSUPPORTED_FIELDS.items():
        if unsupported(body.get(field)):
            raise TranslationError(f"{_describe(body[field])} is not supported", field)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise TranslationError("must be a non-empty string", "model")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise TranslationError("must be a boolean", "stream")
    system, messages = _conversation(body.get("messages"))
    out: dict[str, Any] = {"model": model, "messages": messages}
    if system:
        out["system"] = system
    max_tokens = _max_tokens(body, default_max_tokens)
    out["stream"] = bool(stream)
    _tools(body, out)
    stop = _stop(body.get("stop"))
    if stop:
        out["stop_sequences"] = stop
    temperature = _number(body, "temperature", 0.0, 2.0)
    if temperature is not None:
        out["temperature"] = min(temperature, 1.0)
    top_p = _number(body, "top_p", 0.0, 1.0)
    if top_p is not None:
        out["top_p"] = top_p
    top_k = body.get("top_k")  # Anthropic's own knob, sent by clients through extra_body
    if top_k is not None:
        out["top_k"] = _positive_int(top_k, "top_k")
    user = _user(body)
    if user:
        out["metadata"] = {"user_id": user}
    thinking = _thinking(body)
    if thinking is not None:
        out["thinking"] = thinking
        budget = thinking.get("budget_tokens")
        if isinstance(budget, int) and not isinstance(budget, bool) and max_tokens <= budget:
            max_tokens += budget
        if thinking.get("type") != "disabled":
            for knob in ("temperature", "top_p", "top_k"):
                out.pop(knob, None)
    out["max_tokens"] = max_tokens
    return out


# -- conversation ------------------------------------------------------------------------------


def _conversation(messages: object) -> tuple[str | None, list[dict[str, Any]]]:
    """System text, and the turns with consecutive same-role messages merged into one (Messages
    wants user and assistant to alternate; a run of tool results plus a user message is one turn)."""
    if not isinstance(messages, list) or not messages:
        raise TranslationError("must be a non-empty list", "messages")
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        param = f"messages[{i}]"
        if not isinstance(message, dict):
            raise TranslationError("must be an object", param)
        role = message.get("role")
        content: str | list[dict[str, Any]]
        if role in ("system", "developer"):
            system.append(_text(message.get("content"), f"{param}.content"))
            continue
        if role == "user":
            content = _user_content(message.get("content"), f"{param}.content")
        elif role == "assistant":
            content = _assistant_content(message, param)
        elif role == "tool":
            role, content = "user", [_tool_result(message, param)]
        elif role == "function":
            raise TranslationError(
                "the legacy function role is not supported; send tool messages", f"{param}.role"
            )
        else:
            raise TranslationError(f"unknown role {role!r}", f"{param}.role")
        if turns and turns[-1]["role"] == role:
            merged = _blocks(turns[-1]["content"]) + _blocks(content)
            if role == "user":
                # Anthropic reads tool results only at the start of a user turn.
                merged.sort(key=lambda b: b.get("type") != "tool_result")
            turns[-1]["content"] = merged
        else:
            turns.append({"role": role, "content": content})
    if not turns:
        raise TranslationError("needs at least one user or assistant message", "messages")
    joined = "\n\n".join(s for s in system if s)
    return joined or None, turns


def _blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        # Anthropic refuses empty text blocks; an empty string adds nothing to a merged turn.
        return [{"type": "text", "text": content}] if content else []
    return content


def _text(content: object, param: str) -> str:
    """Text-only content (system, developer): a string, or text parts joined like system messages."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n\n".join(b["text"] for b in _text_parts(content, param))
    raise TranslationError("must be a string or a list of text parts", param)


def _text_parts(parts: list[Any], param: str) -> list[dict[str, Any]]:
    texts = (_text_part(part, f"{param}[{j}]") for j, part in enumerate(parts))
    return [{"type": "text", "text": t} for t in texts if t]


def _text_part(part: object, param: str) -> str:
    if not isinstance(part, dict) or part.get("type") != "text":
        kind = part.get("type") if isinstance(part, dict) else None
        raise TranslationError(f"content part type {kind!r} is not supported here", f"{param}.type")
    text = part.get("text")
    if not isinstance(text, str):
        raise TranslationError("must be a string", f"{param}.text")
    return text


def _user_content(content: object, param: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise TranslationError("must be a string or a list of content parts", param)
    out = []
    for j, part in enumerate(content):
        p = f"{param}[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "image_url":
            out.append(_image(part.get("image_url"), f"{p}.image_url"))
        elif kind == "text":
            if text := _text_part(part, p):
                out.append({"type": "text", "text": text})
        else:
            raise TranslationError(f"content part type {kind!r} is not supported", f"{p}.type")
    return out


def _image(image: object, param: str) -> dict[str, Any]:
    url = image.get("url") if isinstance(image, dict) else None
    param += ".url"
    if not isinstance(url, str):
        raise TranslationError("must be a string", param)
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    if not url.startswith("data:"):
        raise TranslationError("must be an http(s) URL or a base64 data URL", param)
    header, comma, data = url[5:].partition(",")
    media_type, *options = header.split(";")
    media_type = media_type.strip().lower()
    if not comma or "base64" not in options or not media_type or not data:
        raise TranslationError("a data URL must carry a media type and base64 data", param)
    if media_type not in IMAGE_MEDIA_TYPES:
        raise TranslationError(f"image media type {media_type!r} is not supported", param)
    source = {"type": "base64", "media_type": media_type, "data": data}
    return {"type": "image", "source": source}


def _assistant_content(message: dict[str, Any], param: str) -> str | list[dict[str, Any]]:
    """Text and tool calls as blocks. ``reasoning_content`` is dropped: Anthropic accepts earlier
    thinking back only with the signature it issued, which an OpenAI client never saw."""
    if message.get("function_call") is not None:
        raise TranslationError(
            "the legacy function_call is not supported; send tool_calls", f"{param}.function_call"
        )
    content = message.get("content")
    calls = message.get("tool_calls")
    if calls is not None and not isinstance(calls, list):
        raise TranslationError("must be a list", f"{param}.tool_calls")
    if not calls:
        if isinstance(content, str):
            return content
        if content is None:
            raise TranslationError("an assistant message needs content or tool_calls", param)
    blocks = []
    if isinstance(content, list):
        for j, part in enumerate(content):
            p = f"{param}.content[{j}]"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind not in ("text", "refusal"):
                raise TranslationError(f"content part type {kind!r} is not supported", f"{p}.type")
            text = part.get(kind)
            if not isinstance(text, str):
                raise TranslationError("must be a string", f"{p}.{kind}")
            if text:
                blocks.append({"type": "text", "text": text})
    elif isinstance(content, str):
        blocks += _blocks(content)
    elif content is not None:
        raise TranslationError("must be a string, a list of parts or null", f"{param}.content")
    for k, call in enumerate(calls or ()):
        blocks.append(_tool_use(call, f"{param}.tool_calls[{k}]"))
    return blocks


def _tool_use(call: object, param: str) -> dict[str, Any]:
    if not isinstance(call, dict):
        raise TranslationError("must be an object", param)
    if call.get("type", "function") != "function":
        raise TranslationError(f"tool call type {call['type']!r} is not supported", f"{param}.type")
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        raise TranslationError("must be a non-empty string", f"{param}.id")
    function = call.get("function")
    if not isinstance(function, dict):
        raise TranslationError("must be an object", f"{param}.function")
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise TranslationError("must be a non-empty string", f"{param}.function.name")
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        raise TranslationError("must be a JSON string", f"{param}.function.arguments")
    try:
        parsed = orjson.loads(arguments) if arguments else {}
    except orjson.JSONDecodeError:
        raise TranslationError("is not valid JSON", f"{param}.function.arguments") from None
    if not isinstance(parsed, dict):
        raise TranslationError("must encode a JSON object", f"{param}.function.arguments")
    return {"type": "tool_use", "id": call_id, "name": name, "input": parsed}


def _tool_result(message: dict[str, Any], param: str) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise TranslationError("must be a non-empty string", f"{param}.tool_call_id")
    content = message.get("content")
    if isinstance(content, list):
        content = _text_parts(content, f"{param}.content")
    elif not isinstance(content, str):
        raise TranslationError("must be a string or a list of text parts", f"{param}.content")
    return {"type": "tool_result", "tool_use_id": call_id, "content": content}


# -- tools ----------------------------------------------------------------------------------------


def _tools(body: dict[str, Any], out: dict[str, Any]) -> None:
    """``tools``, ``tool_choice`` and ``parallel_tool_calls``, which only make sense together.

    ``strict`` is dropped: Messages tools have no such flag, so arguments follow the schema only
    as well as the model manages."""
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise TranslationError("must be a list", "tools")
    defined = [_tool(tool, f"tools[{i}]") for i, tool in enumerate(tools or ())]
    parallel = body.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise TranslationError("must be a boolean", "parallel_tool_calls")
    choice = _tool_choice(body.get("tool_choice"), {t["name"] for t in defined})
    if not defined:
        if choice is not None and choice["type"] not in ("auto", "none"):
            raise TranslationError("names a tool but no tools are given", "tool_choice")
        return  # without tools a choice means nothing, and Anthropic wants none
    out["tools"] = defined
    if parallel is False:
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    if choice is not None:
        out["tool_choice"] = choice


def _tool(tool: object, param: str) -> dict[str, Any]:
    if not isinstance(tool, dict):
        raise TranslationError("must be an object", param)
    if tool.get("type") != "function":
        raise TranslationError(f"tool type {tool.get('type')!r} is not supported", f"{param}.type")
    function = tool.get("function")
    if not isinstance(function, dict):
        raise TranslationError("must be an object", f"{param}.function")
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise TranslationError("must be a non-empty string", f"{param}.function.name")
    out: dict[str, Any] = {"name": name}
    description = function.get("description")
    if description is not None:
        if not isinstance(description, str):
            raise TranslationError("must be a string", f"{param}.function.description")
        out["description"] = description
    schema = function.get("parameters")
    if schema is None:
        schema = {"type": "object", "properties": {}}
    elif not isinstance(schema, dict):
        raise TranslationError("must be a JSON Schema object", f"{param}.function.parameters")
    out["input_schema"] = schema
    return out


_CHOICES = {"auto": "auto", "none": "none", "required": "any"}


def _tool_choice(choice: object, names: set[str]) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, str) and choice in _CHOICES:
        return {"type": _CHOICES[choice]}
    if isinstance(choice, dict) and choice.get("type") == "function":
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not name:
            raise TranslationError("must be a non-empty string", "tool_choice.function.name")
        if names and name not in names:
            raise TranslationError(f"names {name!r}, which is not in tools", "tool_choice")
        return {"type": "tool", "name": name}
    raise TranslationError(
        'must be "auto", "none", "required" or {"type": "function", ...}', "tool_choice"
    )


# -- scalars --------------------------------------------------------------------------------------


def _max_tokens(body: dict[str, Any], default: int) -> int:
    # max_completion_tokens is the current name; max_tokens the deprecated one clients still send.
    for field in ("max_completion_tokens", "max_tokens"):
        value = body.get(field)
        if value is not None:
            return _positive_int(value, field)
    return default


def _stop(stop: object) -> list[str]:
    """OpenAI documents at most 4 sequences; Anthropic takes more, so more are passed, not refused."""
    if stop is None:
        return []
    sequences = [stop] if isinstance(stop, str) else stop
    if not isinstance(sequences, list):
        raise TranslationError("must be a string or a list of strings", "stop")
    for i, seq in enumerate(sequences):
        if not isinstance(seq, str):
            raise TranslationError("must be a string", f"stop[{i}]")
        if not seq.strip():
            # Anthropic refuses stop sequences made only of whitespace.
            raise TranslationError("must contain a non-whitespace character", f"stop[{i}]")
    return sequences


def _number(body: dict[str, Any], field: str, low: float, high: float) -> float | None:
    value = body.get(field)
    if value is None:
        return None
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise TranslationError(f"must be a number from {low:g} to {high:g}", field)
    return value


def _describe(value: object) -> str:
    """A refused value, short: a response_format's type rather than its whole schema."""
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return f"type {value['type']!r}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _positive_int(value: object, field: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise TranslationError("must be a positive integer", field)


def _user(body: dict[str, Any]) -> str | None:
    """``user``, or its successor ``safety_identifier``: the end-user id, Anthropic's user_id."""
    for field in ("user", "safety_identifier"):
        value = body.get(field)
        if value is not None:
            if not isinstance(value, str):
                raise TranslationError("must be a string", field)
            if value:
                return value
    return None


def _thinking(body: dict[str, Any]) -> dict[str, Any] | None:
    """An Anthropic ``thinking`` object (sent through extra_body) wins over ``reasoning_effort``."""
    thinking = body.get("thinking")
    if thinking is not None:
        if not isinstance(thinking, dict) or not isinstance(thinking.get("type"), str):
            raise TranslationError("must be an Anthropic thinking object", "thinking")
        return thinking
    effort = body.get("reasoning_effort")
    if effort is None:
        return None
    if not isinstance(effort, str) or effort not in REASONING_BUDGET:
        raise TranslationError(f"must be one of {', '.join(REASONING_BUDGET)}", "reasoning_effort")
    budget = REASONING_BUDGET[effort]
    return {"type": "enabled", "budget_tokens": budget} if budget else None
