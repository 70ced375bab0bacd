"""The part of a client's conversation an Anthropic-style upstream would refuse, left out before
it is sent: thinking blocks without a signature (F27).

Pure. A client that talked to an OpenAI-compatible upstream through the gateway holds that
model's reasoning as thinking blocks with no signature (the translation has none to give). Sent
back to an Anthropic deployment, one such block makes the API refuse the whole request, since
thinking in the history must carry a valid signature. An unsigned block cannot be made valid, and
a refused request helps no one, so it is left out.

The rule, applied to assistant turns only, wherever they are (a trailing prefill included):

- a ``thinking`` block whose ``signature`` is missing, empty or not a string is dropped;
- every other block (signed ``thinking``, ``redacted_thinking``, text, tool use...) is kept as
  the very object that came, so it is sent with the same content, signatures byte for byte;
- an assistant turn left with no block at all is removed, since no text is invented for it;
  when that puts two user turns side by side, they become one turn holding both contents in
  order: what the Messages API does itself with consecutive turns of one role, spelled out for
  the Anthropic-compatible servers that insist on alternation.

User turns, turns whose content is a string, and anything the rule does not name are left alone:
a malformed request is refused upstream as it would have been without the gateway.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def drop_unsigned_thinking(messages: list[Any]) -> tuple[list[Any], int]:
    """The messages without unsigned thinking in assistant turns, and how many blocks that left
    out. The list that came, untouched, when it holds none: the usual case costs a scan only."""
    if not any(_unsigned(block) for block in _assistant_blocks(messages)):
        return messages, 0
    out: list[Any] = []
    dropped = 0
    removed = False  # the turn just before was removed: two user turns may now meet
    for message in messages:
        content = message.get("content") if _role(message) == "assistant" else None
        if isinstance(content, list):
            kept = [block for block in content if not _unsigned(block)]
            dropped += len(content) - len(kept)
            if not kept:
                removed = True
                continue
            if len(kept) < len(content):
                message = {**message, "content": kept}
        elif removed and out and _role(message) == _role(out[-1]) == "user":
            joined = _as_blocks(out[-1].get("content"), message.get("content"))
            if joined is not None:
                out[-1] = {**out[-1], "content": joined}
                removed = False
                continue
        removed = False
        out.append(message)
    return out, dropped


def _assistant_blocks(messages: list[Any]) -> Iterator[Any]:
    for message in messages:
        if _role(message) == "assistant" and isinstance(message.get("content"), list):
            yield from message["content"]


def _unsigned(block: Any) -> bool:
    if not isinstance(block, dict) or block.get("type") != "thinking":
        return False
    signature = block.get("signature")
    return not (isinstance(signature, str) and signature)


def _role(message: Any) -> Any:
    return message.get("role") if isinstance(message, dict) else None


def _as_blocks(*contents: Any) -> list[Any] | None:
    """Contents (strings or block lists) as one block list; ``None`` when one is neither. An
    empty string adds no block: the API refuses empty text blocks."""
    blocks: list[Any] = []
    for content in contents:
        if isinstance(content, str):
            blocks += [{"type": "text", "text": content}] if content else []
        elif isinstance(content, list):
            blocks += content
        else:
            return None
    return blocks
