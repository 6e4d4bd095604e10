"""Run a study's grid in parallel worker processes, one JSON record per finished run.

``run_sweep(study)`` submits every run that ``<out>/records.jsonl`` does not hold yet to a
``concurrent.futures`` executor — local processes by default, a Dask cluster with
``scheduler="tcp://host:port"``, or any executor you pass — and appends each record in
the parent as its future completes (one writer, so lines never interleave). An
interrupted sweep resumes: rerunning skips every recorded run id.

Each run trains through ``tinyquant.run.train`` (the one training API) in its own
folder ``<out>/runs/<run_id>/`` (checkpoint, ``config.json``, ``history.json`` and the
captured ``train.log``). A run killed
before its record was written continues from its last checkpoint (resumption is exact, and
the same id means the same configuration and input files).

Safety: one sweep at a time per output folder -- ``<out>/.sweep.lock`` is held with
``flock`` for the whole sweep (the kernel drops it if the sweep dies, so no stale lock
survives a ``kill -9``) and a second sweep refuses with :class:`SweepLockedError`. Local
workers die with their parent (Linux: ``PR_SET_PDEATHSIG``; elsewhere a thread watching
the parent pid), so killing a sweep never leaves workers running queued runs. Temporary
files of checkpoint writes a kill interrupted are removed when the next sweep starts.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no folder lock
    fcntl = None

from .records import append_record, drop_torn_tail, read_records
from .study import Study, record_run_id, training_defaults

BROKEN_POOL_HINT = (" (a worker process died: out of memory, killed, or started from a script "
                    "without an `if __name__ == '__main__':` guard or read from stdin, "
                    "which spawned workers cannot re-import)")
DASK_MISSING = ("--scheduler needs the optional Dask extra (pip install 'tinyquant[dask]'): "
                "the package 'distributed' is not installed")


def default_out(study: Study) -> Path:
    """Where a study's records and run folders go unless told otherwise."""
    return Path("out") / "studies" / study.name


class SweepLockedError(RuntimeError):
    """Another sweep is writing the same output folder."""


