"""Secrets masked in text that arrives in pieces: the engine under the ``redact`` policy.

A model's answer streams in deltas, and a secret can be cut across any number of them. Masking
each delta on its own would let ``sk-ant-api`` out in one delta and the rest in the next, so a
``StreamMasker`` holds back the tail of the text that could still grow into a match and sends only
what is decided. Its output, joined, is always exactly ``mask_all`` of the joined input, whatever
the split (the property tests say so), so at every moment the client has seen a prefix of the fully
masked text and nothing a whole-text scan would hide, not even in part.

How much is held back is bounded by the rules, not by the stream: every pattern has a longest
match (``pattern`` refuses one without), and the masker holds a start only while the text from
there on could still be the beginning of a match, so plain prose is sent as it comes and a held
tail is never longer than the longest match minus one character. A PEM private key is thousands
of characters, too long to hold back whole, so it is a ``Region``: from its header on, everything
is masked as it streams, up to the footer (or the end of the block when there is none).

Matches are chosen leftmost-longest across all rules: the earliest start wins; at the same start
the longest match (for a region, its header) wins; a tie goes to the earlier rule. Within one
pattern, what matches at a start is what Python's ``re`` matches there.

The mask text must be safe inside a JSON string (no ``"``, no ``\\``, no control characters, no
U+2028/U+2029), because the same masker runs over tool input as it streams as JSON text
(``input_json_delta.partial_json``): a secret inside a JSON string becomes a mask inside that
string and the JSON stays valid. For the same reason a region also ends, unmasked, before a ``"``
(a PEM body never holds one, and a key quoted in JSON must not swallow the string's closing
quote and the rest of the document).

Pure and synchronous: no I/O, no clock.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, cast

# The width of a regex comes from Python's own regex parser (``SubPattern.getwidth`` gives the
# (min, max) length of what a pattern can match). In 3.11-3.13 that parser is ``re._parser``;
# the old public names ``sre_parse``/``sre_constants`` are re-exports of it that raise a
# DeprecationWarning on import (and are on their way out), while ``re._parser`` imports silently
# but has no stub in typeshed. So the module is imported by its current name at run time and
# typed by the stub of its old name, which describes the very same objects. Nothing else in the
# stdlib gives a regex's width: a compiled ``re.Pattern`` keeps it inside its opaque C code.
if TYPE_CHECKING:
    import sre_constants as _c
    import sre_parse as _parser
else:
    from re import _constants as _c
    from re import _parser

__all__ = [
    "DEFAULT_MASK",
    "DEFAULT_PATTERNS",
    "MAX_PATTERN_LENGTH",
    "Pattern",
    "Region",
    "Rule",
    "StreamMasker",
    "mask_all",
    "pattern",
    "region",
]

DEFAULT_MASK = "[redacted {name}]"

# A pattern that can match more than this would let the masker hold back that much of a live
# stream; a secret longer than this is a region, not a pattern.
MAX_PATTERN_LENGTH = 65_536

# Characters a mask may not contain: they would break the JSON string it is written into.
_UNSAFE_IN_JSON = re.compile('["\\\\\x00-\x1f\x7f\u2028\u2029]')

_SubPattern: TypeAlias = "_parser.SubPattern"


@dataclass(frozen=True, slots=True)
class _Analysis:
    """What the masker needs to know of a regex beyond the regex itself."""

    max_length: int  # the longest text it can match
    lookahead: int  # characters past a match's end it may look at (lookaheads, \b, $)
    lookbehind: int  # characters before a match's start it may look at (lookbehinds, \b, ^)
    partial: re.Pattern[str]  # matches, to the end of the text, anything a match could begin with


@dataclass(frozen=True, slots=True)
class Pattern:
    """A secret's shape: a regex with a known longest match, so a stream can be held back for it.

    Build one with ``pattern``, which checks the regex; constructing one directly checks it too,
    and refuses a ``max_length`` shorter than what the regex can match.
    """

    name: str  # e.g. "anthropic_key": the mask and the decision log say it
    regex: re.Pattern[str]
    max_length: int  # the longest text it can match
    # How far past the start of a match the regex may read: max_length plus any lookahead.
    reach: int = field(init=False, repr=False, compare=False)
    lookbehind: int = field(init=False, repr=False, compare=False)
    partial: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        found = _analyse(self.name, self.regex)
        if self.max_length < found.max_length:
            raise ValueError(
                f"pattern {self.name!r} can match {found.max_length} characters, "
                f"more than its max_length {self.max_length}"
            )
        object.__setattr__(self, "reach", self.max_length + found.lookahead)
        object.__setattr__(self, "lookbehind", found.lookbehind)
        object.__setattr__(self, "partial", found.partial)


@dataclass(frozen=True, slots=True)
class Region:
    """A secret too long to hold back whole: masked from its header to its footer as it streams.

    Once ``start`` matches, everything up to and including the first ``end`` match is masked;
    a region with no footer runs to the end of the block. It also ends, just before it, at the
    first character of ``stops``, which a real secret of this kind never holds (``"`` by
    default, so a region inside a JSON string never eats the string's closing quote).
    """

    name: str
    start: Pattern
    end: Pattern
    stops: str = '"'
    stop_regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        chars = "".join(re.escape(c) for c in self.stops)
        object.__setattr__(self, "stop_regex", re.compile(f"[{chars}]") if chars else None)


Rule: TypeAlias = Pattern | Region


def pattern(name: str, regex: str) -> Pattern:
    """Compile ``regex`` into a Pattern named ``name``, or say why it cannot be one.

    Raises ValueError naming the pattern when the regex is invalid, can match the empty string
    (it would mask nothing and could not be held for), or can match text of unbounded length (a
    stream could then never be released).
    """
    try:
        compiled = re.compile(regex)
    except re.error as exc:
        raise ValueError(f"pattern {name!r} is not a valid regex: {exc}") from None
    return Pattern(name, compiled, _analyse(name, compiled).max_length)


def region(name: str, start: str, end: str, stops: str = '"') -> Region:
    """A Region from the regexes of its header and footer (each bounded, as ``pattern`` asks)."""
    return Region(name, pattern(f"{name} start", start), pattern(f"{name} end", end), stops)


def _opener(rule: Rule) -> Pattern:
    return rule.start if isinstance(rule, Region) else rule


def _masks(rules: Sequence[Rule], mask: str) -> tuple[str, ...]:
    """Each rule's mask text, refused when it would break the JSON string it lands in."""
    out = tuple(mask.replace("{name}", rule.name) for rule in rules)
    for text in out:
        if _UNSAFE_IN_JSON.search(text):
            raise ValueError(
                f"mask {text!r} is not safe inside a JSON string: no quote, backslash or "
                "control character (it is also written into tool input JSON)"
            )
    return out


def _region_end(rule: Region, text: str, pos: int) -> int:
    """Where a region whose header ends at ``pos`` ends, in the whole text."""
    stop = rule.stop_regex.search(text, pos) if rule.stop_regex is not None else None
    limit = stop.start() if stop is not None else len(text)
    footer = rule.end.regex.search(text, pos, limit)
    return footer.end() if footer is not None else limit


def mask_all(patterns: Sequence[Rule], text: str, mask: str = DEFAULT_MASK) -> str:
    """The whole text masked at once: what a StreamMasker's joined output always equals.

    Written apart from the streaming scan, as the plain statement of the rules, so the property
    tests compare two implementations rather than one with itself.
    """
    rules = tuple(patterns)
    masks = _masks(rules, mask)
    out: list[str] = []
    pos = 0
    while True:
        best: tuple[int, int, int] | None = None
        best_match: re.Match[str] | None = None
        for i, rule in enumerate(rules):
            m = _opener(rule).regex.search(text, pos)
            if m is not None:
                key = (m.start(), m.start() - m.end(), i)
                if best is None or key < best:
                    best, best_match = key, m
        if best is None or best_match is None:
            out.append(text[pos:])
            return "".join(out)
        chosen = rules[best[2]]
        out.append(text[pos : best_match.start()])
        out.append(masks[best[2]])
        pos = best_match.end()
        if isinstance(chosen, Region):
            pos = _region_end(chosen, text, pos)


class StreamMasker:
    """Masks one block's text as it streams in pieces: ``feed`` each delta, ``flush`` at the end.

    ``"".join(feed(d) for d in deltas) + flush() == mask_all(patterns, "".join(deltas))`` for
    any split, and nothing is sent before it is decided, so the client sees only prefixes of the
    masked text. ``held`` is never more than ``max_held``: the longest reach of any rule (its
    longest match, plus any lookahead it has) minus one. After ``flush`` the masker starts a new
    block; ``masked`` keeps the name of every match so far, one entry per match, in order.

    Each ``feed`` scans only the held tail and the new text (with the few characters before them
    that lookbehinds need), so a delta costs in proportion to its own length.
    """

    __slots__ = (
        "_any_match",
        "_any_partial",
        "_context",
        "_held",
        "_lookbehind",
        "_masks",
        "_max_reach",
        "_region",
        "_rules",
        "masked",
        "max_held",
    )

    def __init__(self, patterns: Sequence[Rule], mask: str = DEFAULT_MASK) -> None:
        self._rules: tuple[Rule, ...] = tuple(patterns)
        self._masks = _masks(self._rules, mask)
        parts = [p for rule in self._rules for p in _parts(rule)]
        self._lookbehind = max((p.lookbehind for p in parts), default=0)
        self.max_held: int = max((p.reach - 1 for p in parts), default=0)
        # Every rule's opener, and every opener's partial, as one regex each: one search tells a
        # delta no rule can touch from eight (None when a rule's groups make them uncombinable).
        openers = [_opener(rule) for rule in self._rules]
        self._any_match = _combined([p.regex for p in openers])
        self._any_partial = _combined([p.partial for p in openers])
        self._max_reach = max((p.reach for p in openers), default=1)
        self.masked: list[str] = []
        self._context = ""  # the original text just before the held part, for lookbehinds
        self._held = ""
        self._region: Region | None = None  # the region the text is inside, if any

    @property
    def held(self) -> int:
        """Characters received but not yet sent (or dropped inside a region)."""
        return len(self._held)

    def feed(self, text: str) -> str:
        """Take the next piece of the block; give back what can be sent now, masked."""
        if not text:
            return ""
        return self._advance(self._held + text, final=False)

    def flush(self) -> str:
        """End the block: give back the held rest, masked; the masker then starts afresh."""
        out = self._advance(self._held, final=True)
        self._context = ""
        self._held = ""
        self._region = None
        return out

    def _advance(self, pending: str, *, final: bool) -> str:
        buf = self._context + pending
        out: list[str] = []
        pos = self._scan(buf, len(self._context), out, final)
        self._held = buf[pos:]
        self._context = buf[max(0, pos - self._lookbehind) : pos]
        return "".join(out)

    def _scan(self, buf: str, pos: int, out: list[str], final: bool) -> int:
        """Decide from ``pos`` on as far as ``buf`` allows; return where the undecided tail starts.

        A start is *undecided* when more text could change what matches there: it is closer to
        the end than the rule's reach and the text from it on could still begin a match (its
        ``partial`` regex says so). Everything before the first undecided start of every rule is
        final, and a match is taken once no rule could still match earlier or longer.
        """
        end = len(buf)
        while pos < end:
            if self._region is not None:
                pos, closed = self._in_region(self._region, buf, pos, final)
                if not closed:
                    return pos
                self._region = None
                continue
            if self._any_match is not None and self._any_match.search(buf, pos) is None:
                # No rule matches from here on: what the loop below would decide with nothing
                # found, without a search per rule (the common case: plain prose).
                clear = end if final else self._first_undecided(buf, pos)
                out.append(buf[pos:clear])
                return clear
            clear = end  # no rule can begin a match in [pos, clear)
            found: list[tuple[int, int, int, re.Match[str]]] = []  # start, -length, rule, match
            opens: list[int] = []  # each rule's first undecided start
            for i, rule in enumerate(self._rules):
                opener = _opener(rule)
                m = opener.regex.search(buf, pos)
                first_open = end if final else _undecided(opener, buf, pos)
                opens.append(first_open)
                if m is not None and m.start() < first_open:
                    found.append((m.start(), m.start() - m.end(), i, m))
                    clear = min(clear, m.start())
                else:
                    clear = min(clear, first_open)
            if not found:
                out.append(buf[pos:clear])
                return clear
            start = min(f[0] for f in found)
            if start > clear:  # a rule may still match before the earliest match found
                out.append(buf[pos:clear])
                return clear
            # start == clear: decided only if every rule has either matched here or cannot.
            here = {f[2] for f in found if f[0] == start}
            if any(i not in here and opens[i] <= start for i in range(len(self._rules))):
                out.append(buf[pos:start])
                return start
            _, _, index, m = min(f for f in found if f[0] == start)
            rule = self._rules[index]
            out.append(buf[pos:start])
            out.append(self._masks[index])
            self.masked.append(rule.name)
            pos = m.end()
            if isinstance(rule, Region):
                self._region = rule
        return pos

    def _first_undecided(self, buf: str, pos: int) -> int:
        """The first start of any rule that more text could still make a match (or the end).
        Each rule's window is within the widest one, so no combined hit there means none."""
        combined = self._any_partial
        if (
            combined is not None
            and combined.search(buf, max(pos, len(buf) - self._max_reach + 1)) is None
        ):
            return len(buf)
        return min(_undecided(_opener(rule), buf, pos) for rule in self._rules)

    def _in_region(self, rule: Region, buf: str, pos: int, final: bool) -> tuple[int, bool]:
        """Consume a region's text from ``pos``: (where to go on from, whether the region ended).

        Nothing is sent: the region's mask went out with its header. Only a tail that could still
        be the start of the footer is kept, so ``held`` stays under the footer's reach.
        """
        end = len(buf)
        stop = rule.stop_regex.search(buf, pos) if rule.stop_regex is not None else None
        if stop is not None:  # the footer can only come before the stop: all of it is here
            footer = rule.end.regex.search(buf, pos, stop.start())
            return (footer.end() if footer is not None else stop.start()), True
        footer = rule.end.regex.search(buf, pos)
        first_open = end if final else _undecided(rule.end, buf, pos)
        if footer is not None and footer.start() < first_open:
            return footer.end(), True
        return first_open, False

    def __repr__(self) -> str:
        return f"<StreamMasker rules={len(self._rules)} held={self.held} masked={len(self.masked)}>"


def _combined(regexes: Sequence[re.Pattern[str]]) -> re.Pattern[str] | None:
    """One regex that matches where any of ``regexes`` does (each under its own flags), or None
    when one has groups (a backreference would point at another alternative's) or the
    alternation does not compile (a global inline flag inside it, say)."""
    if not regexes or any(r.groups for r in regexes):
        return None
    kept = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE
    parts = []
    for r in regexes:
        flags = "".join(c for f, c in (*_FLAG_LETTERS, (re.VERBOSE, "x")) if r.flags & kept & f)
        ascii_only = "a" if r.flags & re.ASCII else ""
        parts.append(f"(?{ascii_only}{flags}:{r.pattern})")
    try:
        return re.compile("|".join(parts))
    except re.error:
        return None


def _parts(rule: Rule) -> tuple[Pattern, ...]:
    return (rule.start, rule.end) if isinstance(rule, Region) else (rule,)


def _undecided(p: Pattern, buf: str, pos: int) -> int:
    """The first start at or after ``pos`` where more text could change ``p``'s match (or len).

    Starts at least ``reach`` from the end are decided: the regex cannot read past them. Nearer
    ones are decided when the text from there to the end could not begin a match at all.
    """
    m = p.partial.search(buf, max(pos, len(buf) - p.reach + 1))
    return m.start() if m is not None else len(buf)


# --- regex analysis -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _analyse(name: str, regex: re.Pattern[str]) -> _Analysis:
    """Bound a regex, or raise ValueError naming it: its width, reach around it, and prefixes."""
    if not isinstance(regex.pattern, str):
        raise ValueError(f"pattern {name!r} must be a str regex")
    try:
        tree = _parser.parse(regex.pattern, regex.flags)
    except re.error as exc:  # pragma: no cover - re.compile accepted it already
        raise ValueError(f"pattern {name!r} is not a valid regex: {exc}") from None
    low, high = tree.getwidth()
    looks = _Looks()
    _walk(tree, looks)
    if high >= _c.MAXREPEAT or looks.unbounded:
        raise ValueError(
            f"pattern {name!r} can match without bound; "
            "give its repeats an upper bound such as {20,200}"
        )
    if low == 0:
        raise ValueError(f"pattern {name!r} can match the empty string")
    if high > MAX_PATTERN_LENGTH:
        raise ValueError(
            f"pattern {name!r} can match {high} characters, more than {MAX_PATTERN_LENGTH}: "
            "the masker would hold back that much of a stream"
        )
    # Where a match could begin in the text so far: a non-empty prefix of a match, then (when the
    # regex looks ahead) up to that many characters more, to the end; or, for a lookahead, just
    # the last few characters. A pattern's first character is never optional here, so the search
    # skips ahead by it.
    prefix = _Prefixes(high).prefixes(tree)
    options = [f"{prefix}[\\s\\S]{{0,{looks.ahead}}}" if looks.ahead else prefix] if prefix else []
    if looks.ahead:
        options.append(f"[\\s\\S]{{1,{looks.ahead}}}")
    flags = regex.flags & (re.IGNORECASE | re.DOTALL | re.ASCII | re.UNICODE)
    partial = re.compile(f"(?:{'|'.join(options) or '(?!)'})\\Z", flags)
    return _Analysis(high, looks.ahead, looks.behind, partial)


class _Looks:
    """Totals over a regex's assertions: how far they may read beyond the text they match."""

    __slots__ = ("ahead", "behind", "unbounded")

    def __init__(self) -> None:
        self.ahead = 0
        self.behind = 0
        self.unbounded = False


def _walk(tree: _SubPattern, looks: _Looks) -> None:
    """Sum, conservatively, the widths of lookarounds and anchors (each anchor reads <= 2)."""
    for op, av in tree.data:
        arg = cast(Any, av)
        if op is _c.AT:
            looks.ahead += 2  # $ looks at a newline and then the end
            looks.behind += 1  # \b, ^ in MULTILINE look at the character before
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            direction, sub = arg
            width = sub.getwidth()[1]
            if width >= _c.MAXREPEAT:
                looks.unbounded = True
            if direction < 0:  # a lookbehind reads only before where it stands
                looks.behind += width
            else:
                looks.ahead += width
            _walk(sub, looks)
        else:
            for sub in _children(op, arg):
                _walk(sub, looks)


def _children(op: Any, arg: Any) -> list[_SubPattern]:
    if op is _c.BRANCH:
        return list(arg[1])
    if op is _c.SUBPATTERN:
        return [arg[3]]
    if op in _REPEATS:
        return [arg[2]]
    if op is _c.ATOMIC_GROUP:
        return [arg]
    if op is _c.GROUPREF_EXISTS:
        return [arg[1]] + ([arg[2]] if arg[2] is not None else [])
    return []


_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT)
_ZERO_WIDTH = (_c.AT, _c.ASSERT, _c.ASSERT_NOT)
_SINGLE_CHAR = (_c.LITERAL, _c.NOT_LITERAL, _c.ANY, _c.IN)
_CATEGORIES = {
    _c.CATEGORY_DIGIT: r"\d",
    _c.CATEGORY_NOT_DIGIT: r"\D",
    _c.CATEGORY_SPACE: r"\s",
    _c.CATEGORY_NOT_SPACE: r"\S",
    _c.CATEGORY_WORD: r"\w",
    _c.CATEGORY_NOT_WORD: r"\W",
}
_FLAG_LETTERS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))


