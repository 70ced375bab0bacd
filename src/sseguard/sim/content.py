"""The simulator's deterministic answers: the canonical Message for a request, prefill continuation, and
the clean event sequence that adds up to it. Pure: no I/O, no aiohttp, no knowledge of faults.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, replace
from typing import Any, Literal

import orjson

from sseguard.sim import agent
from sseguard.sim.judge import PROSE_VERDICT, is_judge, verdict
from sseguard.sim.models import prefill_support

JSON = dict[str, Any]
# How a scenario makes the model behave, beyond damaging its answer: ``plain`` is the canonical
# answer; ``agent`` runs a backticked command with the offered shell tool (``sim/agent.py``);
# ``leak`` puts fake secrets in the text and tool input; ``judge_prose`` answers a judge's request
# in words instead of JSON. A ``judge*`` model judges whatever the scenario (``sim/judge.py``).
Persona = Literal["plain", "agent", "leak", "judge_prose"]

# Multi-byte on purpose: accents, CJK, emoji with ZWJ, RTL scripts, and one U+2028, which the clean
# stream escapes as \u2028 and the F06 scenario sends raw (same decoded text either way).
CANONICAL_TEXT = (
    "Voilà: the simulator's canonical answer. 🚀 It mixes accents (café, naïve, Ångström, "
    "São Paulo, Zürich), CJK (日本語のテキスト、中文字符、한국어 문장), emoji (👩‍💻 🎉 🧪 ✅) "
    "and symbols (€ £ ¥ → ≠ ∞).\u2028A second line after a line separator. Every byte of this "
    "paragraph must arrive exactly once and in order, whatever the chunking: ünïcödé, Ελληνικά, "
    "русский, עברית, العربية. Fin 🏁"
)
TOOL_LEAD_TEXT = "Je vérifie avec l'outil — 少々お待ちください ⏳"
THINKING_TEXT = (
    "The request asks for the canonical answer. 考えてみます… Whatever it offers, the answer is "
    "fixed 🤔. Résumé: answer in full."
)
# Base64-looking and fixed, so F27 tests can compare it byte for byte on the next turn.
SIGNATURE = (
    "EqQBCkgIBBABGAIiQNmX3s1mU0xTaW11bGF0b3JTaWduYXR1cmVWMQ8a2vQm7h1Zr0kYcGx9Wq3Jd0E4n6sP"
    "bT2uL8fVxK1cR5aO9gH3yN7mQ4tW0iZ6jB2eD8vU1lA5oS3kF9rX7pC4hG0nM2wY6qE1zI8dJ5uT3bL7vO9"
    "sA=="
)
TOOL_STRING = "Zürich 東京 🌤 São Paulo"
# Fake secrets in the shapes real ones have, for tests of a gateway that must mask them (scenario
# leak_secret). Fixed and derived from a seed, so every run leaks the same bytes; they say "fake"
# inside, and no provider ever issued them.
FAKE_ANTHROPIC_KEY = (
    "sk-ant-api03-"
    + (
        "sseguardSimFakeKeyNotReal-"
        + base64.urlsafe_b64encode(hashlib.shake_256(b"sseguard-sim anthropic").digest(60)).decode()
    )[:93]
    + "AA"
)
FAKE_AWS_KEY_ID = (
    "AKIA"
    + ("SSGSIMFAKE" + base64.b32encode(hashlib.sha256(b"sseguard-sim aws").digest()).decode())[:16]
)
LEAK_TEXT = (
    f"Here is the configuration you asked for 🔑: ANTHROPIC_API_KEY={FAKE_ANTHROPIC_KEY} and "
    f"AWS_ACCESS_KEY_ID={FAKE_AWS_KEY_ID}. Keep both out of version control."
)
HUGE_STRING_BYTES = 3 * 1024 * 1024

DEFAULT_TOOL: JSON = {
    "name": "get_weather",
    "description": "The simulator's stand-in tool, used when a scenario needs a tool call.",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "days": {"type": "integer"},
            "units": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "detailed": {"type": "boolean"},
        },
        "required": ["location"],
    },
}

# Irregular cycles so deltas start and end at arbitrary places: mid-word, mid-JSON-string.
TEXT_CUTS = (5, 17, 9, 13, 3, 21, 11, 7)
JSON_CUTS = (3, 8, 1, 12, 5, 2, 9)
_SCHEMA_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Shape:
    """What the answer holds, read from the request; scenarios may force thinking or a tool."""

    model: str
    input_tokens: int
    thinking: bool
    tools: tuple[JSON, ...]
    prefill: (
        str  # the answer so far: a trailing assistant turn, or the one an instruction continues
    )
    instructed: bool = False  # asked to continue its previous turn: it restates its last words
    huge_input: bool = False
    tool_calls: int = 1  # how many tool_use blocks a tool answer holds (parallel tool calls)
    persona: Persona = "plain"
    asked: str = ""  # every word of the last user turn, JSON it quotes included (judge, agent)
    tool_result: str | None = None  # the text of that turn's tool results, None when it has none


def shape_of(body: JSON) -> Shape:
    thinking = body.get("thinking")
    tools = body.get("tools")
    model = str(body.get("model") or "claude-sim")
    instructed = continued_turn(body)
    prefill = instructed if instructed is not None else prefill_of(body)
    if instructed is None and prefill_support(model) == "restarts":
        prefill = ""  # the server reads the conversation as if the prefill were not there
    asked, tool_result = last_user_turn(conversation_of(body))
    return Shape(
        model=model,
        input_tokens=estimate_tokens(body),
        thinking=isinstance(thinking, dict) and thinking.get("type") == "enabled",
        tools=tuple(t for t in tools if isinstance(t, dict)) if isinstance(tools, list) else (),
        prefill=prefill,
        instructed=instructed is not None,
        asked=asked,
        tool_result=tool_result,
    )


def force(
    shape: Shape,
    *,
    thinking: bool = False,
    tool: bool = False,
    huge: bool = False,
    tool_calls: int = 1,
    persona: Persona = "plain",
) -> Shape:
    """The shape a scenario needs: a thinking block or a tool call even if the request offered none,
    and how the model behaves."""
    tools = shape.tools if shape.tools or not (tool or huge) else (DEFAULT_TOOL,)
    return replace(
        shape,
        thinking=shape.thinking or thinking,
        tools=tools,
        huge_input=shape.huge_input or huge,
        tool_calls=max(shape.tool_calls, tool_calls),
        persona=persona if persona != "plain" else shape.persona,
    )


def estimate_tokens(body: JSON) -> int:
    """Characters / 4 over what a model would read: the same rule for count_tokens and usage."""
    counted = {k: body[k] for k in ("system", "messages", "tools") if k in body}
    return max(1, len(orjson.dumps(counted).decode()) // 4)


def prefill_of(body: JSON) -> str:
    """The text of a trailing assistant message (string or text blocks), else ""."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return ""
    return _assistant_text(messages[-1]) or ""


