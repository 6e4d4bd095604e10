"""Probe tinyquant's runs, resumes, checkpoints and sweeps the way a demanding user would.

    PYTHONPATH=<tree under test> python tools/probe_reliability.py [--out DIR] [--only GROUP]

Every case is tried against the tree on ``PYTHONPATH`` through public entry points only
(``tinyquant train`` in subprocesses, ``load_checkpoint``/``save_checkpoint``,
``load_study``/``run_sweep``), so the same script measures the code before and after a
change. Each case ends in one outcome:

* ``ok``            -- the right result (a resume bit-identical, a run that should work works);
* ``clear_error``   -- bad input refused with a ValueError/TypeError naming the file/argument
                       (and never suggesting ``allow_pickle=``);
* ``crash``         -- an unexpected exception or an unclear error;
* ``silent_wrong``  -- accepted without a word, or a wrong result;
* ``data_lost``     -- something already on disk destroyed or a record lost.

It prints one line per case and the counts (issue 12's closing note), and writes them as
JSON to ``DIR/probe.json`` (default ``out/probe_reliability``). Not a test: it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostile_files  # noqa: E402  (tools/hostile_files.py)
from procfs import alive, children  # noqa: E402  (tools/procfs.py)

HERE = Path(__file__).resolve().parent
KILLER = HERE / "kill_after_epoch.py"
OUTCOMES = ("ok", "clear_error", "crash", "silent_wrong", "data_lost")
CASES: list[tuple[str, str, object]] = []
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "TINYQUANT_NUM_THREADS": "1"}


def case(group: str, name: str | None = None):
    def register(fn):
        CASES.append((group, name or fn.__name__, fn))
        return fn
    return register


def train(out, *options, kill_at: int = -1, cwd=None, check=True):
    """``tinyquant train`` in a subprocess via tools/kill_after_epoch.py."""
    cmd = [sys.executable, str(KILLER), str(kill_at), "train", "--out", str(out), "--no-progress",
           *map(str, options)]
    proc = subprocess.run(cmd, env=ENV, cwd=cwd, capture_output=True, text=True, timeout=600)
    if check and kill_at < 0 and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return proc


def arrays(path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def clear_error(call, *names) -> tuple[str, str]:
    """Run ``call``; a ValueError/TypeError naming every one of ``names`` is a clear error."""
    try:
        call()
    except (ValueError, TypeError) as err:
        text = str(err)
        if "allow_pickle" in text:
            return "crash", f"suggests allow_pickle: {text[:160]}"
        missing = [n for n in names if str(n) not in text]
        if missing:
            return "crash", f"{type(err).__name__} not naming {missing}: {text[:160]}"
        return "clear_error", text[:160]
    except BaseException as err:  # noqa: BLE001 - any other exception is the finding
        return "crash", f"{type(err).__name__}: {str(err)[:160]}"
    return "silent_wrong", "accepted without an error"


# ------------------------------------------------------------------ exact resume
RESUME = {
    "stochastic_binary": ["--quantizer", "stochastic_binary"],
    "stochastic_round": ["--quantizer", "stochastic_round"],
    "regime_sr": ["--regime", "sr"],
    "regime_r": ["--regime", "r"],
    "regime_alternating": ["--quantizer", "truncated_gaussian_ternary", "--regime", "alternating"],
    "ttq_diagnostics": ["--quantizer", "ttq", "--diagnostics"],
    "sr_diagnostics": ["--regime", "sr", "--diagnostics"],
    "uniq_warmup": ["--quantizer", "uniq", "--uniq-warmup", "1", "--act-bits", "2"],
}


def resume_case(options):
    def run(tmp: Path):
        common = ["--epochs", 3, *options]
        train(tmp / "full", *common)
        train(tmp / "cut", *common, kill_at=1)
        if not (tmp / "cut" / "checkpoint.npz").exists():
            return "crash", "no checkpoint after the kill"
        train(tmp / "cut", *common, "--resume")
        a, b = arrays(tmp / "full" / "checkpoint.npz"), arrays(tmp / "cut" / "checkpoint.npz")
        dw = max((float(np.max(np.abs(a[k].astype(np.float64) - b[k]))) for k in a
                  if k.startswith("model/") and a[k].dtype.kind == "f" and a[k].size), default=0.0)
        differ = sorted(k for k in a if (k.startswith("model/") or k.startswith("optimizer/"))
                        and not np.array_equal(a[k], b.get(k)))
        detail = f"max |dw| = {dw:.4g}, {len(differ)} model/optimizer entries differ"
        if "--diagnostics" in options:
            da = json.loads((tmp / "full" / "diagnostics.json").read_text())
            db = json.loads((tmp / "cut" / "diagnostics.json").read_text())
            if da != db:
                changed = da.get("ChangedLevels", {}).get("since_init", {})
                changed_b = db.get("ChangedLevels", {}).get("since_init", {})
                first = next(iter(changed), None)
                if first:
                    detail += (f"; since_init {changed[first][-1]:.3f} vs "
                               f"{changed_b.get(first, [float('nan')])[-1]:.3f}")
                return "silent_wrong", detail + "; diagnostics differ"
        return ("ok" if not differ else "silent_wrong"), detail
    return run


for _name, _options in RESUME.items():
    case("resume", f"resume_{_name}")(resume_case(_options))


@case("resume")
def resume_with_other_lr(tmp):
    """api's part (issue 12 item 2): a changed hyperparameter on --resume."""
    train(tmp / "r", "--model", "mlp", "--epochs", 2, kill_at=1)
    proc = train(tmp / "r", "--model", "mlp", "--epochs", 2, "--resume", "--lr", 0.5, check=False)
    if proc.returncode == 0:
        return "silent_wrong", "resumed with another --lr without a word"
    return ("clear_error", proc.stderr.strip().splitlines()[-1][:160]) if "lr" in proc.stderr \
        else ("crash", proc.stderr[-160:])


