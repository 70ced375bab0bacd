"""The stream masker: secrets masked whatever the split, never sent in pieces, bounded hold-back."""

from __future__ import annotations

import itertools
import re

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sseguard.policy.masking import (
    DEFAULT_MASK,
    DEFAULT_PATTERNS,
    Pattern,
    Region,
    Rule,
    StreamMasker,
    mask_all,
    pattern,
    region,
)

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def fill(alphabet: str, n: int, seed: int = 7) -> str:
    """Deterministic filler of n characters, varied enough to look like a token body."""
    return "".join(alphabet[(seed * i * i + 3 * i) % len(alphabet)] for i in range(n))


ANTHROPIC = "sk-ant-api03-" + fill(B64, 93) + "AA"
ANTHROPIC_ADMIN = "sk-ant-admin01-" + fill(B64, 93, 5) + "AA"
OPENAI_PROJECT = "sk-proj-" + fill(B64, 156, 3)
OPENAI_LEGACY = "sk-" + fill(ALNUM, 20, 11) + "T3BlbkFJ" + fill(ALNUM, 20, 13)
AWS = "AKIAIOSFODNN7EXAMPLE"
AWS_TEMPORARY = "ASIA" + fill("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
GITHUB_CLASSIC = "ghp_" + fill(ALNUM, 36)
GITHUB_SERVER = "ghs_" + fill(ALNUM, 36, 9)
GITHUB_FINE = "github_pat_" + fill(ALNUM, 22) + "_" + fill(ALNUM, 59, 5)
SLACK = "xoxb-123456789012-1234567890123-" + fill(ALNUM, 24)
GOOGLE = "AIza" + fill(B64, 35)
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    + "\n".join(fill(B64.replace("_", "+").replace("-", "/"), 64, s) for s in range(1, 26))
    + "\n-----END RSA PRIVATE KEY-----"
)
OPENSSH = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"
    + fill(ALNUM, 300)
    + "\n-----END OPENSSH PRIVATE KEY-----"
)

SECRETS = {
    "anthropic_key": [ANTHROPIC, ANTHROPIC_ADMIN],
    "openai_key": [OPENAI_PROJECT, OPENAI_LEGACY],
    "aws_access_key_id": [AWS, AWS_TEMPORARY],
    "github_token": [GITHUB_CLASSIC, GITHUB_SERVER, GITHUB_FINE],
    "slack_token": [SLACK],
    "google_api_key": [GOOGLE],
    "jwt": [JWT],
    "pem_private_key": [PEM, OPENSSH],
}
ALL_SECRETS = [s for group in SECRETS.values() for s in group]

NEAR_MISSES = [
    "we use sk-learn for that",
    "sk-learn-tutorial-for-beginners",
    "a task-ant, a multitask-antenna, a task-ant-farm-42",
    "an AKIA mention",
    "AKIA1234 is too short",
    "gh_pages and ghp_short",
    "github_pat_ alone",
    "xoxb- then nothing",
    "AIza is a prefix",
    "eyJ alone, and eyJhbGciOiJIUzI1NiJ9 without a payload",
    "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----",
    "mask sk- prefixes",
]

PEM_RULE = next(rule for rule in DEFAULT_PATTERNS if isinstance(rule, Region))


def stream(masker: StreamMasker, deltas: list[str]) -> str:
    return "".join(masker.feed(d) for d in deltas) + masker.flush()


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


# --- the default patterns -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "secret"), [(name, s) for name, group in SECRETS.items() for s in group]
)
def test_each_default_secret_is_masked_in_prose(name: str, secret: str) -> None:
    text = f"Here it is: {secret} (keep it safe)."
    masked = mask_all(DEFAULT_PATTERNS, text)
    assert masked == f"Here it is: [redacted {name}] (keep it safe)."
    masker = StreamMasker(DEFAULT_PATTERNS)
    assert stream(masker, list(text)) == masked
    assert masker.masked == [name]


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_are_left_alone(text: str) -> None:
    assert mask_all(DEFAULT_PATTERNS, text) == text
    masker = StreamMasker(DEFAULT_PATTERNS)
    assert stream(masker, list(text)) == text
    assert masker.masked == []


def test_an_openai_key_glued_to_a_word_is_not_taken_from_its_middle() -> None:
    text = "task-proj-" + fill(B64, 40) + " and desk-" + fill(ALNUM, 48)
    assert mask_all(DEFAULT_PATTERNS, text) == text


