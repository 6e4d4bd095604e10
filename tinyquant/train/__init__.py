"""Training: the Trainer, callbacks, checkpoints."""

from .callbacks import Callback, LambdaCallback
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .trainer import EmptyEpochError, NonFiniteLossError, StandardRegime, Trainer

__all__ = [
    "Callback",
    "CheckpointError",
    "EmptyEpochError",
    "LambdaCallback",
    "NonFiniteLossError",
    "StandardRegime",
    "Trainer",
    "load_checkpoint",
    "save_checkpoint",
]