@case("resume")
def overwrite_finished_run(tmp):
    """api's part (issue 12 item 2): train --out over a finished run."""
    train(tmp / "r", "--model", "mlp", "--epochs", 1)
    before = (tmp / "r" / "checkpoint.npz").read_bytes()
    proc = train(tmp / "r", "--model", "mlp", "--epochs", 1, "--seed", 1, check=False)
    if (tmp / "r" / "checkpoint.npz").read_bytes() != before:
        return "data_lost", "the finished run's checkpoint was replaced"
    return ("clear_error" if proc.returncode else "silent_wrong"), proc.stderr.strip()[-160:]


# ------------------------------------------------------------ checkpoint files
def valid_checkpoint(tmp: Path) -> Path:
    out = tmp / "valid"
    if not (out / "checkpoint.npz").exists():
        train(out, "--model", "mlp", "--epochs", 1, "--batch-size", 256)
    return out / "checkpoint.npz"


def load_case(name):
    def run(tmp: Path):
        from tinyquant.train import load_checkpoint

        path = hostile_files.CORPUS[name](tmp, valid_checkpoint(tmp))
        return clear_error(lambda: load_checkpoint(path), path)
    return run


for _name in hostile_files.CORPUS:
    case("checkpoint_file", f"load_{_name}")(load_case(_name))



def tampered(tmp: Path, edit) -> Path:
    """A copy of a valid run folder whose checkpoint ``edit`` changed."""
    src = valid_checkpoint(tmp).parent
    dst = tmp / f"tampered_{edit.__name__}"
    shutil.copytree(src, dst)
    state = arrays(dst / "checkpoint.npz")
    edit(state)
    np.savez(dst / "checkpoint.npz", **state)
    return dst


def train_in_process(**options):
    """A callable training run of ``options`` through the Python API of the tree under test
    (``tinyquant.run.train(TrainConfig)`` where it exists, else ``cli.run_train``)."""
    import contextlib
    import io

    try:
        from tinyquant.config import TrainConfig
        from tinyquant.run import train as run

        make = lambda: run(TrainConfig(**options, no_progress=True))  # noqa: E731
    except ImportError:
        from tinyquant.cli import run_train, train_namespace

        make = lambda: run_train(train_namespace(**options, no_progress=True))  # noqa: E731

    def call():
        with contextlib.redirect_stdout(io.StringIO()):
            return make()
    return call


def resume_tampered(edit):
    def run(tmp: Path):
        folder = tampered(tmp, edit)
        return clear_error(train_in_process(model="mlp", epochs=1, batch_size=256,
                                            out=str(folder), resume=True), "checkpoint.npz")
    return run


def _nan_weight(state):
    key = next(k for k in state if k.startswith("model/") and k.endswith("weight"))
    state[key] = state[key].copy()
    state[key].flat[0] = np.nan


def _negative_variance(state):
    key = next(k for k in state if k.endswith("running_var"))
    state[key] = -np.abs(state[key]) - 1


def _epoch_million(state):
    state["trainer/epoch"] = np.asarray(10 ** 6)


def _garbage_rng(state):
    state["trainer/rng"] = np.asarray("{not json")


def _huge_history(state):
    state["trainer/history"] = np.asarray("[" + ",".join(["{}"] * 100000) + "]")


