"""``tinyquant summary CHECKPOINT`` and ``tinyquant export CHECKPOINT --format packed|onnx --out FILE``:
argument definitions and runners for :mod:`tinyquant.cli`, calling :mod:`tinyquant.deploy`."""

from __future__ import annotations

import json
from pathlib import Path


def add_deploy_commands(sub, formatter=None) -> None:
    """Add the ``summary`` and ``export`` subcommands to argparse ``sub`` (the CLI's subparsers)."""
    extra = {} if formatter is None else {"formatter_class": formatter}
    s = sub.add_parser("summary", help="bits, parameters, memory and MACs of a trained model", **extra)
    s.add_argument("checkpoint", help="a checkpoint written by tinyquant train")
    e = sub.add_parser("export", help="a trained model as a packed .npz or an ONNX graph", **extra)
    e.add_argument("checkpoint", help="a checkpoint written by tinyquant train")
    e.add_argument("--format", required=True, choices=("packed", "onnx"),
                   help="packed: bits and small integers (.npz, run by tinyquant.deploy.run); "
                        "onnx: a standard ONNX graph (needs the [deploy] extra)")
    e.add_argument("--out", required=True, help="the file to write")
    e.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def run_deploy_command(args) -> int:
    """Run ``summary`` or ``export``; a user error raises ConfigError / CheckpointError (one line)."""
    from ..config import ConfigError
    from . import save_packed, summary
    from .load import load_model

    model = load_model(args.checkpoint)
    if args.command == "summary":
        print(summary(model, model.input_shape))
        return 0
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise ConfigError(f"--out {out} exists; pass --overwrite to replace it")
    if args.format == "packed":
        save_packed(model, out, config=json.loads(model.config.to_json(run_control=False)))
    else:
        try:
            from .onnx_export import export_onnx
            import onnx  # noqa: F401
        except ImportError:
            raise ConfigError("--format onnx needs the onnx package: pip install -e \".[deploy]\"") from None
        export_onnx(model, out, model.input_shape)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    return 0


__all__ = ["add_deploy_commands", "run_deploy_command"]
