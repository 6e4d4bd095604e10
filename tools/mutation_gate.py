#!/usr/bin/env python
"""The mutation gate: planted slips that the fast tests must catch.

A test that a wrong formula survives is not a test. Each :class:`Slip` below is a small,
plausible mistake -- a textual patch (file, old snippet, new snippet) -- with the fast tests
that should catch it. The gate

1. checks every slip's snippet occurs exactly once in its file (else it stops with an error:
   a slip whose code moved must be updated, never silently counted as caught);
2. copies the working tree (``git ls-files -co --exclude-standard``) into a scratch directory
   for each run, so the checkout is never modified, and checks the copy's ``tinyquant`` is
   the one imported;
3. runs each test file's selected tests on the unpatched copy (they must pass), then, for each
   slip, applies the patch to a fresh copy and runs its tests: **caught** if pytest reports
   failures (exit code 1), **survived** if they pass, **error** otherwise (collection error,
   timeout, …);
4. prints each slip's outcome and ``caught X/Y``; exits 0 only if every slip is caught.

Runs are spread over a process pool (``--jobs``, default 2) and each runs the few tests that
target its slip (``-x``, hypothesis seed 0, no shrinking: the ``mutation-gate`` profile of
``tests/conftest.py``) in a child forked from a worker that has already imported numpy, scipy,
hypothesis and pytest -- never tinyquant: each run imports its scratch copy's, and the gate
checks it did. The 35 slips of issue 10 took 82 s on the loaded two-core machine (2026-12-01).
``tests/test_mutation_gate.py`` runs the gate as one test (marked ``mutation``).

    python tools/mutation_gate.py               # every slip
    python tools/mutation_gate.py --list        # the slips and their tests
    python tools/mutation_gate.py --only ttq-wn-from-positive-weights

Adding a slip: append a :class:`Slip` with an ``old`` snippet that is unique in its file and a
test selection (a test file and a ``-k`` expression) that fails on it and passes without it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Slip:
    """A planted mistake: replace ``old`` (which must occur exactly once) by ``new`` in ``file``;
    the tests of ``test_file`` selected by ``-k select`` (all if None) must then fail."""

    name: str
    area: str
    file: str
    old: str
    new: str
    test_file: str
    select: str | None = None

    def pytest_args(self) -> list[str]:
        return [self.test_file] + ([] if self.select is None else ["-k", self.select])


ZOO = "tests/quant/test_zoo.py"
TRAINING = "tests/quant/test_training.py"

SLIPS: tuple[Slip, ...] = (
    # ------------------------------------------------------------- the five of issue 10
    Slip("sign-backward-ignores-the-ste", "quantizers", "tinyquant/quant/binary.py",
         "return grad * ctx.ste.dF(w)                               # STE: dsign/dw ≈ F'(w)",
         "return grad", ZOO, "backward and binary_connect"),
    Slip("uniq-activation-thresholds-shifted-half-a-step", "quantizers", "tinyquant/quant/functional.py",
         "    return np.round(np.clip(x / step, 0, levels - 1))",
         "    return np.floor(np.clip(x / step, 0, levels - 1))", ZOO, "forward and uniq_activation"),
    Slip("lsq-activation-grad-scale-n-is-the-whole-batch", "quantizers", "tinyquant/quant/uniform.py",
         "n = x.data.size // self.s.data.size if self.signed else x.data.size // max(x.shape[0], 1)",
         "n = x.data.size",
         ZOO, "parameter_gradient_is_the_papers_formula and lsq_activation"),
    Slip("uniq-codes-off-by-one", "quantizers", "tinyquant/quant/uniform.py",
         "return 2 * k - (self.num_levels - 1)", "return 2 * k - self.num_levels",
         ZOO, "codes and uniq"),
    Slip("ttq-wn-from-positive-weights", "quantizers", "tinyquant/quant/ternary.py",
         "pos, neg = w[w > delta], -w[w < -delta]", "pos, neg = w[w > delta], w[w > delta]",
         ZOO, "initial_value and ttq"),
    # ------------------------------------------------------------------------ ops
    Slip("mul-backward-uses-the-wrong-operand", "ops", "tinyquant/ops.py",
         "db = grad * a if ctx.needs_input_grad[1] else None",
         "db = grad * b if ctx.needs_input_grad[1] else None",
         "tests/test_ops.py", "binary_op_gradient"),
    Slip("div-backward-loses-its-minus-sign", "ops", "tinyquant/ops.py",
         "db = -grad * a / (b * b)", "db = grad * a / (b * b)",
         "tests/test_ops.py", "binary_op_gradient"),
    Slip("tanh-backward-forgets-the-square", "ops", "tinyquant/ops.py",
         "return grad * (1 - out * out)", "return grad * (1 - out)",
         "tests/test_ops.py", "unary_op_gradient and tanh"),
    Slip("cross-entropy-gradient-not-divided-by-the-batch", "ops", "tinyquant/ops.py",
         "return dz * (grad / n), None", "return dz * grad, None",
         "tests/test_ops.py", "cross_entropy_gradient"),
    Slip("backward-overwrites-instead-of-accumulating", "autograd", "tinyquant/autograd.py",
         "entry.grad = g.copy() if entry.grad is None else entry.grad + g", "entry.grad = g.copy()",
         "tests/test_autograd.py", "accumulate"),
    Slip("relu-gradient-passes-below-zero", "ops", "tinyquant/ops.py",
         "ctx.save_for_backward(out > 0)", "ctx.save_for_backward(out >= 0)",
         "tests/test_ops.py", "relu"),
    # ---------------------------------------------------------------- convolution
    Slip("conv-input-gradient-kernel-not-flipped", "convolution", "tinyquant/nn/convolution.py",
         "weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)", "weight.transpose(1, 0, 2, 3)",
         "tests/nn/test_convolution.py", "gradients_match_the_adjoint"),
    Slip("col2im-overwrites-overlapping-windows", "convolution", "tinyquant/nn/im2col.py",
         "+= blocks[:, :, i, j]", "= blocks[:, :, i, j]",
         "tests/nn/test_im2col.py", "adjoint"),
    Slip("conv-weight-gradient-from-the-first-block-only", "convolution", "tinyquant/nn/convolution.py",
         "total = functools.reduce(np.add, partial)",
         "total = partial[0]",
         "tests/nn/test_convolution.py", "plain_im2col_reference"),
    Slip("kernel-rows-view-reads-the-wrong-row", "convolution", "tinyquant/nn/kernel_rows.py",
         "return r[:, :, :, i:i + ho].reshape(n, c * kw, ho * wo)",
         "return r[:, :, :, i // 2:i // 2 + ho].reshape(n, c * kw, ho * wo)",
         "tests/nn/test_kernel_rows.py", "reference"),
    Slip("kernel-rows-weight-gradient-swaps-kernel-axes", "convolution", "tinyquant/nn/kernel_rows.py",
         "return parts.reshape(kh, c, kw, o).transpose(3, 1, 0, 2)",
         "return parts.reshape(kh, c, kw, o).transpose(3, 1, 2, 0)",
         "tests/nn/test_kernel_rows.py", "reference"),
    Slip("winograd-bt-last-row-sign-flipped", "convolution", "tinyquant/nn/winograd.py",
         "np.subtract(d1, d3, out=out[3])", "np.subtract(d3, d1, out=out[3])",
         "tests/nn/test_winograd.py", "bt_d_b"),
    Slip("winograd-input-adjoint-adds-tap-3", "convolution", "tinyquant/nn/winograd.py",
         "odd[1:] -= v[3]", "odd[1:] += v[3]",
         "tests/nn/test_winograd.py", "adjoint_pairs"),
    Slip("winograd-output-transform-drops-m3", "convolution", "tinyquant/nn/winograd.py",
         "np.subtract(m[1], m[2], out=r[1]); r[1] -= m[3]", "np.subtract(m[1], m[2], out=r[1])",
         "tests/nn/test_winograd.py", "match_im2col"),
    # ----------------------------------------------------------------- batch norm
    Slip("batch-norm-running-variance-biased", "batch norm", "tinyquant/nn/batchnorm.py",
         "running_var += momentum * var * count / (count - 1)", "running_var += momentum * var",
         "tests/nn/test_batchnorm.py", "running_statistics"),
    Slip("batch-norm-momentum-the-wrong-way-round", "batch norm", "tinyquant/nn/batchnorm.py",
         "running_mean += momentum * mean", "running_mean += (1 - momentum) * mean",
         "tests/nn/test_batchnorm.py", "running_statistics"),
    Slip("batch-norm-backward-drops-the-variance-term", "batch norm", "tinyquant/nn/batchnorm.py",
         "dx = x_hat * (-sum_g_xhat / m)[:, None]", "dx = x_hat * 0.0",
         "tests/nn/test_batchnorm.py", "training_gradient"),
    Slip("batch-norm-eval-shift-forgets-the-mean", "batch norm", "tinyquant/nn/batchnorm.py",
         "y += (bias - mean * a).astype(x.dtype)[:, None]", "y += bias.astype(x.dtype)[:, None]",
         "tests/nn/test_batchnorm.py", "eval"),
    # ----------------------------------------------------------------- optimizers
    Slip("sgd-nesterov-is-plain-momentum", "optimizers", "tinyquant/optim/sgd.py",
         'd = d + mu * buf if group["nesterov"] else buf', "d = buf",
         "tests/optim/test_sgd.py", "nesterov"),
    Slip("sgd-weight-decay-with-the-wrong-sign", "optimizers", "tinyquant/optim/sgd.py",
         "d = grad + wd * data if wd != 0 else grad", "d = grad - wd * data if wd != 0 else grad",
         "tests/optim/test_sgd.py", "weight_decay"),
    Slip("adam-without-bias-correction", "optimizers", "tinyquant/optim/adam.py",
         "step_size = lr / (1 - b1**t)", "step_size = lr",
         "tests/optim/test_adam.py", "first_step or k_steps"),
    # ----------------------------------------------------------------------- STEs
    Slip("polynomial-ste-half-slope", "STEs", "tinyquant/quant/ste.py",
         "2 - 2 * np.abs(x), 0.0)", "2 - np.abs(x), 0.0)",
         "tests/quant/test_ste.py", "polynomial"),
    Slip("swish-ste-derivative-sign", "STEs", "tinyquant/quant/ste.py",
         "(2 - bx * np.tanh(bx / 2))", "(2 + bx * np.tanh(bx / 2))",
         "tests/quant/test_ste.py", "swish"),
    Slip("clipped-ste-excludes-its-boundary", "STEs", "tinyquant/quant/ste.py",
         "inside = np.abs(x) <= self.c if self.inclusive else np.abs(x) < self.c",
         "inside = np.abs(x) < self.c", "tests/quant/test_ste.py", "clipped"),
    Slip("staircase-rule-steps-twice-too-high", "STEs", "tinyquant/quant/ste.py",
         "return np.sum(h / (2 * s) * kernels, axis=-1)", "return np.sum(h / s * kernels, axis=-1)",
         "tests/quant/test_ste.py", "staircase"),
    # ------------------------------------------------------------------ quantizers
    Slip("sign-of-zero-is-minus-one", "quantizers", "tinyquant/quant/functional.py",
         "return np.where(x >= 0, 1, -1)", "return np.where(x > 0, 1, -1)",
         "tests/quant/test_quantizers.py", "sign_of_zero"),
    Slip("twn-threshold-from-the-largest-weight", "quantizers", "tinyquant/quant/ternary.py",
         "delta = ratio * np.mean(np.abs(w))                       # TWN eq. 11",
         "delta = ratio * np.max(np.abs(w))", ZOO, "forward and twn"),
    Slip("xnor-drops-the-path-through-alpha", "quantizers", "tinyquant/quant/binary.py",
         "dw = dw + s * np.mean(grad * s, axis=axes, keepdims=w.ndim > 1)  # through α", "dw = dw",
         ZOO, "backward and xnor"),
    Slip("gradient-correctness-inverted", "quantizers", "tinyquant/quant/ternary.py",
         "dw = grad * surrogate if ctx.correctness else grad * ctx.S * surrogate",
         "dw = grad * ctx.S * surrogate if ctx.correctness else grad * surrogate",
         ZOO, "backward and truncated_gaussian"),
    Slip("uniq-eq6-clipped-branch-as-printed", "quantizers", "tinyquant/quant/uniform.py",
         'clipped = alpha if ctx.eq6 == "printed" else n1 / 2', "clipped = alpha",
         ZOO, "central_differences and uniq and not activation"),
    Slip("stochastic-binary-wrong-probability", "quantizers", "tinyquant/quant/binary.py",
         "p = np.clip((w + 1) / 2, 0, 1)", "p = np.clip(w + 0.5, 0, 1)",
         ZOO, "unbiased and stochastic_binary"),
    Slip("no-floor-on-the-initial-step", "quantizers", "tinyquant/quant/uniform.py",
         "STEP_FLOOR = 1e-8", "STEP_FLOOR = 0.0", ZOO, "all_zero"),
    Slip("diagnostics-draw-from-the-training-stream", "quantizers", "tinyquant/quant/base.py",
         "        self.train(False)               # eval mode: no random draws, no initialization",
         "        pass", TRAINING, "bit_identical"),
    Slip("sqnr-divides-the-mean-square", "quantizers", "tinyquant/quant/functional.py",
         "return float(sqnr_db(np.var(x), np.mean((x - q) ** 2)))",
         "return float(sqnr_db(np.mean(x ** 2), np.mean((x - q) ** 2)))", TRAINING, "sqnr"),
    # ------------------------------------------------------------------- rounding
    Slip("stochastic-rounding-is-a-coin-flip", "rounding", "tinyquant/quant/rounding.py",
         "up = rng.random(q.shape) < (q - low)", "up = rng.random(q.shape) < 0.5",
         "tests/quant/test_rounding.py", "unbiased"),
    Slip("binary-rounding-sends-zero-to-zero", "rounding", "tinyquant/quant/regimes.py",
         "return (delta * sign(w)).astype(w.dtype)", "return (delta * np.sign(w)).astype(w.dtype)",
         TRAINING, "binary_rounding_is_sign"),
    # --------------------------------------------------------------------- deploy
    Slip("packed-conv1d-loses-its-padding", "deploy", "tinyquant/deploy/runtime.py",
         '"padding": [0, *node["padding"]]', '"padding": [0, 0]',
         "tests/deploy/test_pack.py", "1d_cnn"),
    # -------------------------------------------------------------------- regimes
    Slip("alternating-regime-skips-the-weight-step", "regimes", "tinyquant/quant/regimes.py",
         "        loss.backward()\n        trainer.optimizer.step()\n        return loss, logits",
         "        loss.backward()\n        return loss, logits", TRAINING, "alternating_regime_trains"),
    Slip("bc-regime-keeps-the-clipped-ste", "regimes", "tinyquant/quant/config.py",
         'kwargs["ste"] = "identity"', 'kwargs["ste"] = "clipped"', TRAINING, "bc_regime"),
)


class GateError(RuntimeError):
    """The gate itself is broken (a snippet not found, a baseline failing): never a catch."""


def check_slip(slip: Slip, root: Path = ROOT) -> None:
    """Raise :class:`GateError` unless ``slip.old`` occurs exactly once in its file and the
    patch changes it."""
    path = root / slip.file
    if not path.is_file():
        raise GateError(f"slip {slip.name!r}: file {slip.file} does not exist")
    count = path.read_text(encoding="utf-8").count(slip.old)
    if count != 1:
        raise GateError(f"slip {slip.name!r}: the snippet {slip.old!r} occurs {count} times in "
                        f"{slip.file} (expected exactly once): update the slip to the current code")
    if slip.old == slip.new:
        raise GateError(f"slip {slip.name!r}: the patch changes nothing")
    if not (root / slip.test_file).is_file():
        raise GateError(f"slip {slip.name!r}: test file {slip.test_file} does not exist")


def repo_files(root: Path = ROOT) -> list[str]:
    """The working tree's files: tracked and untracked-but-not-ignored (no out/, no .venv)."""
    try:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root,
                             capture_output=True, check=True, text=True).stdout
        files = [f for f in out.split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", "out", ".venv", "__pycache__", ".hypothesis", ".pytest_cache"}
        files = [str(p.relative_to(root)) for p in root.rglob("*")
                 if p.is_file() and not skip & set(p.relative_to(root).parts)]
    return [f for f in files if (root / f).is_file()]


def scratch_copy(root: Path, files: list[str], dest: Path) -> None:
    for f in files:
        target = dest / f
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / f, target)


