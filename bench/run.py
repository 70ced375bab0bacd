"""The end-to-end benchmark: the same paced upstream and load client against no proxy, nginx,
sseguard and LiteLLM, in one run, on this machine.

    python3 bench/run.py                      # the full run, about eleven minutes
    python3 bench/run.py --quick              # a two-minute smoke run, not for quoting
    python3 bench/run.py --targets nginx,sseguard --profile
    python3 bench/run.py --report bench/results/<file>.json --docs

Installs what it needs and says so (Debian's nginx with apt-get, LiteLLM in bench/.venv-litellm,
py-spy in bench/.venv-profile for --profile). Writes bench/results/<UTC time>.json, prints the
table with ratios against nginx, and (full runs) rewrites the results section of
docs/benchmarks.md (unless the run was disturbed: the harness or nginx themselves late, i.e.
something else was using the CPUs). Progress goes to stderr, the table to stdout.

Phases, each a fresh load-client process against a target started for it:
  ttft      1 stream at a time, 4-delta streams: time to first event, per-event lateness
  cpu       --cpu-concurrency paced streams: the proxy's CPU per 1,000 relayed events, lateness
  cpu-short half as many 8-delta streams: splits the CPU into per-request and per-event costs
  memory    --memory-streams paced streams in a fresh process: memory per open stream
  sweep     paced streams at rising concurrency until p99 lateness reaches 50 ms (or errors):
            the largest concurrency sustained (a failed step is tried twice)
  workers   unpaced streams through sseguard with 1 and 2 worker processes: throughput
A quick run skips cpu-short, measures memory in the same process and restarts nothing.
With two or more CPUs the proxy runs on CPU 1 and the upstream and load client on CPU 0
(``taskset``), except in the workers phase, where nothing is pinned.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_PY = ROOT / ".venv" / "bin" / "python"


def _reexec_in_venv() -> None:
    """The upstream and load client need the project's virtualenv (uvloop, httptools, orjson)."""
    if not VENV_PY.exists():
        print("bench: creating the project's .venv (scripts/bootstrap.sh)", file=sys.stderr)
        subprocess.run(
            ["bash", "-c", f'source "{ROOT}/scripts/bootstrap.sh"'], check=True, stdout=sys.stderr
        )
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        os.execv(str(VENV_PY), [str(VENV_PY), *sys.argv])


if __name__ == "__main__":
    _reexec_in_venv()

sys.path.insert(0, str(BENCH))

from harness import pairs, procstat, report  # noqa: E402
from harness.targets import (  # noqa: E402
    LITELLM_VERSION,
    TARGETS,
    Process,
    bench_env,
    check_stream,
    ensure_litellm,
    ensure_nginx,
    start_target,
    start_upstream,
)

