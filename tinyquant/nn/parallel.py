"""Batch parallelism for the convolution: the batch in contiguous chunks, one per thread.

Why: a convolution's work is mostly NumPy copies (building columns), which run on one core,
and many small GEMMs, which OpenBLAS splits across cores badly (its threads cost more than
they save on a 16×144 by 144×1024 product). Giving each thread its own slice of the batch,
with BLAS held to one thread inside, keeps every core busy on everything. Measured on the
2-core machines, ResNet-20's layers at batch 128, forward + dW: 16 channels 32 → 24 ms,
64 channels 36 → 17 ms (benchmarks/README.md). NumPy releases the GIL in copies and GEMMs,
so plain threads suffice.

``runtime.over_batch(fn, n)`` calls ``fn(lo, hi)`` on contiguous chunks [lo, hi) covering range(n)
and returns the results in chunk order. The convolutions cut the batch into fixed
:func:`blocks` of a few samples (sized by ``block_bytes``, so one block's scratch stays in a
core's cache) and hand the threads contiguous runs of blocks; they write into slices of
preallocated outputs and add partial sums in block order, so their results do not depend on
the thread count.

State in the open: the thread count, the chunking thresholds, the block size, the thread
pools and the per-thread scratch workspaces live on one :class:`ConvRuntime` object. The convolution uses
:func:`default_runtime` unless given another (``conv2d(..., runtime=rt)``). The default is
created on first use with ``threads`` = ``TINYQUANT_NUM_THREADS`` if set, else the CPUs
this process may use, at most 8; ``1`` turns batch parallelism off. Change it with
``default_runtime().threads = n`` (the sweep's workers do) or replace it with
:func:`set_default_runtime`. Convolutions with less work than ``min_work`` run in one piece.
"""

from __future__ import annotations

import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import ThreadpoolController

from .im2col import Workspace

MIN_CHUNK = 1            # blocks per chunk, at least
#: Bytes of one block's scratch matrix (see ConvRuntime.block_bytes): a few MB, the size of a
#: core's L2 cache here, measured in benchmarks/README.md (Performance II).
BLOCK_BYTES = 2 << 20
#: Elements of the column matrix (8 MB of float32) below which a convolution runs in one
#: piece: ResNet-20's CIFAR layers at batch 128 (3.5–19 M) are split, the small embedded-data
#: models at their default batch 64 (8×8 digits, MNIST-1D: ≤ 1.2 M) are not, so their runs do
#: not depend on the thread count.
MIN_WORK = 1 << 21


def blocks(n: int, size: int) -> list[tuple[int, int]]:
    """[lo, hi) ranges of ``size`` samples covering range(n) (the last may be shorter): the
    fixed blocks a convolution works through, whatever the thread count."""
    return [(lo, min(lo + size, n)) for lo in range(0, n, size)]