#: the environment of every run (set before the workers import anything)
RUN_ENV = {"OPENBLAS_NUM_THREADS": "1", "TINYQUANT_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
#: imported once per worker, before any fork (never tinyquant: each run imports its own copy)
PRELOAD = ("numpy", "scipy.special", "scipy.stats", "matplotlib", "matplotlib.pyplot", "hypothesis",
           "hypothesis.extra.numpy", "pytest", "sklearn.datasets")
ISOLATION_BROKEN = 99


def environment(copy: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "TINYQUANT_FULL"))}
    env.update(RUN_ENV, PYTHONPATH=str(copy))
    return env


def preload() -> None:
    """Pool initializer: import the heavy libraries once, so that each run, a fork of this
    worker, starts in a fraction of a second."""
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _pytest_in_child(copy: Path, args: list[str], log: Path) -> None:
    """In a forked child: run pytest on the scratch copy and exit with its code (never returns)."""
    code = 3
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.chdir(copy)
        os.environ.update(environment(copy))
        sys.path.insert(0, str(copy))
        sys.dont_write_bytecode = True
        import pytest

        code = int(pytest.main(["-q", "-x", "-p", "no:cacheprovider", "--hypothesis-seed=0",
                                "--hypothesis-profile=mutation-gate", "--no-header", *args]))
        tq = sys.modules.get("tinyquant")
        if tq is not None and not Path(tq.__file__).resolve().is_relative_to(copy.resolve()):
            print(f"mutation_gate: imported {tq.__file__}, not the scratch copy's tinyquant")
            code = ISOLATION_BROKEN
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_job(job: tuple) -> dict:
    """One pytest run on a fresh scratch copy, with ``slip`` applied (None: the baseline),
    in a child forked from this (preloaded) worker."""
    label, slip, args, root, files, timeout = job
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tinyquant-mutant-") as tmp:
        copy, log = Path(tmp) / "repo", Path(tmp) / "pytest.log"
        scratch_copy(root, files, copy)
        if slip is not None:
            path = copy / slip.file
            text = path.read_text(encoding="utf-8")
            if text.count(slip.old) != 1:
                return {"label": label, "outcome": "error", "seconds": 0.0,
                        "detail": f"snippet not found exactly once in the scratch copy of {slip.file}"}
            path.write_text(text.replace(slip.old, slip.new), encoding="utf-8")
        pid = os.fork()
        if pid == 0:
            _pytest_in_child(copy, args, log)
        code = None
        while time.monotonic() - start < timeout:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                break
            time.sleep(0.05)
        if code is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return {"label": label, "outcome": "error", "seconds": time.monotonic() - start,
                    "detail": f"timed out after {timeout} s"}
        tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-6:])
    outcome = {0: "passed", 1: "failed"}.get(code, "error")
    return {"label": label, "outcome": outcome, "seconds": time.monotonic() - start,
            "detail": f"pytest exit code {code}\n{tail}"}


