"""The ``tinyquant`` command.

    tinyquant train [options]        train a model (default: small CNN on the embedded digits)
    tinyquant toy NAME [options]     run a theory-sandbox module (tables + figures)
    tinyquant sweep STUDY.toml [--fast] [--workers N | --scheduler ADDRESS]
                                     run a study's grid of training runs (resumable)
    tinyquant report STUDY.toml [--fast]
                                     the study's table (Markdown, CSV), tests and figure

``tinyquant train`` with no arguments trains ``digits_cnn`` on the 8×8 digits that
scikit-learn ships, writes ``checkpoint.npz`` and ``history.json`` to ``--out`` and
prints the test accuracy.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

TOYS = {
    "sr-vs-bc": "toy_problems.sr_vs_bc",
    "truncated-gaussian": "toy_problems.truncated_gaussian",
    "step-sizes": "toy_problems.step_size",
    "ste": "toy_problems.ste_analysis",
}

OPTIMIZERS = ("sgd", "adam")
DEFAULT_LR = {"sgd": 0.05, "adam": 0.002}  # when --lr is not given
SCHEDULES = ("constant", "cosine", "step")


def _quant_config():
    """The quantizer issue's CLI glue, if that package provides it."""
    try:
        return importlib.import_module("tinyquant.quant.config")
    except ImportError:
        return None


def build_train_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    from .data import DEFAULT_DATASET
    from .nn.models import MODELS

    parser.add_argument("--model", default="digits_cnn", choices=sorted(MODELS))
    parser.add_argument("--dataset", default=DEFAULT_DATASET,
                        help="digits (default), mnist1d, mnist, fashion-mnist, cifar10")
    parser.add_argument("--data-dir", default=None,
                        help="directory holding MNIST IDX / CIFAR-10 binary files")
    parser.add_argument("--bn", default=None, choices=("post", "pre", "none"),
                        help="where batch norm sits in resnet20: post (conv-BN-ReLU, default), "
                             "pre (BN-ReLU-conv) or none")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--optimizer", default="sgd", choices=OPTIMIZERS)
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default 0.05 for SGD, 0.002 for Adam)")
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--nesterov", action="store_true")
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--schedule", default="cosine", choices=SCHEDULES)
    parser.add_argument("--warmup-epochs", type=float, default=0.0)
    parser.add_argument("--augment", action="store_true",
                        help="random crop (padding 4) and horizontal flip, for CIFAR-style images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out/train", help="output directory")
    parser.add_argument("--init-from", default=None, metavar="CHECKPOINT",
                        help="start from the model weights of a checkpoint (fine-tuning); "
                             "loaded before quantizers are plugged in")
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUT/checkpoint.npz if it exists")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    quant = _quant_config()
    if quant is not None:
        quant.add_quant_arguments(parser)
    return parser


def _build_schedule(args, steps_per_epoch: int):
    from . import optim

    total = args.epochs * steps_per_epoch
    warmup = int(round(args.warmup_epochs * steps_per_epoch))
    if args.schedule == "cosine":
        main = optim.cosine(max(total - warmup, 1))
    elif args.schedule == "step":
        first = max(1, int(0.5 * (total - warmup)))   # milestones >= 1 and increasing, also
        main = optim.multistep([first, max(first + 1, int(0.75 * (total - warmup)))], 0.1)  # on short runs
    else:
        main = optim.constant()
    return optim.linear_warmup(warmup, then=main) if warmup > 0 else main


def train_namespace(**overrides) -> argparse.Namespace:
    """The ``tinyquant train`` defaults, with ``overrides`` (keys as in the Namespace,
    e.g. ``batch_size=32``); an unknown key raises a ValueError naming it."""
    args = build_train_parser(argparse.ArgumentParser(prog="tinyquant train")).parse_args([])
    for key, value in overrides.items():
        if not hasattr(args, key):
            raise ValueError(
                f"unknown training option {key!r}; known: {', '.join(sorted(vars(args)))}"
            )
        setattr(args, key, value)
    return args


