"""Training: the Trainer, callbacks, checkpoints."""

from .callbacks import Callback, EpochLog, LambdaCallback
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .trainer import EmptyEpochError, NonFiniteLossError, Regime, StandardRegime, Trainer

__all__ = [
    "Callback",
    "CheckpointError",
    "EmptyEpochError",
    "EpochLog",
    "LambdaCallback",
    "NonFiniteLossError",
    "Regime",
    "StandardRegime",
    "Trainer",
    "load_checkpoint",
    "save_checkpoint",
]
