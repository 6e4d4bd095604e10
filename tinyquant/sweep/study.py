"""A study file: read, validate, and expand into the runs of its grid.

``load_study(path, fast=False)`` reads the TOML file with the standard library's
``tomllib``, checks every key (each error names the file, the key and the problem) and
returns a :class:`Study` whose ``runs`` are the resolved training configurations, one per
(setting, seed). Options are checked against the fields of
:class:`tinyquant.config.TrainConfig` (type, choices, range) and every run's configuration
is built once at load time, so options that act on nothing together are refused before any
run starts. A run's identity is :func:`run_id`: a hash of its full resolved configuration
(every hyperparameter, defaults included) as sorted JSON, so the same configuration always
gets the same id and a resumed sweep recognises it; a record written before an option
existed is matched with that option at the value it ran with (:func:`record_run_id`).

Input files (:data:`PATH_OPTIONS`: ``init_from``, ``data_dir``): a relative path is
resolved against the study file's folder when the study is loaded (a worker on another
machine or in another directory gets the absolute path), and the run id hashes the files'
*content* (sha256, :func:`input_digest`), not their path: replace the checkpoint a study
fine-tunes from and its runs are new runs; move the folder and they are not.

The schema is documented in ``tinyquant/sweep/__init__.py`` and ``studies/README.md``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from ..config import LEGACY_VALUES, ConfigError, TrainConfig, check_value

SECTIONS = {"study", "base", "grid", "fast"}
STUDY_KEYS = {"name", "description", "claim", "full_runtime", "baseline", "metric"}
#: What a study can report: keys of the trainer's last history entry (tinyquant.train); the
#: test metrics are the selected epoch's, measured once at the end (see tinyquant.sweep.report).
METRICS = ("test_accuracy", "test_loss", "val_accuracy", "val_loss", "train_accuracy", "train_loss")
#: Training options naming input files or folders: resolved against the study file and
#: identified by their content (see the module docstring).
PATH_OPTIONS = ("init_from", "data_dir")
STUDY_REQUIRED = ("name", "description", "claim", "full_runtime", "baseline")
GRID_KEYS = {"seeds", "settings", "axes"}
# options the runner sets itself; a study may not set them
RUNNER_OPTIONS = {"seed": "the seeds come from [grid] seeds",
                  "out": "the runner gives every run its own folder",
                  "resume": "the runner skips recorded runs instead",
                  "overwrite": "the runner redoes unrecorded runs in their own folders",
                  "no_progress": "the runner hides progress bars"}


class StudyError(ValueError):
    """A malformed study file; the message names the file, the key and the problem."""


@dataclass(frozen=True)
class Run:
    """One training run of a study: a setting at a seed, with its resolved configuration."""

    setting: str
    seed: int
    config: dict  # every tinyquant-train option except out / resume / no_progress
    run_id: str
    inputs: dict = field(default_factory=dict)  # PATH_OPTIONS option -> "sha256:<hex>"


@dataclass
class Study:
    """A validated study: its metadata and the runs of its grid (in the chosen mode)."""

    path: Path
    name: str
    description: str
    claim: str
    full_runtime: str
    baseline: str
    metric: str
    mode: str  # "fast" or "full"
    settings: list = field(default_factory=list)  # setting names, in file order
    runs: list = field(default_factory=list)  # Run objects, setting-major then seed

    def missing_inputs(self) -> list[str]:
        """The input files or folders (absolute paths) the runs need that do not exist."""
        return sorted({run.config[key] for run in self.runs
                       for key, digest in run.inputs.items() if digest == MISSING})


def run_id(config: dict) -> str:
    """A stable id for a resolved configuration: sha256 of its sorted JSON, 16 hex digits."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


MISSING = "missing"


def input_digest(where: str, path) -> str:
    """``"sha256:<hex>"`` of a file's bytes, or of a folder's files (their relative paths and
    contents, sorted); :data:`MISSING` if the path does not exist (a study may be checked
    before the checkpoint it starts from is made; ``run_sweep`` refuses to run it)."""
    path = Path(path)
    if path.is_file():
        files = [(path.name, path)]
    elif path.is_dir():
        files = sorted((p.relative_to(path).as_posix(), p) for p in path.rglob("*") if p.is_file())
    else:
        return MISSING
    total = hashlib.sha256()
    for name, file in files:
        digest = hashlib.sha256()
        try:
            with open(file, "rb") as handle:
                for block in iter(lambda: handle.read(2 ** 20), b""):
                    digest.update(block)
        except OSError as error:
            raise StudyError(f"{where}: cannot read {str(file)!r} ({error.strerror})") from None
        total.update(f"{name}\0{digest.hexdigest()}\n".encode())
    return "sha256:" + total.hexdigest()


def identity(config: dict, inputs: dict) -> dict:
    """The configuration a run id hashes: input paths replaced by their content digests."""
    return {**config, **{key: inputs[key] for key in inputs if config.get(key) is not None}}


def training_defaults() -> dict:
    """The ``tinyquant train`` defaults every run's configuration starts from: the
    hyperparameters of a default :class:`TrainConfig` (``seed`` included)."""
    return TrainConfig().hyperparameters()


