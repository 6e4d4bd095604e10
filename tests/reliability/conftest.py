"""The fault-injection tests import the corpus generator shared with the probe (tools/)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
