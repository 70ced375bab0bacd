"""``sseguard demo``: the same broken upstream streams, with and without sseguard, side by side.

Starts the simulator and a gateway in this process, sends each scenario through the official
``anthropic`` SDK twice (straight at the simulator, then through the gateway) and tabulates what the
SDK made of it. It is the "see it work" command on a machine without any provider key.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sseguard.config import Config, Timeouts
from sseguard.gateway.app import Gateway
from sseguard.sim import CATALOGUE, expected_answer, start_in_thread

SCENARIOS = (
    "clean",
    "done_sentinel",
    "glued_text",
    "no_event_lines",
    "split_utf8",
    "duplicate_message_start",
    "index_gap",
    "usage_null",
    "stream_mode_flipped",
    "endless_message_start_once",
    "error_before_content_once",
    "overloaded_529_once",
    "html_502_once",
    "close_in_text_once",
    "stall_mid_stream_once",
    "eof_after_text_delta",
    "error_after_content",
)
DEMO_TOOL = {
    "name": "lookup",
    "description": "Look something up",
    "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}},
}
# Short enough for a demo, long enough that a healthy stream never trips them.
DEMO_TIMEOUTS = Timeouts(connect=3, first_event=6, idle=3, total=60, ping_interval=2)
CLIENT_TIMEOUT = 10.0  # what the SDK waits per read before it gives up (a hang shows as this)
ANSWER_DEADLINE = 30.0  # a stream still going after this is called a hang


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: str  # "complete", "typed error", "WRONG", "hang"
    detail: str
    seconds: float

    def cell(self) -> str:
        mark = {"complete": "✔", "typed error": "✔", "WRONG": "✘", "hang": "✘"}[self.verdict]
        return f"{mark} {self.verdict}: {self.detail} ({self.seconds:.1f} s)"


def judge(name: str, base_url: str) -> Outcome:
    """What the SDK user gets: the whole answer, a clean typed error, a wrong answer, or a hang."""
    import anthropic

    client = anthropic.Anthropic(
        base_url=base_url, api_key="demo", max_retries=0, timeout=CLIENT_TIMEOUT
    )
    body: dict[str, Any] = {
        "model": f"claude-sonnet-4-5+{name}",
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": f"sseguard demo ({base_url}, {name})"}],
    }
    scenario = CATALOGUE[name]
    if scenario.tool:
        body["tools"] = [DEMO_TOOL]
    if scenario.thinking:
        body["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    expected = expected_answer({**body, "model": "claude-sonnet-4-5"})["content"]
    want = "".join(b["text"] for b in expected if b["type"] == "text")
    want_tools = [b["input"] for b in expected if b["type"] == "tool_use"]
    started = time.monotonic()
    try:
        with client.messages.stream(**body) as stream:
            for _ in stream:
                # Endless streams (a message_start loop) never trip a read timeout.
                if time.monotonic() - started > ANSWER_DEADLINE:
                    return Outcome("hang", "events without end", time.monotonic() - started)
            message = stream.get_final_message()
    except anthropic.APITimeoutError:
        return Outcome("hang", "no data, the SDK timed out", time.monotonic() - started)
    except anthropic.APIStatusError as exc:
        error = exc.body.get("error") if isinstance(exc.body, dict) else None
        kind = error.get("type") if isinstance(error, dict) else None
        shown = f"{exc.status_code} {kind}" if kind else str(exc.status_code)
        return Outcome("typed error", f"{type(exc).__name__} {shown}", time.monotonic() - started)
    except Exception as exc:  # what a user would see: raw library errors
        text = (str(exc).splitlines() or [""])[0][:60]
        return Outcome("WRONG", f"{type(exc).__name__}: {text}", time.monotonic() - started)
    seconds = time.monotonic() - started
    got = "".join(b.text for b in message.content if b.type == "text")
    got_tools = [b.input for b in message.content if b.type == "tool_use"]
    if got == want and got_tools == want_tools and message.stop_reason:
        return Outcome("complete", "the whole answer", seconds)
    if not got and not got_tools:
        return Outcome("WRONG", "an empty answer, reported as success", seconds)
    if got == want:
        return Outcome("WRONG", "the tool call differs, reported as success", seconds)
    return Outcome("WRONG", f"{len(got)}/{len(want)} characters, reported as success", seconds)


@contextmanager
def running_gateway(config: Config) -> Iterator[str]:
    """The gateway on a free loopback port in a background thread, for the length of the block."""
    import uvicorn

    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(Gateway(config), fd=sock.fileno(), log_level="error", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="sseguard-demo-gateway", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the demo gateway failed to start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def run(
    scenarios: tuple[str, ...], echo: Callable[[str], None]
) -> list[tuple[str, Outcome, Outcome]]:
    sim_url, stop_sim = start_in_thread()
    try:
        config = Config.simulator(sim_url).model_copy(update={"timeouts": DEMO_TIMEOUTS})
        with running_gateway(config) as gateway_url, ThreadPoolExecutor(max_workers=8) as pool:
            echo(f"simulator at {sim_url}, sseguard at {gateway_url}; {len(scenarios)} scenarios")
            direct = {n: pool.submit(judge, n, sim_url) for n in scenarios}
            guarded = {n: pool.submit(judge, n, gateway_url) for n in scenarios}
            rows = []
            for n in scenarios:
                row = (n, direct[n].result(), guarded[n].result())
                echo(f"  {n}: done")
                rows.append(row)
            return rows
    finally:
        stop_sim()


def table(rows: list[tuple[str, Outcome, Outcome]]) -> str:
    width = max(len(n) for n, _, _ in rows)
    left = max(len(d.cell()) for _, d, _ in rows)
    straight = "SDK straight at the upstream"
    head = f"{'scenario':<{width}}  {'fault':<5} {straight:<{left}}  through sseguard"
    lines = [head, "-" * (len(head) + 30)]
    for name, direct, guarded in rows:
        fault = CATALOGUE[name].fault
        lines.append(f"{name:<{width}}  {fault:<5} {direct.cell():<{left}}  {guarded.cell()}")
    broken = sum(d.verdict in ("WRONG", "hang") for _, d, _ in rows)
    fixed = sum(g.verdict in ("complete", "typed error") for _, _, g in rows)
    lines.append("")
    lines.append(
        f"straight: {broken} of {len(rows)} scenarios gave a wrong answer or hung; "
        f"through sseguard: {fixed} of {len(rows)} gave the whole answer or a clean typed error"
    )
    return "\n".join(lines)