for _edit in (_nan_weight, _negative_variance, _epoch_million, _garbage_rng, _huge_history):
    case("checkpoint_contents", f"resume{_edit.__name__}")(resume_tampered(_edit))


@case("checkpoint_contents")
def init_from_nan_weights(tmp):
    folder = tampered(tmp, _nan_weight)
    return clear_error(train_in_process(model="mlp", epochs=1, batch_size=256, out=str(tmp / "ft"),
                                        init_from=str(folder / "checkpoint.npz")), "checkpoint.npz")


@case("checkpoint_write")
def checkpoint_file_mode_follows_umask(tmp):
    from tinyquant.train import save_checkpoint

    old = os.umask(0o022)
    try:
        path = save_checkpoint(tmp / "m.npz", {"a": np.zeros(2)})
    finally:
        os.umask(old)
    mode = path.stat().st_mode & 0o777
    return ("ok", "0644") if mode == 0o644 else ("silent_wrong", f"mode {mode:o}, umask 022")


@case("checkpoint_write")
def kill_loop_during_checkpoint_writes(tmp):
    """SIGKILL a training of 1-batch epochs at random moments, 12 times: the checkpoint
    on disk must load every time, and temporaries must not pile up."""
    from tinyquant.train import load_checkpoint

    rng = random.Random(0)
    out = tmp / "k"
    cmd = [sys.executable, "-m", "tinyquant.cli", "train", "--model", "mlp", "--epochs", "400",
           "--batch-size", "2000", "--out", str(out), "--no-progress", "--resume"]
    lost, kills = 0, 0
    for _ in range(12):
        proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.2 + rng.random() * 0.8)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        if (out / "checkpoint.npz").exists():
            try:
                load_checkpoint(out / "checkpoint.npz")
            except Exception:  # noqa: BLE001
                lost += 1
    leftovers = list(out.glob(".*.tmp"))
    if lost:
        return "data_lost", f"{lost}/{kills} kills left an unreadable checkpoint"
    if leftovers:
        return "silent_wrong", f"{len(leftovers)} .tmp files left after {kills} kills"
    return "ok", f"{kills} kills, checkpoint intact, no temporaries"


@case("checkpoint_write")
def tmp_left_by_killed_write_is_cleaned(tmp):
    out = tmp / "c"
    options = ("--model", "mlp", "--batch-size", 512, "--schedule", "constant")
    train(out, *options, "--epochs", 1)
    stale = out / ".checkpoint.npz.abcd1234.tmp"
    stale.write_bytes(b"PK\x03\x04 half a checkpoint")
    train(out, *options, "--epochs", 2, "--resume", check=False)
    return ("silent_wrong", "still there") if stale.exists() else ("ok", "removed")


@case("arguments")
def schedule_step_on_a_short_run(tmp):
    proc = train(tmp / "s", "--model", "mlp", "--epochs", 1, "--batch-size", 2000,
                 "--schedule", "step", check=False)
    if proc.returncode == 0:
        return "ok", "trained"
    return "crash", proc.stderr.strip().splitlines()[-1][:160]


def bad_save(make_args, names):
    def run(tmp: Path):
        from tinyquant.train import save_checkpoint

        target = valid_checkpoint(tmp)
        before = target.read_bytes()
        path, state = make_args(tmp, target)
        outcome = clear_error(lambda: save_checkpoint(path, state), *names)
        if target.read_bytes() != before:
            return "data_lost", "the existing checkpoint changed"
        return outcome
    return run


BAD_SAVES = {
    "object_array": (lambda tmp, t: (t, {"w": np.array([None], dtype=object)}), ["'w'"]),
    "state_not_a_dict": (lambda tmp, t: (t, [("w", np.zeros(2))]), ["state"]),
    "non_string_key": (lambda tmp, t: (t, {3: np.zeros(2)}), ["3"]),
    "reserved_key": (lambda tmp, t: (t, {"__format_version__": np.asarray(7)}), ["__format_version__"]),
    "path_is_a_directory": (lambda tmp, t: (t.parent, {"w": np.zeros(2)}), ["valid"]),
    "path_none": (lambda tmp, t: (None, {"w": np.zeros(2)}), ["path"]),
    "unstorable_value": (lambda tmp, t: (t, {"w": lambda: 0}), ["'w'"]),
}
for _name, (_make, _names) in BAD_SAVES.items():
    case("arguments", f"save_{_name}")(bad_save(_make, _names))


@case("arguments")
def load_checkpoint_of_none(tmp):
    from tinyquant.train import load_checkpoint

    return clear_error(lambda: load_checkpoint(None), "path")