@contextlib.contextmanager
def folder_lock(out: Path):
    """Hold ``<out>/.sweep.lock`` (``flock``, exclusive, non-blocking) for the block."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / ".sweep.lock"
    handle = open(path, "a+", encoding="utf-8")
    try:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise SweepLockedError(
                    f"another sweep ({holder}) is writing {str(out)!r}; wait for it to finish "
                    f"or give this one another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since "
                     f"{datetime.now(timezone.utc).isoformat(timespec='seconds')}\n")
        handle.flush()
        yield
    finally:
        handle.close()   # releases the lock


def remove_stale_temporaries_under(out: Path) -> int:
    """Delete the ``.checkpoint.npz.*.tmp`` files killed runs left in ``<out>/runs/*/``."""
    from ..train.checkpoint import remove_stale_temporaries

    return sum(len(remove_stale_temporaries(folder / "checkpoint.npz"))
               for folder in (out / "runs").glob("*") if folder.is_dir())


def _die_with_parent(parent: int) -> None:
    """Make this worker exit as soon as process ``parent`` is gone."""
    try:  # Linux: the kernel sends SIGKILL when the parent dies
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:   # PR_SET_PDEATHSIG = 1
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="tinyquant-parent-watch", daemon=True).start()


def _init_worker(threads: int, parent: int | None = None) -> None:
    """Worker initializer: die with the sweep, and share the cores between workers instead
    of oversubscribing — BLAS's threads and the convolution's batch threads (its default
    ConvRuntime) alike."""
    from threadpoolctl import threadpool_limits

    from ..nn import parallel

    if parent is not None:
        _die_with_parent(parent)
    threadpool_limits(limits=threads)
    runtime = parallel.default_runtime()
    runtime.threads = min(runtime.threads, threads)


def execute_run(config: dict, run_dir: str) -> dict:
    """Train one configuration in ``run_dir`` (in a worker); return its timing and history.

    The training's progress lines go to ``run_dir/train.log``, not to the worker's stdout.
    """
    from ..config import ConfigError, TrainConfig
    from ..run import train
    from ..train.checkpoint import CheckpointError

    folder = Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    run_config = TrainConfig.from_dict({**config, "out": str(folder), "resume": True,
                                        "no_progress": True})
    start = time.perf_counter()
    with open(folder / "train.log", "a") as log, contextlib.redirect_stdout(log):
        try:   # a run killed before it was recorded continues from its checkpoint
            history = train(run_config)
        except (CheckpointError, ConfigError) as error:   # unusable leftovers: start over
            print(f"starting afresh: {error}")
            history = train(run_config.replace(resume=False, overwrite=True))
    return {"history": history, "wall_time": time.perf_counter() - start,
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "host": socket.gethostname(), "pid": os.getpid()}


@dataclass
class SweepResult:
    """What a call to ``run_sweep`` did: run ids executed (in completion order), skipped
    because already recorded, and failed (id → error message)."""

    records_path: Path
    executed: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)


def _open_executor(workers: int, scheduler: str | None):
    """A fresh executor and the function that closes it (and its Dask client)."""
    if scheduler is None:
        threads = max(1, (os.cpu_count() or 1) // workers)
        pool = ProcessPoolExecutor(max_workers=workers,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=(threads, os.getpid()))

        def close(wait: bool):
            pool.shutdown(wait=wait, cancel_futures=True)

        return pool, close
    try:
        from distributed import Client
    except ImportError:
        raise ImportError(DASK_MISSING) from None
    client = Client(scheduler)
    pool = client.get_executor(pure=False)  # two equal submissions are still two runs

    def close(wait: bool):
        pool.shutdown(wait=wait)
        client.close()

    return pool, close


def run_sweep(study: Study, out=None, *, workers: int = 2, scheduler: str | None = None,
              executor: Executor | None = None, echo=print,
              progress: bool = False) -> SweepResult:
    """Run every run of ``study`` not yet in ``<out>/records.jsonl``; return a SweepResult.

    ``workers`` local processes (default 2), or the Dask scheduler at ``scheduler``, or a
    ready ``executor`` that the caller owns (it is not shut down here). A run that raises is
    reported in ``result.failed`` and the others carry on; ``echo`` prints progress, one line
    per finished run (through a tqdm bar over the runs with ``progress=True``).

    Local workers are *spawned* (fresh interpreters, safe next to threads such as a Jupyter
    kernel's or a Dask client's), so a script that calls ``run_sweep`` needs the
    ``if __name__ == "__main__":`` guard, as with any ``multiprocessing`` code.
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if executor is not None and scheduler is not None:
        raise ValueError("pass either executor or scheduler, not both "
                         f"(scheduler={scheduler!r})")
    out = Path(default_out(study) if out is None else out).resolve()
    if out.exists() and not out.is_dir():
        raise ValueError(f"run_sweep: out {str(out)!r} is a file; expected a folder for the "
                         f"records and run folders")
    missing = study.missing_inputs()
    if missing:
        raise ValueError(f"study {study.name} ({study.path}): input file(s) "
                         f"{', '.join(map(repr, missing))} do not exist")
    with folder_lock(out):
        return _sweep(study, out, workers, scheduler, executor, echo, progress)


def _sweep(study, out, workers, scheduler, executor, echo, progress) -> SweepResult:
    result = SweepResult(records_path=out / "records.jsonl")
    drop_torn_tail(result.records_path)
    removed = remove_stale_temporaries_under(out)
    if removed:
        echo(f"removed {removed} temporary file(s) of interrupted checkpoint writes")
    defaults = training_defaults()
    recorded = {record_run_id(record, defaults) for record in read_records(result.records_path)}
    todo = [run for run in study.runs if run.run_id not in recorded]
    result.skipped = [run.run_id for run in study.runs if run.run_id in recorded]
    echo(f"{study.name} ({study.mode} mode): {len(study.runs)} runs, "
         f"{len(result.skipped)} already recorded, {len(todo)} to run")
    if not todo:
        return result

    pool, close = (executor, lambda wait: None) if executor is not None else \
        _open_executor(workers, scheduler)
    futures = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=study.name, unit="run")

    def finished(line: str) -> None:
        """A finished run's line (above the progress bar, if any)."""
        if bar is None:
            echo(line)
            return
        bar.write(line) if echo is print else echo(line)
        bar.update(1)

    try:
        for run in todo:
            futures[pool.submit(execute_run, run.config, str(out / "runs" / run.run_id))] = run
        for count, future in enumerate(as_completed(futures), start=1):
            run = futures[future]
            try:
                outcome = future.result()
            except Exception as error:  # one broken run must not lose the others
                result.failed[run.run_id] = f"{type(error).__name__}: {error}"
                if isinstance(error, BrokenProcessPool):
                    result.failed[run.run_id] += BROKEN_POOL_HINT
                finished(f"[{count}/{len(todo)}] {run.setting} seed {run.seed}: FAILED "
                         f"({result.failed[run.run_id]})")
                continue
            history = outcome["history"]
            append_record(result.records_path, {
                "run_id": run.run_id, "study": study.name, "mode": study.mode,
                "setting": run.setting, "seed": run.seed, "baseline": study.baseline,
                "metric": study.metric, "config": run.config, "inputs": run.inputs,
                "history": history,
                "final": history[-1], **{k: v for k, v in outcome.items() if k != "history"},
            })
            result.executed.append(run.run_id)
            value = history[-1].get(study.metric, float("nan"))
            finished(f"[{count}/{len(todo)}] {run.setting} seed {run.seed}: "
                     f"{study.metric} {value:.4f} ({outcome['wall_time']:.1f} s)")
    except BaseException:
        for future in futures:
            future.cancel()
        close(False)
        raise
    finally:
        if bar is not None:
            bar.close()
    close(True)
    if result.failed:
        echo(f"{len(result.failed)} run(s) failed; rerun the sweep to retry them")
    return result