def check_import_isolation(root: Path, files: list[str]) -> None:
    """The scratch copy's tinyquant must be the one imported (not an installed checkout)."""
    with tempfile.TemporaryDirectory(prefix="tinyquant-mutant-") as tmp:
        copy = Path(tmp) / "repo"
        scratch_copy(root, ["tinyquant/__init__.py"] + [f for f in files if f.startswith("tinyquant/")],
                      copy)
        out = subprocess.run([sys.executable, "-c", "import tinyquant; print(tinyquant.__file__)"],
                             cwd=copy, env=environment(copy), capture_output=True, text=True)
        where = out.stdout.strip()
        if out.returncode != 0 or not Path(where).resolve().is_relative_to(copy.resolve()):
            raise GateError(f"the scratch copy's tinyquant is not the one imported "
                            f"(got {where or out.stderr.strip()!r}): a slip would test the wrong code")


def baselines(slips) -> dict[str, list[str]]:
    """One unpatched run per test file, selecting the union of its slips' tests."""
    by_file: dict[str, list] = {}
    for s in slips:
        by_file.setdefault(s.test_file, []).append(s.select)
    out = {}
    for f, selects in by_file.items():
        if None in selects:
            out[f] = [f]
        else:
            out[f] = [f, "-k", " or ".join(f"({k})" for k in dict.fromkeys(selects))]
    return out


