"""From a :class:`~tinyquant.config.TrainConfig` to a trained model: the one training API.

    from tinyquant.config import TrainConfig
    from tinyquant.run import build_run, train

    history = train(TrainConfig(epochs=3, out="out/demo"))     # what `tinyquant train` does

    run = build_run(TrainConfig.from_dict({"model": "mlp", "quantizer": "xnor"}))
    run.model, run.optimizer, run.scheduler, run.callbacks, run.regime   # the parts
    run.trainer().fit()                                                  # train them yourself

``build_run(config)`` loads the data (with the validation split, ``val_fraction``), builds
the model (:func:`build_model`), plugs in the quantizers (:mod:`tinyquant.quant.config`)
and makes the optimizer, the learning-rate schedule, the callbacks and the regime.
``train(config)`` also owns the run's folder ``config.out``: it writes ``checkpoint.npz``
after every epoch (the configuration inside, under the key ``config``), ``config.json``
beside it and ``history.json`` at the end; it refuses to write into a folder that holds a
run unless ``resume`` (continue it: refused if the hyperparameters differ) or ``overwrite``
(replace it). ``load_config(path)`` reads the configuration back from a checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .config import ConfigError, TrainConfig

#: files a run writes into its folder (removed by ``overwrite``)
RUN_FILES = ("checkpoint.npz", "config.json", "history.json", "diagnostics.json")


def build_model(config: TrainConfig, input_shape, num_classes: int):
    """The (unquantized) model ``config`` names, sized for ``input_shape`` and ``num_classes``,
    initialized from ``config.seed`` -- the same weights ``build_run`` starts from."""
    from .nn.models import build_model as build_named

    kwargs = {} if config.bn is None else {"bn": config.bn}
    return build_named(config.model, tuple(input_shape), int(num_classes), rng=config.seed,
                       **kwargs)


def build_schedule(config: TrainConfig, steps_per_epoch: int):
    """The learning-rate schedule over the run (per batch): linear warm-up, then the schedule."""
    from . import optim

    total = config.epochs * steps_per_epoch
    warmup = int(round(config.warmup_epochs * steps_per_epoch))
    rest = max(total - warmup, 1)
    if config.schedule == "cosine":
        main = optim.cosine(rest)
    elif config.schedule == "step":   # ÷10 at 50 % and 75 % of the steps after the warm-up
        first = max(1, int(0.5 * rest))   # milestones >= 1 and increasing, also on short runs
        main = optim.multistep([first, max(first + 1, int(0.75 * rest))], 0.1)
    else:
        main = optim.constant()
    return optim.linear_warmup(warmup, then=main) if warmup > 0 else main


def schedule_depends_on_epochs(config: TrainConfig) -> bool:
    """Whether the number of epochs shapes the run before its end (cosine and step schedules,
    scheduled STEs follow the fraction of training done), so that it may not be extended."""
    from .quant.schedules import SCHEDULES as STE_SCHEDULES

    return config.schedule != "constant" or config.quant.ste in STE_SCHEDULES


@dataclass
class TrainingRun:
    """The parts of a run, ready for a :class:`~tinyquant.train.Trainer` (see :meth:`trainer`)."""

    config: TrainConfig
    data: object            # the tinyquant.data.Dataset
    model: object
    train_loader: object
    val_loader: object | None
    test_loader: object
    optimizer: object
    scheduler: object
    callbacks: list = field(default_factory=list)
    regime: object | None = None
    sizes: dict = field(default_factory=dict)   # samples in train / val / test

    def trainer(self, *, callbacks=(), checkpoint_path=None, metadata=None):
        """A Trainer over these parts; ``callbacks`` are added after the run's own."""
        from .train import Trainer

        return Trainer(self.model, self.optimizer, self.train_loader, self.test_loader,
                       val_loader=self.val_loader, epochs=self.config.epochs,
                       scheduler=self.scheduler, callbacks=self.callbacks + list(callbacks),
                       regime=self.regime, seed=self.config.seed,
                       show_progress=not self.config.no_progress,
                       checkpoint_path=checkpoint_path, metadata=metadata)


def build_run(config: TrainConfig) -> TrainingRun:
    """Data, model, quantizers, optimizer, schedule, callbacks and regime for ``config``."""
    from . import optim
    from .data import DataLoader, get_dataset
    from .data.augment import standard_augmentation
    from .data.split import validation_split
    from .quant.config import configure_quantization

    if not isinstance(config, TrainConfig):
        raise TypeError(f"build_run: expected a TrainConfig, got {type(config).__name__}")
    data_kwargs = {} if config.data_dir is None else {"directory": config.data_dir}
    data = get_dataset(config.dataset, **data_kwargs)
    model = build_model(config, data.input_shape, data.num_classes)
    if config.init_from:
        from .train import load_checkpoint
        from .train.checkpoint import split_prefix

        try:
            model.load_state_dict(split_prefix(load_checkpoint(config.init_from), "model"))
        except (KeyError, TypeError, ValueError) as err:
            if config.init_from in str(err):
                raise
            raise ConfigError(f"--init-from {config.init_from!r}: {err}") from None
    setup = configure_quantization(model, config.quant, seed=config.seed, out=config.out,
                                   base_lr=config.base_lr)
    x_fit, y_fit, val_loader = data.x_train, data.y_train, None
    if config.val_fraction > 0:
        x_fit, y_fit, x_val, y_val = validation_split(data.x_train, data.y_train,
                                                      config.val_fraction, config.seed)
        val_loader = DataLoader((x_val, y_val), batch_size=256)
    transform = standard_augmentation(padding=4) if config.augment else None
    train_loader = DataLoader((x_fit, y_fit), batch_size=config.batch_size, shuffle=True,
                              seed=config.seed, transform=transform)
    test_loader = DataLoader((data.x_test, data.y_test), batch_size=256)
    params = setup.param_groups if setup.param_groups is not None else model.parameters()
    if config.optimizer == "sgd":
        optimizer = optim.SGD(params, lr=config.base_lr, momentum=config.momentum,
                              weight_decay=config.weight_decay, nesterov=config.nesterov)
    else:
        optimizer = optim.Adam(params, lr=config.base_lr, weight_decay=config.weight_decay)
    scheduler = optim.LRScheduler(optimizer, build_schedule(config, len(train_loader)))
    return TrainingRun(config=config, data=data, model=setup.model, train_loader=train_loader,
                       val_loader=val_loader, test_loader=test_loader, optimizer=optimizer,
                       scheduler=scheduler, callbacks=setup.callbacks, regime=setup.regime,
                       sizes={"train": len(y_fit), "val": 0 if val_loader is None else len(y_val),
                              "test": len(data.y_test)})