def _char(code: int) -> str:
    return f"\\U{code:08x}"


class _Prefixes:
    """Rewrites a parsed regex into one matching every non-empty prefix of its matches (and more).

    This is what lets the masker release text early: a held start is let go as soon as the text
    from it to the end could not begin a match. The rewrite may accept more than the true
    prefixes (assertions are dropped, a backreference becomes any text of bounded length), which
    only holds text a little longer; it never accepts fewer, which could leak a secret.
    """

    def __init__(self, longest: int) -> None:
        self.longest = longest

    def prefixes(self, tree: _SubPattern) -> str | None:
        """Non-empty prefixes of a sequence: of its first item, or that item whole and more.

        None when the sequence has no non-empty prefix (it is only assertions). The empty prefix
        is left out on purpose: a regex that begins with a character or class lets ``re`` skip
        straight to the places it could start, which is what keeps a plain delta cheap.
        """
        items = [(op, cast(Any, av)) for op, av in tree.data if op not in _ZERO_WIDTH]
        out: str | None = None
        for op, av in reversed(items):
            whole = self.whole_item(op, av)
            if op in _SINGLE_CHAR:
                out = f"{whole}(?:{out})?" if out is not None else whole
                continue
            part = self.prefix_item(op, av)
            more = f"{whole}{out}" if out is not None else None
            options = [x for x in (part, more) if x is not None]
            out = f"(?:{'|'.join(options)})" if options else None
        return out

    def whole(self, tree: _SubPattern) -> str:
        return "".join(self.whole_item(op, cast(Any, av)) for op, av in tree.data)

    def whole_item(self, op: Any, av: Any) -> str:
        if op is _c.LITERAL:
            return _char(av)
        if op is _c.NOT_LITERAL:
            return f"[^{_char(av)}]"
        if op is _c.ANY:
            return "."
        if op is _c.IN:
            return self.charset(av)
        if op is _c.BRANCH:
            return "(?:" + "|".join(self.whole(sub) for sub in av[1]) + ")"
        if op is _c.SUBPATTERN:
            return f"({_flags(av[1], av[2])}:{self.whole(av[3])})"
        if op in _REPEATS:
            return f"(?:{self.whole(av[2])}){{{av[0]},{av[1]}}}"
        if op is _c.ATOMIC_GROUP:
            return f"(?:{self.whole(av)})"
        if op is _c.GROUPREF_EXISTS:
            no = self.whole(av[2]) if av[2] is not None else ""
            return f"(?:{self.whole(av[1])}|{no})"
        if op is _c.GROUPREF:
            return f"[\\s\\S]{{0,{self.longest}}}"
        if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
            return ""
        raise ValueError(f"regex construct {op} is not supported by the masker")

    def prefix_item(self, op: Any, av: Any) -> str | None:
        """Non-empty prefixes of one item that is not a single character (None: it has none)."""
        if op is _c.BRANCH:
            return _either(self.prefixes(sub) for sub in av[1])
        if op is _c.SUBPATTERN:
            inner = self.prefixes(av[3])
            return f"({_flags(av[1], av[2])}:{inner})" if inner is not None else None
        if op in _REPEATS:
            inner = self.prefixes(av[2])
            if av[1] == 0 or inner is None:
                return None
            return f"(?:{self.whole(av[2])}){{0,{av[1] - 1}}}{inner}"
        if op is _c.ATOMIC_GROUP:
            return self.prefixes(av)
        if op is _c.GROUPREF_EXISTS:
            return _either([self.prefixes(av[1])] + ([self.prefixes(av[2])] if av[2] else []))
        if op is _c.GROUPREF:
            return f"[\\s\\S]{{1,{self.longest}}}"
        raise ValueError(f"regex construct {op} is not supported by the masker")

    def charset(self, items: list[tuple[Any, Any]]) -> str:
        out = []
        for kind, value in items:
            if kind is _c.NEGATE:
                out.append("^")
            elif kind is _c.LITERAL:
                out.append(_char(value))
            elif kind is _c.RANGE:
                out.append(f"{_char(value[0])}-{_char(value[1])}")
            elif kind is _c.CATEGORY and value in _CATEGORIES:
                out.append(_CATEGORIES[value])
            else:
                raise ValueError(f"regex character class item {kind} is not supported")
        return "[" + "".join(out) + "]"


