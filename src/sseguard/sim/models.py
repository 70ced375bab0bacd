"""How the simulator's models treat a request that ends with an assistant turn, as today's do.

Pure. Claude models since 4.6 refuse a prefill outright (F37); an OpenAI-compatible server such as
vLLM without ``continue_final_message`` answers it as if it were not there, from the top. Any
other model carries the prefill on, as Claude models before 4.6 did.
"""

from __future__ import annotations

import re
from typing import Literal

PrefillSupport = Literal["continues", "refuses", "restarts"]

# The 400 Anthropic answers a prefill with on these models: the F37 scenarios play it exactly.
PREFILL_REFUSAL = (
    "This model does not support assistant message prefill. "
    "The conversation must end with a user message."
)
FIRST_REFUSING = (4, 6)
_CLAUDE = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d+))?")
RESTARTING_PREFIX = "vllm-"  # e.g. vllm-llama-3: a server that ignores a prefill


def prefill_support(model: str) -> PrefillSupport:
    """``claude-sonnet-4-6``, ``claude-opus-4-7``, ``claude-sonnet-5``: refuses; ``vllm-*``:
    restarts; anything else continues. A date after the major version (``claude-sonnet-4-20250514``)
    is no minor version."""
    if model.startswith(RESTARTING_PREFIX):
        return "restarts"
    found = _CLAUDE.match(model)
    if found is not None:
        minor = found.group(2)
        version = (int(found.group(1)), int(minor) if minor and len(minor) < 8 else 0)
        if version >= FIRST_REFUSING:
            return "refuses"
    return "continues"