# ----------------------------------------------------------------- the run's folder

def load_config(path) -> TrainConfig:
    """The configuration a checkpoint was trained with (its ``config`` entry); a checkpoint
    without one raises a CheckpointError naming the file."""
    from .train.checkpoint import CheckpointError, load_checkpoint

    state = load_checkpoint(path)
    if "config" not in state:
        raise CheckpointError(f"checkpoint {str(path)!r} holds no configuration (written "
                              f"before tinyquant stored one)")
    try:
        return TrainConfig.from_json(str(state["config"]))
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"checkpoint {str(path)!r}: its configuration is invalid "
                              f"today: {error}") from None


def resume_check(saved: TrainConfig, wanted: TrainConfig) -> str | None:
    """Refuse (ConfigError listing every difference) to resume ``saved`` with ``wanted``'s
    hyperparameters; more epochs are allowed when the schedule does not depend on them.
    Returns a note to print when epochs are extended, else None."""
    differences = saved.differences(wanted)
    note = None
    if "epochs" in differences and not schedule_depends_on_epochs(saved):
        old, new = differences.pop("epochs")
        if new > old:
            note = (f"extending --epochs from {old} to {new}: the {saved.schedule} schedule "
                    f"does not depend on the number of epochs")
        else:
            differences["epochs"] = (old, new)
    if differences:
        listed = "; ".join(f"--{k.replace('_', '-')} {a!r} in the run, {b!r} now"
                           for k, (a, b) in differences.items())
        extra = (" (--epochs can be extended only with --schedule constant and no scheduled STE)"
                 if "epochs" in differences else "")
        raise ConfigError(f"--resume: {wanted.out} holds a run with other hyperparameters: "
                          f"{listed}{extra}; resume with the run's own options, or pass "
                          f"--overwrite to replace it")
    return note


def prepare_out(config: TrainConfig, echo=print) -> bool:
    """Check and prepare ``config.out``; True when there is a checkpoint to resume."""
    out = Path(config.out)
    checkpoint = out / "checkpoint.npz"
    # a run is held once it has trained (a checkpoint, a history); a config.json alone is the
    # trace of a run that stopped before its first epoch ended: nothing to lose
    held = [name for name in ("checkpoint.npz", "history.json") if (out / name).exists()]
    if held and config.resume and checkpoint.exists():
        try:
            saved = load_config(checkpoint)
        except ValueError as error:
            if "holds no configuration" not in str(error):
                raise
            echo(f"warning: {checkpoint} holds no configuration; the hyperparameters "
                 f"cannot be compared")
        else:
            note = resume_check(saved, config)
            if note:
                echo(note)
        return True
    if held and not config.overwrite:
        raise ConfigError(f"--out {config.out}: the folder holds a run ({', '.join(held)}); "
                          f"expected --resume to continue it or --overwrite to replace it")
    for name in RUN_FILES:
        if (out / name).exists():
            (out / name).unlink()
    return False


def train(config: TrainConfig, echo=print) -> list[dict]:
    """Train ``config`` in its folder ``config.out``; return the per-epoch history.

    Epoch lines are printed (``echo``) as each epoch finishes, with or without progress bars."""
    from .train import EpochLog

    if not isinstance(config, TrainConfig):
        raise TypeError(f"train: expected a TrainConfig, got {type(config).__name__}")
    out = Path(config.out)
    resuming = prepare_out(config, echo)
    run = build_run(config)
    out.mkdir(parents=True, exist_ok=True)
    text = config.to_json(run_control=False)
    (out / "config.json").write_text(text + "\n")
    if config.no_progress:
        log = EpochLog(echo)
    else:
        from tqdm.auto import tqdm

        log = EpochLog(tqdm.write)
    trainer = run.trainer(callbacks=[log], checkpoint_path=out / "checkpoint.npz",
                          metadata={"config": text})
    if resuming:
        trainer.load(out / "checkpoint.npz")
        echo(f"resumed from {out / 'checkpoint.npz'} after epoch {trainer.epoch}")
    sizes = run.sizes
    split = f"{sizes['train']} train / " + (f"{sizes['val']} validation / " if sizes["val"] else "")
    echo(f"training {config.model} ({run.model.num_parameters():,} parameters) on "
         f"{run.data.name} ({split}{sizes['test']} test) for {config.epochs} epochs")
    trainer.fit()
    (out / "history.json").write_text(json.dumps(trainer.history, indent=1))
    final = trainer.history[-1]
    echo(f"test accuracy {final['test_accuracy']:.4f}; checkpoint and history in {out}/")
    return trainer.history
