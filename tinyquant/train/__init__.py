"""Training: the Trainer, callbacks, checkpoints."""

from .callbacks import Callback, EpochLog, LambdaCallback
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .trainer import NonFiniteLossError, Regime, StandardRegime, Trainer

__all__ = [
    "Callback",
    "CheckpointError",
    "EpochLog",
    "LambdaCallback",
    "NonFiniteLossError",
    "Regime",
    "StandardRegime",
    "Trainer",
    "load_checkpoint",
    "save_checkpoint",
]
