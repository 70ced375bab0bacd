"""Fuzz the pure layers at volume: the targets of tests/fuzz (one definition for both tiers).

    .venv/bin/python bench/fuzz.py --help
    .venv/bin/python bench/fuzz.py --examples 20000                  # every target
    .venv/bin/python bench/fuzz.py --targets resume,repair --examples 50000
    .venv/bin/python bench/fuzz.py --engine atheris --examples 200000  # needs `pip install atheris`

Engines:
  hypothesis  (default) the targets' strategies, in batches of --batch examples with fresh random
              seeds, in this process. The first input of each new failure is shrunk by hypothesis
              before the run goes on; the runs spent shrinking are counted apart.
  atheris     libFuzzer's coverage-guided mutation with sseguard instrumented, one subprocess per
              target: structured targets read libFuzzer's bytes through hypothesis's
              ``fuzz_one_input``, the bytes targets (decoder_bytes, repair_bytes) take them raw,
              starting from a corpus of whole answers with the wire's tokens as a dictionary.
              Failures are reported as first seen, not shrunk.

A failure never stops a run. It is counted under its signature (the invariant's name, or the
exception type and the function that raised it), classified as a known bug when it is one
(tests/fuzz/targets.py, KNOWN_BUGS, each pinned by an xfail test), and its smallest or first input
is printed after the table. Progress goes to stderr, the table to stdout; --json FILE also writes
the figures. Exit status: 0 when nothing but known bugs failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
EXAMPLE_CHARS = 6000  # of an input's repr in the report


@dataclass
class Failure:
    """One failure signature's count and its smallest (or first) input."""

    count: int = 0
    known: str | None = None
    message: str = ""
    example: str = ""


@dataclass
class Stats:
    target: str
    engine: str
    examples: int = 0  # inputs checked, shrinking excluded
    shrink_examples: int = 0
    unexpected: int = 0  # exceptions other than InvariantFailure, known bugs excluded
    invariant: int = 0  # InvariantFailure, known bugs excluded
    known: int = 0  # failures that are known bugs
    seconds: float = 0.0
    failures: dict[str, Failure] = field(default_factory=dict)


def _targets_module(instrument: bool = False) -> Any:
    """tests/fuzz/targets.py, importable as ``fuzz.targets`` once tests/ leads ``sys.path`` (it
    must lead: this script's own folder, first on the path, holds a ``fuzz`` module too)."""
    if str(TESTS) in sys.path:
        sys.path.remove(str(TESTS))
    sys.path.insert(0, str(TESTS))
    sys.path.insert(1, str(ROOT / "src"))
    if instrument:
        import atheris

        with atheris.instrument_imports(include=["sseguard"]):
            import fuzz.targets as targets
    else:
        import fuzz.targets as targets
    return targets


def _signature(targets: Any, error: BaseException) -> str:
    if isinstance(error, targets.InvariantFailure):
        return f"invariant {error.invariant}"
    trace = error.__traceback__
    where = "?"
    while trace is not None:
        code = trace.tb_frame.f_code
        if "sseguard" in code.co_filename or where == "?":
            where = f"{Path(code.co_filename).name}:{code.co_name}"
        trace = trace.tb_next
    return f"{type(error).__name__} in {where}"


class Recorder:
    """Runs a target's check on one input and books the outcome; never raises, except (to have
    hypothesis shrink it) the first occurrence of a new failure when ``shrink`` is on."""

    def __init__(self, targets: Any, stats: Stats, *, shrink: bool) -> None:
        self.targets = targets
        self.target = targets.TARGETS[stats.target]
        self.stats = stats
        self.shrink = shrink
        self.shrinking: str | None = None  # the signature being shrunk in this batch
        self.seen: set[str] = set()

    def __call__(self, case: Any) -> None:
        stats = self.stats
        if self.shrinking is not None:
            stats.shrink_examples += 1
        else:
            stats.examples += 1
        try:
            self.target.check(case)
        except Exception as error:
            sig = _signature(self.targets, error)
            if self.shrinking is not None:
                if sig == self.shrinking:
                    stats.failures[sig].example = repr(case)[:EXAMPLE_CHARS]
                    raise
                return
            known = self.targets.known_bug(stats.target, case, error)
            if known is not None:
                sig = f"known {known}: {sig}"
                stats.known += 1
            elif isinstance(error, self.targets.InvariantFailure):
                stats.invariant += 1
            else:
                stats.unexpected += 1
            failure = stats.failures.setdefault(sig, Failure(known=known))
            failure.count += 1
            if failure.count == 1:
                failure.message = str(error).splitlines()[0][:300]
                failure.example = repr(case)[:EXAMPLE_CHARS]
                if self.shrink and known is None and sig not in self.seen:
                    self.seen.add(sig)
                    self.shrinking = sig
                    raise

    def function(self) -> Callable[[Any], None]:
        """A plain function for ``given``, which wants a name and a signature."""

        def check(case: Any) -> None:
            self(case)

        return check