def record_run_id(record: dict, defaults: dict | None = None) -> str:
    """The id of a recorded run under today's options: its recorded configuration with every
    option it predates set to that option's current default.

    A tinyquant version that *adds* a training option thereby keeps recognising older
    records; an option whose default changes what is trained (``val_fraction``) is filled
    with the value the older records ran with (``tinyquant.config.LEGACY_VALUES``), so they
    are not mistaken for runs of today's default. Records without a configuration keep
    their stored id.
    """
    config = record.get("config")
    if not isinstance(config, dict):
        return record["run_id"]
    defaults = training_defaults() if defaults is None else defaults
    filled = {k: LEGACY_VALUES.get(k, v) for k, v in defaults.items() if k not in config}
    config = {**filled, **config}
    inputs = record.get("inputs") if isinstance(record.get("inputs"), dict) else {}
    # a record without its inputs' digests keeps their paths: never equal to a run's id
    return run_id(identity(config, inputs))


def training_options() -> dict:
    """The ``tinyquant train`` options a study may set: flat name -> the TrainConfig field."""
    return {name: f for name, f in TrainConfig.option_fields().items()
            if name not in RUNNER_OPTIONS}


def _check_option(where: str, key: str, value, fields: dict):
    """Validate one training option against its TrainConfig field; return the value in
    canonical form (ints given for float options become floats)."""
    if key in RUNNER_OPTIONS:
        raise StudyError(f"{where}: option {key!r} cannot be set in a study "
                         f"({RUNNER_OPTIONS[key]})")
    if key not in fields:
        raise StudyError(f"{where}: unknown training option {key!r}; "
                         f"known: {', '.join(sorted(fields))}")
    try:
        return check_value(key, value, fields[key].metadata)
    except ConfigError as error:
        raise StudyError(f"{where}: option {key!r} = {value!r} is invalid: {error}") from None


def _check_table(where: str, value, allowed=None) -> dict:
    if not isinstance(value, dict):
        raise StudyError(f"{where} must be a table, got {type(value).__name__} {value!r}")
    if allowed is not None:
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise StudyError(f"{where}: unknown key {unknown[0]!r}; "
                             f"allowed: {', '.join(sorted(allowed))}")
    return value


def _check_options(where: str, table: dict, known: dict) -> dict:
    return {key: _check_option(f"{where}.{key}", key, value, known)
            for key, value in table.items()}


def _check_seeds(where: str, seeds) -> list:
    if not isinstance(seeds, list) or not seeds:
        raise StudyError(f"{where} must be a non-empty list of integers, got {seeds!r}")
    for seed in seeds:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise StudyError(f"{where} must hold non-negative integers, got {seed!r}")
    if len(set(seeds)) != len(seeds):
        raise StudyError(f"{where} repeats a seed: {seeds!r}")
    return seeds