def continued_turn(body: JSON) -> str | None:
    """The text of the assistant turn a trailing user turn asks to continue (it says
    "continue"), else None: how the simulator's models follow such an instruction."""
    messages = body.get("messages")
    if not isinstance(messages, list) or len(messages) < 2:
        return None
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        return None
    if "continue" not in _text(last.get("content")).lower():
        return None
    return _assistant_text(messages[-2])


def conversation_of(body: JSON) -> list[Any]:
    """The messages before the answer: without a trailing prefill, or without the turn an
    instruction continues and the instruction (a retry and a resume share it)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return []
    if continued_turn(body) is not None:
        return messages[:-2]
    if messages and prefill_of(body):
        return messages[:-1]
    return messages


def last_user_turn(messages: list[Any]) -> tuple[str, str | None]:
    """(every word of the last user turn, the text of its tool results or None): Anthropic's
    tool_result blocks in that turn, or OpenAI's ``tool`` messages after the last assistant one."""
    results: list[str] = []
    for message in reversed(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role == "tool":
            results.insert(0, _words(message.get("content")))
            continue
        if role == "system":  # Claude Code sends its environment notes as a last system turn
            continue
        if role == "user":
            content = message.get("content")
            blocks = content if isinstance(content, list) else []
            answered = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
            results = [*(_words(b.get("content")) for b in answered), *results]
            return _words(content), "\n".join(results) if answered or results else None
        break
    return "", "\n".join(results) if results else None


def _words(content: Any) -> str:
    """Every word a content holds: strings, text blocks, tool results, tool inputs as JSON."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_words(block) for block in content)
    if not isinstance(content, dict):
        return ""
    if "text" in content:
        return str(content["text"])
    if "content" in content:
        return _words(content["content"])
    if "input" in content:
        return orjson.dumps(content["input"]).decode()
    return ""


def _assistant_text(message: Any) -> str | None:
    """An assistant message's text (string or text blocks); None for any other message."""
    if not isinstance(message, dict) or message.get("role") != "assistant":
        return None
    return _text(message.get("content"))


def _text(content: Any) -> str:
    """A message content's text: the string, or its text blocks joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(b.get("text", ""))
            for b in content
            if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


def sample_input(
    schema: Any, *, huge: bool = False, depth: int = 0, call: int = 0, text: str = TOOL_STRING
) -> Any:
    """A deterministic value for a JSON schema: every property filled, required or not. Strings
    (``text``) differ per ``call`` (0, 1, ...), so parallel calls of one tool cannot be mixed up
    unseen."""
    if not isinstance(schema, dict) or depth > _SCHEMA_DEPTH:
        return _string(huge, call, text)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for union in ("anyOf", "oneOf", "allOf"):
        options = schema.get(union)
        if isinstance(options, list) and options:
            return sample_input(options[0], huge=huge, depth=depth + 1, call=call, text=text)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties")
        if not isinstance(props, dict):
            return {}
        return {
            k: sample_input(v, huge=huge, depth=depth + 1, call=call, text=text)
            for k, v in props.items()
        }
    if kind == "array":
        return [
            sample_input(schema.get("items", {}), huge=huge, depth=depth + 1, call=call, text=text)
        ]
    return {"integer": 42, "number": 1.5, "boolean": True, "null": None}.get(
        str(kind), _string(huge, call, text)
    )


def _string(huge: bool, call: int = 0, text: str = TOOL_STRING) -> str:
    if not huge:
        return text if call == 0 else f"{text} ({call + 1})"
    unit = CANONICAL_TEXT.replace("\u2028", " ") + " "
    return unit * (HUGE_STRING_BYTES // len(unit.encode()) + 1)


def answer_text(shape: Shape) -> str:
    """The answer's text before any prefill is taken off: the persona's, a judge's verdict, or the
    canonical text (a short lead-in when a tool call follows)."""
    if shape.persona == "judge_prose":
        return PROSE_VERDICT
    if is_judge(shape.model):
        return verdict(shape.asked)
    if shape.persona == "leak":
        return LEAK_TEXT
    if shape.persona == "agent" and shape.tools:
        if shape.tool_result is not None:
            return agent.report(shape.tool_result)
        if agent.command_in(shape.asked) is not None:
            return agent.LEAD_TEXT
    return TOOL_LEAD_TEXT if shape.tools else CANONICAL_TEXT


def tool_uses(shape: Shape) -> list[JSON]:
    """The answer's tool_use blocks: none from a judge or an agent reporting back; the offered
    shell tool running the user's command from an agent; else one per call of the shape, whose
    inputs carry the fake key when the persona leaks."""
    if shape.persona == "judge_prose" or is_judge(shape.model) or not shape.tools:
        return []
    if shape.persona == "agent" and shape.tool_result is not None:
        return []  # it reports on the command it ran
    command = agent.command_in(shape.asked) if shape.persona == "agent" else None
    if command is not None:
        tool = agent.shell_tool(shape.tools)
        # The id follows the command: each command of a conversation gets its own.
        return [_tool_use(tool, f"{tool.get('name')}|{command}", agent.tool_input(tool, command))]
    blocks: list[JSON] = []
    for n in range(shape.tool_calls):
        tool = shape.tools[n % len(shape.tools)]
        # The first call's id is the name's hash alone: stable across versions of the catalogue.
        seed = str(tool.get("name")) + (f"#{n}" if n else "")
        schema = tool.get("input_schema", {})
        if shape.persona == "leak":
            arguments = sample_input(schema, call=n, text=f"{TOOL_STRING} {FAKE_ANTHROPIC_KEY}")
            if FAKE_ANTHROPIC_KEY not in orjson.dumps(arguments).decode():
                # A schema without a string to fill: the key goes in anyway, as a model's would.
                arguments = {
                    **(arguments if isinstance(arguments, dict) else {}),
                    "api_key": FAKE_ANTHROPIC_KEY,
                }
        else:
            arguments = sample_input(schema, huge=shape.huge_input, call=n)
        blocks.append(_tool_use(tool, seed, arguments))
    return blocks


def _tool_use(tool: JSON, seed: str, arguments: Any) -> JSON:
    return {
        "type": "tool_use",
        "id": "toolu_01Sim" + hashlib.sha256(seed.encode()).hexdigest()[:16],
        "name": str(tool.get("name", "tool")),
        "input": arguments,
    }


def continuation(text: str, prefill: str, *, restate: bool = False) -> str:
    """The prefill rule: continue after the longest common prefix of the canonical text and the
    prefill. A prefill the text starts with gets exactly the rest; one that diverges, or runs past
    the text into the tool-use phase, gets the canonical remainder after the part that matched.
    ``restate``: as a model asked to continue its previous turn often does, begin again at the
    word before the one the cut split (at least one whole word repeated).
    """
    n = 0
    for a, b in zip(text, prefill, strict=False):
        if a != b:
            break
        n += 1
    if restate and n:
        while n and text[n - 1].isalnum():  # the word the cut split, if any
            n -= 1
        while n and not text[n - 1].isalnum():
            n -= 1
        while n and text[n - 1].isalnum():  # the whole word before it
            n -= 1
    return text[n:]


def message_id(shape: Shape) -> str:
    digest = hashlib.sha256(f"{shape.model}|{shape.input_tokens}|{shape.prefill}".encode())
    return "msg_01Sim" + digest.hexdigest()[:20]


def build_message(shape: Shape) -> JSON:
    """The complete Message for a shape: the non-streaming answer and what the clean stream adds up to.

    A continuation (non-empty prefill) carries no thinking block: the prefill already is the visible
    answer. A tool answer's ``tool_use`` blocks are always complete, also in a continuation.
    """
    content: list[JSON] = []
    if shape.thinking and (shape.instructed or not shape.prefill):
        # An instructed continuation is a new turn, and the model thinks before it again.
        content.append({"type": "thinking", "thinking": THINKING_TEXT, "signature": SIGNATURE})
    text = continuation(answer_text(shape), shape.prefill, restate=shape.instructed)
    if text:
        content.append({"type": "text", "text": text})
    calls = tool_uses(shape)
    content += calls
    return {
        "id": message_id(shape),
        "type": "message",
        "role": "assistant",
        "model": shape.model,
        "content": content,
        "stop_reason": "tool_use" if calls else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": shape.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": _output_tokens(content),
        },
    }


def expected_answer(request_body: JSON) -> JSON:
    """The complete Message a clean answer to ``request_body`` adds up to (streaming or not)."""
    return build_message(shape_of(request_body))


def _output_tokens(content: list[JSON]) -> int:
    return max(1, len(orjson.dumps(content)) // 4)


def clean_events(message: JSON) -> list[JSON]:
    """The Messages stream for a complete Message: payloads in order, each naming its own type."""
    start = {**message, "content": [], "stop_reason": None}
    start["usage"] = {**message["usage"], "output_tokens": 1}
    events: list[JSON] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(message["content"]):
        events.extend(_block_events(index, block, huge=len(orjson.dumps(block)) > 1 << 20))
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": message["usage"]["output_tokens"]},
        }
    )
    events.append({"type": "message_stop"})
    return events


def _block_events(index: int, block: JSON, *, huge: bool) -> list[JSON]:
    kind = block["type"]
    if kind == "thinking":
        opening: JSON = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in pieces(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind == "text":
        opening = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in pieces(block["text"])]
    else:
        opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        raw = orjson.dumps(block["input"]).decode()
        # F09: a huge tool input travels as one data line, as providers send big inputs.
        parts = [raw] if huge else pieces(raw, JSON_CUTS)
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in parts]
    return [
        {"type": "content_block_start", "index": index, "content_block": opening},
        *({"type": "content_block_delta", "index": index, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": index},
    ]


def pieces(text: str, cuts: tuple[int, ...] = TEXT_CUTS) -> list[str]:
    """``text`` cut into deltas of irregular sizes, cycling through ``cuts``."""
    parts: list[str] = []
    pos = 0
    while pos < len(text):
        end = min(len(text), pos + cuts[len(parts) % len(cuts)])
        # Cut words and JSON strings anywhere, but not a JSON escape: the fixture's awkward splits
        # should test accumulation, not how a reader prints half an escape in its errors.
        if text[end - 1] == "\\" and end < len(text):
            end += 1
        parts.append(text[pos:end])
        pos = end
    return parts
