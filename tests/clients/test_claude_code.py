"""The Claude Code CLI (``@anthropic-ai/claude-code``, pinned in package.json, installed by
node_env.py) in print mode through a real gateway process, for every simulator scenario.

How it runs here: ``claude -p PROMPT --model claude-sonnet-4-5+SCENARIO --tools "" --max-turns 1``
with ``ANTHROPIC_BASE_URL`` at the gateway, an empty temporary ``HOME`` and working directory, and
non-essential traffic, telemetry and the auto-updater off. ``--tools ""`` sends no tools, so the
simulator answers with its canonical text (no permission prompt, no ``--dangerously-skip-permissions``
needed); ``--max-turns 1`` ends the run after one model call, so a scenario that forces a tool call
cannot start an agent loop (Claude Code answers an unknown tool with an error and asks again,
hundreds of times a minute). ``CLAUDE_CODE_MAX_RETRIES=0`` turns off Claude Code's own retries (up
to 10, with backoff of minutes): the gateway's retries are what is tested, as with
``max_retries=0`` for the SDKs. Its non-streaming fallback after a broken stream stays on, as
users have it; that is why stdout and stderr are both checked for raw errors.

Claude Code 2.1.330 sends one ``POST /v1/messages?beta=true`` per run here (streaming, several
``anthropic-beta`` values, ``thinking: enabled``, ``tools: []``, no count_tokens call). A side
request with another model name (a title or a haiku call, if a version sends one) carries no
scenario suffix, so the simulator answers it cleanly and it cannot change a verdict.

Verdicts: "answer" exits 0 and prints exactly the simulator's answer (whitespace normalised);
"tool_call" shows the whole tool call in ``--output-format stream-json``; "error" exits non-zero
with Claude Code's "API Error" line and without the full answer. None shows a raw parse error, and
none runs past the hang bound.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from node_env import NodeEnv, claude_env, node_env

from gateway.test_gateway_sdk import FAILING as NO_ATTEMPT_SUCCEEDS
from processes import gateway, gateway_config, simulator
from sseguard.sim import CATALOGUE, expected_answer
from sseguard.sim.content import DEFAULT_TOOL


@dataclass(frozen=True)
class Case:
    scenario: str
    expect: str  # "answer" (the text, printed), "tool_call" (seen in stream-json) or "error"
    thinking: bool = True  # Claude Code's default for this model; False sets MAX_THINKING_TOKENS=0
    model: str = "claude-sonnet-4-5"
    own_retries: bool = False  # Claude Code's own retry loop on (its default), not off

    @property
    def id(self) -> str:
        name = self.scenario if self.thinking else f"{self.scenario}-no-thinking"
        return name if self.model == Case.model else f"{self.model}-{name}"


# Faults after commit on the first attempt only: the gateway resumes after the signed thinking
# block Claude Code asks for by default (docs/faults.md mid-stream rule 3), and without thinking.
MID_STREAM_ONCE = ["close_in_text_once", "stall_mid_stream_once", "stall_with_keepalives_once"]
SPLIT_TEXT: set[str] = set()  # scenarios whose repair sends the text as several blocks
# A model that refuses prefill (F37), as every Claude model since 4.6 does: each cut must still
# end as the complete answer (by instruction), and a persistent one as an error naming the cut.
NO_PREFILL = "claude-sonnet-4-6"
NO_PREFILL_CASES = [
    *(
        Case(name, "answer", model=NO_PREFILL)
        for name in (
            "close_in_text_once",
            "close_after_thinking_once",
            "close_in_thinking_once",
            "truncated_event_once",
        )
    ),
    Case("close_in_tool_call_once", "tool_call", model=NO_PREFILL),
    Case("truncated_tool_input_once", "tool_call", model=NO_PREFILL),
    Case("close_in_text_once", "answer", thinking=False, model=NO_PREFILL),
    Case("close_in_text", "error", model=NO_PREFILL),
]


def case_for(name: str) -> Case:
    if name in NO_ATTEMPT_SUCCEEDS:
        return Case(name, "error")
    if CATALOGUE[name].tool:
        # The simulator forces a tool call (the fault needs a tool block); Claude Code, offered no
        # tools, would answer with a tool error and ask again; --max-turns 1 ends the run there.
        return Case(name, "tool_call")
    if name in SPLIT_TEXT:
        return Case(name, "blocks")
    return Case(name, "answer")


# Claude Code on an OpenAI-compatible model: the same verdicts with an upstream that speaks
# chat.completions with its own faults, through a deployment of kind openai-compatible.
OPENAI_CASES = [
    *(
        Case(name, "answer")
        for name in (
            "oa_clean",
            "oa_reasoning",
            "oa_no_done",
            "oa_empty_choices",
            "oa_keepalive",
            "oa_usage_null",
            "oa_json",
            "oa_429_once",
        )
    ),
    Case("oa_args_split", "tool_call"),
    Case("oa_args_repeated", "tool_call"),
    *(Case(name, "error") for name in ("oa_cut", "oa_no_finish", "oa_error_chunk")),
    Case("oa_cut_once", "answer", thinking=False),
]
# Every scenario of the catalogue but endless_text, which never ends by design (F36).
CASES = [
    *(case_for(name) for name in sorted(set(CATALOGUE) - {"endless_text"})),
    *(Case(name, "answer", thinking=False) for name in MID_STREAM_ONCE),
    *OPENAI_CASES,
    *NO_PREFILL_CASES,
]
WORKERS = 5  # claude processes at a time: each is a large native binary, the machine has 2 cores
HANG_BOUND = 90.0  # wall time per claude run: detects hangs only
RAW_ERRORS = ("Could not parse", "Unexpected token", "SyntaxError", "JSON")


def normalise(text: str) -> str:
    """Claude Code prints the text with its own line breaks (U+2028 included): compare words."""
    return " ".join(text.split())


def _expected(**extra: object) -> dict:
    body = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}
    return expected_answer(body | extra)


# The answer to a request without tools: the canonical text (the thinking block is not printed).
ANSWER = normalise("".join(b["text"] for b in _expected()["content"] if b["type"] == "text"))
# A scenario that forces a tool call answers with the simulator's stand-in tool.
TOOL_ANSWER = _expected(tools=[DEFAULT_TOOL])["content"]


@dataclass
class Run:
    stdout: str
    stderr: str
    returncode: int | None  # None: killed at the hang bound
    seconds: float


def run_claude(env: NodeEnv, base_url: str, case: Case, tmp: Path) -> Run:
    home = tmp / f"home-{case.id}"
    work = tmp / f"work-{case.id}"
    home.mkdir()
    work.mkdir()
    cmd = [
        str(env.claude),
        "-p",
        f"Tell me about {case.id}",  # a distinct conversation per case for the _once counters
        "--model",
        f"{case.model}+{case.scenario}",
        "--tools",
        "",
        "--max-turns",
        "1",
        "--no-session-persistence",
    ]
    if case.expect in ("tool_call", "blocks"):
        cmd += ["--output-format", "stream-json", "--verbose"]
    run_env = claude_env(home, base_url)
    if not case.own_retries:
        run_env["CLAUDE_CODE_MAX_RETRIES"] = "0"
    if not case.thinking:
        run_env["MAX_THINKING_TOKENS"] = "0"
    started = time.monotonic()
    try:
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=HANG_BOUND,
            cwd=work,
            env=run_env,
        )
    except subprocess.TimeoutExpired as exc:
        return Run(_text(exc.stdout), _text(exc.stderr), None, HANG_BOUND)
    return Run(proc.stdout, proc.stderr, proc.returncode, time.monotonic() - started)


def _text(data: str | bytes | None) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data or ""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    env = node_env()
    tmp = tmp_path_factory.mktemp("claude-code")
    with (
        simulator() as sim_url,
        gateway(
            with_openai_route(with_beta_free_route(gateway_config(tmp, sim_url), sim_url), sim_url)
        ) as gw_url,
        ThreadPoolExecutor(max_workers=WORKERS) as pool,
    ):
        futures = {case.id: pool.submit(run_claude, env, gw_url, case, tmp) for case in CASES}
        yield {case_id: f.result() for case_id, f in futures.items()}


def with_beta_free_route(config: Path, sim_url: str) -> Path:
    """F28 the way an operator fixes it: the provider that refuses anthropic-beta values (the
    beta_rejected scenario) gets a deployment whose allow list is empty, routed before ``*``."""
    text = config.read_text().replace(
        "[[routes]]",
        f"""[[deployments]]
