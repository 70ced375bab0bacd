"""Truthful endings for a stream that cannot be completed (docs/faults.md, mid-stream rules 2, 4 and 5).

``error`` mode closes what the client holds open and ends with an ``event: error`` that says what
failed and how much was delivered; ``finalize`` mode (opt-in) ends it as a complete message with the
operator's stop reason. Nothing here invents an ``end_turn`` unless asked to.
"""

from __future__ import annotations

from typing import Literal

from sseguard.errors import ERROR_TYPES
from sseguard.protocol.events import MESSAGE_DELTA, MESSAGE_START, MESSAGE_STOP, Event
from sseguard.protocol.repair import Failure, Repairer

Mode = Literal["error", "finalize"]


def finalize(
    state: Repairer, mode: Mode, cause: Failure | None = None, *, stop_reason: str = "end_turn"
) -> list[Event]:
    """The last events of a broken stream; afterwards ``state`` accepts nothing more.

    ``cause`` defaults to the repairer's own failure; a caller with its own verdict (a stall, a lost
    connection) passes one.
    """
    cause = cause or state.failure or Failure("F16", "api_error", "the upstream stream broke off")
    started = state.started
    out = state.terminate()
    if mode == "finalize":
        if not started:
            out.append(
                Event.of(
                    {
                        "type": MESSAGE_START,
                        "message": {
                            "id": "msg_sseguard_finalized",
                            "type": "message",
                            "role": "assistant",
                            "content": [],
                            "model": state.model or "",
                            "stop_reason": None,
                            "stop_sequence": None,
                            "usage": {"input_tokens": 0, "output_tokens": 0},
                        },
                    }
                )
            )
        out.append(
            Event.of(
                {
                    "type": MESSAGE_DELTA,
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": int(state.usage.get("output_tokens") or 0)},
                }
            )
        )
        out.append(Event.of({"type": MESSAGE_STOP}))
        state.stop_reason = stop_reason
    else:
        out.append(error_event(cause, describe_delivery(state)))
    return out


def error_event(cause: Failure, delivered: str) -> Event:
    etype = cause.error_type if cause.error_type in ERROR_TYPES else "api_error"
    fault = f" ({cause.fault})" if cause.fault else ""  # sseguard's own failure has no fault ID
    message = f"{cause.message}{fault}; {delivered}"
    return Event.of({"type": "error", "error": {"type": etype, "message": message}})


def describe_delivery(state: Repairer) -> str:
    """How much of the answer the client holds, so a user knows what the error cut short."""
    if not state.started:
        return "nothing was delivered"
    blocks = len(state.blocks)
    chars = len(state.delivered_text)
    return (
        f"sseguard ended the stream after delivering {blocks} content block"
        f"{'' if blocks == 1 else 's'} ({chars} characters of text); the answer is incomplete"
    )
