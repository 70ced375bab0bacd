"""The scenario catalogues: one named entry per fault ID (docs/faults.md) or more for /v1/messages, the ``oa_``
scenarios for /v1/chat/completions, the behaviours that are no fault (an agent, a leak, a judge's
prose, a delay), scenario selection, and the pure step from (scenario, request) to a ``Plan``. Pure
data and functions: no I/O, no aiohttp.

A scenario answers in one dialect only: an ``oa_`` scenario asked on /v1/messages, or a Messages one
on /v1/chat/completions, is the client's mistake (``WrongEndpoint``), not a silent translation.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Any

from sseguard.sim.content import JSON, Persona, build_message, force, shape_of
from sseguard.sim.models import PREFILL_REFUSAL, prefill_support
from sseguard.sim.mutations import (
    MESSAGES,
    TEXT_ERROR,
    Mutation,
    NotApplicable,
    Tail,
    accept_then_silence,
    append,
    clean_draft,
    cut,
    delay,
    drop,
    drop_message_delta_usage,
    duplicate,
    echo_delta,
    flip_stream_mode,
    glue,
    gzip_body,
    html,
    http_error,
    http_json,
    in_message_start,
    insert_after,
    interleave,
    is_delta,
    is_event,
    is_start,
    loop_from,
    only_error_event,
    only_untyped_error,
    out_of_tokens,
    prepend,
    reject_betas,
    renumber,
    restyle,
    rewrite,
    signature_after_stop,
    splice_second_generation,
    sse_only,
    stall_first,
    tool_start_without_input,
    truncate_into_next,
    with_header,
    with_pings,
    with_signature,
)
from sseguard.sim.openai import (
    CHAT,
    EMPTY_CHOICES,
    KEEPALIVE,
    OVERLOADED_CHUNK,
    PROMPT_FILTER,
    RATE_LIMITED,
    arguments,
    carries,
    is_done,
    is_finish,
    null_usage,
)
from sseguard.sim.wire import (
    CHUNKINGS,
    SSE_HEADERS,
    STALL_CAP,
    Ask,
    Dialect,
    Draft,
    Frame,
    LineEnd,
    Plan,
    Raw,
    render,
)

SCENARIO_SEPARATOR = "+"  # in a model name: claude-sonnet-4-5+glued_text@bytes
CHUNKING_SEPARATOR = "@"  # in a scenario spec: crlf@crlf
SSE_TYPE = dict(SSE_HEADERS)["content-type"]
# On an answer that had nothing for some of its scenario's faults to damage (they were skipped).
NOT_APPLIED_HEADER = "x-sim-not-applied"


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named way to answer: which fault ID it plays and how it damages the clean answer."""

    name: str
    fault: str  # the fault ID (docs/faults.md); "-" for the healthy fixtures
    description: str
    mutations: tuple[Mutation, ...] = ()
    chunking: str = "event"
    thinking: bool = False  # the answer gets a thinking block even if the request did not ask
    tool: bool = False  # the answer calls a tool even if the request offered none
    huge: bool = False  # F09: the tool input is several MB on one line
    once: bool = False  # fail only the first attempt of a conversation
    count_tokens_status: int = 200
    tool_calls: int = 1  # a tool answer's number of calls (parallel tool calls)
    dialect: Dialect = MESSAGES  # the one API it answers on
    persona: Persona = "plain"  # how the model behaves (``content.Persona``): the behaviours only


@dataclass(frozen=True, slots=True)
class Selection:
    scenario: Scenario
    chunking: str

    @property
    def spec(self) -> str:
        if self.chunking == self.scenario.chunking:
            return self.scenario.name
        return f"{self.scenario.name}{CHUNKING_SEPARATOR}{self.chunking}"


class ScenarioError(ValueError):
    """A scenario the request cannot have; the client's mistake (HTTP 400)."""

    def __init__(self, spec: str, message: str) -> None:
        super().__init__(message)
        self.spec = spec


class UnknownScenario(ScenarioError):
    """A scenario or chunking name the catalogue does not hold."""

    def __init__(self, spec: str) -> None:
        super().__init__(
            spec,
            f"unknown simulator scenario {spec!r}: run `sseguard sim --list` for the catalogue "
            f"(chunkings: {', '.join(CHUNKINGS)}, as <scenario>{CHUNKING_SEPARATOR}<chunking>)",
        )


