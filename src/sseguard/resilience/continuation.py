"""The request that continues an interrupted answer: the text delivered so far as assistant prefill.

Pure. Anthropic rejects a final assistant turn that ends in whitespace, so trailing whitespace is
cut from the prefill and the repairer trims it from the start of the continuation instead.
"""

from __future__ import annotations

from typing import Any


def continuation_body(body: dict[str, Any], delivered_text: str) -> dict[str, Any]:
    messages = list(body.get("messages") or [])
    prefill = delivered_text
    if messages and isinstance(messages[-1], dict) and messages[-1].get("role") == "assistant":
        # The client's own prefill: the answer continues it, so both are one assistant turn.
        prefill = _text_of(messages[-1].get("content")) + delivered_text
        messages.pop()
    prefill = prefill.rstrip()
    if prefill:
        messages.append({"role": "assistant", "content": prefill})
    return {**body, "messages": messages}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""
