"""Streamed ``chat.completion.chunk`` events in, Anthropic Messages events out, for the ``Repairer``.

It translates and repairs only what is specific to the OpenAI format; Messages-level defects (usage
holes, missing endings) are left for the ``Repairer`` to find and record. It never invents an ending
the upstream did not send, and never raises on upstream input.

Faults it records, by the nearest fault ID (docs/faults.md):

======  ==============================================================================
F08     a chunk with no ``choices`` list and no usage: nothing to say (an empty event)
F10     choices other than index 0 (``n > 1``): the Messages format has one answer
F14     tool-call defects: a call without id (one is derived) or never named (dropped),
        whole arguments repeated after their pieces (dropped), arguments for a call
        already closed (dropped), a stop reason that contradicts the calls (corrected)
F16     ``[DONE]`` before any ``finish_reason``: the answer was cut short
F17     an error object after the ``finish_reason``: the answer was already complete
F23b    choice deltas after the ``finish_reason`` (dropped)
F26     data that is not a JSON object (dropped)
======  ==============================================================================

In-band errors — an ``{"error": …}`` object, with or without ``choices``, vLLM's
``{"object": "error"}``, and ``finish_reason`` ``error``/``abort`` — become an Anthropic ``error``
event, which the Repairer handles as F17.

Silent on purpose: a missing ``[DONE]`` after a ``finish_reason`` (common and harmless), empty
``choices`` (Azure's filter results, the usage chunk) and EOF without ``finish_reason`` — the
``Repairer`` sees no ``message_stop`` and records F16 itself.
"""

from __future__ import annotations

import enum
import uuid
from typing import Any

import orjson

from sseguard.protocol.anomalies import AnomalyLog
from sseguard.protocol.upstream_errors import error_message_of, error_type_of
from sseguard.sse.decoder import SSEEvent
from sseguard.translate.completion_in import (
    FAILED_FINISH,
    content_parts,
    final_stop_reason,
    generated_tool_id,
    message_id,
)
from sseguard.translate.vocabulary import anthropic_usage

_DONE = "[DONE]"
# NamedTuple's generated __new__ costs as much as the rest of a text chunk's translation.
_new = tuple.__new__
_TEXT_START = {"type": "text", "text": ""}
_THINKING_START = {"type": "thinking", "thinking": "", "signature": ""}
# The JSON orjson would write for these deltas, with only the index and the string to fill in.
_TEXT_DELTA = '{"type":"content_block_delta","index":%d,"delta":{"type":"text_delta","text":%s}}'
_THINKING_DELTA = (
    '{"type":"content_block_delta","index":%d,"delta":{"type":"thinking_delta","thinking":%s}}'
)


class _State(enum.Enum):
    PENDING = "not sent yet: unnamed, or another call holds the open block"
    LIVE = "its block is open; argument fragments stream as they come"
    DONE = "its block was closed, or it was dropped"


class _Call:
    """One upstream tool call, keyed by its index and its id (servers repeat either or both)."""

    __slots__ = ("id", "name", "parts", "state", "upstream_id")

    def __init__(self, call_id: str | None) -> None:
        self.upstream_id = call_id
        self.id = call_id  # the id sent to the client, derived when the upstream gave none
        self.name: str | None = None
        self.parts: list[str] = []
        self.state = _State.PENDING


