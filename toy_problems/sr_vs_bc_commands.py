"""The commands of seed 002's sandbox parts, apart from the parts themselves.

``sr_vs_bc`` is the hub that runs its parts (``toy_1d``, ``markov``, ``convex``,
``big_batch``) and the claims ledger (``ledger_sr_vs_bc``); their commands need the hub's
``run_command``, so they live here and the parts never import the hub back.

    python -m toy_problems.markov --fast       # = markov_main(["--fast"])
"""

from __future__ import annotations

from .sr_vs_bc import main, run_command


def toy_1d_main(argv=None) -> int:
    """``python -m toy_problems.toy_1d``: the toy problem of seed 002 eq. 8: R, SR and BC histograms and Figure 2 (``--fast``, ``--out DIR``)."""
    return run_command(argv, parts=("toy",), prog="python -m toy_problems.toy_1d", description="the toy problem of seed 002 eq. 8: R, SR and BC histograms and Figure 2")


def markov_main(argv=None) -> int:
    """``python -m toy_problems.markov``: SR as a Markov chain: T_α, π_α, π̃, TV distances, mixing times, Figure 3 (``--fast``, ``--out DIR``)."""
    return run_command(argv, parts=("markov",), prog="python -m toy_problems.markov", description="SR as a Markov chain: T_α, π_α, π̃, TV distances, mixing times, Figure 3")


def convex_main(argv=None) -> int:
    """``python -m toy_problems.convex``: Lemma 1, Theorems 1–4 and Corollary 1 measured against their bounds (``--fast``, ``--out DIR``)."""
    return run_command(argv, parts=("convex",), prog="python -m toy_problems.convex", description="Lemma 1, Theorems 1–4 and Corollary 1 measured against their bounds")


def big_batch_main(argv=None) -> int:
    """``python -m toy_problems.big_batch``: big-batch SR on least squares (seed 002 §6.1) (``--fast``, ``--out DIR``)."""
    return run_command(argv, parts=("batch",), prog="python -m toy_problems.big_batch", description="big-batch SR on least squares (seed 002 §6.1)")


def ledger_main(argv=None) -> int:
    """Print the claims ledger (all parts are computed; same options as the main command)."""
    return main(argv)