def run_train(args) -> list[dict]:
    """Build everything from parsed ``args``, train, and return the per-epoch history."""
    from . import optim
    from .data import DataLoader, get_dataset
    from .data.augment import standard_augmentation
    from .nn.models import build_model
    from .train import Trainer

    if args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {args.epochs}")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    data_kwargs = {"directory": args.data_dir} if args.data_dir else {}
    data = get_dataset(args.dataset, **data_kwargs)
    model_kwargs = {}
    if getattr(args, "bn", None) is not None:
        if args.model != "resnet20":
            raise ValueError(f"--bn {args.bn}: only resnet20 has a batch-norm placement "
                             f"option, got --model {args.model}")
        model_kwargs["bn"] = args.bn
    model = build_model(args.model, data.input_shape, data.num_classes, rng=args.seed,
                        **model_kwargs)
    if args.init_from:
        from .train import load_checkpoint
        from .train.checkpoint import split_prefix

        try:
            model.load_state_dict(split_prefix(load_checkpoint(args.init_from), "model"))
        except (KeyError, TypeError, ValueError) as err:
            if args.init_from in str(err):
                raise
            raise ValueError(f"--init-from {args.init_from!r}: {err}") from None
    callbacks, regime, groups = [], None, None
    quant = _quant_config()
    if quant is not None:
        model, callbacks, regime, groups = quant.configure_quantization(model, args)
    transform = standard_augmentation(padding=4) if args.augment else None
    train_loader = DataLoader(data.x_train, data.y_train, args.batch_size, shuffle=True,
                              seed=args.seed, transform=transform)
    test_loader = DataLoader(data.x_test, data.y_test, 256)
    params = groups if groups is not None else model.parameters()
    if args.optimizer == "sgd":
        lr = DEFAULT_LR["sgd"] if args.lr is None else args.lr
        optimizer = optim.SGD(params, lr=lr, momentum=args.momentum,
                              weight_decay=args.weight_decay, nesterov=args.nesterov)
    else:
        lr = DEFAULT_LR["adam"] if args.lr is None else args.lr
        optimizer = optim.Adam(params, lr=lr, weight_decay=args.weight_decay)
    scheduler = optim.LRScheduler(optimizer, _build_schedule(args, len(train_loader)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(model, optimizer, train_loader, test_loader, epochs=args.epochs,
                      scheduler=scheduler, callbacks=callbacks, regime=regime, seed=args.seed,
                      show_progress=not args.no_progress,
                      checkpoint_path=out / "checkpoint.npz")
    if args.resume and (out / "checkpoint.npz").exists():
        trainer.load(out / "checkpoint.npz")
        print(f"resumed from {out / 'checkpoint.npz'} after epoch {trainer.epoch}")
    print(f"training {args.model} ({model.num_parameters():,} parameters) on {data.name} "
          f"({len(data.y_train)} train / {len(data.y_test)} test) for {args.epochs} epochs")
    trainer.fit()
    for logs in trainer.history:
        print(f"epoch {logs['epoch']:3d}  loss {logs['train_loss']:.4f}  "
              f"train acc {logs['train_accuracy']:.4f}  test acc {logs['test_accuracy']:.4f}  "
              f"({logs['seconds']:.1f}s)")
    final = trainer.history[-1]
    (out / "history.json").write_text(json.dumps(trainer.history, indent=1))
    print(f"test accuracy {final['test_accuracy']:.4f}; checkpoint and history in {out}/")
    return trainer.history


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="tinyquant", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    build_train_parser(sub.add_parser("train", help="train a model"))
    toy = sub.add_parser("toy", help="theory sandbox: print tables, write figures")
    toy.add_argument("name", choices=sorted(TOYS))
    toy.add_argument("rest", nargs=argparse.REMAINDER, help="options passed to the module")
    from .sweep.cli import (add_report_arguments, add_sweep_arguments, run_report_command,
                            run_sweep_command)

    add_sweep_arguments(sub.add_parser("sweep", help="run a study's grid of training runs (resumable)"))
    add_report_arguments(sub.add_parser("report", help="a study's tables, significance tests and figure"))
    from .course import add_course_arguments, run_course_command  # coursework (tinyquant/course.py)

    add_course_arguments(sub.add_parser("course", help="coursework: write the student edition of the notebooks"))
    args = parser.parse_args(argv)
    if args.command == "course":
        return run_course_command(args)
    if args.command == "sweep":
        return run_sweep_command(args)
    if args.command == "report":
        return run_report_command(args)
    if args.command == "train":
        run_train(args)
        return 0
    module = importlib.import_module(TOYS[args.name])
    return int(module.main(args.rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