# --------------------------------------------------------------------- studies
STUDY = """
[study]
name = "{name}"
description = "probe"
claim = "none"
full_runtime = "seconds"
baseline = "a"
{extra}

[base]
model = "mlp"
dataset = "digits"
epochs = 1
batch_size = 512
{base}

[grid]
seeds = {seeds}

[[grid.settings]]
name = "a"
lr = 0.05

[[grid.settings]]
name = "b"
lr = 0.1
"""


def study_file(folder: Path, name="probe", extra="", base="", seeds="[0]") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "study.toml"
    path.write_text(STUDY.format(name=name, extra=extra, base=base, seeds=seeds))
    return path


def sweep(study: Path, out: Path, *extra, cwd=None, wait=True):
    cmd = [sys.executable, "-m", "tinyquant.cli", "sweep", str(study), "--out", str(out), *extra]
    if not wait:
        return subprocess.Popen(cmd, env=ENV, cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, env=ENV, cwd=cwd, capture_output=True, text=True, timeout=600)


@case("study")
def metric_that_does_not_exist(tmp):
    from tinyquant.sweep import load_study

    path = study_file(tmp, extra='metric = "nope"')
    return clear_error(lambda: load_study(path), "nope")


@case("study")
def name_dot_dot(tmp):
    from tinyquant.sweep import load_study
    from tinyquant.sweep.runner import default_out

    path = study_file(tmp, name="..")
    outcome = clear_error(lambda: load_study(path), "..")
    if outcome[0] == "silent_wrong":
        target = default_out(load_study(path)).resolve()
        return "silent_wrong", f"output folder {target} escapes out/studies"
    return outcome


@case("study")
def non_utf8_study(tmp):
    from tinyquant.sweep import load_study

    path = tmp / "latin1.toml"
    path.write_bytes(STUDY.format(name="caf\xe9", extra="", base="", seeds="[0]").encode("latin-1"))
    return clear_error(lambda: load_study(path), path)


@case("study")
def study_is_a_directory(tmp):
    from tinyquant.sweep import load_study

    (tmp / "d.toml").mkdir()
    return clear_error(lambda: load_study(tmp / "d.toml"), tmp / "d.toml")


@case("sweep")
def replaced_init_from_is_rerun(tmp):
    init = valid_checkpoint(tmp)
    path = study_file(tmp / "s", base=f'init_from = "{init}"')
    first = sweep(path, tmp / "out")
    if first.returncode:
        return "crash", first.stderr[-160:]
    train(tmp / "other", "--model", "mlp", "--epochs", 1, "--batch-size", 256, "--seed", 5)
    shutil.copy(tmp / "other" / "checkpoint.npz", init)
    second = sweep(path, tmp / "out")
    if "0 to run" in second.stdout:
        return "silent_wrong", "new init_from file, old records reused"
    return "ok", second.stdout.strip().splitlines()[0][:160]


@case("sweep")
def relative_init_from_resolves_against_the_study(tmp):
    path = study_file(tmp / "s", base='init_from = "init.npz"')
    shutil.copy(valid_checkpoint(tmp), tmp / "s" / "init.npz")
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    proc = sweep(path, tmp / "out", cwd=elsewhere)
    if proc.returncode == 0:
        return "ok", "found init.npz beside the study"
    return "crash", (proc.stdout + proc.stderr).strip().splitlines()[-1][:160]


@case("sweep")
def two_sweeps_on_one_folder(tmp):
    path = study_file(tmp / "s", seeds="[0, 1]")
    a = sweep(path, tmp / "out", wait=False)
    b = sweep(path, tmp / "out", wait=False)
    a.wait(600)
    b.wait(600)
    lines = [json.loads(x) for x in (tmp / "out" / "records.jsonl").read_text().splitlines() if x]
    ids = [r["run_id"] for r in lines]
    if len(ids) != len(set(ids)):
        return "silent_wrong", f"{len(ids) - len(set(ids))} duplicated records"
    if len(set(ids)) != 4:
        return "data_lost", f"{len(set(ids))} of 4 runs recorded"
    codes = sorted([a.returncode, b.returncode])
    if codes == [0, 2]:
        return "clear_error", "second sweep refused"
    return "ok", f"exit codes {codes}, no duplicates"