def _format_value(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _settings(where: str, grid: dict, known: dict) -> list[tuple[str, dict]]:
    """The grid's settings as (name, overrides): named settings or the product of axes."""
    if ("settings" in grid) == ("axes" in grid):
        raise StudyError(f"{where}: give exactly one of 'settings' (a list of named "
                         f"[[grid.settings]]) or 'axes' (a table of option lists); "
                         f"got {'both' if 'settings' in grid else 'neither'} (empty grid)")
    if "settings" in grid:
        items = grid["settings"]
        if not isinstance(items, list) or not items:
            raise StudyError(f"{where}.settings must be a non-empty list of tables "
                             f"([[grid.settings]]), got {items!r} (empty grid)")
        settings = []
        for i, item in enumerate(items):
            at = f"{where}.settings[{i}]"
            _check_table(at, item)
            name = item.get("name")
            if not isinstance(name, str) or not name:
                raise StudyError(f"{at}.name must be a non-empty string, got {name!r}")
            overrides = {k: v for k, v in item.items() if k != "name"}
            settings.append((name, _check_options(f"{at}", overrides, known)))
    else:
        axes = _check_table(f"{where}.axes", grid["axes"])
        if not axes:
            raise StudyError(f"{where}.axes is empty (empty grid)")
        for key, values in axes.items():
            if not isinstance(values, list) or not values:
                raise StudyError(f"{where}.axes.{key} must be a non-empty list of values, "
                                 f"got {values!r} (empty grid)")
        lists = {key: [_check_option(f"{where}.axes.{key}", key, v, known) for v in values]
                 for key, values in axes.items()}
        settings = []
        for combo in itertools.product(*lists.values()):
            overrides = dict(zip(lists, combo))
            name = ", ".join(f"{k}={_format_value(v)}" for k, v in overrides.items())
            settings.append((name, overrides))
    names = [name for name, _ in settings]
    for name in names:
        if names.count(name) > 1:
            raise StudyError(f"{where}.settings: duplicate setting name {name!r}")
    return settings


def load_study(path, fast: bool = False) -> Study:
    """Read and validate the study file at ``path``; ``fast`` applies its ``[fast]`` table."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load_study: path must be a file path, got {path!r}")
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise StudyError(f"study file {str(path)!r} does not exist") from None
    except OSError as error:
        raise StudyError(f"study file {str(path)!r} cannot be read ({error.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise StudyError(f"{path}: not UTF-8 text (byte {raw[error.start]:#04x} on line {line}); "
                         f"TOML files are UTF-8, save it in that encoding") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise StudyError(f"{path}: not valid TOML: {error}") from None
    return study_from_dict(data, path, fast=fast)


def _resolve_paths(where: str, options: dict, folder: Path) -> dict:
    """``options`` with relative PATH_OPTIONS made absolute against ``folder``."""
    out = dict(options)
    for key in PATH_OPTIONS:
        value = out.get(key)
        if isinstance(value, str) and value:
            if "\0" in value:
                raise StudyError(f"{where}.{key}: the path {value!r} contains a NUL byte")
            out[key] = str((folder / Path(value).expanduser()).resolve())
    return out


def study_from_dict(data: dict, path="<study>", fast: bool = False) -> Study:
    """Validate a parsed study (``load_study`` minus the reading); errors name ``path``."""
    path = Path(path)
    f = str(path)
    _check_table(f, data, SECTIONS)
    for section in ("study", "base", "grid"):
        if section not in data:
            raise StudyError(f"{f}: missing section [{section}]")
    known = training_options()

    meta = _check_table(f"{f}: [study]", data["study"], STUDY_KEYS)
    for key in STUDY_REQUIRED:
        if key not in meta:
            raise StudyError(f"{f}: [study] is missing the key {key!r}")
    for key in STUDY_KEYS & set(meta):
        if not isinstance(meta[key], str) or not meta[key].strip():
            raise StudyError(f"{f}: [study] {key} must be a non-empty string, got {meta[key]!r}")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", meta["name"]):
        raise StudyError(f"{f}: [study] name {meta['name']!r} must be a plain file name "
                         f"(letters, digits, '_', '.', '-', starting with a letter or digit); "
                         f"it names the output folder and files")
    metric = meta.get("metric", "test_accuracy")
    if metric not in METRICS:
        raise StudyError(f"{f}: [study] metric {metric!r} is not a metric the runs record; "
                         f"expected one of {', '.join(METRICS)}")
    folder = path.parent

    base = _check_options(f"{f}: [base]", _check_table(f"{f}: [base]", data["base"]), known)
    base = _resolve_paths(f"{f}: [base]", base, folder)
    grid = _check_table(f"{f}: [grid]", data["grid"], GRID_KEYS)
    if "seeds" not in grid:
        raise StudyError(f"{f}: [grid] is missing the key 'seeds'")
    seeds = _check_seeds(f"{f}: [grid] seeds", grid["seeds"])
    settings = _settings(f"{f}: [grid]", grid, known)
    names = [name for name, _ in settings]
    if meta["baseline"] not in names:
        raise StudyError(f"{f}: [study] baseline {meta['baseline']!r} is not among the "
                         f"settings {names}")

    fast_table = _check_table(f"{f}: [fast]", data.get("fast", {}))
    fast_options = {k: v for k, v in fast_table.items() if k != "seeds"}
    fast_options = _resolve_paths(f"{f}: [fast]",
                                  _check_options(f"{f}: [fast]", fast_options, known), folder)
    fast_seeds = (_check_seeds(f"{f}: [fast] seeds", fast_table["seeds"])
                  if "seeds" in fast_table else seeds)
    for name, overrides in settings:
        clash = sorted(set(fast_options) & set(overrides))
        if clash:
            raise StudyError(f"{f}: [fast] sets {clash[0]!r}, which setting {name!r} also "
                             f"sets; fast mode would erase the difference between settings")

    defaults = training_defaults()
    settings = [(name, _resolve_paths(f"{f}: [grid] {name!r}", overrides, folder))
                for name, overrides in settings]
    runs, seen, digests = [], {}, {}
    for name, overrides in settings:
        for seed in (fast_seeds if fast else seeds):
            config = {**defaults, **base, **(fast_options if fast else {}), **overrides,
                      "seed": seed}
            try:
                TrainConfig.from_dict(config)   # combinations: an option that acts on nothing
            except (ConfigError, TypeError) as error:
                raise StudyError(f"{f}: setting {name!r} ({'fast' if fast else 'full'} mode): "
                                 f"{error}") from None
            inputs = {}
            for key in PATH_OPTIONS:
                if config.get(key):
                    if config[key] not in digests:
                        digests[config[key]] = input_digest(f"{f}: {name!r} {key}", config[key])
                    inputs[key] = digests[config[key]]
            rid = run_id(identity(config, inputs))
            if rid in seen:
                raise StudyError(f"{f}: settings {seen[rid]!r} and {name!r} resolve to the "
                                 f"same training configuration")
            seen[rid] = name
            runs.append(Run(setting=name, seed=seed, config=config, run_id=rid, inputs=inputs))
    return Study(path=path, name=meta["name"], description=meta["description"],
                 claim=meta["claim"], full_runtime=meta["full_runtime"],
                 baseline=meta["baseline"], metric=metric, mode="fast" if fast else "full",
                 settings=names, runs=runs)
