"""What a probe found, by fault ID and hop, with the offending bytes; and the byte-level framing
facts (F04, F05, F08, F35) that the decoder repairs silently under WHATWG rules, so no anomaly names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_DETAILS = 8  # per finding: enough to diagnose, bounded for endless faults
EXCERPT_BYTES = 160

_BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"\r\n|\r|\n")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ufeff]")


@dataclass(slots=True)
class Finding:
    fault: str  # fault ID (docs/faults.md)
    where: str  # which request showed it: streaming, non-streaming, count_tokens
    count: int = 0
    details: list[str] = field(default_factory=list)
    raw: bytes = b""  # the first offending bytes as received (after transfer decoding)


class Findings:
    """Findings keyed by (ID, request), in order of first occurrence."""

    __slots__ = ("_by_key",)

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], Finding] = {}

    def add(self, fault: str, where: str, detail: str, raw: bytes = b"", count: int = 1) -> None:
        entry = self._by_key.get((fault, where))
        if entry is None:
            entry = self._by_key[(fault, where)] = Finding(fault, where)
        entry.count += count
        if len(entry.details) < MAX_DETAILS and detail not in entry.details:
            entry.details.append(detail)
        if not entry.raw and raw:
            entry.raw = raw[:EXCERPT_BYTES]

    def all(self) -> list[Finding]:
        return list(self._by_key.values())

    def ids(self) -> list[str]:
        return list(dict.fromkeys(f.fault for f in self._by_key.values()))


def escape(raw: bytes, width: int = EXCERPT_BYTES) -> str:
    """Bytes as one printable line: line ends, BOM and control bytes visible, invalid UTF-8 as \\xNN."""
    text = raw[:width].decode("utf-8", "backslashreplace")
    shown = _CONTROL.sub(_escape_char, text)
    return shown + ("…" if len(raw) > width else "")


def _escape_char(m: re.Match[str]) -> str:
    ch = m.group()
    named = {"\r": "\\r", "\n": "\\n", "\t": "\\t", "\ufeff": "\\ufeff"}
    return named.get(ch, f"\\x{ord(ch):02x}")


def scan_framing(body: bytes, findings: Findings, where: str) -> None:
    """Record the framing a strict parser trips on, though WHATWG parsing (and sseguard) accepts it."""
    if body.startswith(_BOM):
        findings.add("F35", where, "UTF-8 BOM before the first field", body[:40])
        body = body[3:]
    crlf = body.count(b"\r\n")
    bare_cr = body.count(b"\r") - crlf
    if crlf or bare_cr:
        first = body.find(b"\r")
        findings.add(
            "F05",
            where,
            f"{crlf} CRLF and {bare_cr} bare CR line ends (parsers splitting on \\n\\n see nothing)",
            body[max(0, first - 60) : first + 40],
            count=crlf + bare_cr,
        )
    block_fields: list[bytes] = []
    block_start = 0
    pos = 0
    for m in _LINE_END.finditer(body):
        line = body[pos : m.start()]
        line_raw = body[pos : m.end()]
        pos = m.end()
        if not line:
            if block_fields and b"data" not in block_fields:
                fields = ", ".join(f.decode("utf-8", "replace") for f in block_fields)
                findings.add(
                    "F08", where, f"block with {fields} but no data", body[block_start:pos]
                )
            block_fields = []
            block_start = pos
            continue
        if line.startswith(b":"):
            findings.add("F08", where, f"comment line {escape(line, 40)}", line_raw)
            continue
        name = line.split(b":", 1)[0]
        block_fields.append(name)
        if name == b"retry":
            findings.add("F08", where, f"retry field {escape(line, 40)}", line_raw)
        elif line.startswith(b"data:") and len(line) > 5 and line[5:6] != b" ":
            findings.add("F04", where, "data: field without the space after the colon", line_raw)
