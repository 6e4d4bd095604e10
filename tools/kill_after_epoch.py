"""Run ``tinyquant train`` and SIGKILL the process when epoch K (0-based) begins.

    python tools/kill_after_epoch.py K train --out D [train options]

The checkpoint of epoch K (K epochs done) is on disk when the kill comes, exactly as after
a power cut between two epochs. With K < 0 nothing is killed (an uninterrupted run through
the same entry point). Used by tests/reliability/ and tools/probe_reliability.py; a test
aid, not part of the library (the Trainer has no kill hook).
"""

from __future__ import annotations

import os
import signal
import sys


def main(argv: list[str]) -> int:
    kill_at = int(argv[0])
    from tinyquant.train import trainer

    original = trainer.Trainer.train_one_epoch

    def train_one_epoch(self, epoch):
        if epoch == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, epoch)

    trainer.Trainer.train_one_epoch = train_one_epoch
    from tinyquant.cli import main as cli_main

    return cli_main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
