"""Sweeps: run a study's grid of training runs in parallel, resume it, report it.

A *study* is a small TOML file (read with the standard library's ``tomllib``)::

    [study]
    name = "example_tiny"             # required; names the output folder and report files
    description = "..."               # required
    claim = "..."                     # required: the paper claim the study tests
    full_runtime = "about 8 s"        # required: measured runtime of full mode on 2 cores
    baseline = "sgd"                  # required: the setting the Welch tests compare against
    metric = "test_accuracy"          # optional (default), or test_loss, val_*, train_*

    [base]                            # fields of tinyquant.config.TrainConfig (batch_size,
    model = "mlp"                     #   not --batch-size), quantizer options included;
    dataset = "digits"                #   checked with their types, ranges and combinations
    epochs = 10

    [grid]
    seeds = [0, 1, 2]                 # required, non-empty, distinct non-negative integers

    [[grid.settings]]                 # EITHER named settings: a name plus overrides ...
    name = "sgd"
    optimizer = "sgd"
    [[grid.settings]]
    name = "adam"
    optimizer = "adam"

    # [grid.axes]                     # ... OR axes whose product gives the settings,
    # optimizer = ["sgd", "adam"]     #   named "optimizer=sgd, lr=0.1" and so on
    # lr = [0.1, 0.01]

    [fast]                            # optional: fast mode (`--fast`, what CI runs)
    epochs = 2                        # training options override [base]
    seeds = [0, 1]                    # replaces [grid] seeds

A run's configuration is the train defaults, then ``[base]``, then ``[fast]`` (fast mode),
then the setting, then the seed; its id is the hash of that configuration as sorted JSON
(``study.run_id``), with the input files (``init_from``, ``data_dir``: relative to the study
file) replaced by the sha256 of their content. ``seed``, ``out``, ``resume`` and ``no_progress`` belong to the runner
and may not be set. Validation (``StudyError``, a ValueError, naming file, key and problem):
unknown sections or keys, wrong types or choices, unknown training options, an empty grid,
duplicate setting names or seeds, a baseline that is not a setting, a ``[fast]`` option a
setting also sets, two settings with the same configuration, an unknown metric, a name that
is not a plain file name, a file that is not UTF-8, an input file that does not exist.
One sweep at a time writes an output folder (a lock; the second refuses).

Modules: ``study`` (reading and validation), ``records`` (the JSON-lines file),
``runner`` (the parallel, resumable sweep), ``report`` (statistics, tables, figure),
``cli`` (the ``tinyquant sweep`` / ``tinyquant report`` subcommands).
"""

from .records import append_record, read_records
from .report import Report, summarize, write_report
from .runner import SweepResult, default_out, execute_run, run_sweep
from .study import Run, Study, StudyError, load_study, run_id, study_from_dict

__all__ = ["Report", "Run", "Study", "StudyError", "SweepResult", "append_record",
           "default_out", "execute_run", "load_study", "read_records", "run_id", "run_sweep",
           "study_from_dict", "summarize", "write_report"]