name = "sim-no-betas"
base_url = "{sim_url}"
kind = "anthropic-compatible"
passthrough_key = true
anthropic_beta = {{ allow = [] }}

[[routes]]
match = "*+beta_rejected"
deployments = ["sim-no-betas"]

[[routes]]""",
        1,
    )
    config.write_text(text)
    return config


def with_openai_route(config: Path, sim_url: str) -> Path:
    """Models with an ``oa_`` scenario go to the simulator's chat.completions side."""
    text = config.read_text().replace(
        "[[routes]]",
        f"""[[deployments]]
name = "sim-openai"
base_url = "{sim_url}/v1"
kind = "openai-compatible"
api_key = "sk-local"

[[routes]]
match = "*+oa_*"
deployments = ["sim-openai"]

[[routes]]""",
        1,
    )
    config.write_text(text)
    return config


def test_cases_cover_the_catalogue() -> None:
    anthropic_side = {
        case.scenario for case in CASES if case not in OPENAI_CASES and case.model == Case.model
    }
    assert anthropic_side == set(CATALOGUE) - {"endless_text"}
    assert all(
        CATALOGUE[case.scenario].tool
        for case in CASES
        if case.expect == "tool_call" and case not in OPENAI_CASES
    )


def assistant_content(stream_json: str) -> list[dict]:
    """The content blocks of the assistant messages in Claude Code's stream-json output."""
    blocks: list[dict] = []
    for line in stream_json.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("type") == "assistant":
                blocks.extend(event["message"]["content"])
    return blocks


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_claude_code_through_gateway(runs: dict[str, Run], case: Case) -> None:
    run = runs[case.id]
    shown = (
        f"exit {run.returncode} after {run.seconds:.1f} s\n"
        f"stdout: {run.stdout[-1500:]!r}\nstderr: {run.stderr[-1500:]!r}"
    )
    assert run.returncode is not None, f"{case.id}: still running after {HANG_BOUND} s\n{shown}"
    # stream-json output is JSON by design; raw parse errors would still show as these words.
    markers = RAW_ERRORS if case.expect not in ("tool_call", "blocks") else RAW_ERRORS[:-1]
    for marker in markers:
        assert marker not in run.stdout, f"{case.id}: {marker!r} on stdout\n{shown}"
    for marker in RAW_ERRORS:
        assert marker not in run.stderr, f"{case.id}: {marker!r} on stderr\n{shown}"
    if case.expect == "error":
        assert run.returncode != 0, f"{case.id}: a failed turn exited 0\n{shown}"
        said = run.stdout + run.stderr
        # A 401 is shown as what to fix ("Invalid API key"), any other failure as "API Error".
        assert "API Error" in said or "Invalid API key" in said, f"{case.id}: no error\n{shown}"
        assert ANSWER not in normalise(run.stdout), f"{case.id}: the full answer, yet\n{shown}"
        # The error names what broke the stream, never a refusal sseguard's own resume caused.
        assert "prefill" not in run.stdout + run.stderr, f"{case.id}\n{shown}"
    elif case.expect == "blocks":
        assert run.returncode == 0, f"{case.id}\n{shown}"
        got = [b["text"] for b in assistant_content(run.stdout) if b["type"] == "text"]
        assert len(got) > 1 and normalise("".join(got)) == ANSWER, f"{case.id}\n{shown}"
    elif case.expect == "tool_call" and case.scenario == "huge_tool_input":
        tools = [b for b in assistant_content(run.stdout) if b["type"] == "tool_use"]
        assert len(tools) == 1 and len(json.dumps(tools[0]["input"])) > 1_000_000, shown[:3000]
    elif case.expect == "tool_call":
        # --max-turns 1 stops after the tool call (exit 1, "max_turns"); the call must be whole.
        got = [b for b in assistant_content(run.stdout) if b["type"] in ("text", "tool_use")]
        want = [b for b in TOOL_ANSWER if b["type"] in ("text", "tool_use")]
        assert [(b["type"], b.get("text"), b.get("name"), b.get("input")) for b in got] == [
            (b["type"], b.get("text"), b.get("name"), b.get("input")) for b in want
        ], f"{case.id}\n{shown}"
        assert '"terminal_reason":"max_turns"' in run.stdout, f"{case.id}\n{shown}"
    else:
        assert run.returncode == 0, f"{case.id}\n{shown}"
        assert normalise(run.stdout) == ANSWER, f"{case.id}\n{shown}"
