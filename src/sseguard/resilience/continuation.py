"""The request that continues an interrupted answer, in the two ways a model can be asked, and
which way each deployment takes.

Pure, but for ``ContinuationMemory``, the one piece of state shared by a gateway's requests.
``prefill``: the delivered content as a trailing assistant turn the model carries on. Claude
models since 4.6 refuse it (F37, a 400 ``invalid_request_error``), and some OpenAI-compatible
servers answer it with a fresh answer. ``instruct``: the delivered content as an ordinary
assistant turn and a short user turn asking to go on from where it stopped. Either way the
continuation is a second generation: ``protocol.splice`` checks it before the client sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

Strategy = Literal["auto", "prefill", "instruct", "off"]

# The user turn of an instructed continuation. It says where the text stopped, since a model
# that knows it stopped mid-word finishes the word instead of starting a new sentence.
INSTRUCTION = (
    "Your previous reply was interrupted in transit and is incomplete. Continue it from exactly "
    "where it stopped, as if nothing had happened: no preamble, no comment, nothing repeated. "
    "If it stopped in the middle of a word, finish that word. It ended with: {tail}"
)
TAIL_CHARS = 80  # how much of the delivered text the instruction quotes


def prefill_body(body: dict[str, Any], delivered: list[dict[str, Any]]) -> dict[str, Any]:
    """The request with the delivered content as the assistant turn the answer continues."""
    messages, turn = _history(body, delivered)
    if turn:
        messages.append({"role": "assistant", "content": turn})
    return {**body, "messages": messages}


def instruct_body(body: dict[str, Any], delivered: list[dict[str, Any]]) -> dict[str, Any]:
    """The request with the delivered content as a past assistant turn and a user turn that asks
    for the rest: a request that ends with a user message, as every model takes."""
    messages, turn = _history(body, delivered)
    text = "".join(b.get("text", "") for b in turn if b.get("type") == "text")
    if turn:
        messages.append({"role": "assistant", "content": turn})
    tail = text[-TAIL_CHARS:]
    quoted = f"«{'…' if len(text) > TAIL_CHARS else ''}{tail}»" if tail else "(no text yet)"
    messages.append({"role": "user", "content": INSTRUCTION.format(tail=quoted)})
    return {**body, "messages": messages}


def _history(
    body: dict[str, Any], delivered: list[dict[str, Any]]
) -> tuple[list[Any], list[dict[str, Any]]]:
    """The messages before the answer, and the answer's assistant content so far: the client's
    own prefill (it is the answer's start) followed by what was delivered, text runs joined,
    trailing whitespace cut (the API refuses a final assistant turn ending in whitespace; the
    splice check knows the client has it), empty text blocks left out (refused too)."""
    messages = list(body.get("messages") or [])
    blocks: list[dict[str, Any]] = []
    last = messages[-1] if messages else None
    if isinstance(last, dict) and last.get("role") == "assistant":
        messages.pop()
        content = last.get("content")
        if isinstance(content, str):
            blocks.append({"type": "text", "text": content})
        elif isinstance(content, list):
            blocks += [b for b in content if isinstance(b, dict)]
    for block in delivered:
        if blocks and block.get("type") == "text" and blocks[-1].get("type") == "text":
            blocks[-1] = {**blocks[-1], "text": str(blocks[-1].get("text", "")) + block["text"]}
        else:
            blocks.append(block)
    if blocks and blocks[-1].get("type") == "text":
        blocks[-1] = {**blocks[-1], "text": str(blocks[-1].get("text", "")).rstrip()}
    turn = [b for b in blocks if b.get("type") != "text" or b.get("text")]
    return messages, turn


def refuses_prefill(status: int, error_type: str, message: str) -> bool:
    """F37: the deployment refused a request that ends with an assistant turn. Anthropic says
    "This model does not support assistant message prefill..."; other servers word it their way,
    so the rule reads the status and type, then any wording about a final assistant turn."""
    if status not in (400, 422) or error_type != "invalid_request_error":
        return False
    words = message.lower()
    return "prefill" in words or (
        "assistant" in words
        and any(w in words for w in ("must end with", "final", "last message", "trailing"))
    )


class ContinuationMemory:
    """How each deployment continues an answer: as configured, or, for ``auto``, prefill until
    the deployment showed it refuses or ignores one, then ``instruct`` from then on. Shared by
    the requests of one gateway process; what it learned is said in the request log (F37)."""

    def __init__(self) -> None:
        self._instruct: set[str] = set()
        # Told each deployment found to refuse or ignore prefill (resilience/shared.py).
        self.on_learn: Callable[[str], None] | None = None

    def adopt(self, deployment: str) -> None:
        """Another replica learned that ``deployment`` refuses prefill: instruct it from now on."""
        self._instruct.add(deployment)

    def strategy(self, deployment: str, configured: Strategy) -> Strategy:
        if configured != "auto":
            return configured
        return "instruct" if deployment in self._instruct else "prefill"

    def learn(self, deployment: str, configured: Strategy) -> bool:
        """The deployment refused or ignored a prefill. True when it is asked by instruction
        from now on (its strategy is ``auto``), i.e. when asking again differently may help."""
        if configured != "auto" or deployment in self._instruct:
            return False
        self._instruct.add(deployment)
        if self.on_learn is not None:
            self.on_learn(deployment)
        return True