def budget_blocks(n: int, per_sample_bytes: int, budget: int) -> list[tuple[int, int]]:
    """:func:`blocks` of as many samples as keep one block's scratch matrix (``per_sample_bytes``
    a sample) within ``budget`` bytes, at least one sample."""
    return blocks(n, max(1, budget // per_sample_bytes))


def check_threads(value, where: str = "ConvRuntime") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: threads must be a positive integer, got {value!r}")
    return value


ALGORITHMS = ("auto", "im2col", "rows", "winograd")


def check_algorithm(value, where: str = "ConvRuntime") -> str:
    if value not in ALGORITHMS:
        raise ValueError(f"{where}: algorithm must be one of {', '.join(ALGORITHMS)}, got {value!r}")
    return value


def default_algorithm() -> str:
    """``TINYQUANT_CONV_ALGORITHM`` if set (auto, im2col, rows or winograd), else ``"auto"``."""
    return check_algorithm(os.environ.get("TINYQUANT_CONV_ALGORITHM", "auto"),
                           "TINYQUANT_CONV_ALGORITHM")


def default_threads() -> int:
    """``TINYQUANT_NUM_THREADS`` if set, else the CPUs this process may use (at most 8)."""
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


class ConvRuntime:
    """Where the convolution's batch threads and its per-thread scratch arrays live.

    ``threads`` (default :func:`default_threads`), ``min_chunk`` and ``min_work`` decide
    the chunking (module docstring). ``block_bytes`` sizes the blocks of the batch each thread
    works through (the scratch matrix of one block — im2col's columns, Winograd's V — stays
    within it); each thread's scratch arrays live in its :meth:`workspace`.
    """

    def __init__(self, threads: int | None = None, min_chunk: int = MIN_CHUNK,
                 min_work: int = MIN_WORK, algorithm: str | None = None, save_columns: bool = False,
                 block_bytes: int = BLOCK_BYTES):
        self.threads = default_threads() if threads is None else threads
        #: keep im2col's columns from the forward for dW (memory) or rebuild them in the
        #: backward (one more im2col per convolution); see Conv2dFunction
        self.save_columns = bool(save_columns)
        self.algorithm = default_algorithm() if algorithm is None else algorithm
        self.min_chunk, self.min_work = min_chunk, min_work
        #: bytes of one block's scratch matrix (budget_blocks: im2col's or the kernel rows' columns, Winograd's V)
        if isinstance(block_bytes, bool) or not isinstance(block_bytes, int) or block_bytes < 1:
            raise ValueError(f"ConvRuntime: block_bytes must be a positive integer, got {block_bytes!r}")
        self.block_bytes = block_bytes
        self._pools: dict[int, ThreadPoolExecutor] = {}
        self._blas = None
        self._local = threading.local()
        _runtimes.add(self)

    def workspace(self) -> Workspace:
        """The calling thread's :class:`~tinyquant.nn.im2col.Workspace` (the scratch arrays every
        convolution path reuses block after block), created on first use."""
        ws = getattr(self._local, "workspace", None)
        if ws is None:
            ws = self._local.workspace = Workspace()
        return ws

    @property
    def algorithm(self) -> str:
        """How convolutions are computed: ``"auto"`` (the path measured faster for the shape,
        :func:`tinyquant.nn.convolution.conv_algorithm`), or forced where it applies:
        ``"winograd"`` (stride-1 3×3, :mod:`tinyquant.nn.winograd`), ``"rows"`` (stride 1,
        :mod:`tinyquant.nn.kernel_rows`) or ``"im2col"`` (everything); convolutions a forced
        path does not apply to use im2col."""
        return self._algorithm

    @algorithm.setter
    def algorithm(self, value: str) -> None:
        self._algorithm = check_algorithm(value)

    @property
    def threads(self) -> int:
        return self._threads

    @threads.setter
    def threads(self, value: int) -> None:
        self._threads = check_threads(value)

    def _pool(self, threads: int) -> ThreadPoolExecutor:
        """One executor per thread count, created on first use."""
        if threads not in self._pools:
            self._pools[threads] = ThreadPoolExecutor(max_workers=threads,
                                                      thread_name_prefix="tinyquant")
        return self._pools[threads]

    def _forget_pools(self) -> None:
        self._pools.clear()
        self._blas = None

    def chunk_bounds(self, n: int, work: int) -> list[tuple[int, int]]:
        """Contiguous [lo, hi) ranges covering range(n) blocks: one per thread when there are
        enough blocks (``min_chunk`` per chunk) and the work (elements touched) is large
        enough, else one range."""
        k = min(self.threads, n // self.min_chunk) if work >= self.min_work else 1
        if k <= 1:
            return [(0, n)]
        edges = [round(i * n / k) for i in range(k + 1)]
        return list(zip(edges[:-1], edges[1:]))

    def over_batch(self, fn, n: int, work: int = MIN_WORK) -> list:
        """``[fn(lo, hi) for lo, hi in chunk_bounds(n, work)]``, the chunks on parallel
        threads with BLAS limited to one thread each."""
        bounds = self.chunk_bounds(n, work)
        if len(bounds) == 1:
            return [fn(0, n)]
        if self._blas is None:
            self._blas = ThreadpoolController()
        pool = self._pool(self.threads)
        with self._blas.limit(limits=1, user_api="blas"):
            futures = [pool.submit(fn, lo, hi) for lo, hi in bounds]
            return [f.result() for f in futures]

    def __repr__(self) -> str:
        return (f"ConvRuntime(threads={self.threads}, min_chunk={self.min_chunk}, "
                f"min_work={self.min_work}, algorithm={self.algorithm!r}, "
                f"save_columns={self.save_columns}, block_bytes={self.block_bytes})")


_runtimes: "weakref.WeakSet[ConvRuntime]" = weakref.WeakSet()
_default: ConvRuntime | None = None


def default_runtime() -> ConvRuntime:
    """The runtime convolutions use unless given one (created on first use)."""
    global _default
    if _default is None:
        _default = ConvRuntime()
    return _default


def set_default_runtime(runtime: ConvRuntime) -> ConvRuntime:
    """Make ``runtime`` the default; returns the previous default (to restore it)."""
    global _default
    if not isinstance(runtime, ConvRuntime):
        raise TypeError(f"set_default_runtime: expected a ConvRuntime, got {type(runtime).__name__}")
    previous, _default = default_runtime(), runtime
    return previous


def _forget_pools_after_fork() -> None:
    """A forked child inherits the executors' bookkeeping but not their threads; rather than
    rely on an executor noticing that, the child starts with no executors and makes its own."""
    for runtime in list(_runtimes):
        runtime._forget_pools()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_after_fork)