class WrongEndpoint(ScenarioError):
    """A scenario asked on the endpoint of an API it does not speak."""

    def __init__(self, spec: str, speaks: Dialect, asked: Dialect) -> None:
        super().__init__(
            spec,
            f"simulator scenario {spec!r} answers {speaks.name} on POST {speaks.path}, not "
            f"{asked.name} on POST {asked.path}: ask for it there, or pick one of this endpoint's "
            "scenarios (`sseguard sim --list`)",
        )


def _s(name: str, fault: str, description: str, *mutations: Mutation, **options: Any) -> Scenario:
    return Scenario(name, fault, description, mutations, **options)


def _oa(name: str, fault: str, description: str, *mutations: Mutation, **options: Any) -> Scenario:
    return Scenario(name, fault, description, mutations, dialect=CHAT, **options)


TEXT = is_delta("text_delta")
TOOL_INPUT = is_delta("input_json_delta")
THINKING = is_delta("thinking_delta")
MESSAGE_START = is_event("message_start")

_BASE: tuple[Scenario, ...] = (
    _s("clean", "-", "a healthy answer: the fixture every other scenario damages"),
    _s(
        "slow_pings",
        "F22",
        "healthy but slow: a 2.5 s pause and an upstream ping every 12 events (about 10 s)",
        with_pings(12, 2.5),
    ),
    _s(
        "thinking_signature_intact",
        "F27",
        "a thinking block with its signature intact (the fixture for the next turn)",
        thinking=True,
    ),
    _s(
        "thinking_signature_damaged",
        "F27",
        "the thinking signature re-serialised with different bytes",
        rewrite(with_signature("EqQBCkgIBBABGAIiQNmX3s1m+U0xTaW11bGF0b3JTaWduYXR1cmU=")),
        thinking=True,
    ),
    _s(
        "thinking_signature_dropped",
        "F27",
        "the signature_delta of the thinking block is missing",
        rewrite(with_signature(None)),
        thinking=True,
    ),
    _s(
        "thinking_signature_late",
        "F27",
        "the signature_delta arrives after the thinking block's content_block_stop",
        sse_only(signature_after_stop),
        thinking=True,
    ),
    _s(
        "done_sentinel",
        "F01",
        "`data: [DONE]` without an event line after message_stop (APIM, vLLM)",
        append(Raw(b"data: [DONE]\n\n")),
    ),
    _s(
        "glued_text",
        "F02",
        "two text deltas glued: the blank line between them turned into spaces (as a Foundry deployment sent them)",
        glue(TEXT),
    ),
    _s(
        "glued_tool_input",
        "F02",
        "two input_json_delta events glued inside a tool call (as a Foundry deployment sent them)",
        glue(TOOL_INPUT),
        tool=True,
    ),
    _s(
        "no_event_lines",
        "F03",
        "only data: lines, no event: lines at all",
        restyle(event_lines=False),
    ),
    _s("data_no_space", "F04", "`data:{...}` without the space", restyle(colon_space=False)),
    _s("crlf", "F05", "CRLF line ends", restyle(line_end=LineEnd.CRLF)),
    _s(
        "crlf_split",
        "F05",
        "CRLF line ends with every CR and its LF in separate writes",
        restyle(line_end=LineEnd.CRLF),
        chunking="crlf",
    ),
    _s("cr_only", "F05", "bare CR line ends", restyle(line_end=LineEnd.CR)),
    _s(
        "mixed_line_ends",
        "F05",
        "CRLF, LF and CR in turn, one per event",
        restyle(line_end=LineEnd.MIXED),
    ),
    _s(
        "unicode_separators",
        "F06",
        "U+2028 sent raw inside a JSON string of a text delta",
        restyle(raw_separators=True),
    ),
    _s(
        "split_utf8",
        "F07",
        "every multi-byte character cut across two writes",
        chunking="utf8",
    ),
    _s(
        "comments_and_retry",
        "F08",
        "`: ping` comments, a `retry:` line and an event: line without data mid-stream",
        insert_after(
            TEXT,
            Raw(b": ping\n\n"),
            Raw(b"retry: 3000\n\n"),
            Raw(b"event: content_block_delta\n\n"),
            nth=4,
        ),
    ),
    _s(
        "huge_tool_input",
        "F09",
        "a tool input of several MB in one data: line",
        tool=True,
        huge=True,
    ),
    _s(
        "unknown_events",
        "F10",
        "an unknown `vertex_event` between deltas",
        insert_after(
            TEXT,
            Frame("vertex_event", {"type": "vertex_event", "region": "europe-west1"}),
            nth=2,
        ),
    ),
    _s("bom", "F35", "a UTF-8 BOM before the first field", prepend(Raw(b"\xef\xbb\xbf"))),
    _s(
        "duplicate_message_start",
        "F11",
        "message_start twice with the same id",
        duplicate(MESSAGE_START),
    ),
    _s(
        "endless_message_start",
        "F11",
        "message_start repeated until the client goes away (as a policy gateway looped; capped at 10 minutes)",
        loop_from(MESSAGE_START, interval=0.05, limit=12_000),
    ),
    _s(
        "spliced_generation",
        "F11",
        "a second message_start with a new id mid-answer, then the whole answer again",
        splice_second_generation(TEXT, nth=5),
    ),
    _s(
        "index_gap",
        "F12",
        "block indices 1, 3, 5... instead of 0, 1, 2",
        renumber(lambda i: 2 * i + 1),
        tool=True,
    ),
    _s(
        "index_reuse",
        "F12",
        "every block at index 0 (text then tool_use)",
        renumber(lambda i: 0),
        tool=True,
    ),
    _s(
        "index_as_string",
        "F12",
        'every block index sent as a string ("0", "1"), text then tool_use',
        renumber(str),
        tool=True,
    ),
    _s(
        "delta_unknown_index",
        "F12",
        "a text delta for index 7, a block never started",
        insert_after(
            TEXT,
            Frame(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 7,
                    "delta": {"type": "text_delta", "text": "stray"},
                },
            ),
            nth=3,
        ),
    ),
    _s(
        "text_start_missing",
        "F12",
        "the text block's content_block_start never sent: its deltas come for a block not started",
        drop(is_start("text")),
    ),
    _s(
        "delta_type_mismatch",
        "F13",
        "a thinking_delta inside a text block",
        echo_delta(TEXT, {"type": "thinking_delta", "thinking": "hmm…"}, nth=3),
    ),
    _s(
        "tool_start_no_input",
        "F14",
        "tool_use content_block_start without an `input` field",
        rewrite(tool_start_without_input),
        tool=True,
    ),
    _s(
        "tool_empty_partial_json",
        "F14",
        "empty partial_json deltas inside a tool call",
        echo_delta(TOOL_INPUT, {"type": "input_json_delta", "partial_json": ""}, nth=2),
        tool=True,
    ),
    _s(
        "usage_null",
        "F15",
        "input_tokens null in message_start",
        in_message_start(input_tokens=None),
    ),
    _s(
        "usage_missing",
        "F15",
        "message_delta without usage",
        rewrite(drop_message_delta_usage),
    ),
    _s(
        "usage_zero",
        "F15",
        "zeros in message_start usage",
        in_message_start(input_tokens=0, output_tokens=0),
    ),
    _s(
        "eof_after_text_delta",
        "F16",
        "the body ends cleanly after a text delta: no block stop, message_delta, message_stop",
        cut(TEXT, 8, Tail.EOF),
    ),
    _s(
        "eof_in_tool_call",
        "F16",
        "the body ends cleanly in the middle of a tool call's JSON",
        cut(TOOL_INPUT, 4, Tail.EOF),
        tool=True,
    ),
    _s(
        "eof_in_thinking",
        "F16",
        "the body ends cleanly inside a thinking block",
        cut(THINKING, 3, Tail.EOF),
        thinking=True,
    ),
    _s(
        "events_after_stop",
        "F23b",
        "a text delta and a second message_stop after message_stop",
        append(
            Frame(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": "!"},
                },
            ),
            Frame("message_stop", {"type": "message_stop"}),
        ),
    ),
    _s(
        "error_before_content",
        "F17",
        "HTTP 200 whose stream is a single overloaded_error event",
        sse_only(only_error_event),
    ),
    _s(
        "error_after_content",
        "F17",
        "an overloaded_error event after some text",
        cut(TEXT, 8, Tail.ERROR),
    ),
    _s(
        "error_untyped",
        "F17",
        'HTTP 200 whose stream is one OpenAI-shaped error, no event: line, no type ("code": "503")',
        sse_only(only_untyped_error),
    ),
    _s(
        "error_text_after_content",
        "F17",
        "an error event whose data is plain text (upstream request timeout) after some text",
        cut(TEXT, 8, Tail.ERROR, TEXT_ERROR),
    ),
    _s(
        "overloaded_529",
        "F18",
        "HTTP 529 with Anthropic's overloaded_error body",
        http_error(529, "overloaded_error", "Overloaded"),
    ),
    _s(
        "server_error_500",
        "F18",
        "HTTP 500 with Anthropic's api_error body",
        http_error(500, "api_error", "Internal server error"),
    ),
    _s(
        "rate_limited_429",
        "F19",
        "HTTP 429 rate_limit_error with `retry-after: 1`",
        http_error(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            ("retry-after", "1"),
        ),
    ),
    _s(
        "close_in_text",
        "F20",
        "TCP close without the chunked terminator after some text",
        cut(TEXT, 8, Tail.ABORT),
    ),
    _s(
        "close_in_tool_call",
        "F20",
        "TCP close in the middle of a tool call's JSON",
        cut(TOOL_INPUT, 4, Tail.ABORT),
        tool=True,
    ),
    _s(
        "close_in_thinking",
        "F20",
        "TCP close inside a thinking block",
        cut(THINKING, 3, Tail.ABORT),
        thinking=True,
    ),
    _s(
        "close_after_thinking",
        "F20",
        "TCP close in the text that follows a complete, signed thinking block",
        cut(TEXT, 8, Tail.ABORT),
        thinking=True,
    ),
    _s(
        "truncated_event",
        "F39",
        "a text delta's JSON cut mid-string with the next event's `event:` line glued on (as a Foundry deployment sent them)",
        truncate_into_next(TEXT, 8),
    ),
    _s(
        "truncated_tool_input",
        "F39",
        "an input_json_delta cut mid-string with the next event glued on, as a Foundry deployment sent it",
        truncate_into_next(TOOL_INPUT, 3),
        tool=True,
    ),
    _s(
        "stall_before_first_byte",
        "F21",
        "no status line, no byte, until the client goes away (cap 10 minutes)",
        stall_first,
    ),
    _s(
        "accept_then_silence",
        "F21",
        "200 and one keep-alive comment, then silence until the client goes away (cap 10 minutes)",
        sse_only(accept_then_silence),
    ),
    _s(
        "unauthorized_401",
        "F40",
        "HTTP 401 authentication_error, every time: clients that retry it multiply the calls",
        http_error(401, "authentication_error", "invalid x-api-key"),
    ),
    _s(
        "bad_request_400",
        "F40",
        "HTTP 400 invalid_request_error, every time (a request the model cannot take)",
        http_error(
            400, "invalid_request_error", "messages.0: text content blocks must be non-empty"
        ),
    ),
    _s(
        "stall_mid_stream",
        "F21",
        "200 and some text, then silence until the client goes away (cap 10 minutes)",
        cut(TEXT, 8, Tail.STALL),
    ),
    _s(
        "stall_with_keepalives",
        "F21",
        "200 and some text, then only `: keep-alive` comments, one a second (cap 10 minutes)",
        cut(TEXT, 8, Tail.KEEPALIVE),
    ),
    _s(
        "stall_with_pings",
        "F38",
        "200 and some text, then only `event: ping`, one a second (cap 10 minutes)",
        cut(TEXT, 8, Tail.PINGS),
    ),
    _s(
        "gzip_sse",
        "F24",
        "the SSE body gzip-compressed with content-encoding: gzip",
        sse_only(gzip_body),
    ),
    _s(
        "stale_content_encoding",
        "F24",
        "content-encoding: gzip on an SSE body that is not compressed (a proxy inflated it)",
        sse_only(with_header("content-encoding", "gzip")),
    ),
    _s(
        "stream_typed_as_json",
        "F26",
        "the SSE body under content-type: application/json, as some gateways label streams",
        sse_only(with_header("content-type", "application/json")),
    ),
    _s(
        "error_json_in_stream",
        "F17",
        "HTTP 200 labelled text/event-stream whose body is an overloaded_error JSON object",
        sse_only(http_error(200, "overloaded_error", "Overloaded")),
        sse_only(with_header("content-type", SSE_TYPE)),
    ),
    _s(
        "message_json_in_stream",
        "F25",
        "stream:true answered with a JSON Message labelled text/event-stream",
        sse_only(flip_stream_mode),
        sse_only(with_header("content-type", SSE_TYPE)),
    ),
    _s(
        "stream_mode_flipped",
        "F25",
        "stream:true answered with a JSON Message, stream:false answered with SSE",
        flip_stream_mode,
    ),
    _s("html_200", "F26", "HTTP 200 with a proxy's HTML page", html(200)),
    _s("html_502", "F26", "HTTP 502 with a proxy's HTML page", html(502)),
    _s(
        "beta_rejected",
        "F28",
        "HTTP 400 when the request carries any anthropic-beta value",
        reject_betas,
    ),
    _s(
        "count_tokens_missing",
        "F29",
        "404 on /v1/messages/count_tokens; messages answer normally",
        count_tokens_status=404,
    ),
    _s(
        "endless_text",
        "F36",
        "text deltas every 0.1 s until the client goes away (cap 10 minutes)",
        loop_from(TEXT, interval=0.1, limit=6_000),
    ),
)