def run_hypothesis(
    stats: Stats, examples: int, batch: int, progress: Callable[[Stats], None]
) -> None:
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis.strategies import SearchStrategy

    targets = _targets_module()
    recorder = Recorder(targets, stats, shrink=True)
    start = time.perf_counter()
    strategy: SearchStrategy[Any] = targets.TARGETS[stats.target].strategy
    check = recorder.function()
    while stats.examples < examples:
        before = stats.examples
        fuzz = settings(
            max_examples=min(batch, examples - stats.examples),
            database=None,
            deadline=None,
            derandomize=False,
            phases=[Phase.generate, Phase.shrink],
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            print_blob=False,
        )(given(strategy)(check))
        with contextlib.suppress(Exception):  # the shrunk failure, booked by the recorder
            fuzz()
        recorder.shrinking = None
        stats.seconds = time.perf_counter() - start
        progress(stats)
        if stats.examples == before:
            break  # the strategy has nothing new to give


def run_atheris_worker(name: str, examples: int, stats_path: Path, seed: int | None) -> None:
    """Runs in its own process: libFuzzer never returns, it ends the process."""
    import atheris
    from hypothesis import HealthCheck, given, settings
    from hypothesis.strategies import SearchStrategy

    targets = _targets_module(instrument=True)
    stats = Stats(name, "atheris")
    recorder = Recorder(targets, stats, shrink=False)
    target = targets.TARGETS[name]
    start = time.perf_counter()
    last = [start]

    def save(final: bool = False) -> None:
        stats.seconds = time.perf_counter() - start
        stats_path.write_text(json.dumps(asdict(stats)))
        if final or time.perf_counter() - last[0] > 10:
            last[0] = time.perf_counter()
            print(_progress_line(stats, examples), flush=True)

    strategy: SearchStrategy[Any] = target.strategy
    check = recorder.function()
    if target.takes_bytes:
        inner: Callable[[bytes], Any] = recorder
    else:
        wrapped = settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))(
            given(strategy)(check)
        )
        inner = wrapped.hypothesis.fuzz_one_input  # type: ignore[attr-defined]  # set by given

    def one_input(data: bytes) -> None:
        inner(data)
        if stats.examples >= examples:
            save(final=True)
            os._exit(0)
        if stats.examples % 1000 == 0:
            save()

    args = [sys.argv[0], "-runs=-1", "-max_len=4096", "-rss_limit_mb=3072", "-print_final_stats=0"]
    if seed is not None:
        args.append(f"-seed={seed}")
    if target.takes_bytes:
        # Start from whole answers, with the wire's tokens at hand: random bytes alone seldom
        # make an event the repairer gets past its first JSON parse.
        work = stats_path.parent  # the parent's temporary folder
        corpus = work / "corpus"
        corpus.mkdir()
        for i, sample in enumerate(targets.seed_corpus()):
            (corpus / f"seed{i}").write_bytes(
                bytes([0x87]) + sample if name == "decoder_bytes" else sample
            )
        words = "".join(f'"{_escaped(w)}"\n' for w in targets.DICTIONARY)
        (work / "tokens.dict").write_text(words)
        args += [f"-dict={work / 'tokens.dict'}", str(corpus)]
    atheris.Setup(args, one_input)
    atheris.Fuzz()


def _escaped(token: bytes) -> str:
    """A token as libFuzzer's dictionary spells it: printable ASCII as is, other bytes as \\xNN."""
    return "".join(
        chr(b) if 32 <= b < 127 and chr(b) not in '"\\' else f"\\x{b:02X}" for b in token
    )


def run_atheris(
    stats: Stats, examples: int, seed: int | None, progress: Callable[[Stats], None]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stats_path = Path(tmp) / "stats.json"
        log = Path(tmp) / "libfuzzer.log"
        cmd = [sys.executable, __file__, "--worker", stats.target, "--examples", str(examples)]
        cmd += ["--stats", str(stats_path), *(["--seed", str(seed)] if seed is not None else [])]
        with (
            log.open("wb") as err,
            subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True) as proc,
        ):
            assert proc.stdout is not None
            for line in proc.stdout:
                print(line.rstrip(), file=sys.stderr)
        if stats_path.exists():
            saved = json.loads(stats_path.read_text())
            saved["failures"] = {k: Failure(**v) for k, v in saved["failures"].items()}
            for key, value in saved.items():
                setattr(stats, key, value)
        if proc.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:]
            stats.failures["worker crashed"] = Failure(1, None, f"exit {proc.returncode}", tail)
            stats.unexpected += 1


