"""A probe report as a terminal table or JSON; every line passes through ``redact`` so the key (and
any --header value) never reaches the output, even when an endpoint echoes it back.

The prefill check is shown apart from the anomalies: refusing or ignoring a prefill (F37) is what a
model can do, not a fault of its stream, so it leaves the verdict and the exit status alone (an
endpoint with a conformant stream stays conformant) and comes with what handles it instead.
"""

from __future__ import annotations

from typing import Any

import orjson

from sseguard.probe.client import Exchange, Report
from sseguard.probe.findings import escape
from sseguard.probe.prefill import PrefillCheck, quote

PREFILL_NOTE = "a capability, not a stream fault: the verdict and exit status leave it out"


def conformant(report: Report) -> bool:
    return not report.findings.all()


def verdict(report: Report) -> str:
    if conformant(report):
        return "conformant: no anomalies"
    return "faults found: " + ", ".join(report.findings.ids())


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return text


def as_dict(report: Report) -> dict[str, Any]:
    opts = report.options
    stream = report.stream.summary() if report.stream is not None else None
    return {
        "url": report.base_url,
        "model": opts.model,
        "auth": opts.auth if opts.key else None,
        "key": "set" if opts.key else "none",
        "headers": [name for name, _ in opts.headers],
        "tool_offered": opts.tool,
        "conformant": conformant(report),
        "verdict": verdict(report),
        "streaming": {**_exchange(report.streaming), "stream": stream},
        "non_streaming": _exchange(report.non_streaming),
        "count_tokens": _exchange(report.count_tokens) if report.count_tokens else None,
        "prefill": _prefill(report.prefill) if report.prefill else None,
        "anomalies": [
            {
                "id": f.fault,
                "request": f.where,
                "count": f.count,
                "details": f.details,
                "bytes": escape(f.raw),
            }
            for f in report.findings.all()
        ],
    }


def report_json(report: Report) -> str:
    text = orjson.dumps(as_dict(report), option=orjson.OPT_INDENT_2).decode()
    return redact(text, report.options.secrets)


def report_text(report: Report) -> str:
    d = as_dict(report)
    lines: list[str] = ["request"]
    _rows(
        lines,
        ("url", d["url"]),
        ("model", d["model"]),
        ("auth", f"{d['auth']} (key set)" if d["auth"] else "none (no key)"),
        ("headers", ", ".join(d["headers"]) or "-"),
        ("tool", "get_weather offered, tool_choice any" if d["tool_offered"] else "none offered"),
    )
    s = d["streaming"]
    stream = s["stream"]
    lines += ["", f"streaming   {report.streaming.request}"]
    _exchange_rows(lines, report.streaming)
    lines += ["", "timing (seconds after the request was sent)"]
    _rows(
        lines,
        ("TTFB", _s(s["ttfb_s"]) + "  (response head)"),
        ("first event", _s(stream and stream["first_event_s"])),
        ("TTFT", _s(stream and stream["ttft_s"]) + "  (first content delta)"),
        ("total", _s(s["total_s"])),
        ("silence", _s(stream and stream["longest_silence_s"]) + "  (longest, F22 risk over 10 s)"),
        ("pings", _pings(stream)),
    )
    lines += ["", "events"]
    if stream is None:
        _rows(lines, ("(none)", "the streaming answer was not an event stream"))
    else:
        _rows(lines, *((name, str(n)) for name, n in stream["events"].items()))
        _rows(lines, ("ended", stream["ending"]))
        for v in stream["repaired_output_violations"]:
            _rows(lines, ("repair bug", v))
    lines += ["", f"non-streaming {report.non_streaming.request}"]
    _exchange_rows(lines, report.non_streaming)
    if report.count_tokens is not None:
        lines += ["", f"count_tokens {report.count_tokens.request}"]
        _exchange_rows(lines, report.count_tokens)
    if (prefill := d["prefill"]) is not None:
        lines += ["", "prefill     POST /v1/messages stream:true, ending with the assistant's turn"]
        _rows(lines, ("result", prefill["summary"]))
        if prefill["prefill"]:
            _rows(lines, ("prefill", quote(prefill["prefill"])))
        if prefill["result"] != "unknown":  # else the summary already says why
            _rows(lines, ("detail", prefill["detail"]))
        if prefill["advice"]:
            _rows(lines, ("advice", prefill["advice"]), ("note", PREFILL_NOTE))
    lines += ["", "anomalies"]
    if not d["anomalies"]:
        _rows(lines, ("none", ""))
    for a in d["anomalies"]:
        lines.append(f"  {a['id']:<5} ×{a['count']:<5} {a['request']:<13} {a['details'][0]}")
        lines.extend(f"  {'':<5}  {'':<5} {'':<13} {detail}" for detail in a["details"][1:])
        if a["bytes"]:
            lines.append(f"  {'':<5}  {'':<5} {'bytes':<13} {a['bytes']}")
    lines += ["", f"verdict     {d['verdict']}"]
    return redact("\n".join(lines), report.options.secrets)


def _exchange(ex: Exchange) -> dict[str, Any]:
    return {
        "request": ex.request,
        "status": ex.status,
        "content_type": ex.content_type,
        "content_encoding": ex.content_encoding or None,
        "request_id": ex.request_id or None,
        "ttfb_s": ex.ttfb_s,
        "total_s": ex.total_s,
        "outcome": ex.outcome,
        **ex.facts,
    }


def _prefill(check: PrefillCheck) -> dict[str, Any]:
    return {
        "result": check.result,
        "summary": check.summary,
        "fault": check.fault,
        "prefill": check.prefill,
        "detail": check.detail,
        "advice": check.advice,
    }


def _exchange_rows(lines: list[str], ex: Exchange) -> None:
    _rows(
        lines,
        ("status", f"{ex.status or '-'} {ex.content_type}".rstrip()),
        ("encoding", ex.content_encoding or "-"),
        ("request-id", ex.request_id or "-"),
        ("outcome", ex.outcome),
        *((k, str(v)) for k, v in ex.facts.items()),
    )
    if ex.status is not None and ex.total_s is not None:
        _rows(lines, ("time", f"head {_s(ex.ttfb_s)}, body {_s(ex.total_s)}"))


def _rows(lines: list[str], *rows: tuple[str, str]) -> None:
    lines.extend(f"  {name:<20} {value}".rstrip() for name, value in rows)


def _s(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def _pings(stream: dict[str, Any] | None) -> str:
    if not stream or not stream["pings"]:
        return "0"
    intervals = stream["ping_intervals_s"]
    if not intervals:
        return f"{stream['pings']}"
    return f"{stream['pings']}, every {min(intervals):.1f}-{max(intervals):.1f} s"
