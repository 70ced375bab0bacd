"""Regenerate ``docs/conformance.md``: every simulator scenario × every real client, straight at the
simulator and through a real sseguard gateway.

    .venv/bin/python tests/conformance.py [--clients python,node,claude] [--scenarios a,b]
                                          [--out docs/conformance.md]

Starts one ``sseguard sim`` and one ``sseguard serve`` process (the test config from
``processes.gateway_config``: short timeouts, two attempts), then runs each scenario (all but
``endless_text``) with each client twice, once per target, and judges what a user would see:

- ``complete``: the whole expected answer (text, tool input, stop reason);
- ``typed error``: a clean error of the client's API error types (Claude Code: "API Error" and a
  non-zero exit);
- ``WRONG``: a cut or empty answer reported as success, a raw parse error, a library exception that
  is not an API error;
- ``hang``: no end within ``HANG_BOUND`` (endless event streams are cut there too).

Clients: the official ``anthropic`` Python SDK (``messages.stream``), ``@anthropic-ai/sdk`` on Node
(``tests/clients/stream.mjs``, streaming) and the Claude Code CLI in print mode (as
``tests/clients/test_claude_code.py`` runs it: thinking on by default). Client retries are off in
both columns, so the sseguard column shows the gateway's own recovery. Progress goes to stderr.

Not a pytest module (its name does not start with ``test_``): the tests assert the gateway column;
this script tabulates both columns for the docs.
"""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
for _path in (TESTS / "clients", TESTS, ROOT / "src"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import Future, ThreadPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import anthropic  # noqa: E402
import test_claude_code as claude_tests  # noqa: E402
from node_env import NodeEnv, node_env  # noqa: E402
from test_claude_code import (  # noqa: E402
    ANSWER,
    TOOL_ANSWER,
    Case,
    normalise,
    run_claude,
    with_beta_free_route,
)
from test_node_sdk import RAW_PARSE_ERRORS, TYPED_ERRORS  # noqa: E402

from gateway.test_gateway_sdk import FAILING, SCENARIOS, request_for  # noqa: E402
from processes import gateway, gateway_config, simulator  # noqa: E402
from sseguard.sim import CATALOGUE, expected_answer  # noqa: E402

HANG_BOUND = 45.0  # no end within this many seconds is a hang (endless streams are cut here)
# Claude Code retries any stream that breaks after its 200 three times itself (4 requests, its
# retry setting and x-should-retry notwithstanding, measured): where sseguard resumes twice on a
# stall of 4 s before its typed error, that alone is 4 x 12 s.
CLAUDE_HANG_BOUND = 90.0
CLIENT_TIMEOUT = 40.0  # the Node SDK's own timeout, inside the process bound
SDK_WORKERS = 8  # Python and Node runs at a time (2 cores; most of a run is waiting)
CLAUDE_WORKERS = 4  # Claude Code runs at a time: a large native binary each
CLIENTS = {"python": "Python SDK", "node": "Node SDK", "claude": "Claude Code"}
TARGETS = ("direct", "sseguard")
# Claude Code asks for thinking by default; the gateway resumes after a signed thinking block
# (docs/faults.md mid-stream rule 3), so it fails no scenario the SDKs get through.
CLAUDE_FAILING: set[str] = set()
# Started first: they take up to the hang bound when nothing cuts them.
SLOW_HINTS = ("stall", "endless", "slow")
COMMAND = ".venv/bin/python tests/conformance.py"


@dataclass(frozen=True)
class Outcome:
    verdict: str  # "complete", "typed error", "WRONG", "hang"
    label: str  # the short cell text, e.g. "typed error 529", "WRONG: parse error"
    detail: str  # what happened, longer (progress and the notes)
    seconds: float


def expected_verdict(name: str, client: str) -> str:
    if name in FAILING or (client == "claude" and name in CLAUDE_FAILING):
        return "typed error"
    return "complete"


def is_right(outcome: Outcome, expected: str) -> bool:
    """The expected verdict; the whole answer is never wrong (a client's own fallback may get it)."""
    return outcome.verdict in (expected, "complete")


def cell(outcome: Outcome, expected: str) -> str:
    return f"{'✔' if is_right(outcome, expected) else '✘'} {outcome.label}"


def _first_line(text: str, limit: int = 100) -> str:
    return (text.strip().splitlines() or [""])[0][:limit]


def _compare(
    text: str, tools: list[Any], stop_reason: str | None, want: dict[str, Any], huge: bool, t: float
) -> Outcome:
    """Judge an answer the client reported as a success against the expected Message."""
    want_text = "".join(b["text"] for b in want["content"] if b["type"] == "text")
    want_tools = [b["input"] for b in want["content"] if b["type"] == "tool_use"]
    tools_ok = (
        len(tools) == 1 and len(json.dumps(tools[0])) > 1_000_000 if huge else tools == want_tools
    )
    if text == want_text and tools_ok and stop_reason == want["stop_reason"]:
        return Outcome("complete", "complete", "the whole answer", t)
    if not text and not tools:
        return Outcome("WRONG", "WRONG: empty answer", "an empty answer, reported as success", t)
    if text != want_text:
        return Outcome(
            "WRONG",
            "WRONG: cut answer",
            f"{len(text)}/{len(want_text)} characters, reported as success",
            t,
        )
    if not tools_ok:
        return Outcome(
            "WRONG", "WRONG: tool input", "the tool input differs, reported as success", t
        )
    return Outcome(
        "WRONG",
        f"WRONG: stop_reason {stop_reason}",
        f"stop_reason {stop_reason!r} instead of {want['stop_reason']!r}",
        t,
    )


def _body(name: str, client: str, target: str) -> dict[str, Any]:
    """request_for's body, with a prompt of its own per client and target (_once counters)."""
    body = request_for(name, True)
    body["messages"] = [{"role": "user", "content": f"Tell me about {name} ({client}, {target})"}]
    return body


def _want(body: dict[str, Any]) -> dict[str, Any]:
    return expected_answer({**body, "model": "claude-sonnet-4-5"})


# --- Python: the official anthropic SDK, streaming (the demo's judge, with the hang bound) ------


def run_python(name: str, target: str, base_url: str) -> Outcome:
    client = anthropic.Anthropic(
        base_url=base_url, api_key="sk-test", max_retries=0, timeout=HANG_BOUND
    )
    body = _body(name, "python", target)
    started = time.monotonic()

    def took() -> float:
        return time.monotonic() - started

    try:
        with client.messages.stream(**body) as stream:
            # Bytes that are no event (keep-alive comments) reset the SDK's read timeout and
            # never reach the loop below: the bound closes the stream under the reader instead.
            cut = threading.Timer(HANG_BOUND, stream.close)
            cut.start()
            try:
                for _ in stream:
                    # An endless event stream (a message_start loop) never trips a read timeout.
                    if took() > HANG_BOUND:
                        return Outcome("hang", "hang", "events without end, cut", took())
            finally:
                cut.cancel()
            if took() >= HANG_BOUND:
                return Outcome("hang", "hang", f"no end within {HANG_BOUND:.0f} s, cut", took())
            message = stream.get_final_message()
    except anthropic.APITimeoutError:
        return Outcome("hang", "hang", "no data until the SDK timed out", took())
    except Exception as exc:
        if took() >= HANG_BOUND:
            detail = f"no end within {HANG_BOUND:.0f} s, cut ({type(exc).__name__})"
            return Outcome("hang", "hang", detail, took())
        return _python_error(exc, took())
    text = "".join(b.text for b in message.content if b.type == "text")
    tools = [b.input for b in message.content if b.type == "tool_use"]
    return _compare(text, tools, message.stop_reason, _want(body), CATALOGUE[name].huge, took())


def _python_error(exc: Exception, took: float) -> Outcome:
    """What the SDK raised, as a user would judge it: typed, or a raw library error."""
    if isinstance(exc, anthropic.APIStatusError):
        if "Could not parse" in str(exc):
            return Outcome("WRONG", "WRONG: parse error", _first_line(str(exc)), took)
        error = exc.body.get("error") if isinstance(exc.body, dict) else None
        kind = error.get("type") if isinstance(error, dict) else None
        shown = f" {exc.status_code}" if exc.status_code != 200 else f": {kind}"
        detail = f"{type(exc).__name__} {exc.status_code} {kind}: {_first_line(str(exc))}"
        return Outcome("typed error", f"typed error{shown}", detail, took)
    if isinstance(exc, anthropic.APIConnectionError):
        detail = f"{type(exc).__name__}: {_first_line(str(exc))} ({exc.__cause__!r})"
        return Outcome("typed error", "typed error: connection", detail, took)
    if any(k.__name__ == "TimeoutException" for k in type(exc).__mro__):
        # Mid-stream the SDK lets its HTTP library's read timeout through (a raw ReadTimeout).
        return Outcome("hang", "hang", f"silence until a raw {type(exc).__name__}", took)
    parse = isinstance(exc, ValueError) or "parse" in str(exc).lower()
    label = "WRONG: parse error" if parse else f"WRONG: {type(exc).__name__}"
    return Outcome("WRONG", label, f"{type(exc).__name__}: {_first_line(str(exc))}", took)


# --- Node: @anthropic-ai/sdk through tests/clients/stream.mjs, streaming ---------------------------


def run_node(env: NodeEnv, name: str, target: str, base_url: str) -> Outcome:
    body = _body(name, "node", target)
    model = body.pop("model")
    cmd = [
        env.node,
        str(env.stream_script),
        base_url,
        model,
        "stream",
        str(int(CLIENT_TIMEOUT * 1000)),
    ]
    started = time.monotonic()
    try:
        proc = subprocess.run(
            cmd,
            input=json.dumps(body),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=HANG_BOUND,
            cwd=env.clients_dir,
            env={"PATH": os.environ.get("PATH", ""), "ANTHROPIC_API_KEY": "sk-test"},
        )
    except subprocess.TimeoutExpired:
        return Outcome("hang", "hang", f"node still running after {HANG_BOUND:.0f} s", HANG_BOUND)
    took = time.monotonic() - started
    lines = proc.stdout.rstrip("\n").split("\n")  # not splitlines(): U+2028 stays raw in JSON
    try:
        out = json.loads(lines[0]) if len(lines) == 1 else None
    except ValueError:
        out = None
    if out is None:
        tail = _first_line(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "")
        return Outcome("WRONG", "WRONG: crash", f"exit {proc.returncode}: {tail}", took)
    if out["ok"]:
        body["model"] = model
        return _compare(
            out["text"],
            out["tool_inputs"],
            out["stop_reason"],
            _want(body),
            CATALOGUE[name].huge,
            took,
        )
    name_, message = out["error_name"], out["message"]
    detail = f"{name_} {out['status']} {out['type']}: {_first_line(message)}"
    if any(m in message or m in proc.stderr for m in RAW_PARSE_ERRORS):
        return Outcome("WRONG", "WRONG: parse error", detail, took)
    if name_ == "APIConnectionTimeoutError":
        return Outcome("hang", "hang", detail, took)
    if out["is_api_error"] and (name_ in TYPED_ERRORS or out["status"] is not None):
        error_type = None
        match = re.search(r'"type":\s*"(\w+_error)"', message)
        if match:
            error_type = match.group(1)
        status = out["status"]
        shown = f" {status}" if status not in (None, 200) else f": {error_type or name_}"
        return Outcome("typed error", f"typed error{shown}", detail, took)
    if name_ == "APIConnectionError":
        return Outcome("typed error", "typed error: connection", detail, took)
    return Outcome("WRONG", f"WRONG: {name_}", detail, took)


# --- Claude Code: the CLI in print mode, run by test_claude_code.run_claude ----------------------


@dataclass(frozen=True)
class TargetCase(Case):
    """A test_claude_code Case whose id (prompt and scratch folders) also names the target."""

    target: str = "direct"

    @property
    def id(self) -> str:
        return f"{self.scenario}-{self.target}"


def run_claude_code(env: NodeEnv, name: str, target: str, base_url: str, tmp: Path) -> Outcome:
    tool = CATALOGUE[name].tool or CATALOGUE[name].huge
    # "tool_call" makes run_claude ask for stream-json, where a tool call is visible.
    case = TargetCase(name, "tool_call" if tool else "answer", target=target)
    run = run_claude(env, base_url, case, tmp)
    took = run.seconds
    both = run.stdout + run.stderr
    tail = _first_line((both.strip().splitlines() or [""])[-1], 120)
    if run.returncode is None:
        bound = f"{CLAUDE_HANG_BOUND:.0f} s"
        return Outcome("hang", "hang", f"claude still running after {bound}", took)
    markers = claude_tests.RAW_ERRORS if not tool else claude_tests.RAW_ERRORS[:-1]
    raw = [m for m in markers if m in run.stdout] + [
        m for m in claude_tests.RAW_ERRORS if m in run.stderr
    ]
    # "API Error: 529 Overloaded..." or "API Error: Request rejected (429) ..."
    api_error = re.search(r"API Error: (?:(\d{3})\b|Request rejected \((\d{3})\))?", both)
    if raw:
        line = next(ln for ln in both.splitlines() if raw[0] in ln)
        return Outcome("WRONG", "WRONG: parse error", _first_line(line, 120), took)
    if tool:
        got = [b for b in claude_tests.assistant_content(run.stdout) if b["type"] == "tool_use"]
        want = [b for b in TOOL_ANSWER if b["type"] == "tool_use"]
        if CATALOGUE[name].huge:
            whole = len(got) == 1 and len(json.dumps(got[0]["input"])) > 1_000_000
        else:
            whole = [(b["name"], b["input"]) for b in got] == [
                (b["name"], b["input"]) for b in want
            ]
        if whole and '"terminal_reason":"max_turns"' in run.stdout and not api_error:
            return Outcome("complete", "complete", "the whole tool call", took)
    elif run.returncode == 0 and normalise(run.stdout) == ANSWER:
        return Outcome("complete", "complete", "the whole answer", took)
    if api_error and run.returncode != 0:
        if not tool and ANSWER in normalise(run.stdout):
            return Outcome("WRONG", "WRONG: answer + error", tail, took)
        status = api_error.group(1) or api_error.group(2)
        shown = f" {status}" if status else ""
        line = next(ln for ln in both.splitlines() if "API Error" in ln)
        return Outcome("typed error", f"typed error{shown}", _first_line(line, 160), took)
    if run.returncode == 0 and not tool:
        shown = normalise(run.stdout)
        if not shown:
            return Outcome("WRONG", "WRONG: empty answer", "exit 0, nothing printed", took)
        return Outcome(
            "WRONG",
            "WRONG: cut answer",
            f"exit 0 with {len(shown)}/{len(ANSWER)} characters: {shown[:60]!r}",
            took,
        )
    if run.returncode != 0 and "Invalid API key" in both:
        # Claude Code shows a 401 as what to fix, not as "API Error".
        return Outcome("typed error", "typed error 401", "Invalid API key", took)
    if tool and api_error is None:
        return Outcome("WRONG", "WRONG: tool call", f"exit {run.returncode}: {tail}", took)
    return Outcome("WRONG", f"WRONG: exit {run.returncode}", tail, took)


# --- The run and the document -------------------------------------------------------------------


def _slow_first(name: str) -> int:
    return 0 if any(hint in name for hint in SLOW_HINTS) else 1


def run_matrix(
    clients: list[str], scenarios: list[str]
) -> tuple[dict[tuple[str, str, str], Outcome], NodeEnv | None]:
    env = node_env() if {"node", "claude"} & set(clients) else None
    claude_tests.HANG_BOUND = CLAUDE_HANG_BOUND  # run_claude reads its bound from its module
    results: dict[tuple[str, str, str], Outcome] = {}
    lock = threading.Lock()
    jobs = sorted(
        ((n, c, t) for n in scenarios for c in clients for t in TARGETS),
        key=lambda job: _slow_first(job[0]),
    )
    total = len(jobs)
    with tempfile.TemporaryDirectory(prefix="sseguard-conformance-") as tmp_dir:
        tmp = Path(tmp_dir)
        with (
            simulator() as sim_url,
            gateway(with_beta_free_route(gateway_config(tmp, sim_url), sim_url)) as gw_url,
            ThreadPoolExecutor(max_workers=SDK_WORKERS) as sdk_pool,
            ThreadPoolExecutor(max_workers=CLAUDE_WORKERS) as claude_pool,
        ):
            urls = {"direct": sim_url, "sseguard": gw_url}
            print(f"simulator at {sim_url}, sseguard at {gw_url}; {total} runs", file=sys.stderr)

            def one(name: str, client: str, target: str) -> Outcome:
                url = urls[target]
                started = time.monotonic()
                try:
                    if client == "python":
                        outcome = run_python(name, target, url)
                    elif client == "node":
                        assert env is not None
                        outcome = run_node(env, name, target, url)
                    else:
                        assert env is not None
                        outcome = run_claude_code(env, name, target, url, tmp)
                except Exception as exc:  # a bug here must not lose the rest of the matrix
                    outcome = Outcome(
                        "WRONG", "WRONG: harness", f"{exc!r}", time.monotonic() - started
                    )
                with lock:
                    results[(name, client, target)] = outcome
                    mark = "ok" if is_right(outcome, expected_verdict(name, client)) else "!!"
                    print(
                        f"[{len(results)}/{total}] {name} {client} {target} -> "
                        f"{outcome.label} [{mark}] ({outcome.seconds:.1f} s) {outcome.detail}",
                        file=sys.stderr,
                        flush=True,
                    )
                return outcome

            futures: list[Future[Outcome]] = []
            for job in jobs:
                pool = claude_pool if job[1] == "claude" else sdk_pool
                futures.append(pool.submit(one, *job))
            for future in futures:
                future.result()
    return results, env


def node_version(env: NodeEnv) -> str:
    out = subprocess.run([env.node, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def render(
    results: dict[tuple[str, str, str], Outcome],
    clients: list[str],
    scenarios: list[str],
    env: NodeEnv | None,
    command: str,
    minutes: float,
) -> str:
    today = datetime.date.today().isoformat()
    versions = {
        "python": f"the official `anthropic` Python SDK {anthropic.__version__}, "
        "`client.messages.stream(...)` then `get_final_message()`",
        "node": f"`@anthropic-ai/sdk` {env.sdk_version if env else '?'} on Node "
        f"{node_version(env) if env else '?'}, `client.messages.stream(...).finalMessage()` "
        "(`tests/clients/stream.mjs`)",
        "claude": f"the Claude Code CLI (`@anthropic-ai/claude-code`, {env.claude_version.removesuffix(' (Claude Code)') if env else '?'}) "
        'in print mode: `claude -p PROMPT --model claude-sonnet-4-5+SCENARIO --tools "" '
        "--max-turns 1`, thinking on (its default), `CLAUDE_CODE_MAX_RETRIES=0`, non-essential "
        "traffic off; scenarios that force a tool call run with `--output-format stream-json` "
        "(as `tests/clients/test_claude_code.py` runs it)",
    }
    failing = sorted(set(scenarios) & FAILING)
    lines = [
        "# Conformance matrix: real clients against broken streams",
        "",
        "Each scenario of the fault simulator (`sseguard sim --list`; all but `endless_text`, which",
        "never ends by design) played to real clients twice: **direct** (the client's base URL at",
        "`sseguard sim`) and **sseguard** (the same simulator behind a real `sseguard serve`",
        "process with the test configuration: idle and first-event timeouts of 4 s, two attempts).",
        "",
        "Clients (versions pinned in `tests/clients/package-lock.json`):",
        "",
        *(f"- **{CLIENTS[c]}**: {versions[c]}." for c in clients),
        "",
        "Client retries are off everywhere (`max_retries=0`, `maxRetries: 0`,",
        "`CLAUDE_CODE_MAX_RETRIES=0`), so the sseguard column shows the gateway's own recovery and the",
        "direct column what a client gets from one attempt.",
        "",
        f"Generated on {today} in {minutes:.1f} minutes by `{command}`. Regenerate it with",
        "",
        "```sh",
        f"{COMMAND}  # options: --clients python,node,claude --scenarios a,b --out PATH",
        "```",
        "",
        "Verdicts, as a user would judge the result:",
        "",
        "- `complete`: the whole expected answer (text, tool input, stop reason; for Claude Code the",
        "  printed answer, or the whole tool call in stream-json).",
        "- `typed error`: a clean error of the client's API error types (HTTP status, an `error`",
        "  event in the stream, or a dropped connection surfaced as the SDK's connection error);",
        "  for Claude Code an `API Error` line and a non-zero exit.",
        "- `WRONG`: a cut or empty answer reported as success, a raw parse error, or a library",
        "  exception that is not an API error.",
        f"- `hang`: no end within {HANG_BOUND:.0f} s, {CLAUDE_HANG_BOUND:.0f} s for Claude Code, "
        "which retries every stream that breaks after its 200 three times itself (endless "
        "event streams are cut there).",
        "",
        "✔ marks the right outcome for the scenario, ✘ anything else. The right outcome is the",
        "complete answer, except for the scenarios no attempt can get through, where it is a clean",
        "typed error: the fault happens on every attempt (HTTP errors, HTML pages, stalls, endless",
        "`message_start`, an `error` event), or after content that a retry cannot take back (a close",
        "or EOF in a tool call or thinking block, a spliced second generation). These are: "
        + ", ".join(f"`{n}`" for n in failing)
        + ". (A complete answer is never counted wrong: a client's own fallback, such as Claude"
        " Code's non-streaming retry, can get one where the stream itself cannot.)",
    ]
    if "claude" in clients:
        lines += [
            "",
            "Claude Code asks for thinking by default; thinking blocks are held until signed,",
            "and the gateway resumes after a signed one (docs/faults.md, mid-stream rule 3).",
            "`beta_rejected` answers 400 to any request with an `anthropic-beta` header, and Claude",
            "Code always sends some. The gateway configuration here routes that scenario to a",
            "deployment with `anthropic_beta = { allow = [] }` (F28, docs/configuration.md), the way",
            "an operator configures a provider that refuses beta values; every other deployment",
            "forwards all values, the default.",
            "`delta_type_mismatch` is repaired by F13's rule: the stray thinking delta is dropped,",
            "since an unsigned thinking block would be refused on the next turn.",
        ]
    header = ["scenario", "fault"]
    for c in clients:
        header += [f"{CLIENTS[c]} direct", f"{CLIENTS[c]} sseguard"]
    lines += [
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for name in scenarios:
        row = [f"`{name}`", CATALOGUE[name].fault]
        for c in clients:
            for t in TARGETS:
                outcome = results.get((name, c, t))
                row.append(cell(outcome, expected_verdict(name, c)) if outcome else "–")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Summary:", ""]
    n = len(scenarios)
    for c in clients:
        right = {
            t: sum(
                is_right(results[(s, c, t)], expected_verdict(s, c))
                for s in scenarios
                if (s, c, t) in results
            )
            for t in TARGETS
        }
        lines.append(
            f"- **{CLIENTS[c]}**: direct: {right['direct']} of {n} right; "
            f"through sseguard: {right['sseguard']} of {n} right."
        )
    wrong = [
        (s, c, t, results[(s, c, t)])
        for s in scenarios
        for c in clients
        for t in TARGETS
        if (s, c, t) in results and not is_right(results[(s, c, t)], expected_verdict(s, c))
    ]
    if wrong:
        lines += [
            "",
            "<details><summary>What happened in each ✘ cell</summary>",
            "",
            *(
                f"- `{s}`, {CLIENTS[c]}, {t}: {o.label} after {o.seconds:.1f} s: "
                + o.detail.replace("|", "\\|").replace("`", "'")
                for s, c, t, o in wrong
            ),
            "",
            "</details>",
        ]
    return "\n".join(lines) + "\n"


def _names(value: str, allowed: list[str], what: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in names if v not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {what}: {', '.join(unknown)}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clients",
        type=lambda v: _names(v, list(CLIENTS), "client"),
        default=list(CLIENTS),
        help="comma-separated: python,node,claude (default: all)",
    )
    parser.add_argument(
        "--scenarios",
        type=lambda v: _names(v, SCENARIOS, "scenario"),
        default=SCENARIOS,
        help="comma-separated catalogue names (default: all but endless_text)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "conformance.md")
    args = parser.parse_args(argv)
    clients = [c for c in CLIENTS if c in args.clients]
    # The catalogue's order (by fault), as `sseguard sim --list` prints it.
    scenarios = [s for s in CATALOGUE if s in args.scenarios]
    started = time.monotonic()
    results, env = run_matrix(clients, scenarios)
    minutes = (time.monotonic() - started) / 60
    shown_args = " ".join(sys.argv[1:] if argv is None else argv)
    command = f"{COMMAND} {shown_args}".strip()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(results, clients, scenarios, env, command, minutes))
    print(f"wrote {args.out} after {minutes:.1f} minutes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