def _progress_line(stats: Stats, goal: int) -> str:
    rate = stats.examples / stats.seconds if stats.seconds else 0.0
    return (
        f"[{stats.target}] {stats.examples:,}/{goal:,} inputs, {rate:,.0f}/s, "
        f"{stats.invariant} invariant / {stats.unexpected} unexpected / {stats.known} known failures"
    )


def table(all_stats: list[Stats]) -> str:
    head = (
        "target",
        "engine",
        "examples",
        "unexpected",
        "invariant",
        "known bugs",
        "seconds",
        "inputs/s",
    )
    rows = [head]
    for s in [*all_stats, _total(all_stats)]:
        rate = f"{s.examples / s.seconds:,.0f}" if s.seconds else "-"
        rows.append(
            (
                s.target,
                s.engine,
                f"{s.examples:,}",
                str(s.unexpected),
                str(s.invariant),
                str(s.known),
                f"{s.seconds:,.1f}",
                rate,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.insert(len(lines) - 1, lines[1])
    return "\n".join(lines)


def _total(all_stats: list[Stats]) -> Stats:
    total = Stats("total", "")
    for s in all_stats:
        total.examples += s.examples
        total.shrink_examples += s.shrink_examples
        total.unexpected += s.unexpected
        total.invariant += s.invariant
        total.known += s.known
        total.seconds += s.seconds
    return total


def failures_report(all_stats: list[Stats]) -> str:
    out: list[str] = []
    for s in all_stats:
        for sig, f in sorted(s.failures.items(), key=lambda kv: -kv[1].count):
            out.append(
                f"{s.target}: {sig}  ({f.count:,} inputs)\n  {f.message}\n  input: {f.example}"
            )
    return "\n\n".join(out) if out else "no failures"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the fuzz targets of tests/fuzz at volume and tabulate what they found.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    parser.add_argument(
        "--examples", type=int, default=10_000, help="inputs per target (default 10000)"
    )
    parser.add_argument(
        "--targets", default="", help="comma-separated targets (default: all); see --list"
    )
    parser.add_argument("--engine", choices=("hypothesis", "atheris"), default="hypothesis")
    parser.add_argument(
        "--batch", type=int, default=5_000, help="hypothesis engine: inputs per seed"
    )
    parser.add_argument("--seed", type=int, default=None, help="atheris engine: libFuzzer's seed")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to FILE")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--stats", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        run_atheris_worker(args.worker, args.examples, args.stats, args.seed)
        return 0
    targets = _targets_module()
    if args.list:
        for name, target in targets.TARGETS.items():
            summary = (
                " ".join((target.check.__doc__ or "").split()).split(": ", 1)[0].split(". ")[0]
            )
            print(f"{name:14} {summary}")
        return 0
    names = [n for n in args.targets.split(",") if n] or list(targets.TARGETS)
    unknown = [n for n in names if n not in targets.TARGETS]
    if unknown:
        parser.error(
            f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(targets.TARGETS)}"
        )
    if args.engine == "atheris":
        try:
            import atheris  # noqa: F401
        except ImportError:
            parser.error(
                "the atheris engine needs `pip install atheris` (or use --engine hypothesis)"
            )

    def progress(stats: Stats) -> None:
        print(_progress_line(stats, args.examples), file=sys.stderr, flush=True)

    all_stats: list[Stats] = []
    for name in names:
        stats = Stats(name, args.engine)
        if args.engine == "atheris":
            run_atheris(stats, args.examples, args.seed, progress)
        else:
            run_hypothesis(stats, args.examples, args.batch, progress)
        all_stats.append(stats)
    print(table(all_stats))
    shrunk = sum(s.shrink_examples for s in all_stats)
    if shrunk:
        print(f"(and {shrunk:,} inputs run while shrinking failures, not counted above)")
    print()
    print(failures_report(all_stats))
    if args.json:
        args.json.write_text(json.dumps([asdict(s) for s in all_stats], indent=1))
    return 1 if any(s.invariant or s.unexpected for s in all_stats) else 0


if __name__ == "__main__":
    sys.exit(main())