def test_keys_glued_together_are_each_masked() -> None:
    text = ANTHROPIC + ANTHROPIC_ADMIN + GITHUB_CLASSIC + GITHUB_FINE + "." + AWS + AWS
    names = ["anthropic_key"] * 2 + ["github_token"] * 2 + ["aws_access_key_id"] * 2
    expected = "".join(f"[redacted {n}]" for n in names[:4]) + "."
    expected += "[redacted aws_access_key_id]" * 2
    masker = StreamMasker(DEFAULT_PATTERNS)
    assert stream(masker, list(text)) == mask_all(DEFAULT_PATTERNS, text) == expected
    assert masker.masked == names


def test_defaults_are_bounded_and_the_masker_holds_less_than_the_longest() -> None:
    masker = StreamMasker(DEFAULT_PATTERNS)
    longest = max(
        part.max_length
        for rule in DEFAULT_PATTERNS
        for part in ((rule.start, rule.end) if isinstance(rule, Region) else (rule,))
    )
    assert masker.max_held == longest - 1  # no default pattern looks past its match


def test_prose_is_not_held_back() -> None:
    masker = StreamMasker(DEFAULT_PATTERNS)
    for word in ("Plain", "prose,", "with", "no", "secret", "in", "it,", "goes", "out", "as", "it"):
        assert masker.feed(word + " ") == word + " "
        assert masker.held == 0


def test_a_possible_start_is_held_until_decided() -> None:
    masker = StreamMasker(DEFAULT_PATTERNS)
    assert masker.feed("key: sk-ant-api03-") == "key: "
    assert masker.held == len("sk-ant-api03-")
    assert masker.feed(ANTHROPIC[len("sk-ant-api03-") :]) == ""  # could still grow
    assert masker.feed(" done.") == "[redacted anthropic_key] done."
    assert masker.held == 0
    assert masker.feed("sk-ant-") == ""
    assert masker.feed("swarm") == ""
    assert masker.feed(" ") == "sk-ant-swarm "  # the space ends any possible match


# --- PEM private keys: a region ----------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1000])
def test_pem_block_split_into_many_deltas(size: int) -> None:
    text = f"Your key:\n{PEM}\nStore it well."
    deltas = [text[i : i + size] for i in range(0, len(text), size)]
    masker = StreamMasker(DEFAULT_PATTERNS)
    sent = []
    inside = False
    for d in deltas:
        sent.append(masker.feed(d))
        assert masker.held <= masker.max_held
        if "[redacted pem_private_key]" in "".join(sent):
            inside = True
        if inside and "".join(sent).endswith("[redacted pem_private_key]"):
            assert masker.held <= PEM_RULE.end.reach - 1  # only a possible footer is held
    out = "".join(sent) + masker.flush()
    assert out == "Your key:\n[redacted pem_private_key]\nStore it well."
    assert masker.masked == ["pem_private_key"]
    for line in PEM.splitlines()[1:-1]:
        assert line[:8] not in out


def test_pem_without_footer_is_masked_to_the_end_of_the_block() -> None:
    text = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC" + fill(B64, 500)
    masker = StreamMasker(DEFAULT_PATTERNS)
    assert stream(masker, [text[i : i + 5] for i in range(0, len(text), 5)]) == (
        "[redacted pem_private_key]"
    )
    assert mask_all(DEFAULT_PATTERNS, "a " + text) == "a [redacted pem_private_key]"


def test_pem_in_tool_input_json_keeps_the_json_valid() -> None:
    doc = {"path": "id_rsa", "content": PEM + "\n", "mode": 384}
    text = orjson.dumps(doc).decode()
    masker = StreamMasker(DEFAULT_PATTERNS)
    out = stream(masker, [text[i : i + 3] for i in range(0, len(text), 3)])
    assert orjson.loads(out) == {**doc, "content": "[redacted pem_private_key]\n"}


def test_pem_header_without_footer_in_json_stops_at_the_closing_quote() -> None:
    doc = {"content": "-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEI...", "next": ANTHROPIC}
    text = orjson.dumps(doc).decode()
    out = stream(StreamMasker(DEFAULT_PATTERNS), list(text))
    assert orjson.loads(out) == {
        "content": "[redacted pem_private_key]",
        "next": "[redacted anthropic_key]",
    }


def test_secrets_in_tool_input_json_become_masks_inside_the_strings() -> None:
    doc = {"env": {"ANTHROPIC_API_KEY": ANTHROPIC, "AWS": AWS}, "token": JWT, "n": 1}
    text = orjson.dumps(doc).decode()
    out = stream(StreamMasker(DEFAULT_PATTERNS), [text[i : i + 4] for i in range(0, len(text), 4)])
    assert orjson.loads(out) == {
        "env": {
            "ANTHROPIC_API_KEY": "[redacted anthropic_key]",
            "AWS": "[redacted aws_access_key_id]",
        },
        "token": "[redacted jwt]",
        "n": 1,
    }


# --- building patterns: bounds and errors ------------------------------------------------------


