"""An Anthropic Messages request body in, the chat.completions request an OpenAI-compatible upstream
takes out. Pure; what has no equivalent raises ``TranslationError`` naming the field, never guesses.

Choices that change what the model sees, each because the alternative is worse:

- Server tools (``web_search_…``, ``bash_…``, ``text_editor_…``, any tool with a ``type`` other
  than ``custom``) and PDF or file documents are refused: dropping them would let the model answer
  without the capability the client asked for, and the client could not tell.
- Images a tool returned cannot sit in an OpenAI ``tool`` message; they follow in the user message
  of the same turn, introduced by a line naming the call, and the tool message says so.
- ``is_error: true`` on a tool result becomes an ``Error: `` prefix: OpenAI has no flag for it.
- Several text blocks of a user turn are joined with a blank line (many servers' chat templates
  take string content only); an assistant turn's text blocks are joined as they were generated.
- Thinking blocks in history are dropped: only Anthropic can read their signatures. An assistant
  turn left with nothing is dropped with them.
- A trailing assistant message goes as is. Many servers continue it as a prefix (Anthropic's
  prefill); others start a new answer after it — vLLM does unless asked with its own
  ``continue_final_message`` extra, which strict servers would refuse, so it is not sent.
- ``top_k`` is dropped: vLLM and llama.cpp accept it, but strict servers answer 400 to any unknown
  field, and a sampling hint is not worth a failed request.
"""

from __future__ import annotations

from typing import Any

import orjson

from sseguard.translate.errors import TranslationError

# Anthropic effort words that OpenAI's reasoning_effort lacks, mapped to its strongest.
_EFFORT = {"low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high"}
_TOOL_CHOICE = {"auto": "auto", "any": "required", "none": "none"}
_THINKING = frozenset({"thinking", "redacted_thinking"})