def run_gate(slips=SLIPS, jobs: int = 2, timeout: float = 300.0, root: Path = ROOT, out=print) -> int:
    """Run the gate; returns the exit code (0: every slip caught)."""
    for slip in slips:
        check_slip(slip, root)
    names = [s.name for s in slips]
    if len(set(names)) != len(names):
        raise GateError("slip names must be unique")
    files = repo_files(root)
    check_import_isolation(root, files)
    start = time.monotonic()
    base_jobs = [(f"baseline {f}", None, args, root, files, timeout) for f, args in baselines(slips).items()]
    slip_jobs = [(s.name, s, s.pytest_args(), root, files, timeout) for s in slips]
    os.environ.update(RUN_ENV)                 # before the workers import numpy
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:                   # the workers import this module by name
        sys.path.insert(0, here)
    # workers are fresh interpreters (spawn), not forks of this process: a caller (a pytest
    # session) may have imported tinyquant already, and a fork would run the slips on that copy
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context, initializer=preload) as pool:
        base = list(pool.map(run_job, base_jobs))
        for r in base:
            out(f"{r['label']:<63} {r['outcome']:<9} {r['seconds']:6.1f}")
        bad = [r for r in base if r["outcome"] != "passed"]
        if bad:
            for r in bad:
                out(f"BASELINE FAILED  {r['label']}: {r['detail']}")
            raise GateError(f"{len(bad)} baseline run(s) fail without any slip: fix the tests first")
        results = list(pool.map(run_job, slip_jobs))
    caught = 0
    out(f"{'slip':<50} {'area':<12} {'outcome':<9} seconds")
    for slip, r in zip(slips, results):
        outcome = {"failed": "caught", "passed": "SURVIVED", "error": "ERROR"}[r["outcome"]]
        caught += outcome == "caught"
        out(f"{slip.name:<50} {slip.area:<12} {outcome:<9} {r['seconds']:6.1f}")
        if outcome == "ERROR":
            out("    " + r["detail"].replace("\n", "\n    "))
    out(f"caught {caught}/{len(slips)} planted slips in {time.monotonic() - start:.0f} s "
        f"({len(base_jobs)} baseline runs, {jobs} workers)")
    return 0 if caught == len(slips) else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="mutation_gate", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="parallel pytest runs (default 2)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per pytest run")
    parser.add_argument("--only", nargs="+", metavar="SLIP", help="run only these slips")
    parser.add_argument("--list", action="store_true", help="list the slips and their tests")
    args = parser.parse_args(argv)
    slips = SLIPS
    if args.only:
        unknown = sorted(set(args.only) - {s.name for s in SLIPS})
        if unknown:
            print(f"mutation_gate: unknown slip(s) {', '.join(unknown)}", file=sys.stderr)
            return 2
        slips = tuple(s for s in SLIPS if s.name in args.only)
    if args.list:
        for s in slips:
            print(f"{s.name:<50} {s.area:<12} {s.file}  ->  {' '.join(s.pytest_args())}")
        return 0
    try:
        return run_gate(slips, args.jobs, args.timeout)
    except GateError as err:
        print(f"mutation_gate: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