@pytest.mark.parametrize("regex", [r"sk-[a-z]+", r"a{2,}", r"x.*y", r"ab(?=c+)", r"(?:ab|c)*d"])
def test_unbounded_patterns_are_refused(regex: str) -> None:
    with pytest.raises(ValueError) as caught:
        pattern("mine", regex)
    assert str(caught.value) == (
        "pattern 'mine' can match without bound; give its repeats an upper bound such as {20,200}"
    )


@pytest.mark.parametrize("regex", [r"a?", r"(?:)", r"\b", r"(?=a)", r"x{0,3}|y"])
def test_patterns_that_can_match_nothing_are_refused(regex: str) -> None:
    with pytest.raises(ValueError, match=r"^pattern 'mine' can match the empty string$"):
        pattern("mine", regex)


def test_invalid_and_oversized_regexes_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"^pattern 'mine' is not a valid regex"):
        pattern("mine", "sk-(")
    with pytest.raises(ValueError, match=r"^pattern 'mine' can match 70000 characters"):
        pattern("mine", "a{70000}")


def test_pattern_width_comes_from_the_regex() -> None:
    assert pattern("k", r"sk-[a-z]{20,200}").max_length == 203
    assert pattern("k", r"(?:AKIA|ASIA)[A-Z0-9]{16}|x").max_length == 20
    assert pattern("k", r"(a{1,3})\1").max_length == 6
    with pytest.raises(ValueError, match="more than its max_length 5"):
        Pattern("k", re.compile(r"a{1,9}"), 5)
    assert Pattern("k", re.compile(r"a{1,9}"), 20).reach == 20  # a looser bound is allowed


def test_lookarounds_widen_what_is_held() -> None:
    ahead = pattern("k", r"ab(?=cde)")
    assert (ahead.max_length, ahead.reach) == (2, 5)
    behind = pattern("k", r"(?<=xyz)ab")
    assert (behind.reach, behind.lookbehind) == (2, 3)


@pytest.mark.parametrize("mask", ['"{name}"', "[{name}\\]", "[{name}]\n", "\u2028{name}"])
def test_masks_that_would_break_a_json_string_are_refused(mask: str) -> None:
    with pytest.raises(ValueError, match="not safe inside a JSON string"):
        StreamMasker(DEFAULT_PATTERNS, mask)
    with pytest.raises(ValueError, match="not safe inside a JSON string"):
        mask_all(DEFAULT_PATTERNS, "x", mask)


def test_a_custom_mask_names_the_pattern() -> None:
    rules = [pattern("pin", r"PIN-[0-9]{4}")]
    assert mask_all(rules, "my PIN-1234.", "<{name} hidden>") == "my <pin hidden>."
    assert mask_all(rules, "my PIN-1234.", "***") == "my ***."
    assert DEFAULT_MASK == "[redacted {name}]"


# --- choosing between matches ------------------------------------------------------------------


def test_leftmost_then_longest_then_first_rule() -> None:
    rules = [pattern("short", r"abc"), pattern("long", r"abcde"), pattern("late", r"bcdefg")]
    assert mask_all(rules, "xabcdefg", "<{name}>") == "x<long>fg"  # leftmost beats longer
    rules = [pattern("one", r"ab[a-z]{2}"), pattern("two", r"abcd")]
    assert mask_all(rules, "abcd!", "<{name}>") == "<one>!"  # same span: the earlier rule
    assert stream(StreamMasker(rules, "<{name}>"), list("abcd!")) == "<one>!"


def test_adjacent_matches_are_each_masked() -> None:
    text = AWS + AWS + " " + GOOGLE
    out = mask_all(DEFAULT_PATTERNS, text)
    assert (
        out == "[redacted aws_access_key_id][redacted aws_access_key_id] [redacted google_api_key]"
    )
    masker = StreamMasker(DEFAULT_PATTERNS)
    assert stream(masker, list(text)) == out
    assert masker.masked == ["aws_access_key_id", "aws_access_key_id", "google_api_key"]


def test_after_flush_a_new_block_starts_afresh() -> None:
    rules = [pattern("w", r"\bkey[0-9]{2}")]
    masker = StreamMasker(rules, "<{name}>")
    assert masker.feed("a") == ""  # "a" alone could not start a match, but context is kept
    assert masker.flush() == "a"
    assert stream(masker, ["key", "12"]) == "<w>"  # the previous "a" is not before this block
    assert masker.masked == ["w"]


def test_empty_deltas_change_nothing() -> None:
    masker = StreamMasker(DEFAULT_PATTERNS)
    assert masker.feed("") == ""
    assert masker.feed("sk-") == ""
    assert masker.feed("") == ""
    assert masker.held == 3
    assert masker.flush() == "sk-"
    assert masker.flush() == ""


