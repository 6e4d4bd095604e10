"""Benchmark: peak memory and time of a ResNet training step, tinyquant beside PyTorch, by depth and batch.

    python benchmarks/bench_memory.py                  # ResNet-20 at batch 128, then the scaling grid
    python benchmarks/bench_memory.py --quick          # ResNet-20 only, 3 steps
    python benchmarks/bench_memory.py --plot out/bench/scaling.png

Every measurement runs in a fresh child process (so one library's caches and allocator pools
never count against the other) and reports, per training step (forward, cross-entropy,
backward, SGD step with momentum):

* **step RSS**: the process's peak resident memory during the steps minus its resident memory
  just before the first step — the step's own working memory, without the libraries' code and
  the model's parameters (``ru_maxrss`` against ``/proc/self/statm``);
* **NumPy peak** (tinyquant only): the largest traced allocation total within one step
  (``tracemalloc`` sees NumPy's array buffers), step by step, to show it does not grow with the
  number of steps;
* **ms / step**: median wall time over the steps after the first.

ResNet-20/32/56 are He et al.'s CIFAR ResNets with n = 3/5/9 blocks per stage (option-A
shortcuts), as ``tinyquant.nn.models.ResNet(n)`` builds them; PyTorch's twin is written in
``bench_conv.torch_resnet``. Target (issue 16): a training step's peak memory ≤ 1.5× PyTorch's.
Time is only comparable on an idle machine (PERF.md); memory is not sensitive to load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEPTHS = {20: 3, 32: 5, 56: 9}
BATCHES = (32, 64, 128, 256)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(lib: str, depth: int, batch: int, steps: int) -> dict:
    """One library, one model, ``steps`` training steps; the figures of the module docstring."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    if lib == "tinyquant":
        import tracemalloc

        import tinyquant as tq
        from tinyquant.nn.models import ResNet
        from tinyquant.optim import SGD

        model = ResNet(n=DEPTHS[depth], rng=0)
        model.train()
        opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
        xt = tq.Tensor(x)

        def step():
            opt.zero_grad()
            tq.cross_entropy(model(xt), y).backward()
            opt.step()

        tracemalloc.start()
    else:
        import torch

        sys.path.insert(0, HERE)
        from bench_conv import torch_resnet

        torch.set_num_threads(2)
        tmodel = torch_resnet(DEPTHS[depth]).train()
        topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
        tx, ty = torch.tensor(x), torch.tensor(y)

        def step():
            topt.zero_grad()
            torch.nn.functional.cross_entropy(tmodel(tx), ty).backward()
            topt.step()

    rss_before = _rss_bytes()
    times, numpy_peaks = [], []
    for _ in range(steps):
        if lib == "tinyquant":
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
        if lib == "tinyquant":
            numpy_peaks.append(tracemalloc.get_traced_memory()[1] - base)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return dict(lib=lib, depth=depth, batch=batch, steps=steps,
                step_rss_mb=(peak - rss_before) / 2**20,
                numpy_peak_mb=[p / 2**20 for p in numpy_peaks],
                ms=statistics.median(times[1:] if len(times) > 1 else times) * 1e3)


def measure(lib: str, depth: int, batch: int, steps: int) -> dict:
    root = os.path.dirname(HERE)                 # the checkout, importable without an install
    env = dict(os.environ, OMP_NUM_THREADS="2",
               PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, __file__, "--child", lib, str(depth), str(batch), str(steps)],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="ResNet-20 at batch 128 only, 3 steps")
    parser.add_argument("--steps", type=int, default=6, help="training steps per measurement (default 6)")
    parser.add_argument("--plot", default=None, metavar="PNG", help="draw the scaling grid to this file")
    parser.add_argument("--child", nargs=4, metavar=("LIB", "DEPTH", "BATCH", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        lib, depth, batch, steps = args.child
        print(json.dumps(child(lib, int(depth), int(batch), int(steps))))
        return
    libs = ["tinyquant"] + (["torch"] if _have_torch() else [])
    steps = 3 if args.quick else args.steps
    grid = [(20, 128)] if args.quick else [(d, b) for d in DEPTHS for b in BATCHES]
    rows = []
    print("| model | batch | tinyquant step RSS MB | NumPy peak MB per step | torch step RSS MB | ratio | tinyquant ms | torch ms |")
    print("|---|---|---|---|---|---|---|---|")
    for depth, batch in grid:
        r = {lib: measure(lib, depth, batch, steps) for lib in libs}
        rows.append(r)
        ours, theirs = r["tinyquant"], r.get("torch")
        peaks = " / ".join(f"{p:.0f}" for p in ours["numpy_peak_mb"])
        if theirs:
            print(f"| ResNet-{depth} | {batch} | {ours['step_rss_mb']:.0f} | {peaks} | {theirs['step_rss_mb']:.0f} | "
                  f"{ours['step_rss_mb'] / theirs['step_rss_mb']:.2f}× | {ours['ms']:.0f} | {theirs['ms']:.0f} |", flush=True)
        else:
            print(f"| ResNet-{depth} | {batch} | {ours['step_rss_mb']:.0f} | {peaks} | – | – | {ours['ms']:.0f} | – |", flush=True)
    if args.plot:
        plot(rows, args.plot)


def plot(rows, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for depth in DEPTHS:
        for lib, style in (("tinyquant", "-o"), ("torch", "--s")):
            pts = [(r[lib]["batch"], r[lib]) for r in rows if lib in r and r[lib]["depth"] == depth]
            if not pts:
                continue
            b = [p[0] for p in pts]
            axes[0].plot(b, [p[1]["ms"] for p in pts], style, label=f"{lib} ResNet-{depth}")
            axes[1].plot(b, [p[1]["step_rss_mb"] for p in pts], style, label=f"{lib} ResNet-{depth}")
    for ax, ylabel in zip(axes, ("time per training step (ms)", "step working memory, peak RSS (MB)")):
        ax.set_xlabel("batch size (images)")
        ax.set_ylabel(ylabel)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.legend(fontsize=7, title="library, model")
    fig.suptitle("Cost of a training step by depth and batch (linear growth is a line of slope 1)")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