class ChunkTranslator:
    """Feed the upstream's decoded SSE events; feed what comes out to a ``Repairer``.

    ``model`` names the message when the upstream's chunks do not. Anthropic allows one open block
    at a time while OpenAI interleaves parallel tool calls by index, so one call streams live and
    the others wait whole until it closes — when a new call starts after its arguments parse, or
    when the tool calls end.
    """

    __slots__ = (
        "_by_id",
        "_by_index",
        "_calls",
        "_done",
        "_finish",
        "_index",
        "_input_estimate",
        "_live",
        "_log",
        "_message_id",
        "_model",
        "_open",
        "_over",
        "_tools_sent",
        "_usage",
    )

    def __init__(self, anomalies: AnomalyLog, *, model: str, input_tokens: int = 0) -> None:
        self._log = anomalies
        self._model = model
        # OpenAI reports usage at the end; until then message_start announces this estimate, so a
        # client's context meter does not read 0 (F15). message_delta carries the real count.
        self._input_estimate = input_tokens
        self._message_id: str | None = None
        self._done = False  # [DONE] seen
        self._over = False  # the message ended or failed: nothing more goes out
        self._finish: str | None = None
        self._usage: dict[str, Any] | None = None
        self._index = 0  # the index the next block gets
        self._open: str | None = None  # "text", "thinking" or "tool_use"
        self._live: _Call | None = None
        self._calls: list[_Call] = []
        self._by_index: dict[int, _Call] = {}
        self._by_id: dict[str, _Call] = {}
        self._tools_sent = 0

    @property
    def done(self) -> bool:
        return self._done

    def feed(self, event: SSEEvent) -> list[SSEEvent]:
        data = event.data
        if self._over or self._done:
            if not self._done and data.strip() == _DONE:
                self._done = True
            return []
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            if data.strip() == _DONE:
                return self._on_done()
            self._log.record("F26", f"chunk data is not JSON: {data[:60]!r}")
            return []
        if type(obj) is not dict:
            self._log.record("F26", f"chunk data is not a JSON object: {data[:60]!r}")
            return []
        choices = obj.get("choices")
        if type(choices) is not list:
            return self._no_choices(obj, event.event, data)
        error = obj.get("error")
        if error is not None:
            return self._on_error(error)  # OpenRouter's mid-stream error rides on a chunk
        usage = obj.get("usage")
        if usage is not None and type(usage) is dict:
            self._usage = usage
        if self._message_id is None:
            out = self._start(obj)
        elif len(choices) == 1 and usage is None:
            # The hot path: one choice, no usage (most chunks of most streams).
            choice = choices[0]
            if type(choice) is dict and choice.get("index", 0) == 0:
                return self._on_choice(choice)
            return self._on_choices(choices)
        else:
            out = []
        if len(choices) == 1 and type(choices[0]) is dict and choices[0].get("index", 0) == 0:
            out += self._on_choice(choices[0])
        elif choices:
            out += self._on_choices(choices)
        if self._finish is not None and type(usage) is dict:
            out += self._end()
        return out

    def close(self) -> list[SSEEvent]:
        """EOF. Without a ``finish_reason`` nothing ends the message: truncation is the Repairer's
        to report (F16), never ours to disguise."""
        if self._over or self._finish is None:
            return []
        return self._end()

    # -- chunk level --------------------------------------------------------------------------

    def _start(self, obj: dict[str, Any]) -> list[SSEEvent]:
        mid = message_id(obj.get("id")) or f"msg_sseguard_{uuid.uuid4().hex[:24]}"
        self._message_id = mid
        model = obj.get("model")
        usage = obj.get("usage")
        message: dict[str, Any] = {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "model": model if type(model) is str and model else self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": anthropic_usage(usage)["input_tokens"] or self._input_estimate,
                "output_tokens": 0,
            },
        }
        return [_event("message_start", {"type": "message_start", "message": message})]

    def _no_choices(self, obj: dict[str, Any], name: str | None, data: str) -> list[SSEEvent]:
        error = obj.get("error")
        if error is None and (obj.get("object") == "error" or name == "error"):
            error = obj  # vLLM's ErrorResponse shape, or an error event with a bare body
        if error is not None:
            return self._on_error(error)
        usage = obj.get("usage")
        if type(usage) is dict:
            self._usage = usage
            return self._end() if self._finish is not None else []
        self._log.record("F08", f"chunk without choices dropped: {data[:60]!r}")
        return []

    def _on_choices(self, choices: list[Any]) -> list[SSEEvent]:
        out: list[SSEEvent] = []
        for position, choice in enumerate(choices):
            if type(choice) is not dict:
                continue
            index = choice.get("index", position)
            if index == 0:
                out += self._on_choice(choice)
            else:
                self._log.record("F10", f"choice {index!r} dropped: only choice 0 is translated")
        return out

    def _on_choice(self, choice: dict[str, Any]) -> list[SSEEvent]:
        delta = choice.get("delta")
        finish = choice.get("finish_reason")
        if self._finish is not None:
            if type(delta) is dict and any(delta.get(k) for k in _CONTENT_KEYS):
                self._log.record("F23b", "choice delta after finish_reason dropped")
            return []
        out: list[SSEEvent] = []
        if type(delta) is dict:
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning and type(reasoning) is str:
                out += self._on_fragment("thinking", _THINKING_DELTA, reasoning)
            content = delta.get("content")
            if content:
                if type(content) is str:
                    out += self._on_fragment("text", _TEXT_DELTA, content)
                else:  # content parts (Mistral's reasoning models): lost if left unread
                    for kind, value in content_parts(content):
                        template = _TEXT_DELTA if kind == "text" else _THINKING_DELTA
                        out += self._on_fragment(kind, template, value)
            calls = delta.get("tool_calls")
            if calls and type(calls) is list:
                for call in calls:
                    if type(call) is dict:
                        out += self._on_tool_call(call)
        if finish:  # some servers send "" on every chunk before the last
            if type(finish) is str and finish in FAILED_FINISH:
                return out + self._on_error(f"the upstream ended with finish_reason {finish!r}")
            out += self._close_block()
            self._finish = finish if type(finish) is str else "stop"
        return out

    def _on_fragment(self, kind: str, template: str, value: str) -> list[SSEEvent]:
        out = [] if self._open == kind else self._open_block(kind)
        data = template % (self._index - 1, orjson.dumps(value).decode())
        out.append(_new(SSEEvent, ("content_block_delta", data, "", None, b"", False)))
        return out

    def _open_block(self, kind: str) -> list[SSEEvent]:
        out = self._close_block()
        block = _TEXT_START if kind == "text" else _THINKING_START
        out.append(_block_start(self._index, dict(block)))
        self._index += 1
        self._open = kind
        return out

    def _close_text(self) -> list[SSEEvent]:
        if self._open is None or self._open == "tool_use":
            return []
        self._open = None
        return [_block_stop(self._index - 1)]

    def _close_block(self) -> list[SSEEvent]:
        """Close the open block; waiting tool calls go out whole, since the calls are over."""
        out = self._close_text()
        if self._calls:
            out += self._close_live()
            for call in self._calls:
                if call.state is _State.PENDING:
                    if call.name:
                        out += self._go_live(call)
                        out += self._close_live()
                    else:
                        call.state = _State.DONE
                        self._log.record("F14", "tool call that never got a name dropped")
            self._calls = []
        return out

    # -- tool calls ---------------------------------------------------------------------------

    def _on_tool_call(self, fragment: dict[str, Any]) -> list[SSEEvent]:
        index = fragment.get("index")
        if type(index) is not int:
            index = None
        call_id = fragment.get("id")
        if type(call_id) is not str or not call_id:
            call_id = None
        fn = fragment.get("function")
        name = args = None
        if type(fn) is dict:
            name = fn.get("name")
            args = fn.get("arguments")
        out = self._close_text()
        call = self._find_call(index, call_id)
        if call is None:
            call = _Call(call_id)
            self._calls.append(call)
            if index is not None:
                self._by_index[index] = call
            live = self._live
            if live is not None and _parses(live.parts):
                out += self._close_live()  # sequential calls: the previous one is complete
        if call_id is not None:
            self._by_id[call_id] = call
            if call.upstream_id is None:
                call.upstream_id = call_id
                if call.state is _State.PENDING:
                    call.id = call_id  # it came late, but before the block went out
        if call.name is None and type(name) is str and name:
            call.name = name
        if type(args) is dict:
            args = _dumps(args)  # some servers send the object instead of its JSON text
        if args and type(args) is str:
            out += self._on_arguments(call, args)
        if self._live is None:
            for waiting in self._calls:
                if waiting.state is _State.PENDING:
                    if waiting.name:
                        out += self._go_live(waiting)
                    break  # keep the upstream's order: an unnamed call holds the ones after it
        return out

    def _find_call(self, index: int | None, call_id: str | None) -> _Call | None:
        if call_id is not None:
            found = self._by_id.get(call_id)
            if found is not None:
                return found
        if index is not None:
            found = self._by_index.get(index)
            # A different id at a known index is a new call: some servers send every call at 0.
            if found is not None and (call_id is None or found.upstream_id is None):
                return found
            return None
        if call_id is None and self._calls:
            return self._calls[-1]  # a bare continuation fragment
        return None

    def _on_arguments(self, call: _Call, args: str) -> list[SSEEvent]:
        if call.parts and args.lstrip()[:1] == "{" and _same_json(call.parts, args):
            self._log.record(
                "F14", "tool call arguments repeated whole after their pieces; dropped"
            )
            return []
        if call.state is _State.DONE:
            self._log.record("F14", f"arguments for closed tool call {call.id} dropped")
            return []
        call.parts.append(args)
        if call.state is _State.LIVE:
            return [_input_delta(self._index - 1, args)]
        return []

    def _go_live(self, call: _Call) -> list[SSEEvent]:
        if call.id is None:
            call.id = generated_tool_id(self._message_id, self._tools_sent)
            self._log.record("F14", f"tool call without id; {call.id} given")
        block: dict[str, Any] = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        out = [_block_start(self._index, block)]
        if call.parts:
            out.append(_input_delta(self._index, "".join(call.parts)))
        self._index += 1
        self._open = "tool_use"
        self._live = call
        call.state = _State.LIVE
        self._tools_sent += 1
        return out

    def _close_live(self) -> list[SSEEvent]:
        call = self._live
        if call is None:
            return []
        call.state = _State.DONE
        self._live = None
        self._open = None
        return [_block_stop(self._index - 1)]

    # -- endings ------------------------------------------------------------------------------

    def _on_done(self) -> list[SSEEvent]:
        self._done = True
        if self._finish is None:
            self._log.record("F16", "[DONE] before any finish_reason: the answer was cut short")
            return []
        return self._end()

    def _on_error(self, error: object) -> list[SSEEvent]:
        if self._finish is not None:
            self._log.record("F17", f"error after finish_reason ignored: {error_message_of(error)}")
            return self._end()
        self._over = True
        err = {"type": error_type_of(error), "message": error_message_of(error)}
        return [_event("error", {"type": "error", "error": err})]

    def _end(self) -> list[SSEEvent]:
        self._over = True
        reason, why = final_stop_reason(self._finish, self._tools_sent)
        if why is not None:
            self._log.record("F14", why)
        payload: dict[str, Any] = {
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": None},
        }
        usage = self._usage
        if usage is not None:
            # A count the upstream did not give is left out, for the Repairer to fill and
            # record (F15), rather than sent as a zero nobody can tell from a real one.
            counts: dict[str, Any] = anthropic_usage(usage)
            if type(usage.get("completion_tokens")) is not int:
                del counts["output_tokens"]
            if type(usage.get("prompt_tokens")) is not int:
                del counts["input_tokens"]
            payload["usage"] = counts
        return [_event("message_delta", payload), _event("message_stop", {"type": "message_stop"})]


_CONTENT_KEYS = ("content", "reasoning_content", "reasoning", "tool_calls")


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _event(name: str, payload: dict[str, Any]) -> SSEEvent:
    return _new(SSEEvent, (name, _dumps(payload), "", None, b"", False))


def _block_start(index: int, block: dict[str, Any]) -> SSEEvent:
    return _event(
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": block},
    )


def _block_stop(index: int) -> SSEEvent:
    return _event("content_block_stop", {"type": "content_block_stop", "index": index})


def _input_delta(index: int, part: str) -> SSEEvent:
    delta = {"type": "input_json_delta", "partial_json": part}
    return _event(
        "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    )


def _parses(parts: list[str]) -> bool:
    try:
        return type(orjson.loads("".join(parts))) is dict
    except orjson.JSONDecodeError:
        return False


def _same_json(parts: list[str], whole: str) -> bool:
    """The fragment repeats, as a complete JSON object, the arguments its pieces already made."""
    try:
        seen = orjson.loads("".join(parts))
        again = orjson.loads(whole)
    except orjson.JSONDecodeError:
        return False
    return type(seen) is dict and seen == again


__all__ = ["ChunkTranslator"]