def _flags(add: int, remove: int) -> str:
    """The inline-flag prefix of a group, e.g. ``?i`` or ``?-i`` (``?`` alone for none)."""
    on = "".join(letter for flag, letter in _FLAG_LETTERS if add & flag)
    on += "a" if add & re.ASCII else ""
    off = "".join(letter for flag, letter in _FLAG_LETTERS if remove & flag)
    return "?" + on + (f"-{off}" if off else "")


def _either(options: Any) -> str | None:
    """An alternation of the options that exist, or None when none does."""
    present = [x for x in options if x is not None]
    return f"(?:{'|'.join(present)})" if present else None


# Base64url, the alphabet of most tokens.
_B64 = "A-Za-z0-9_-"

# Each shape was checked against its issuer's published format. Most start with a prefix rare
# enough to match anywhere, even glued to the text before (a key pasted right after another one is
# still a key). Only OpenAI's "sk-" is common inside words ("task-", "desk-"), so it may not start
# inside a longer run of token characters. Where the length is fixed it is tried first, so two keys
# glued together end where the first one does; a looser body is the fallback for shapes to come.
DEFAULT_PATTERNS: tuple[Rule, ...] = (
    # sk-ant-api03-, sk-ant-admin01-, ...: a kind and a two-digit version, then 93 base64url
    # characters and "AA".
    pattern(
        "anthropic_key",
        rf"sk-ant-[a-z]{{3,8}}[0-9]{{2}}-(?:[{_B64}]{{93}}AA|[{_B64}]{{32,160}})",
    ),
    # sk-proj-/sk-svcacct-/sk-admin- and a base64url body, or the older sk- and 48 letters and
    # digits (no dashes, so a slug such as "sk-learn-tutorial-for-beginners" is not a key).
    pattern(
        "openai_key",
        rf"(?<![{_B64}])sk-(?:(?:proj|svcacct|admin)-[{_B64}]{{20,250}}|[A-Za-z0-9]{{32,64}})",
    ),
    # AKIA (long-term) or ASIA (temporary) and 16 upper-case letters or digits.
    pattern("aws_access_key_id", r"(?:AKIA|ASIA)[A-Z0-9]{16}"),
    # ghp_/gho_/ghu_/ghs_/ghr_ and 36 (GitHub allows for up to 255 in all); github_pat_ and 82.
    pattern(
        "github_token",
        r"gh[pousr]_(?:[A-Za-z0-9]{36}|[A-Za-z0-9_]{37,251})"
        r"|github_pat_(?:[A-Za-z0-9]{22}_[A-Za-z0-9]{59}|[A-Za-z0-9_]{22,244})",
    ),
    # xoxb-/xoxp-/xoxa-/xoxr- and dash-separated digits and letters.
    pattern("slack_token", r"xox[abpr]-[A-Za-z0-9][A-Za-z0-9-]{8,250}"),
    # AIza and 35 base64url characters.
    pattern("google_api_key", rf"AIza[{_B64}]{{35}}"),
    # A JWT (as sent after "Bearer "): the base64url of a JSON header and payload, both starting
    # '{"' (eyJ), and a signature, each part bounded.
    pattern("jwt", rf"eyJ[{_B64}]{{8,512}}\.eyJ[{_B64}]{{8,2048}}\.[{_B64}]{{0,1024}}"),
    # -----BEGIN [RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP ]PRIVATE KEY[ BLOCK]----- to its END line.
    region(
        "pem_private_key",
        r"-----BEGIN (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY(?: BLOCK)?-----",
        r"-----END (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY(?: BLOCK)?-----",
    ),
)
