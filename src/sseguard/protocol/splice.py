"""Where a resumed answer's continuation joins the text the client already holds.

Pure and incremental. A continuation is a second generation: it may carry straight on, restate
the last words it was shown, or (a server that ignores a prefill) start the answer again from
the top. None of its text reaches the client before ``SpliceCheck`` has decided which: the
overlap is skipped, a restart is skipped only where it reproduces the delivered text exactly,
and a restart that diverges is refused, since no splice of two different answers is the answer.
See docs/design.md, "Verified splices".
"""

from __future__ import annotations

from dataclasses import dataclass

# A restatement shorter than this is too likely a coincidence ("is a" + "and") to be trimmed.
MIN_OVERLAP = 3
# A continuation sharing this much of the answer's beginning is a restart, not a continuation.
RESTART_EVIDENCE = 16


@dataclass(frozen=True, slots=True)
class Verdict:
    """``skip`` characters of the continuation's text the client already has; or ``refused``."""

    skip: int = 0
    restarted: bool = False  # the continuation began the answer again (a prefill was ignored)
    refused: str | None = None


def _token_starts(text: str) -> list[int]:
    """Positions in ``text`` where a restatement can begin: a word's or a symbol's first
    character. Runs of letters without spaces (CJK) count as one word."""
    starts = []
    prev = " "
    for i, ch in enumerate(text):
        if not ch.isspace() and (prev.isspace() or not (prev.isalnum() and ch.isalnum())):
            starts.append(i)
        prev = ch
    return starts


class SpliceCheck:
    """Feed the continuation's text as it comes; ``verdict`` is set once it is known how it joins
    ``delivered``. ``prefill``: the continuation was asked to carry on from the delivered text
    itself, so only a whole restart is trimmed (a restatement would be the model's own words)."""

    def __init__(self, delivered: str, *, prefill: bool) -> None:
        self.delivered = delivered
        self.buffer = ""
        self.verdict: Verdict | None = None
        core = delivered.rstrip()
        # Overlap candidates: the delivered text's tail from a token start on, at least
        # MIN_OVERLAP characters of it. With a prefill the model continues the text itself.
        self._tails: list[str] = []
        if not prefill:
            for start in _token_starts(core):
                if start and len(core) - start >= MIN_OVERLAP:
                    self._tails.append(delivered[start:])

    def feed(self, text: str) -> str | None:
        """Text to send on, once decided (then everything fed after it too); None while not."""
        if self.verdict is not None:
            return text
        self.buffer += text
        self.verdict = self._decide(final=False)
        return None if self.verdict is None else self._rest()

    def end(self) -> str:
        """The continuation's text is complete (its block ended, another began, or the message
        ended): decide with what came. What is left to send, "" when refused."""
        if self.verdict is None:
            self.verdict = self._decide(final=True)
            return self._rest()
        return ""

    def _rest(self) -> str:
        verdict = self.verdict
        assert verdict is not None
        if verdict.refused is not None:
            return ""
        rest, self.buffer = self.buffer[verdict.skip :], ""
        return rest

    def _decide(self, *, final: bool) -> Verdict | None:
        text = self.buffer
        lead = len(text) - len(text.lstrip())
        body = text[lead:]
        delivered = self.delivered.lstrip()
        if not body:
            return Verdict(skip=lead) if final else None
        core = delivered.rstrip()
        # A restart: the continuation retells the answer from its first word. An answer does not
        # begin with a space, a continuation usually does: a short delivered text needs that sign.
        if (
            body.startswith(core)
            and (len(body) > len(core) or final)
            and (lead == 0 or len(core) >= RESTART_EVIDENCE)
        ):
            return Verdict(skip=self._past_space(lead + len(core)), restarted=True)
        same = _common_prefix(body, delivered)
        if same == len(body) and not final:
            return None  # could still be a restart
        if same >= min(RESTART_EVIDENCE, len(core)) and (lead == 0 or same >= RESTART_EVIDENCE):
            return Verdict(
                refused=(
                    f"it began the answer again and differs from the delivered text after "
                    f"{same} of its {len(delivered)} characters"
                )
            )
        # A restatement of the delivered text's last words: the longest that matches. A shorter
        # match waits while a longer tail could still match ("very" in "very very"), and words
        # match without their trailing space only once what follows them is known.
        pending = False
        for tail in self._tails:  # longest first
            core = tail.rstrip()
            if body.startswith(tail):
                matched = tail
            elif body.startswith(core) and (len(body) > len(core) or final):
                matched = core
            else:
                pending = pending or (not final and tail.startswith(body))
                continue
            return None if pending else Verdict(skip=lead + len(matched))
        if pending:
            return None
        # Carries straight on. The delivered text's trailing space is already the client's.
        return Verdict(skip=lead if self.delivered[-1:].isspace() else 0)

    def _past_space(self, skip: int) -> int:
        """After a restart: the delivered text's own trailing space is the client's already."""
        if self.delivered[-1:].isspace():
            text = self.buffer
            while skip < len(text) and text[skip].isspace():
                skip += 1
        return skip


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
