"""CPU time and memory of a process and its descendants, from the kernel's own accounting in /proc.

A proxy's cost is read from outside the proxy: ``utime + stime`` of each live process of its tree
(uvicorn's workers, nginx's master and worker) and their resident memory. Linux only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            continue
    return out


def tree(pid: int) -> list[int]:
    """``pid`` and all its live descendants."""
    seen = [pid]
    i = 0
    while i < len(seen):
        seen += _children(seen[i])
        i += 1
    return seen


def cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of the live processes of the tree (threads included)."""
    user = system = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After "pid (comm)": state is field 3, utime 14 and stime 15 (proc(5)).
        user += int(fields[11])
        system += int(fields[12])
    return user / CLK_TCK, system / CLK_TCK


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of the tree."""
    return sum(cpu_times(pid))


@dataclass(frozen=True, slots=True)
class MachineTimes:
    busy: float  # CPU seconds spent on anything but idling, all CPUs of this machine
    steal: float  # CPU seconds the hypervisor gave to other machines while this one wanted them


def machine_times() -> MachineTimes:
    """From /proc/stat's first line: every process here, and what a shared host took away. A
    benchmark's own processes use a known part of ``busy``; the rest, and any ``steal``, is
    disturbance."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (proc(5)); guest time is inside user.
    busy = sum(values[:8]) - values[3] - values[4]
    steal = values[7] if len(values) > 7 else 0
    return MachineTimes((busy - steal) / CLK_TCK, steal / CLK_TCK)


@dataclass(frozen=True, slots=True)
class Memory:
    rss_kib: int  # resident now, summed over the tree
    hwm_kib: int  # each process's peak resident set, summed (an upper bound of the tree's peak)
    processes: int


def memory(pid: int) -> Memory:
    rss = hwm = n = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
            n += 1
        except OSError:
            continue
    return Memory(rss, hwm, n)


def cpu_count_allowed() -> int:
    return len(os.sched_getaffinity(0))
