"""``sseguard probe``: one streaming and one non-streaming request (and count_tokens) to an
Anthropic-compatible endpoint, judged against the fault catalogue (docs/faults.md) and reported
with the offending bytes; then whether the model takes an assistant prefill (``prefill``, F37).
"""

from __future__ import annotations

from sseguard.probe.analysis import ProbeFailed
from sseguard.probe.client import AUTH_SCHEMES, DEFAULT_MODEL, ProbeOptions, parse_header, run
from sseguard.probe.report import conformant, redact, report_json, report_text

__all__ = [
    "AUTH_SCHEMES",
    "DEFAULT_MODEL",
    "ProbeFailed",
    "ProbeOptions",
    "conformant",
    "parse_header",
    "redact",
    "report_json",
    "report_text",
    "run",
]
