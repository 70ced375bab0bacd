"""Words both formats share with different spellings: stop reasons, usage, error types.

One table per concept so the two directions cannot drift apart.
"""

from __future__ import annotations

from typing import Any

# Anthropic stop_reason -> OpenAI finish_reason.
FINISH_REASON: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# OpenAI finish_reason -> Anthropic stop_reason, keys lowercase. ``function_call`` is the legacy
# spelling; the rest are what OpenAI-compatible servers send instead: Anthropic's own words
# (proxies in front of Claude), TGI's ``eos_token``, Gemini's upper-case ``MAX_TOKENS`` and
# ``SAFETY``. An unknown reason reads as ``end_turn``, so a cut answer must not be one of them.
STOP_REASON: dict[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "refusal": "refusal",
    "eos_token": "end_turn",
    "safety": "refusal",
}

# Anthropic error type -> OpenAI error type (the ``error.type`` string OpenAI clients show).
OPENAI_ERROR_TYPE: dict[str, str] = {
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "not_found_error": "not_found_error",
    "request_too_large": "invalid_request_error",
    "rate_limit_error": "rate_limit_error",
    "billing_error": "insufficient_quota",  # what OpenAI calls a spent quota
    "api_error": "server_error",
    "timeout_error": "timeout",
    "overloaded_error": "server_error",
}


def finish_reason(stop_reason: object) -> str:
    """An unknown or missing stop reason of a complete message still ended normally: ``stop``."""
    return FINISH_REASON.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def stop_reason(finish: object) -> str:
    return STOP_REASON.get(finish.lower(), "end_turn") if isinstance(finish, str) else "end_turn"


def openai_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Anthropic usage -> OpenAI usage. OpenAI counts cached prompt tokens inside ``prompt_tokens``;
    Anthropic keeps them apart, so they are added back and reported as ``cached_tokens`` too."""
    cached = _int(usage.get("cache_read_input_tokens"))
    prompt = (
        _int(usage.get("input_tokens")) + _int(usage.get("cache_creation_input_tokens")) + cached
    )
    completion = _int(usage.get("output_tokens"))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def anthropic_usage(usage: object) -> dict[str, int]:
    """OpenAI usage (possibly null or partial) -> Anthropic usage; cached tokens moved out of input."""
    if not isinstance(usage, dict):
        return {"input_tokens": 0, "output_tokens": 0}
    details = usage.get("prompt_tokens_details")
    cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
    prompt = _int(usage.get("prompt_tokens"))
    out = {
        "input_tokens": max(0, prompt - cached),
        "output_tokens": _int(usage.get("completion_tokens")),
    }
    if cached:
        out["cache_read_input_tokens"] = cached
    return out


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