CONTENT = carries("content")

# POST /v1/chat/completions: each stands nearest to the fault ID it names.
_OPENAI: tuple[Scenario, ...] = (
    _oa(
        "oa_clean",
        "-",
        "a healthy chat.completions stream: text, or text and a tool call when tools are offered",
    ),
    _oa(
        "oa_tool",
        "-",
        "a short text and a tool call: the first tool offered, else the stand-in get_weather",
        tool=True,
    ),
    _oa(
        "oa_reasoning",
        "-",
        "delta.reasoning_content (vLLM, DeepSeek) before the text",
        thinking=True,
    ),
    _oa(
        "oa_parallel_tools",
        "-",
        "two tool calls whose argument fragments take turns by index",
        tool=True,
        tool_calls=2,
    ),
    _oa(
        "oa_length",
        "-",
        "stopped by max tokens: a third of the text, then finish_reason length",
        out_of_tokens,
    ),
    _oa("oa_no_done", "F01", "no `data: [DONE]` after the finish chunk", drop(is_done)),
    _oa(
        "oa_no_finish",
        "F16",
        "the body ends cleanly after content deltas: no finish_reason, no [DONE]",
        cut(CONTENT, 8, Tail.EOF),
    ),
    _oa(
        "oa_done_no_finish",
        "F16",
        "`data: [DONE]` without a finish_reason in any chunk",
        drop(is_finish),
    ),
    _oa(
        "oa_empty_choices",
        "F08",
        "chunks with `choices: []`: Azure's prompt-filter chunk first, two more mid-stream",
        prepend(Frame(None, PROMPT_FILTER)),
        insert_after(CONTENT, Frame(None, EMPTY_CHOICES), nth=3),
        insert_after(CONTENT, Frame(None, EMPTY_CHOICES), nth=6),
    ),
    _oa(
        "oa_keepalive",
        "F08",
        "`: keep-alive` comment lines between chunks (OpenRouter)",
        interleave(3, KEEPALIVE),
    ),
    _oa(
        "oa_args_split",
        "F14",
        "tool arguments in 1-3 character fragments, id, type and name repeated on every one",
        arguments(cuts=(1, 3, 2), head_on_every_fragment=True),
        tool=True,
    ),
    _oa(
        "oa_args_repeated",
        "F14",
        "after its fragments, the tool call's whole arguments string once more",
        arguments(whole_again=True),
        tool=True,
    ),
    _oa(
        "oa_usage_null",
        "F15",
        '`"usage": null` on every chunk and no usage chunk, even when include_usage asks',
        rewrite(null_usage),
    ),
    _oa(
        "oa_error_chunk",
        "F17",
        'HTTP 200, some text, then a `data: {"error": ...}` overloaded chunk and the end',
        cut(CONTENT, 8, Tail.EOF),
        append(OVERLOADED_CHUNK),
    ),
    _oa(
        "oa_429",
        "F19",
        "HTTP 429 with OpenAI's rate_limit_exceeded error and `retry-after: 1`",
        http_json(429, RATE_LIMITED, ("retry-after", "1")),
    ),
    _oa(
        "oa_cut",
        "F20",
        "TCP close without the chunked terminator after some text",
        cut(CONTENT, 8, Tail.ABORT),
    ),
    _oa(
        "oa_stall",
        "F21",
        "200 and a few chunks, then silence until the client goes away (cap 10 minutes)",
        cut(CONTENT, 4, Tail.STALL),
    ),
    _oa(
        "oa_json",
        "F25",
        "stream:true answered with a chat.completion JSON, stream:false with chunks",
        flip_stream_mode,
    ),
    _oa("oa_html_502", "F26", "HTTP 502 with a proxy's HTML page", html(502)),
)

