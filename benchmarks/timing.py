"""Timing helpers the benchmarks share: how busy the rest of the machine is, and alternation.

These machines are shared and absolute times drift (PERF.md), so a benchmark waits for the CPUs
to be idle, times the things it compares in turn, repetition by repetition, and reports the
share of CPU time other processes took meanwhile.
"""

from __future__ import annotations

import os
import time

import numpy as np


def _cpu_jiffies() -> tuple[int, int]:
    """(total, busy) jiffies over all CPUs since boot, from /proc/stat."""
    fields = list(map(int, open("/proc/stat").readline().split()[1:]))
    total = sum(fields)
    return total, total - fields[3] - fields[4]


def _own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


class OtherLoad:
    """Fraction of the machine's CPU time used by *other* processes while the block ran."""

    def __enter__(self):
        self.start, self.own = _cpu_jiffies(), _own_cpu_seconds()
        return self

    def __exit__(self, *exc):
        total1, busy1 = _cpu_jiffies()
        total, busy = total1 - self.start[0], busy1 - self.start[1]
        tick = os.sysconf("SC_CLK_TCK")
        own = (_own_cpu_seconds() - self.own) * tick
        self.fraction = max(0.0, (busy - own) / max(total, 1))


def wait_until_idle(threshold: float = 0.1, timeout: float = 60.0) -> None:
    """Wait (at most ``timeout`` s) until other processes use < threshold of the CPUs."""
    start = time.time()
    while time.time() - start < timeout:
        with OtherLoad() as load:
            time.sleep(0.5)
        if load.fraction < threshold:
            return


def alternate(fns: dict, reps: int, pause: float = 0.25, burst: int = 1) -> dict:
    """Median seconds of each function, timed in turn repetition by repetition.

    The pause lets the other library's worker threads stop spinning before the next timing
    (OpenBLAS and OpenMP threads busy-wait for a while after each call). ``burst`` > 1 calls
    the function that many times back to back and times the calls after the first (their
    mean): a training loop's steady state, where the threads are awake and the caches warm. The
    first call after the pause is not that: for tinyquant's 64-channel layer it measured 25 ms
    against 13–14 ms for the calls after it, PyTorch's 7.6 against 6.0 (2026-12-01).
    """
    for fn in fns.values():  # warm-up: first-touch allocations, thread pools
        fn()
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            time.sleep(pause)
            if burst > 1:
                fn()
            start = time.perf_counter()
            for _ in range(max(1, burst - 1)):
                fn()
            times[name].append((time.perf_counter() - start) / max(1, burst - 1))
    return {name: float(np.median(ts)) for name, ts in times.items()}
