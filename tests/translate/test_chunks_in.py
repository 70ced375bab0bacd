"""ChunkTranslator against OpenAI-format upstream streams, clean and faulty, through a real Repairer.

Every case is judged on what a client would get: the repaired stream's grammar and the Message it
adds up to, plus the anomalies recorded by fault ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sseguard.protocol.accumulate import Accumulator
from sseguard.protocol.events import Event
from sseguard.protocol.grammar import violations
from sseguard.protocol.repair import Repairer
from sseguard.sse import SSEEvent
from sseguard.translate.chunks_in import ChunkTranslator

DONE = SSEEvent(None, "[DONE]")
USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def chunk(
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    *,
    usage: Any = None,
    choices: Any = None,
    cid: str = "chatcmpl-1",
) -> SSEEvent:
    body: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "qwen3",
        "choices": (
            choices
            if choices is not None
            else [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
        ),
    }
    if usage is not None:
        body["usage"] = usage
    return SSEEvent(None, orjson.dumps(body).decode())


def raw(data: str, name: str | None = None) -> SSEEvent:
    return SSEEvent(name, data)


def text(value: str) -> SSEEvent:
    return chunk({"content": value})


def tool(
    index: int | None = 0,
    cid: str | None = None,
    name: str | None = None,
    args: Any = None,
) -> SSEEvent:
    call: dict[str, Any] = {}
    if index is not None:
        call["index"] = index
    if cid is not None:
        call["id"] = cid
        call["type"] = "function"
    fn: dict[str, Any] = {}
    if name is not None:
        fn["name"] = name
    if args is not None:
        fn["arguments"] = args
    if fn:
        call["function"] = fn
    return chunk({"tool_calls": [call]})


def usage_chunk(usage: Any = USAGE) -> SSEEvent:
    return chunk(choices=[], usage=usage)


ROLE = chunk({"role": "assistant", "content": ""})


@dataclass
class Run:
    events: list[Event]
    repairer: Repairer
    translator: ChunkTranslator

    @property
    def message(self) -> dict[str, Any]:
        acc = Accumulator()
        for e in self.events:
            acc.feed(e)
        assert acc.complete
        return acc.message()

    @property
    def faults(self) -> dict[str, int]:
        return self.repairer.anomalies.counts()

    def details(self, fault: str) -> list[str]:
        entry = self.repairer.anomalies.get(fault)
        return entry.details if entry else []


def run(*events: SSEEvent, model: str = "claude-client", input_tokens: int = 0) -> Run:
    repairer = Repairer()
    translator = ChunkTranslator(repairer.anomalies, model=model, input_tokens=input_tokens)
    out: list[Event] = []
    for event in events:
        for translated in translator.feed(event):
            out += repairer.feed(translated)
    for translated in translator.close():
        out += repairer.feed(translated)
    out += repairer.close()
    return Run(out, repairer, translator)


def complete(*events: SSEEvent, model: str = "claude-client") -> Run:
    """A run whose repaired stream must be a whole, valid Messages stream."""
    result = run(*events, model=model)
    assert violations(result.events, allow_error_end=False) == []
    assert result.repairer.ended
    return result


def blocks(result: Run) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for b in result.message["content"]:
        if b["type"] == "tool_use":
            out.append(("tool_use", (b["id"], b["name"], b["input"])))
        else:
            out.append((b["type"], b[b["type"]]))
    return out


# -- clean streams ---------------------------------------------------------------------------


def test_clean_text_stream() -> None:
    result = complete(ROLE, text("Hel"), text("lo"), chunk({}, "stop"), usage_chunk(), DONE)
    message = result.message
    assert blocks(result) == [("text", "Hello")]
    assert message["stop_reason"] == "end_turn"
    assert message["usage"] == {"input_tokens": 11, "output_tokens": 7}
    assert message["id"] == "msg_chatcmpl-1"
    assert message["model"] == "qwen3"
    assert message["role"] == "assistant"
    assert result.translator.done
    # Without an estimate, message_start can only say 0 input tokens: the Repairer records it.
    assert set(result.faults) <= {"F15"}


def test_input_estimate_stands_in_message_start_until_the_real_count() -> None:
    result = run(ROLE, text("Hi"), chunk({}, "stop"), usage_chunk(), DONE, input_tokens=42)
    start = result.events[0].payload["message"]
    assert start["usage"]["input_tokens"] == 42
    assert result.message["usage"]["input_tokens"] == 11  # the upstream's own count wins
    assert result.faults == {}


@pytest.mark.parametrize(
    ("head", "model", "message_id"),
    [
        ({"id": "msg_x", "model": ""}, "claude-client", "msg_x"),
        ({"id": "gen-1", "model": "llama"}, "llama", "msg_gen-1"),
        ({}, "claude-client", None),
    ],
)
def test_message_id_and_model(head: dict[str, Any], model: str, message_id: str | None) -> None:
    body = {**head, "choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": "stop"}]}
    result = complete(raw(orjson.dumps(body).decode()))
    assert result.message["model"] == model
    if message_id is None:
        assert result.message["id"].startswith("msg_sseguard_")
    else:
        assert result.message["id"] == message_id


@pytest.mark.parametrize("spelling", ["reasoning_content", "reasoning"])
def test_reasoning_then_text(spelling: str) -> None:
    result = complete(
        ROLE,
        chunk({spelling: "Let me "}),
        chunk({spelling: "think.", "content": None}),
        text("Answer"),
        chunk({}, "stop"),
        usage_chunk(),
        DONE,
    )
    assert blocks(result) == [("thinking", "Let me think."), ("text", "Answer")]
    assert result.message["content"][0]["signature"] == ""


def test_reasoning_and_content_in_one_delta_keep_their_order() -> None:
    result = complete(chunk({"reasoning_content": "hm", "content": "ok"}, "stop"), DONE)
    assert blocks(result) == [("thinking", "hm"), ("text", "ok")]


@pytest.mark.parametrize(
    ("finish", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("content_filter", "refusal"),
        # Other servers' words: a cut answer must not read as a finished one.
        ("max_tokens", "max_tokens"),
        ("MAX_TOKENS", "max_tokens"),
        ("Length", "max_tokens"),
        ("stop_sequence", "stop_sequence"),
        ("SAFETY", "refusal"),
        ("eos_token", "end_turn"),
        ("something_new", "end_turn"),
    ],
)
def test_finish_reasons(finish: str, stop_reason: str) -> None:
    result = complete(text("x"), chunk({}, finish), usage_chunk(), DONE)
    assert result.message["stop_reason"] == stop_reason


def test_content_parts_are_read_not_dropped() -> None:
    # Mistral's reasoning models stream content as parts, reasoning nested in "thinking" ones.
    thinking = {"type": "thinking", "thinking": [{"type": "text", "text": "let me see"}]}
    result = complete(
        chunk({"content": [thinking]}),
        chunk({"content": [{"type": "text", "text": "Paris"}]}),
        chunk({"content": [{"type": "text", "text": " it is"}, {"type": "image_url"}]}, "stop"),
        DONE,
    )
    assert blocks(result) == [("thinking", "let me see"), ("text", "Paris it is")]
    assert result.message["stop_reason"] == "end_turn"


def test_intermediate_empty_finish_reason_is_not_an_ending() -> None:
    result = complete(chunk({"content": "a"}, ""), chunk({"content": "b"}, ""), chunk({}, "stop"))
    assert blocks(result) == [("text", "ab")]


# -- tool calls ------------------------------------------------------------------------------

WEATHER = ("call_a", "get_weather", {"city": "Paris"})
TIME = ("call_b", "get_time", {"tz": "CET"})


def test_sequential_tool_calls_stream_live() -> None:
    events = [
        tool(0, "call_a", "get_weather", ""),
        tool(0, args='{"city":'),
        tool(0, args=' "Paris"}'),
        tool(1, "call_b", "get_time", ""),
        tool(1, args='{"tz": "CET"}'),
        chunk({}, "tool_calls"),
        usage_chunk(),
        DONE,
    ]
    repairer = Repairer(atomic_tools=False)
    translator = ChunkTranslator(repairer.anomalies, model="m")
    sent: list[SSEEvent] = []
    for e in events[:3]:
        sent += translator.feed(e)
    # The first call's fragments went out as they came, before the call ended.
    kinds = [orjson.loads(e.data)["type"] for e in sent]
    assert kinds[0] == "message_start"
    assert kinds.count("content_block_delta") == 2
    result = complete(*events)
    assert blocks(result) == [("tool_use", WEATHER), ("tool_use", TIME)]
    assert result.message["stop_reason"] == "tool_use"
    assert set(result.faults) <= {"F15"}


def test_parallel_tool_calls_interleaved_by_index() -> None:
    result = complete(
        ROLE,
        tool(0, "call_a", "get_weather", ""),
        tool(1, "call_b", "get_time", ""),
        tool(0, args='{"city":'),
        tool(1, args='{"tz":'),
        tool(1, args=' "CET"}'),
        tool(0, args=' "Paris"}'),
        chunk({}, "tool_calls"),
        usage_chunk(),
        DONE,
    )
    assert blocks(result) == [("tool_use", WEATHER), ("tool_use", TIME)]
    assert set(result.faults) <= {"F15"}


def test_parallel_calls_all_at_index_zero_are_told_apart_by_id() -> None:
    result = complete(
        tool(0, "call_a", "get_weather", '{"city": "Paris"}'),
        tool(0, "call_b", "get_time", '{"tz": "CET"}'),
        chunk({}, "tool_calls"),
    )
    assert blocks(result) == [("tool_use", WEATHER), ("tool_use", TIME)]


def test_id_and_name_repeated_on_every_fragment() -> None:
    result = complete(
        tool(0, "call_a", "get_weather", '{"ci'),
        tool(0, "call_a", "get_weather", 'ty": "Pa'),
        tool(0, "call_a", "get_weather", 'ris"}'),
        chunk({}, "tool_calls"),
        DONE,
    )
    assert blocks(result) == [("tool_use", WEATHER)]
    assert "F14" not in result.faults


def test_fragments_without_index_continue_the_last_call() -> None:
    result = complete(
        tool(None, "call_a", "get_weather", '{"city"'),
        tool(None, args=': "Paris"}'),
        chunk({}, "tool_calls"),
    )
    assert blocks(result) == [("tool_use", WEATHER)]


def test_whole_arguments_repeated_at_the_end_are_dropped_F14() -> None:
    result = complete(
        tool(0, "call_a", "get_weather", '{"city":'),
        tool(0, args=' "Paris"}'),
        tool(0, args='{"city": "Paris"}'),
        chunk({}, "tool_calls"),
    )
    assert blocks(result) == [("tool_use", WEATHER)]
    assert any("repeated whole" in d for d in result.details("F14"))


def test_nested_object_fragment_is_not_taken_for_a_repeat() -> None:
    result = complete(
        tool(0, "call_a", "f", '{"a": '),
        tool(0, args='{"b": 1}}'),
        chunk({}, "tool_calls"),
    )
    assert blocks(result) == [("tool_use", ("call_a", "f", {"a": {"b": 1}}))]
    assert "F14" not in result.faults


def test_arguments_sent_as_an_object() -> None:
    result = complete(tool(0, "call_a", "get_weather", {"city": "Paris"}), chunk({}, "tool_calls"))
    assert blocks(result) == [("tool_use", WEATHER)]


def test_missing_tool_id_is_derived_and_recorded_F14() -> None:
    result = complete(tool(0, None, "get_weather", '{"city": "Paris"}'), chunk({}, "tool_calls"))
    [(_, (call_id, name, args))] = blocks(result)
    assert call_id.startswith("call_") and call_id.endswith("_0")
    assert (name, args) == ("get_weather", {"city": "Paris"})
    assert any("without id" in d for d in result.details("F14"))
    # The same stream gives the same id: a replay or a resume sees the call it saw before.
    again = complete(tool(0, None, "get_weather", '{"city": "Paris"}'), chunk({}, "tool_calls"))
    assert blocks(again) == blocks(result)


def test_late_name_holds_the_block_until_it_arrives() -> None:
    repairer = Repairer()
    translator = ChunkTranslator(repairer.anomalies, model="m")
    first = translator.feed(tool(0, "call_a", None, '{"city":'))
    assert [orjson.loads(e.data)["type"] for e in first] == ["message_start"]
    result = complete(
        tool(0, "call_a", None, '{"city":'),
        tool(0, name="get_weather", args=' "Paris"}'),
        chunk({}, "tool_calls"),
    )
    assert blocks(result) == [("tool_use", WEATHER)]


def test_late_id_is_adopted_before_the_block_goes_out() -> None:
    result = complete(
        tool(0, None, None, '{"city": "Paris"}'),
        tool(0, "call_a", "get_weather"),
        chunk({}, "tool_calls"),
    )
    assert blocks(result) == [("tool_use", WEATHER)]
    assert "F14" not in result.faults


def test_tool_call_never_named_is_dropped_F14() -> None:
    result = complete(text("Let me check."), tool(0, "call_a", None, "{}"), chunk({}, "tool_calls"))
    assert blocks(result) == [("text", "Let me check.")]
    assert result.message["stop_reason"] == "end_turn"
    assert any("never got a name" in d for d in result.details("F14"))


def test_text_before_tool_calls() -> None:
    result = complete(
        text("Checking."),
        tool(0, "call_a", "get_weather", '{"city": "Paris"}'),
        chunk({}, "tool_calls"),
    )
    assert blocks(result) == [("text", "Checking."), ("tool_use", WEATHER)]


def test_stop_with_tool_calls_becomes_tool_use_F14() -> None:
    result = complete(tool(0, "call_a", "get_weather", '{"city": "Paris"}'), chunk({}, "stop"))
    assert result.message["stop_reason"] == "tool_use"
    assert result.details("F14")


def test_tool_calls_finish_without_calls_becomes_end_turn_F14() -> None:
    result = complete(text("no tools here"), chunk({}, "tool_calls"))
    assert result.message["stop_reason"] == "end_turn"
    assert result.details("F14")


def test_length_with_a_cut_tool_call_is_never_a_tool_use() -> None:
    result = run(tool(0, "call_a", "get_weather", '{"city": "Pa'), chunk({}, "length"))
    # The upstream ran out of tokens inside the call: a legitimate stop, delivered as it came
    # (F14), and never as a tool_use a client would run.
    assert result.repairer.failure is None
    assert result.repairer.stop_reason == "max_tokens"
    assert "F14" in result.repairer.anomalies


# -- usage -----------------------------------------------------------------------------------


def test_ending_waits_for_the_usage_chunk_after_finish() -> None:
    repairer = Repairer()
    translator = ChunkTranslator(repairer.anomalies, model="m")
    translator.feed(text("hi"))
    held = translator.feed(chunk({}, "stop"))
    assert [orjson.loads(e.data)["type"] for e in held] == ["content_block_stop"]
    ending = translator.feed(usage_chunk())
    assert [orjson.loads(e.data)["type"] for e in ending] == ["message_delta", "message_stop"]
    assert orjson.loads(ending[0].data)["usage"] == {"input_tokens": 11, "output_tokens": 7}
    assert translator.feed(DONE) == []
    assert translator.done
    assert translator.close() == []


def test_usage_on_the_finish_chunk_ends_at_once() -> None:
    repairer = Repairer()
    translator = ChunkTranslator(repairer.anomalies, model="m")
    out = translator.feed(chunk({"content": "hi"}, "stop", usage=USAGE))
    assert orjson.loads(out[-1].data)["type"] == "message_stop"


def test_usage_on_the_first_chunk_reaches_message_start() -> None:
    result = complete(
        chunk({"content": "a"}, usage={"prompt_tokens": 5}), chunk({}, "stop"), usage_chunk()
    )
    start = result.events[0].payload["message"]["usage"]
    assert start["input_tokens"] == 5
    assert result.message["usage"]["input_tokens"] == 11


def test_cached_prompt_tokens_are_moved_out_of_input() -> None:
    usage = {**USAGE, "prompt_tokens_details": {"cached_tokens": 4}}
    result = complete(text("a"), chunk({}, "stop"), usage_chunk(usage))
    assert result.message["usage"] == {
        "input_tokens": 7,
        "output_tokens": 7,
        "cache_read_input_tokens": 4,
    }


@pytest.mark.parametrize("usage", [None, {"completion_tokens": None}])
def test_usage_null_or_partial_is_left_for_the_repairer_to_fill_F15(usage: Any) -> None:
    events = [text("a"), chunk({}, "stop", usage=usage), DONE]
    result = complete(*events)
    assert result.message["usage"]["output_tokens"] == 0
    assert any("output_tokens" in d for d in result.details("F15"))


# -- endings ---------------------------------------------------------------------------------


def test_no_done_after_finish_completes_quietly() -> None:
    result = complete(text("a"), chunk({}, "stop"), usage_chunk())
    assert not result.translator.done
    assert set(result.faults) <= {"F15"}


def test_no_done_and_no_usage_chunk_completes_at_close() -> None:
    result = complete(text("a"), chunk({}, "stop"))
    assert result.message["stop_reason"] == "end_turn"
    assert "F16" not in result.faults


@pytest.mark.parametrize("tail", [[], [DONE]], ids=["eof", "done"])
@pytest.mark.parametrize(
    "body",
    [
        [text("partial answer")],
        [chunk({"reasoning_content": "hmm"})],
        [tool(0, "call_a", "get_weather", '{"city": "Paris"}')],
        [ROLE],
    ],
    ids=["text", "thinking", "tool", "nothing"],
)
def test_no_finish_reason_is_never_a_complete_message_F16(
    body: list[SSEEvent], tail: list[SSEEvent]
) -> None:
    result = run(*body, *tail)
    assert not any(e.type in ("message_delta", "message_stop") for e in result.events)
    assert result.repairer.failure is not None
    assert result.repairer.failure.fault == "F16"
    if tail:
        assert any("[DONE] before" in d for d in result.details("F16"))


def test_eof_before_anything_fails() -> None:
    result = run()
    assert result.events == []
    assert result.repairer.failure is not None


@pytest.mark.parametrize(
    ("error", "error_type"),
    [
        ({"message": "Server overloaded", "type": "server_error", "code": 503}, "overloaded_error"),
        ({"message": "busy", "code": "529"}, "overloaded_error"),
        ({"message": "Rate limit reached", "type": "rate_limit_exceeded"}, "rate_limit_error"),
        ({"message": "slow down", "code": 429}, "rate_limit_error"),
        ({"message": "CUDA out of memory", "type": "InternalServerError"}, "api_error"),
        ("plain text error", "api_error"),
    ],
)
def test_error_object_mid_stream_becomes_an_error_event_F17(error: Any, error_type: str) -> None:
    events = [text("partial"), raw(orjson.dumps({"error": error}).decode()), text("more")]
    result = run(*events)
    failure = result.repairer.failure
    assert failure is not None
    assert failure.fault == "F17"
    assert failure.error_type == error_type
    assert failure.upstream_error is not None
    message = error if isinstance(error, str) else error["message"]
    assert failure.upstream_error["error"]["message"] == message


def test_vllm_error_response_shape_and_error_event_name() -> None:
    vllm = {"object": "error", "message": "boom", "type": "BadRequestError", "code": 400}
    result = run(raw(orjson.dumps(vllm).decode()))
    assert result.repairer.failure is not None
    assert result.repairer.failure.fault == "F17"
    named = run(text("a"), raw('{"message": "overloaded"}', "error"))
    assert named.repairer.failure is not None
    assert named.repairer.failure.error_type == "overloaded_error"


def test_openrouter_error_on_a_chunk_with_choices_F17() -> None:
    body = {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "error": {"code": 502, "message": "Provider disconnected"},
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
    }
    result = run(text("partial"), raw(orjson.dumps(body).decode()))
    assert result.repairer.failure is not None
    assert result.repairer.failure.fault == "F17"
    assert "Provider disconnected" in result.repairer.failure.message


@pytest.mark.parametrize("finish", ["error", "abort"])
def test_failed_finish_reason_is_an_error_not_an_ending_F17(finish: str) -> None:
    result = run(text("partial"), chunk({}, finish), usage_chunk(), DONE)
    assert not any(e.type == "message_stop" for e in result.events)
    assert result.repairer.failure is not None
    assert result.repairer.failure.fault == "F17"
    assert result.repairer.failure.error_type == "api_error"


def test_error_after_finish_does_not_spoil_a_complete_answer_F17() -> None:
    result = complete(text("done"), chunk({}, "stop"), raw('{"error": {"message": "late"}}'))
    assert blocks(result) == [("text", "done")]
    assert result.details("F17")


# -- noise -----------------------------------------------------------------------------------


def test_empty_choices_chunks_are_skipped_silently() -> None:
    azure_filter = orjson.dumps({"id": "", "choices": [], "prompt_filter_results": []}).decode()
    result = complete(raw(azure_filter), text("a"), chunk(choices=[]), chunk({}, "stop"), DONE)
    assert blocks(result) == [("text", "a")]
    assert set(result.faults) <= {"F15"}


@pytest.mark.parametrize("body", ["{}", '{"choices": null}', '{"choices": "x"}'])
def test_chunk_without_a_choices_list_is_an_empty_event_F08(body: str) -> None:
    result = complete(text("a"), raw(body), chunk({}, "stop"))
    assert blocks(result) == [("text", "a")]
    assert result.faults.get("F08") == 1


def test_usage_chunk_without_choices_key() -> None:
    result = complete(text("a"), chunk({}, "stop"), raw(orjson.dumps({"usage": USAGE}).decode()))
    assert result.message["usage"]["output_tokens"] == 7
    assert "F08" not in result.faults


@pytest.mark.parametrize("data", ["{not json", "null", "[1, 2]", '"text"', ""])
def test_data_that_is_not_a_json_object_is_dropped_F26(data: str) -> None:
    result = complete(text("a"), raw(data), text("b"), chunk({}, "stop"))
    assert blocks(result) == [("text", "ab")]
    assert result.faults.get("F26") == 1


def test_only_choice_zero_is_translated_F10() -> None:
    def both(a: str, b: str, finish: str | None = None) -> SSEEvent:
        return chunk(
            choices=[
                {"index": 1, "delta": {"content": b}, "finish_reason": finish},
                {"index": 0, "delta": {"content": a}, "finish_reason": finish},
            ]
        )

    result = complete(both("Hel", "Bon"), both("lo", "jour", "stop"), usage_chunk(), DONE)
    assert blocks(result) == [("text", "Hello")]
    assert result.faults.get("F10") == 2


def test_content_after_finish_is_dropped_F23b() -> None:
    result = complete(text("a"), chunk({}, "stop"), text("ghost"), usage_chunk())
    assert blocks(result) == [("text", "a")]
    assert result.details("F23b")


def test_events_after_done_are_ignored() -> None:
    result = complete(text("a"), chunk({}, "stop"), DONE, text("b"), usage_chunk())
    assert blocks(result) == [("text", "a")]


# -- properties ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
fields = st.sampled_from(
    ["content", "reasoning_content", "reasoning", "tool_calls", "role", "index", "id", "name"]
)
tool_fragments = st.fixed_dictionaries(
    {},
    optional={
        "index": st.integers(0, 2) | json_values,
        "id": st.sampled_from(["a", "b", ""]) | json_values,
        "function": st.fixed_dictionaries(
            {},
            optional={
                "name": st.sampled_from(["f", "g"]) | json_values,
                "arguments": st.sampled_from(['{"a":', "1}", "{}", '{"a": 1}']) | json_values,
            },
        )
        | json_values,
    },
)
deltas = st.dictionaries(
    fields, json_values | st.text(max_size=4) | st.lists(tool_fragments, max_size=2)
)
choice = st.fixed_dictionaries(
    {},
    optional={
        "index": st.integers(0, 1) | json_values,
        "delta": deltas | json_values,
        "finish_reason": st.sampled_from([None, "stop", "tool_calls", "length", "", "error"])
        | json_values,
    },
)
chunk_bodies = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "model": json_values,
        "choices": st.lists(choice | json_values, max_size=2) | json_values,
        "usage": st.just(USAGE) | json_values,
        "error": json_values,
        "object": st.sampled_from(["error", "chat.completion.chunk"]),
    },
)
any_event = st.builds(
    SSEEvent,
    st.sampled_from([None, "error", "message"]),
    chunk_bodies.map(lambda b: orjson.dumps(b).decode())
    | st.text(max_size=20)
    | st.just("[DONE]")
    | json_values.map(lambda v: orjson.dumps(v).decode()),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(any_event, max_size=12))
def test_any_input_never_raises_and_a_finished_stream_is_valid(events: list[SSEEvent]) -> None:
    result = run(*events)
    if result.repairer.ended:
        assert violations(result.events, allow_error_end=False) == []


# Plausible upstream steps, what real servers send, in any order before a finish_reason:
# (kind, value, cut) with tool calls numbered in order, their arguments cut in two fragments.
steps = st.one_of(
    st.tuples(st.sampled_from(["content", "reasoning_content", "reasoning"]), st.text(min_size=1)),
    st.tuples(
        st.just("tool"),
        st.dictionaries(
            st.sampled_from("abc"), st.integers(-99, 99) | st.text(max_size=3), max_size=2
        ),
        st.integers(0, 12),
    ),
    st.tuples(st.sampled_from(["empty choices", "role", "garbage", "blank finish"])),
)
NOISE = {
    "empty choices": chunk(choices=[]),
    "role": ROLE,
    "garbage": raw("{oops"),
    "blank finish": chunk({"content": None}, ""),
}


def upstream(plan: list[tuple[Any, ...]]) -> tuple[list[SSEEvent], str, list[Any]]:
    events: list[SSEEvent] = []
    texts: list[str] = []
    calls: list[Any] = []
    for step in plan:
        kind = step[0]
        if kind == "tool":
            n = len(calls)
            args = orjson.dumps(step[1]).decode()
            cut = min(step[2], len(args))
            events += [tool(n, f"call_{n}", f"fn{n}", args[:cut]), tool(n, args=args[cut:])]
            calls.append((f"call_{n}", f"fn{n}", step[1]))
        elif kind in NOISE:
            events.append(NOISE[kind])
        else:
            events.append(chunk({kind: step[1]}))
            if kind == "content":
                texts.append(step[1])
    return events, "".join(texts), calls


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(steps, max_size=8),
    st.sampled_from(["stop", "length", "tool_calls", "content_filter", "eos"]),
    st.lists(st.sampled_from([usage_chunk(), usage_chunk(None), DONE]), max_size=2),
)
def test_plausible_streams_with_a_finish_reason_repair_whole(
    plan: list[tuple[Any, ...]], finish: str, tail: list[SSEEvent]
) -> None:
    events, expected_text, expected_calls = upstream(plan)
    result = complete(*events, chunk({}, finish), *tail)
    message = result.message
    assert "".join(b["text"] for b in message["content"] if b["type"] == "text") == expected_text
    calls = [
        (b["id"], b["name"], b["input"]) for b in message["content"] if b["type"] == "tool_use"
    ]
    assert calls == expected_calls
    if calls and finish != "length" and finish != "content_filter":
        assert message["stop_reason"] == "tool_use"