# Not faults: how a model behaves where tests of the gateway's policies need it (a tool call to
# hold, a secret to mask, a judge that answers in words). Kept out of CATALOGUE and
# OPENAI_CATALOGUE, which the fault catalogue's tests and the gateway's client matrices iterate.
_BEHAVIOURS: tuple[Scenario, ...] = (
    _s(
        "agent",
        "-",
        "runs the `command` the user quotes with the offered shell tool (Bash, bash, one with a "
        "command property), then answers `Done: <its output>`; without one, the clean answer",
        persona="agent",
    ),
    _s(
        "leak_secret",
        "-",
        "a fake Anthropic key (over several text deltas) and AWS key id in the text; the same "
        "Anthropic key in the tool input when tools are offered",
        persona="leak",
    ),
    _s(
        "judge_prose",
        "-",
        "a judge that answers in prose with no JSON to parse (any model)",
        persona="judge_prose",
    ),
    _oa("oa_agent", "-", "the agent behaviour in chat.completions tool calls", persona="agent"),
    _oa("oa_leak_secret", "-", "the leak_secret behaviour in chat.completions", persona="leak"),
    _oa(
        "oa_judge_prose",
        "-",
        "the judge_prose behaviour in chat.completions",
        persona="judge_prose",
    ),
)
# delay_<seconds> (oa_delay_<seconds>): the clean answer, started that late; any seconds up to the cap.
DELAY = "delay_"
_DELAY = re.compile(r"(oa_)?delay_(\d{1,3}(?:\.\d{1,3})?)")
MAX_DELAY = STALL_CAP