def chat_request(body: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise TranslationError("the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str):
        raise TranslationError("must be a string", "model")
    messages: list[dict[str, Any]] = []
    system = _system(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    turns = body.get("messages")
    if not isinstance(turns, list):
        raise TranslationError("must be a list", "messages")
    for i, turn in enumerate(turns):
        messages += _turn(turn, f"messages[{i}]")
    # Always streamed, whatever the client asked: the gateway accumulates when it must (F25), and
    # only a stream with include_usage tells it the token counts.
    out: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    _tools(body, out)
    _sampling(body, out)
    effort = _reasoning_effort(body)
    if effort is not None:
        out["reasoning_effort"] = effort
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        out["user"] = metadata["user_id"]
    return out


def _system(value: object) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    if not isinstance(value, list):
        raise TranslationError("must be a string or a list of text blocks", "system")
    return "\n\n".join(_text(block, f"system[{i}]") for i, block in enumerate(value))


def _turn(turn: object, path: str) -> list[dict[str, Any]]:
    if not isinstance(turn, dict):
        raise TranslationError("must be an object", path)
    role = turn.get("role")
    content = turn.get("content")
    if role not in ("user", "assistant"):
        raise TranslationError(f"role {role!r} is neither user nor assistant", f"{path}.role")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    if not isinstance(content, list):
        raise TranslationError("must be a string or a list of blocks", f"{path}.content")
    if role == "user":
        return _user(content, f"{path}.content")
    return _assistant(content, f"{path}.content")


def _user(blocks: list[Any], path: str) -> list[dict[str, Any]]:
    # OpenAI wants tool results right after the assistant message that called the tools, so they
    # go before the rest of the turn.
    results: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        where = f"{path}[{j}]"
        kind = _type(block, where)
        if kind == "text":
            parts.append({"type": "text", "text": _text(block, where)})
        elif kind == "image":
            parts.append(_image(block, where))
        elif kind == "document":
            parts.append({"type": "text", "text": _document(block, where)})
        elif kind == "tool_result":
            result, images = _tool_result(block, where)
            results.append(result)
            if images:
                note = f"Image output of tool call {result['tool_call_id']}:"
                parts += [{"type": "text", "text": note}, *images]
        else:
            raise TranslationError(f"{kind!r} blocks have no OpenAI equivalent", f"{where}.type")
    if not parts and results:
        return results
    if all(p["type"] == "text" for p in parts):
        return [*results, {"role": "user", "content": "\n\n".join(p["text"] for p in parts)}]
    return [*results, {"role": "user", "content": parts}]


def _assistant(blocks: list[Any], path: str) -> list[dict[str, Any]]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        where = f"{path}[{j}]"
        kind = _type(block, where)
        if kind == "text":
            texts.append(_text(block, where))
        elif kind == "tool_use":
            calls.append(_tool_call(block, where))
        elif kind not in _THINKING:
            raise TranslationError(f"{kind!r} blocks have no OpenAI equivalent", f"{where}.type")
    if not texts and not calls:
        return []
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    return [message]


def _type(block: object, path: str) -> str:
    if not isinstance(block, dict):
        raise TranslationError("must be an object", path)
    kind = block.get("type")
    if not isinstance(kind, str):
        raise TranslationError("missing or not a string", f"{path}.type")
    return kind


def _text(block: object, path: str) -> str:
    if _type(block, path) != "text":
        raise TranslationError("only text blocks are allowed here", f"{path}.type")
    text = block.get("text") if isinstance(block, dict) else None
    if not isinstance(text, str):
        raise TranslationError("must be a string", f"{path}.text")
    return text


def _source(block: dict[str, Any], path: str) -> tuple[str, dict[str, Any]]:
    source = block.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("type"), str):
        raise TranslationError("must be an object with a type", f"{path}.source")
    return source["type"], source


def _image(block: dict[str, Any], path: str) -> dict[str, Any]:
    kind, source = _source(block, path)
    if kind == "base64":
        media, data = source.get("media_type"), source.get("data")
        if not isinstance(media, str) or not isinstance(data, str):
            raise TranslationError("needs media_type and data strings", f"{path}.source")
        url = f"data:{media};base64,{data}"
    elif kind == "url" and isinstance(source.get("url"), str):
        url = source["url"]
    else:
        raise TranslationError(
            f"image source {kind!r} cannot be sent to an OpenAI-compatible upstream",
            f"{path}.source.type",
        )
    return {"type": "image_url", "image_url": {"url": url}}


def _document(block: dict[str, Any], path: str) -> str:
    kind, source = _source(block, path)
    if kind == "text" and isinstance(source.get("data"), str):
        text: str = source["data"]
    elif kind == "content" and isinstance(source.get("content"), str | list):
        content = source["content"]
        if isinstance(content, str):
            text = content
        else:
            text = "\n\n".join(
                _text(b, f"{path}.source.content[{k}]") for k, b in enumerate(content)
            )
    else:
        raise TranslationError(
            f"{kind!r} documents (PDF, file) cannot be sent to an OpenAI-compatible upstream",
            f"{path}.source.type",
        )
    title = block.get("title")
    return f"{title}\n\n{text}" if isinstance(title, str) and title else text


def _tool_result(block: dict[str, Any], path: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str):
        raise TranslationError("must be a string", f"{path}.tool_use_id")
    content = block.get("content")
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for k, item in enumerate(content):
            where = f"{path}.content[{k}]"
            kind = _type(item, where)
            if kind == "text":
                texts.append(_text(item, where))
            elif kind == "image":
                images.append(_image(item, where))
            elif kind == "document":
                texts.append(_document(item, where))
            else:
                raise TranslationError(f"{kind!r} has no OpenAI equivalent", f"{where}.type")
    elif content is not None:
        raise TranslationError("must be a string or a list of blocks", f"{path}.content")
    if images:
        texts.append(f"[{len(images)} image(s) follow in the next user message]")
    text = "\n".join(texts)
    if block.get("is_error") is True:
        text = f"Error: {text}"
    return {"role": "tool", "tool_call_id": call_id, "content": text}, images


def _tool_call(block: dict[str, Any], path: str) -> dict[str, Any]:
    call_id, name, args = block.get("id"), block.get("name"), block.get("input")
    if not isinstance(call_id, str):
        raise TranslationError("must be a string", f"{path}.id")
    if not isinstance(name, str):
        raise TranslationError("must be a string", f"{path}.name")
    if not isinstance(args, dict):
        raise TranslationError("must be an object", f"{path}.input")
    arguments = orjson.dumps(args).decode()
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _tools(body: dict[str, Any], out: dict[str, Any]) -> None:
    tools = body.get("tools")
    if tools is None:
        return
    if not isinstance(tools, list):
        raise TranslationError("must be a list", "tools")
    functions = [_function(tool, f"tools[{i}]") for i, tool in enumerate(tools)]
    if not functions:
        return  # OpenAI refuses tool_choice without tools; with no tools there is no choice
    out["tools"] = functions
    choice = body.get("tool_choice")
    if choice is None:
        return
    if not isinstance(choice, dict):
        raise TranslationError("must be an object", "tool_choice")
    kind, name = choice.get("type"), choice.get("name")
    if isinstance(kind, str) and kind in _TOOL_CHOICE:
        out["tool_choice"] = _TOOL_CHOICE[kind]
    elif kind == "tool" and isinstance(name, str):
        out["tool_choice"] = {"type": "function", "function": {"name": name}}
    elif kind == "tool":
        raise TranslationError("must be a string", "tool_choice.name")
    else:
        raise TranslationError(f"unknown tool_choice type {kind!r}", "tool_choice.type")
    if choice.get("disable_parallel_tool_use") is True:
        out["parallel_tool_calls"] = False


def _function(tool: object, path: str) -> dict[str, Any]:
    if not isinstance(tool, dict):
        raise TranslationError("must be an object", path)
    kind, name = tool.get("type"), tool.get("name")
    if kind not in (None, "custom"):
        raise TranslationError(
            f"server tool {kind!r} ({name}) has no equivalent on an OpenAI-compatible upstream",
            f"{path}.type",
        )
    schema = tool.get("input_schema")
    if not isinstance(name, str):
        raise TranslationError("must be a string", f"{path}.name")
    if not isinstance(schema, dict):
        raise TranslationError("must be an object", f"{path}.input_schema")
    function: dict[str, Any] = {"name": name, "parameters": schema}
    if isinstance(tool.get("description"), str):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _sampling(body: dict[str, Any], out: dict[str, Any]) -> None:
    max_tokens = body.get("max_tokens")
    if max_tokens is not None:
        if type(max_tokens) is not int:
            raise TranslationError("must be an integer", "max_tokens")
        # max_tokens, not max_completion_tokens: most compatible servers know only this one.
        out["max_tokens"] = max_tokens
    for key in ("temperature", "top_p"):
        value = body.get(key)
        if value is not None:
            if type(value) not in (int, float):
                raise TranslationError("must be a number", key)
            out[key] = value
    stops = body.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise TranslationError("must be a list of strings", "stop_sequences")
        if stops:
            out["stop"] = stops


def _reasoning_effort(body: dict[str, Any]) -> str | None:
    thinking = body.get("thinking")
    if thinking is None:
        return None
    if not isinstance(thinking, dict) or not isinstance(thinking.get("type"), str):
        raise TranslationError("must be an object with a type", "thinking")
    kind = thinking["type"]
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if type(budget) is not int:
            raise TranslationError("must be an integer", "thinking.budget_tokens")
        return "low" if budget <= 2048 else "medium" if budget <= 8192 else "high"
    if kind == "adaptive":
        # Claude Code sends the effort apart from the thinking switch; none means server default.
        config = body.get("output_config")
        effort = config.get("effort") if isinstance(config, dict) else None
        return _EFFORT.get(effort) if isinstance(effort, str) else None
    return None  # "disabled", and kinds newer than this code: no reasoning asked for