DEFAULT_TARGETS = report.ORDER  # every target but the workers phase, in the report's order
QUICK_TARGETS = ("direct", "nginx", "sseguard", "litellm")
SWEEP_TARGETS = ("direct", "nginx", "sseguard", "relay-floor", "litellm")
LITELLM_CPU_CONCURRENCY = 20


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Phase:
    """One load-client run against one target, with the target's CPU and memory read from /proc
    at the window's edges."""

    def __init__(self, args: argparse.Namespace, client_cpus: str | None) -> None:
        self.args = args
        self.client_cpus = client_cpus
        # Events per second one paced stream delivers when nothing is in the way (from direct).
        self.rate: float | None = None

    def run(
        self,
        target: Process,
        upstream: Process,
        *,
        concurrency: int,
        seconds: float,
        ramp: float,
        max_tokens: int = 1024,
        stamps: bool = True,
        label: str = "",
    ) -> dict[str, Any]:
        cmd = [
            str(VENV_PY),
            "-m",
            "harness.load",
            "--url",
            target.url + "/v1/messages",
            "-c",
            str(concurrency),
            "-t",
            str(seconds),
            "--ramp",
            str(ramp),
            "--settle",
            str(self.args.settle),
            "--max-tokens",
            str(max_tokens),
        ]
        if not stamps:
            cmd.append("--no-stamps")
        if self.client_cpus is not None:
            cmd = ["taskset", "-c", self.client_cpus, *cmd]
        errlog = target.workdir / "load.stderr.log"
        with open(errlog, "ab") as err:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=err, env=bench_env(), cwd=target.workdir
            )
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first:
            proc.wait()
            raise RuntimeError(f"load client failed: {errlog.read_text()[-2000:]}")
        w0, w1 = json.loads(first)["window"]
        pid = target.pid
        _sleep_until(w0)
        times0 = procstat.cpu_times(pid) if pid else (0.0, 0.0)
        up0 = procstat.cpu_seconds(upstream.pid) if upstream.pid else 0.0
        machine0 = procstat.machine_times()
        rss_max = 0
        while time.monotonic() < w1:
            if pid:
                rss_max = max(rss_max, procstat.memory(pid).rss_kib)
            time.sleep(min(0.5, max(0.0, w1 - time.monotonic())))
        times1 = procstat.cpu_times(pid) if pid else (0.0, 0.0)
        up1 = procstat.cpu_seconds(upstream.pid) if upstream.pid else 0.0
        machine1 = procstat.machine_times()
        mem = procstat.memory(pid) if pid else None
        out, _ = proc.communicate(timeout=120)
        result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        window = result["window_s"]
        events = result["events"]
        proxy_cpu = sum(times1) - sum(times0)
        proxy_system = times1[1] - times0[1]  # the kernel's share: socket reads, writes, epoll
        result.update(
            {
                "label": label,
                "proxy_cpu_s": round(proxy_cpu, 3),
                "proxy_cpu_share": round(proxy_cpu / window, 3),
                "proxy_system_s": round(proxy_system, 3),
                "cpu_s_per_1k_events": (round(proxy_cpu / events * 1000, 5) if events else None),
                "upstream_cpu_share": round((up1 - up0) / window, 3),
                # Disturbance: CPU the hypervisor gave elsewhere, and CPU of processes that are
                # neither the proxy, the upstream nor the load client (this runner's polling is
                # a few percent of a core).
                "steal_share": round((machine1.steal - machine0.steal) / window, 3),
                "others_cpu_share": round(
                    (machine1.busy - machine0.busy - proxy_cpu - (up1 - up0)) / window
                    - result["client_cpu_share"],
                    3,
                ),
                "rss_kib": mem.rss_kib if mem else None,
                "rss_max_kib": max(rss_max, mem.rss_kib) if mem else None,
            }
        )
        lat = result["lateness_ms"]
        result["sustained"] = stamps and report.sustained(result, self.rate)
        log(
            f"  {target.name:15} {label:8} c={concurrency:<5} {result['events_per_s']:>9,.0f} ev/s"
            f"  ttft p50 {_ms(result['ttft_ms']['p50'])}  lateness p50 {_ms(lat['p50'])}"
            f" p99 {_ms(lat['p99'])}  proxy cpu {result['proxy_cpu_share']:.0%}"
            f"  client {result['client_cpu_share']:.0%} upstream {result['upstream_cpu_share']:.0%}"
            + (f"  errors {result['errors']}" if result["errors"] else "")
            + (
                f"  DISTURBED: steal {result['steal_share']:.0%}, others {result['others_cpu_share']:.0%}"
                if report.disturbed_phase(result)
                else ""
            )
        )
        return result


def _ms(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.2f} ms"


def _sleep_until(t: float) -> None:
    delay = t - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def _warm(target: Process) -> None:
    """Three checked streams: the target relays complete, stamped streams, its imports and
    connection pools are warm, and its idle memory is measured after that."""
    for _ in range(3):
        check_stream(target.url)