# Transient faults a retry (before commit) or a resume (after commit) must get past.
_ONCE = (
    "rate_limited_429",
    "overloaded_529",
    "server_error_500",
    "error_before_content",
    "error_untyped",
    "close_in_text",
    "close_in_thinking",
    "close_after_thinking",
    "close_in_tool_call",
    "truncated_event",
    "truncated_tool_input",
    "stall_before_first_byte",
    "accept_then_silence",
    "stall_mid_stream",
    "stall_with_keepalives",
    "stall_with_pings",
    "endless_message_start",
    "html_502",
    "oa_429",
    "oa_error_chunk",
    "oa_cut",
    "oa_stall",
    "oa_html_502",
)


def _once(base: Scenario) -> Scenario:
    return replace(
        base,
        name=f"{base.name}_once",
        description=f"{base.description}; first attempt of each conversation only",
        once=True,
    )


def _with_once(base: tuple[Scenario, ...]) -> dict[str, Scenario]:
    return {s.name: s for s in (*base, *(_once(s) for s in base if s.name in _ONCE))}


CATALOGUE = _with_once(_BASE)  # POST /v1/messages: what the rest of the project calls the catalogue
OPENAI_CATALOGUE = _with_once(_OPENAI)  # POST /v1/chat/completions
BEHAVIOURS = {s.name: s for s in _BEHAVIOURS}  # plus delay_<seconds>, made on demand by select
SCENARIOS = {**CATALOGUE, **OPENAI_CATALOGUE, **BEHAVIOURS}
DIALECTS = (MESSAGES, CHAT)
_CLEAN = {MESSAGES.name: "clean", CHAT.name: "oa_clean"}