@case("sweep")
def kill_9_of_a_sweep_kills_its_workers(tmp):
    path = study_file(tmp / "s", seeds="[0, 1, 2]")
    path.write_text(path.read_text().replace("epochs = 1", "epochs = 4")
                    .replace('model = "mlp"', 'model = "digits_cnn"'))
    proc = sweep(path, tmp / "out", wait=False)
    deadline = time.time() + 60
    workers: set[int] = set()
    while time.time() < deadline and not any((tmp / "out" / "runs").glob("*/train.log")):
        workers |= children(proc.pid)
        time.sleep(0.2)
    workers |= children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(3)
    survivors = [p for p in workers if alive(p)]
    for p in survivors:
        try:
            os.kill(p, signal.SIGKILL)   # the probe's own cleanup
        except OSError:
            pass
    if survivors:
        return "silent_wrong", f"{len(survivors)} of {len(workers)} child processes alive 3 s later"
    return "ok", f"{len(workers)} children, none alive 3 s later"


@case("sweep")
def kill_loop_during_a_sweep(tmp):
    """SIGKILL a sweep of 6 runs of 3 epochs 5 times, each soon after a worker wrote a
    checkpoint (mid-run), then let it finish: every run recorded exactly once."""
    path = study_file(tmp / "s", seeds="[0, 1, 2]")
    path.write_text(path.read_text().replace("epochs = 1", "epochs = 3"))
    rng = random.Random(1)

    def written():
        return {p: p.stat().st_mtime_ns for p in (tmp / "out").glob("runs/*/checkpoint.npz")}

    for _ in range(5):
        before = written()
        proc = sweep(path, tmp / "out", wait=False)
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and written() == before:
            time.sleep(0.02)
        time.sleep(rng.random() * 0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    time.sleep(1)
    final = sweep(path, tmp / "out")
    ids = [json.loads(x)["run_id"] for x in
           (tmp / "out" / "records.jsonl").read_text().splitlines() if x.strip()]
    if len(ids) != len(set(ids)):
        return "silent_wrong", f"{len(ids) - len(set(ids))} duplicated records"
    if len(set(ids)) != 6:
        return "data_lost", f"{len(set(ids))} of 6 runs recorded ({final.stdout[-120:]})"
    return "ok", "6 runs, each recorded once"


@case("sweep")
def tmp_files_in_sweep_folder_cleaned(tmp):
    path = study_file(tmp / "s")
    sweep(path, tmp / "out")
    run_dir = next((tmp / "out" / "runs").iterdir())
    stale = run_dir / ".checkpoint.npz.dead.tmp"
    stale.write_bytes(b"half")
    sweep(path, tmp / "out")
    return ("silent_wrong", "still there") if stale.exists() else ("ok", "removed")


@case("arguments")
def run_sweep_with_zero_workers(tmp):
    from tinyquant.sweep import load_study, run_sweep

    study = load_study(study_file(tmp / "s"))
    return clear_error(lambda: run_sweep(study, tmp / "out", workers=0, echo=lambda s: None),
                       "workers")


@case("arguments")
def run_sweep_out_is_a_file(tmp):
    from tinyquant.sweep import load_study, run_sweep

    study = load_study(study_file(tmp / "s"))
    (tmp / "f").write_text("x")
    outcome = clear_error(lambda: run_sweep(study, tmp / "f", echo=lambda s: None), "f")
    if (tmp / "f").read_text() != "x":
        return "data_lost", "the file was changed"
    return outcome


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="out/probe_reliability")
    parser.add_argument("--only", default=None, help="run one group (resume, checkpoint_file, ...)")
    args = parser.parse_args(argv)
    results = []
    counts = dict.fromkeys(OUTCOMES, 0)
    root = Path(tempfile.mkdtemp(prefix="tq_probe_"))
    shared = root / "shared"
    shared.mkdir()
    for group, name, fn in CASES:
        if args.only and group != args.only:
            continue
        tmp = root / name
        tmp.mkdir()
        if (shared / "valid").exists():   # one valid run folder, trained once
            shutil.copytree(shared / "valid", tmp / "valid")
        start = time.time()
        try:
            outcome, detail = fn(tmp)
        except Exception as err:  # noqa: BLE001 - a failure of the probe's setup
            outcome, detail = "crash", f"probe setup: {type(err).__name__}: {err}"[:200]
            traceback.print_exc()
        if (tmp / "valid").exists() and not (shared / "valid").exists():
            shutil.copytree(tmp / "valid", shared / "valid")
        counts[outcome] += 1
        results.append({"group": group, "case": name, "outcome": outcome, "detail": detail,
                        "seconds": round(time.time() - start, 1)})
        print(f"{group:20s} {name:48s} {outcome:13s} {detail}", flush=True)
    shutil.rmtree(root, ignore_errors=True)
    total = sum(counts.values())
    print(f"\ncases tried {total}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "probe.json").write_text(json.dumps({"counts": counts, "cases": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