def _versions(targets: list[str], litellm_version: str) -> dict[str, str]:
    out = {"python": platform.python_version(), "kernel": platform.release()}
    try:
        git = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        )
        out["sseguard"] = git.stdout.strip() or "unknown"
    except OSError:
        out["sseguard"] = "unknown"
    if "nginx" in targets:
        nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True, check=False)
        out["nginx"] = nginx.stderr.strip().rsplit("/", 1)[-1]
    if "litellm" in targets:
        out["litellm"] = litellm_version
    return out


STEAL_QUIET = 0.03  # of each CPU, while both spin: what an undisturbed host takes


def _steal_probe(seconds: float = 2.0) -> float:
    """The share of CPU time the host takes away while every CPU here wants to run. Idle CPUs
    accrue no steal, so the load average and an idle reading both miss a busy host; a short spin
    on each CPU shows it."""
    spin = f"import time\nt = time.monotonic() + {seconds}\nwhile time.monotonic() < t: pass"
    before = procstat.machine_times()
    spinners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(os.cpu_count() or 1)]
    started = time.monotonic()
    for proc in spinners:
        proc.wait()
    elapsed = time.monotonic() - started
    stolen = procstat.machine_times().steal - before.steal
    return stolen / (elapsed * len(spinners))


def _wait_for_quiet(limit: float, wait: float) -> None:
    """Until the load average is under ``limit`` and the host takes under ``STEAL_QUIET`` of a
    spinning CPU, for at most ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        load = os.getloadavg()[0]
        if load > limit:
            log(f"load average {load:.2f} > {limit}: waiting for a quieter machine")
            time.sleep(15)
            continue
        steal = _steal_probe()
        if steal <= STEAL_QUIET:
            log(f"quiet: load average {load:.2f}, the host took {steal:.1%} of a spinning CPU")
            return
        log(f"the host took {steal:.1%} of a spinning CPU (> {STEAL_QUIET:.0%}): waiting")
        time.sleep(15)
    log("still not quiet: running anyway (the results will say whether it was disturbed)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        epilog="See docs/benchmarks.md for the method and the latest figures.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run of two to three minutes: short windows, two steps, no restarts",
    )
    parser.add_argument(
        "--targets",
        default=None,
        help="comma-separated, from: "
        + ", ".join(TARGETS)
        + " (sseguard-w2 is the workers phase); default: all but sseguard-w2, "
        + "or with --quick "
        + ",".join(QUICK_TARGETS),
    )
    parser.add_argument("--deltas", type=int, default=64, help="text deltas per stream (64)")
    parser.add_argument("--pace-ms", type=float, default=20.0, help="ms between deltas (20)")
    parser.add_argument(
        "--cpu-concurrency", type=int, default=100, help="streams in the cpu phase (100)"
    )
    parser.add_argument(
        "--steps",
        default="50,100,250,500,1000,1500,2000",
        help="concurrency steps of the sweep (50,100,250,500,1000,1500,2000)",
    )
    parser.add_argument("--seconds", type=float, default=None, help="measurement window per phase")
    parser.add_argument(
        "--repeat", type=int, default=2, help="cpu phases run this often, best kept (2)"
    )
    parser.add_argument(
        "--memory-streams", type=int, default=500, help="open streams in the memory phase (500)"
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=4,
        help="nginx and sseguard cpu windows in turn until this many pairs saw no steal (at "
        "most three times as many), for the × nginx figure a busy host still allows (4; 0 "
        "skips; not in --quick)",
    )
    parser.add_argument("--settle", type=float, default=1.5, help="seconds between ramp and window")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--no-workers", action="store_true", help="skip the --workers 2 phase")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy sseguard under paced and unpaced load"
    )
    parser.add_argument(
        "--profile-only", action="store_true", help="only the profile, no other phase"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to this long for a quiet machine before starting: a 1-minute load average "
        "below 0.5, and a host that takes under 3 %% of a spinning CPU (steal time)",
    )
    parser.add_argument("--litellm-version", default=LITELLM_VERSION)
    parser.add_argument("--docs", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--out", type=Path, default=BENCH / "results", help="JSON folder")
    parser.add_argument(
        "--report",
        type=Path,
        metavar="JSON",
        help="no run: recompute the summary of a results file and print it (--docs: and the doc)",
    )
    args = parser.parse_args()

    results: dict[str, Any]
    if args.report:
        results = json.loads(args.report.read_text())
        results["summary"] = report.summarize(results)
        args.report.write_text(json.dumps(results, indent=1) + "\n")
        table = report.markdown(results)
        print(table)
        print(report.ratios_text(results))
        if args.docs:
            log(f"updated {report.update_doc(ROOT / 'docs' / 'benchmarks.md', table, results)}")
        return
    if args.profile_only:
        from harness.profile import profile_sseguard

        print(json.dumps(profile_sseguard(Path(tempfile.mkdtemp()), args, log), indent=1))
        return
    if args.targets is None:
        args.targets = ",".join(QUICK_TARGETS if args.quick else DEFAULT_TARGETS)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    for t in targets:
        if t not in TARGETS:
            parser.error(f"unknown target {t!r}; known: {', '.join(TARGETS)}")
    if "direct" not in targets:
        targets.insert(0, "direct")  # every added figure is relative to it
    want_workers = not args.no_workers and ("sseguard" in targets or "sseguard-w2" in targets)
    targets = [t for t in targets if t != "sseguard-w2"]
    steps = [int(s) for s in args.steps.split(",") if s.strip()]
    if args.quick:
        steps = [s for s in steps if s in (100, 500)] or steps[:2]
        window = args.seconds or 2.5
        ramp = 0.5
        args.settle = min(args.settle, 1.0)
        args.cpu_concurrency = min(args.cpu_concurrency, 100)
        args.repeat = 1
        args.memory_streams = min(args.memory_streams, 200)
    else:
        window = args.seconds or 5.0
        ramp = 2.0
    write_docs = (not args.quick) if args.docs is None else args.docs

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by every child
    if hard < 3 * max(steps) + 100:
        log(f"warning: only {hard} file descriptors allowed; the top steps may fail to connect")

    if "nginx" in targets:
        ensure_nginx(log)
    litellm_version = args.litellm_version
    if "litellm" in targets:
        ensure_litellm(log, litellm_version)
    if args.wait_quiet:
        _wait_for_quiet(0.5, args.wait_quiet)

    cpus = procstat.cpu_count_allowed()
    pin = not args.no_pin and cpus >= 2
    proxy_cpus, harness_cpus = ("1", "0") if pin else (None, None)
    started = dt.datetime.now(dt.UTC)
    results = {
        "started": started.isoformat(timespec="seconds"),
        "command": " ".join(["python3", "bench/run.py", *sys.argv[1:]]),
        "quick": args.quick,
        "machine": {
            "cpus": cpus,
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
            "pinning": (
                "proxy on CPU 1; upstream and load client on CPU 0" if pin else "not pinned"
            ),
            "versions": _versions(targets, litellm_version),
        },
        "settings": {
            "deltas": args.deltas,
            "pace_ms": args.pace_ms,
            "window_s": window,
            "ramp_s": ramp,
            "settle_s": args.settle,
            "cpu_concurrency": args.cpu_concurrency,
            "litellm_cpu_concurrency": min(args.cpu_concurrency, LITELLM_CPU_CONCURRENCY),
            "memory_streams": args.memory_streams,
            "repeat": args.repeat,
            "steps": steps,
            "lateness_bound_ms": report.LATENESS_BOUND_MS,
            "delivered_min": report.DELIVERED_MIN,
        },
        "targets": {},
        "workers": None,
        "profile": None,
    }
    log(
        f"load average at start {results['machine']['loadavg_start']} on {cpus} CPUs; "
        f"{results['machine']['pinning']}"
    )
    phase = Phase(args, harness_cpus)
    base = Path(tempfile.mkdtemp(prefix="sseguard-bench-"))
    upstream = start_upstream(base, args.deltas, args.pace_ms, harness_cpus)
    harness_limit: int | None = None  # the first step the harness itself could not sustain
    try:
        for name in targets:
            res = _bench_target(
                name, upstream, base, proxy_cpus, phase, window, ramp, steps, args, harness_limit
            )
            results["targets"][name] = res
            if name == "direct":
                failed = [s["concurrency"] for s in res["sweep"] if not s["sustained"]]
                harness_limit = failed[0] if failed else None
                results["harness_limit"] = harness_limit
        if args.pairs and not args.quick and {"nginx", "sseguard"} <= set(targets):
            log(f"paired: nginx and sseguard cpu windows in turn, {args.pairs} pairs wanted")
            sides: dict[str, pairs.Side] = {"nginx": "nginx", "sseguard": "sseguard"}
            rounds = pairs.alternate(
                sides,
                3 * args.pairs,
                upstream,
                base,
                args.cpu_concurrency,
                window,
                log,
                enough=args.pairs,
            )
            results["paired"] = pairs.summary(list(sides), rounds)
    finally:
        upstream.stop()
    if want_workers:
        results["workers"] = _bench_workers(base, args, window)
    if args.profile and "sseguard" in targets:
        from harness.profile import profile_sseguard

        results["profile"] = profile_sseguard(base, args, log)
    results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    results["summary"] = report.summarize(results)

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    path = args.out / f"{stamp}{'-quick' if args.quick else ''}.json"
    path.write_text(json.dumps(results, indent=1) + "\n")
    table = report.markdown(results)
    print(table)
    print(report.ratios_text(results))
    log(f"results: {path}")
    if write_docs and results.get("disturbed") and args.docs is None:
        # A disturbed run must not replace an undisturbed table; --docs says "even so".
        log(f"disturbed run: docs/benchmarks.md left as it was (--report {path} --docs to use it)")
    elif write_docs:
        doc = report.update_doc(ROOT / "docs" / "benchmarks.md", table, results)
        log(f"updated {doc}")
    log(f"work files (logs, configs) left in {base}")


def _bench_target(
    name: str,
    upstream: Process,
    base: Path,
    proxy_cpus: str | None,
    phase: Phase,
    window: float,
    ramp: float,
    steps: list[int],
    args: argparse.Namespace,
    harness_limit: int | None,
) -> dict[str, Any]:
    log(f"{name}: {TARGETS[name]}")
    workdir = base / name
    workdir.mkdir(parents=True, exist_ok=True)

    def fresh() -> Process:
        target = start_target(name, upstream, workdir, proxy_cpus, log)
        try:
            _warm(target)
        except Exception:
            target.stop()
            raise
        return target

    # LiteLLM cannot relay the default cpu phase's 5,000 events/s; a saturated proxy reads
    # several events at a time and would look cheaper per event than it is.
    cpu_c = min(args.cpu_concurrency, LITELLM_CPU_CONCURRENCY) if name == "litellm" else None
    cpu_c = cpu_c or args.cpu_concurrency
    res: dict[str, Any] = {"description": TARGETS[name], "sweep": []}
    if name.startswith("sseguard"):
        # Other people commit to this tree while it is measured: note what this target ran.
        res["sseguard_version"] = _versions([], "")["sseguard"]
    target = fresh()
    try:
        if target.pid:
            res["idle_rss_kib"] = procstat.memory(target.pid).rss_kib
        res["ttft"] = phase.run(
            target, upstream, concurrency=1, seconds=window, ramp=0.0, max_tokens=4, label="ttft"
        )
        # Best of --repeat: the machine is shared, and a neighbour's burst only ever adds.
        res["cpu"] = cpu = _best(
            [
                phase.run(
                    target,
                    upstream,
                    concurrency=cpu_c,
                    seconds=window + 1.0,
                    ramp=ramp,
                    label="cpu",
                )
                for _ in range(1 if name == "direct" else args.repeat)
            ]
        )
        if name == "direct":
            phase.rate = cpu["events_per_s"] / cpu["concurrency"]
            res["events_per_s_per_stream"] = round(phase.rate, 2)
        if name != "direct" and not args.quick:
            # Short streams at the same concurrency: with the cpu phase, this splits the proxy's
            # CPU into a cost per request and a cost per relayed event.
            res["cpu_short"] = _best(
                [
                    phase.run(
                        target,
                        upstream,
                        concurrency=max(1, cpu_c // 2),  # short streams: more requests per event
                        seconds=window,
                        ramp=ramp,
                        max_tokens=8,
                        label="cpu-short",
                    )
                    for _ in range(args.repeat)
                ]
            )
        if target.pid:
            res["peak_hwm_kib"] = procstat.memory(target.pid).hwm_kib
        if name in SWEEP_TARGETS and name != "direct":
            # Memory per open stream, in a fresh process holding --memory-streams streams (a
            # quick run reuses the process: its figure then includes the earlier phases' growth).
            if not args.quick:
                target.stop()
                target = fresh()
            idle = (
                (procstat.memory(target.pid).rss_kib if not args.quick else res["idle_rss_kib"])
                if target.pid
                else 0
            )
            mem = phase.run(
                target,
                upstream,
                concurrency=args.memory_streams,
                seconds=window,
                ramp=ramp,
                label="memory",
            )
            mem["idle_rss_kib"] = idle
            mem["rss_kib_per_stream"] = round((mem["rss_max_kib"] - idle) / args.memory_streams, 1)
            res["memory"] = mem
            res["peak_hwm_kib"] = max(
                res.get("peak_hwm_kib", 0), procstat.memory(target.pid).hwm_kib if target.pid else 0
            )
        if name in SWEEP_TARGETS:
            for c in steps:
                if harness_limit is not None and c >= harness_limit and name != "direct":
                    log(f"  {name}: step {c} skipped: the harness itself did not sustain it")
                    break
                step: dict[str, Any] = {}
                for attempt in range(2):
                    # A fresh process per step (not in quick runs); a failed step gets a second
                    # try, since one neighbour's burst on this shared machine can push a p99 over.
                    if not args.quick or attempt:
                        target.stop()
                        target = fresh()
                    step = phase.run(
                        target,
                        upstream,
                        concurrency=c,
                        seconds=window,
                        ramp=ramp,
                        label="sweep" if attempt == 0 else "retry",
                    )
                    step["tries"] = attempt + 1
                    if step["sustained"] or not target.alive() or step["proxy_cpu_share"] > 0.95:
                        break  # passed, died, or out of CPU: a second try would not change it
                res["sweep"].append(step)
                if not target.alive():
                    log(f"  {name} died at concurrency {c}:\n{target.log_tail()}")
                    break
                if not step["sustained"]:
                    break
    finally:
        target.stop()
    return res


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the least proxy CPU per event (the least disturbed), noting how many ran."""
    key = [r["cpu_s_per_1k_events"] or 0.0 for r in runs]
    best = runs[key.index(min(key))]
    best["of_runs"] = len(runs)
    best["runs_cpu_s_per_1k_events"] = key
    return best


def _bench_workers(base: Path, args: argparse.Namespace, window: float) -> dict[str, Any]:
    """Unpaced streams (each written in one piece), nothing pinned: how much does a second
    worker process add?"""
    log("workers: unpaced streams, sseguard with --workers 1 and 2, no CPU pinning")
    workdir = base / "workers"
    workdir.mkdir(parents=True, exist_ok=True)
    upstream = start_upstream(workdir, args.deltas, 0.0, None)
    phase = Phase(args, None)
    out: dict[str, Any] = {"concurrency": 64}
    try:
        for name in ("sseguard", "sseguard-w2"):
            target = start_target(name, upstream, workdir / name, None, log)
            try:
                _warm(target)
                out[name] = phase.run(
                    target,
                    upstream,
                    concurrency=64,
                    seconds=window + 1.0,
                    ramp=0.5,
                    stamps=False,
                    label="unpaced",
                )
            finally:
                target.stop()
    finally:
        upstream.stop()
    return out


if __name__ == "__main__":
    main()