def select(spec: str, dialect: Dialect | None = None) -> Selection:
    """``name`` or ``name@chunking`` to a selection; ``UnknownScenario`` otherwise, and
    ``WrongEndpoint`` when a ``dialect`` is given and the scenario does not speak it."""
    name, _, chunking = spec.partition(CHUNKING_SEPARATOR)
    scenario = SCENARIOS.get(name) or _delayed(spec, name)
    if scenario is None or (chunking and chunking not in CHUNKINGS):
        raise UnknownScenario(spec)
    if dialect is not None and scenario.dialect is not dialect:
        raise WrongEndpoint(spec, scenario.dialect, dialect)
    return Selection(scenario, chunking or scenario.chunking)


def _delayed(spec: str, name: str) -> Scenario | None:
    """``delay_2.5``: a healthy answer that starts 2.5 s late (``oa_delay_2.5`` on chat.completions);
    None for any other name."""
    found = _DELAY.fullmatch(name)
    if found is None:
        return None
    seconds = float(found.group(2))
    if seconds > MAX_DELAY:
        raise ScenarioError(
            spec, f"simulator scenario {spec!r}: a delay is {MAX_DELAY:g} s at most"
        )
    if found.group(1):
        return _oa(name, "-", f"the clean answer, {seconds:g} s late", delay(seconds))
    return _s(name, "-", f"the clean answer, {seconds:g} s late", delay(seconds))