# --- the property: any split, same result, never ahead of the masked text ---------------------

ORDINARY = [
    "Hello, ",
    "the answer is ",
    "sk-",
    "sk-ant-",
    "sk-proj-",
    "task-ant ",
    "sk-learn",
    "AKIA",
    "AKIAIOSFODNN7",
    "ASIA ",
    "ghp_",
    "github_pat_",
    "xoxb-",
    "AIza",
    "eyJ",
    "eyJhbGciOiJIUzI1NiJ9.",
    "-----BEGIN ",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "-----END ",
    '"',
    '", "b": "',
    "\n",
    " ",
    "_-",
    "é€😀",
]

pieces = st.lists(
    st.one_of(
        st.sampled_from(ALL_SECRETS),
        st.sampled_from(ORDINARY),
        st.text(alphabet=B64 + " .\n", max_size=12),
    ),
    max_size=12,
)
cuts = st.lists(st.integers(min_value=0, max_value=3000), max_size=60)
DEFAULT_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def check_stream(
    rules: list[Rule] | tuple[Rule, ...], text: str, deltas: list[str], mask: str
) -> None:
    """The property, in full.

    For any split of ``text`` into deltas: after every delta, the output so far is a prefix of
    ``mask_all(rules, text)`` (so nothing mask_all hides is ever sent, not even part of it, and
    nothing sent is ever taken back); ``held`` never exceeds ``max_held``; and the output joined
    with ``flush()`` is exactly ``mask_all(rules, text)``.
    """
    assert "".join(deltas) == text
    expected = mask_all(rules, text, mask)
    masker = StreamMasker(rules, mask)
    sent = ""
    for d in deltas:
        sent += masker.feed(d)
        assert expected.startswith(sent)
        assert masker.held <= masker.max_held
    sent += masker.flush()
    assert sent == expected
    assert masker.held == 0


@DEFAULT_SETTINGS
@given(pieces, cuts, st.lists(st.integers(min_value=0, max_value=3000), max_size=4))
def test_any_split_gives_mask_all_with_defaults(
    parts: list[str], at: list[int], empties: list[int]
) -> None:
    text = "".join(parts)
    deltas = split(text, at)
    for e in empties:  # empty deltas anywhere
        deltas.insert(min(e, len(deltas)), "")
    check_stream(DEFAULT_PATTERNS, text, deltas, DEFAULT_MASK)
    # Planted secrets, apart from their neighbours, never survive whole; a piece of one (four
    # characters or more, far less than any default pattern can match) may appear only where
    # the same characters were in ordinary text too.
    apart = " ".join(parts)
    out = re.sub(r"\[redacted [a-z_]+\]", " ", mask_all(DEFAULT_PATTERNS, apart))
    plain = " ".join(p for p in parts if p not in ALL_SECRETS)
    for secret in set(parts) & set(ALL_SECRETS):
        assert secret not in out
        for i in range(len(secret) - 3):
            assert secret[i : i + 4] not in out or secret[i : i + 4] in plain


@DEFAULT_SETTINGS
@given(pieces)
def test_one_character_deltas_with_defaults(parts: list[str]) -> None:
    text = "".join(parts)
    check_stream(DEFAULT_PATTERNS, text, list(text), DEFAULT_MASK)


# A small alphabet and rules that use what the defaults do not (word boundaries, lookahead,
# lookbehind, end anchors, backreferences, case-insensitivity, lazy and alternative matches,
# overlapping rules, a region with a stop character), so matches and near-matches are frequent.
TOY_RULES: list[Rule] = [
    pattern("word", r"\bab{1,3}c\b"),
    pattern("ahead", r"ca(?=bb)"),
    pattern("behind", r"(?<=x)ba{1,2}"),
    pattern("end", r"cc$"),
    pattern("twice", r"([ab]{1,2})x\1"),
    pattern("caseless", r"(?i:XA)B"),
    pattern("alt", r"b|bbb"),
    pattern("lazy", r"a{2,4}?c"),
    region("block", r"<<", r">>", stops='"'),
]
toy_text = st.text(alphabet='abcx <>"\nABX', max_size=80)


@settings(max_examples=600, deadline=None)
@given(toy_text, cuts, st.booleans())
def test_any_split_gives_mask_all_with_lookarounds_and_regions(
    text: str, at: list[int], single: bool
) -> None:
    check_stream(TOY_RULES, text, list(text) if single else split(text, at), "<{name}>")


@settings(max_examples=300, deadline=None)
@given(toy_text, cuts)
def test_rules_in_any_order_still_agree_with_mask_all(text: str, at: list[int]) -> None:
    rules = list(reversed(TOY_RULES))
    check_stream(rules, text, split(text, at), "#")
