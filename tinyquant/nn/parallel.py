"""Batch parallelism for the convolution: the batch in contiguous chunks, one per thread.

Why: a convolution's work is mostly NumPy copies (building columns), which run on one core,
and many small GEMMs, which OpenBLAS splits across cores badly (its threads cost more than
they save on a 16×144 by 144×1024 product). Giving each thread its own slice of the batch,
with BLAS held to one thread inside, keeps every core busy on everything. Measured on the
2-core machines, ResNet-20's layers at batch 128, forward + dW: 16 channels 32 → 24 ms,
64 channels 36 → 17 ms (benchmarks/README.md). NumPy releases the GIL in copies and GEMMs,
so plain threads suffice.

``over_batch(fn, n)`` calls ``fn(lo, hi)`` on contiguous chunks [lo, hi) covering range(n)
and returns the results in chunk order. Each chunk runs the same code as the whole batch
would; callers write into slices of preallocated outputs and add partial sums in chunk
order, so results are deterministic for a given thread count (a different count may change
the last bits of a sum, as a different BLAS thread count does).

Threads: ``TINYQUANT_NUM_THREADS`` (default: the CPUs this process may use, at most 8);
``1`` turns batch parallelism off. Batches smaller than ``2 * MIN_CHUNK`` or with less work
than ``MIN_WORK`` run in one piece.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import ThreadpoolController

MIN_CHUNK = 8            # samples per chunk, at least
#: Elements of the column matrix (8 MB of float32) below which a convolution runs in one
#: piece: ResNet-20's CIFAR layers at batch 128 (3.5–19 M) are split, the small embedded-data
#: models at their default batch 64 (8×8 digits, MNIST-1D: ≤ 1.2 M) are not, so their runs do
#: not depend on the thread count.
MIN_WORK = 1 << 21


def _default_threads() -> int:
    value = os.environ.get("TINYQUANT_NUM_THREADS")
    if value is not None:
        try:
            threads = int(value)
        except ValueError:
            raise ValueError(f"TINYQUANT_NUM_THREADS must be a positive integer, got {value!r}") from None
        if threads < 1:
            raise ValueError(f"TINYQUANT_NUM_THREADS must be a positive integer, got {value!r}")
        return threads
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:          # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


THREADS = _default_threads()
_pools: dict[int, ThreadPoolExecutor] = {}
_blas = None


def _pool(threads: int) -> ThreadPoolExecutor:
    """One executor per thread count, created on first use (tests change THREADS)."""
    if threads not in _pools:
        _pools[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tinyquant")
    return _pools[threads]


def _forget_pools_after_fork() -> None:
    """A forked child inherits the executors' bookkeeping but not their threads; rather than
    rely on an executor noticing that, the child starts with no executors and makes its own."""
    global _blas
    _pools.clear()
    _blas = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_after_fork)


def chunk_bounds(n: int, work: int) -> list[tuple[int, int]]:
    """Contiguous [lo, hi) ranges covering range(n): one per thread when the batch (n) and
    the work (elements touched) are large enough, else one range."""
    k = min(THREADS, n // MIN_CHUNK) if work >= MIN_WORK else 1
    if k <= 1:
        return [(0, n)]
    edges = [round(i * n / k) for i in range(k + 1)]
    return list(zip(edges[:-1], edges[1:]))


def over_batch(fn, n: int, work: int = MIN_WORK) -> list:
    """``[fn(lo, hi) for lo, hi in chunk_bounds(n, work)]``, the chunks on parallel threads
    with BLAS limited to one thread each."""
    global _blas
    bounds = chunk_bounds(n, work)
    if len(bounds) == 1:
        return [fn(0, n)]
    if _blas is None:
        _blas = ThreadpoolController()
    pool = _pool(THREADS)
    with _blas.limit(limits=1, user_api="blas"):
        futures = [pool.submit(fn, lo, hi) for lo, hi in bounds]
        return [f.result() for f in futures]