def default_for(dialect: Dialect, default: Selection) -> Selection:
    """A simulator's default scenario where it speaks ``dialect``; elsewhere that API's clean one."""
    return default if default.scenario.dialect is dialect else select(_CLEAN[dialect.name])


def split_model(model: str) -> tuple[str, str | None]:
    """``claude-sonnet-4-5+glued_text`` to (``claude-sonnet-4-5``, ``glued_text``)."""
    base, sep, spec = model.partition(SCENARIO_SEPARATOR)
    return base, (spec if sep else None)


def _refused_prefill(body: JSON) -> bool:
    messages = body.get("messages")
    return (
        prefill_support(str(body.get("model", ""))) == "refuses"
        and isinstance(messages, list)
        and bool(messages)
        and isinstance(messages[-1], dict)
        and messages[-1].get("role") == "assistant"
    )


def plan_for(selection: Selection, ask: Ask, *, first_attempt: bool = True) -> Plan:
    """The exact answer to a request; a ``_once`` scenario answers cleanly after the first attempt."""
    scenario, dialect = selection.scenario, selection.scenario.dialect
    shape = force(
        shape_of(dialect.as_messages(ask.body)),
        thinking=scenario.thinking,
        tool=scenario.tool,
        huge=scenario.huge,
        tool_calls=scenario.tool_calls,
        persona=scenario.persona,
    )
    message = build_message(shape)
    request_id = "req_01Sim" + hashlib.sha256(str(message["id"]).encode()).hexdigest()[:20]
    base = Draft(ask=ask, dialect=dialect, message=message, status=200, headers=(), items=())
    draft = clean_draft(ask.stream, base)
    skipped = 0
    if _refused_prefill(dialect.as_messages(ask.body)):
        # F37: these models answer nothing to a conversation that ends with their own turn.
        draft = http_error(400, "invalid_request_error", PREFILL_REFUSAL)(draft)
    elif not scenario.once or first_attempt:
        for mutation in scenario.mutations:
            try:
                draft = mutation(draft)
            except NotApplicable:
                skipped += 1
    headers = (*draft.headers, (dialect.request_id_header, request_id))
    if skipped:
        # Said where a test or `sseguard sim` user looks, since the answer is then cleaner than
        # the scenario's description promises.
        note = f"{skipped} of {scenario.name}'s faults: this answer has no event they damage"
        headers = (*headers, (NOT_APPLIED_HEADER, note))
    draft = replace(draft, headers=headers)
    return render(draft, selection.chunking)


__all__ = [
    "BEHAVIOURS",
    "CATALOGUE",
    "DELAY",
    "DIALECTS",
    "OPENAI_CATALOGUE",
    "SCENARIOS",
    "SCENARIO_SEPARATOR",
    "Scenario",
    "ScenarioError",
    "Selection",
    "UnknownScenario",
    "WrongEndpoint",
    "default_for",
    "plan_for",
    "select",
    "split_model",
]
