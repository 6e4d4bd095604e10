"""MSE-optimal step sizes and SQNR of UniQ's uniform quantizers (seed 003, eqs 3–10, Table 1).

The quantizers (seed 003, eqs 3–5), with N reconstruction levels and step Δ::

    Q_w(x) = ⌊clip_N((x + α)/Δ)⌉ Δ − α,   α = Δ(N − 1)/2                    # seed 003, eq. 3
           levels (k − (N − 1)/2)Δ, k = 0 … N − 1: half-integers ±Δ/2, ±3Δ/2, … for even N,
           integers 0, ±Δ, … for odd N; decision levels half-way between; overload beyond ±α
    Q_a(x) = ⌊clip_N(x/Δ)⌉ Δ,   levels 0, Δ, …, (N − 1)Δ                     # seed 003, eq. 5

with clip_N(x) = min(max(x, 0), N − 1). Their mean squared errors for an input X with pdf p::

    D_w(Δ) = E[(X − Q_w(X))²]                                                  # seed 003, eq. 7
    D_a(Δ) = E[(Y − Q_a(Y))²],  Y = ReLU(X)

For a symmetric p, D_w = 2 Σ_cells ∫_cell (x − ℓ)² p(x) dx over the cells of the half-line x ≥ 0.
For the activation quantizer the zeros of the ReLU are reproduced exactly (0 is a level), so
D_a = Σ_cells ∫_cell (x − ℓ)² p(x) dx over x ≥ 0 — the "continuous part only" of seed 003 §4.2
(this changes the value of D_a by no factor and its argmin not at all). Each cell integral is
M_2 − 2ℓM_1 + ℓ²M_0 with the partial moments of :mod:`toy_problems.distributions`.

Derivative (seed 003, eq. 8, generalized to every N). With the levels ℓ_j = c_jΔ, the decision
levels are the mid-points, where the squared error is continuous, so the Leibniz boundary terms
cancel and only ∂(x − c_jΔ)²/∂Δ = −2c_j(x − c_jΔ) remains::

    dD/dΔ = −factor · Σ_j 2 c_j ∫_cell_j (x − c_jΔ) p(x) dx          (factor 2 for Q_w, 1 for Q_a)

For even N (c_j = (2i − 1)/2, i = 1 … N/2, factor 2) this is exactly the printed eq. 8
(2c_j = 2i − 1; the printed "2(x − …)" is the factor 2 of symmetry). For odd N the cells are
[0, Δ/2) with level 0 and [(i − ½)Δ, (i + ½)Δ) with level iΔ. The optimum Δ* solves dD/dΔ = 0 (found by bracketing the
minimum on a grid and Brent's method on the derivative).

Unit input (what :func:`optimal_step_size` returns). The laws are scale families, so
D(Δ; sX) = s² D(Δ/s; X) and Δ*(sX) = s·Δ*(X):

* ``signal="weight"``: Δᵤ for an input of zero mean and **unit variance**; use Δ_w = Δᵤ·Std(w)
  (seed 003, eq. 9);
* ``signal="activation"``: Δᵤ for the ReLU output Y = ReLU(X) of a **unit-variance pre-activation**
  X (so Y itself has E[Y²] = ½ and variance ½ − 1/(2π) for Gaussian X); use Δ_a = Δᵤ·√(2E[Y²])
  (seed 003, eq. 10; √(2E[Y²]) is Std(X) when X is symmetric about 0).

SQNR. The definition that reproduces all sixteen numbers of Table 1 (the tests check it, and check
that the alternatives do not)::

    SQNR = 10 log10( Var(input of the quantizer) / MSE )

i.e. 10 log10(1/D_w) for weights and 10 log10((½ − 1/(2π)) / D_a) for ReLU activations of a
standard Gaussian (signal power = variance of the ReLU output Y, zeros included; MSE over the same
Y). The alternatives E[Y²]/D_a (7.2 dB at N = 2) or E[X²]/D_a (10.2 dB) do not give Table 1's 5.5.

LSQ's initialization (seed 003 §5, Table 5): Δ = 2E|X|/√Q_P with Q_P = 2^(b−1) − 1 for weights and
2^b − 1 for activations, b = log2 N bits (undefined for 1-bit weights, Q_P = 0).

The formulas are computed once, in :mod:`tinyquant.quant.functional` (the framework's UniQ uses the
same functions); this module names the laws, checks the arguments and runs the experiments.

Public names: :data:`TABLE1`, :func:`optimal_step_size`, :func:`quantization_mse`,
:func:`mse_derivative`, :func:`sqnr_db`, :func:`signal_variance`, :func:`quantize_weight`,
:func:`quantize_activation`, :func:`empirical_sqnr_db`, :func:`lsq_init_step` (all also importable
from :mod:`toy_problems.step_size`, which runs the experiments; ``lloyd_max``,
``ternary_threshold`` and the claims ledger import them from here, so none imports the command
that runs them).
"""

from __future__ import annotations

import numpy as np

from tinyquant.quant import functional as F
from tinyquant.quant.functional import SIGNALS

from .checks import check_levels, check_signal
from .distributions import DISTRIBUTIONS, MOMENTS, check_distribution, upper_moments

__all__ = ["SIGNALS", "DISTRIBUTIONS", "TABLE1", "optimal_step_size", "quantization_mse", "mse_derivative", "sqnr_db",
           "signal_variance", "quantize_weight", "quantize_activation", "empirical_sqnr_db", "lsq_init_step"]

# seed 003, Table 1: N -> (Δ_w^u, SQNR_w dB, Δ_a^u, SQNR_a dB), as printed
TABLE1 = {
    2: (1.596, 4.4, 1.224, 5.5),
    4: (0.996, 9.3, 0.651, 11.6),
    8: (0.586, 14.3, 0.353, 17.2),
    16: (0.335, 19.4, 0.193, 22.7),
}


# ----------------------------------------------------------------------------- argument checks

def _check_step(step, where: str) -> np.ndarray:
    if isinstance(step, (bool, np.bool_)):
        raise TypeError(f"{where}: step must be a positive real number or array, got {step!r}")
    arr = np.asarray(step)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{where}: step must be a positive real number or array, got {step!r}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{where}: step (the step size Δ) must be finite and > 0, got {step!r}")
    return arr


def _check_all(step, levels, distribution, signal, where):
    levels = check_levels(levels, where)
    distribution = check_distribution(distribution, where)
    signal = check_signal(signal, where)
    return (None if step is None else _check_step(step, where)), levels, distribution, signal


def _out(x):
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


# ----------------------------------------------------------------------------- public functions
# The math is :mod:`tinyquant.quant.functional`'s (written once, used by the framework's UniQ);
# these wrappers validate the arguments and name the law.

def quantization_mse(step, levels, distribution="gaussian", signal="weight"):
    """D(Δ) for the unit input of ``distribution`` (see the module docstring); ``step`` may be an array."""
    step, levels, distribution, signal = _check_all(step, levels, distribution, signal, "quantization_mse")
    return _out(F.quantization_mse(step, levels, signal, MOMENTS[distribution]))


def mse_derivative(step, levels, distribution="gaussian", signal="weight"):
    """dD/dΔ (seed 003, eq. 8 generalized; module docstring)."""
    step, levels, distribution, signal = _check_all(step, levels, distribution, signal, "mse_derivative")
    return _out(F.quantization_mse_grad(step, levels, signal, MOMENTS[distribution]))


def optimal_step_size(levels, distribution="gaussian", signal="weight") -> float:
    """The MSE-optimal unit step Δᵤ (seed 003, eq. 7, Table 1), cached.

    ``signal="weight"``: for a zero-mean, unit-variance input of law ``distribution`` (multiply by
    Std(w), eq. 9). ``signal="activation"``: for ReLU(X), X a zero-mean unit-variance pre-activation
    of law ``distribution`` (multiply by √(2E[ReLU(X)²]), eq. 10).
    """
    _, levels, distribution, signal = _check_all(None, levels, distribution, signal, "optimal_step_size")
    return F.optimal_unit_step(levels, signal, MOMENTS[distribution])


def signal_variance(distribution="gaussian", signal="weight") -> float:
    """Variance of the quantizer's input for the unit law: 1 for weights, Var(ReLU(X)) for activations."""
    distribution = check_distribution(distribution, "signal_variance")
    signal = check_signal(signal, "signal_variance")
    return F.unit_signal_variance(signal, MOMENTS[distribution])


def sqnr_db(step, levels, distribution="gaussian", signal="weight"):
    """10 log10(Var(input)/D(Δ)) — the SQNR definition that reproduces seed 003's Table 1.

    ``step=None`` uses the optimal step (:func:`optimal_step_size`).
    """
    step, levels, distribution, signal = _check_all(step, levels, distribution, signal, "sqnr_db")
    moments = MOMENTS[distribution]
    if step is None:
        step = np.asarray(F.optimal_unit_step(levels, signal, moments))
    return _out(F.sqnr_db(F.unit_signal_variance(signal, moments), F.quantization_mse(step, levels, signal, moments)))


def quantize_weight(x, step: float, levels: int) -> np.ndarray:
    """Q_w(x) = ⌊clip_N((x + α)/Δ)⌉Δ − α, α = Δ(N − 1)/2 (seed 003, eq. 3); ties round half to even."""
    levels = check_levels(levels, "quantize_weight")
    step = float(_check_step(step, "quantize_weight"))
    return F.quantize_weight(np.asarray(x, dtype=float), step, levels)


def quantize_activation(x, step: float, levels: int) -> np.ndarray:
    """Q_a(x) = ⌊clip_N(x/Δ)⌉Δ (seed 003, eq. 5); negative inputs map to 0 like their ReLU."""
    levels = check_levels(levels, "quantize_activation")
    step = float(_check_step(step, "quantize_activation"))
    return F.quantize_activation(np.asarray(x, dtype=float), step, levels)


def empirical_sqnr_db(x, x_quantized) -> float:
    """10 log10(Var(x) / mean((x − Q(x))²)) on samples — the same definition as :func:`sqnr_db`."""
    x, xq = np.asarray(x, dtype=float), np.asarray(x_quantized, dtype=float)
    if x.shape != xq.shape or x.size < 2:
        raise ValueError(f"empirical_sqnr_db: x and x_quantized must have the same shape with >= 2 values, "
                         f"got {x.shape} and {xq.shape}")
    return F.empirical_sqnr_db(x, xq)


def lsq_init_step(levels, distribution="gaussian", signal="weight") -> float:
    """LSQ's initial step 2E|X|/√Q_P for the unit input (seed 003 §5, Table 5).

    ``levels`` must be 2^b; Q_P = 2^(b−1) − 1 for weights (b ≥ 2), 2^b − 1 for activations.
    """
    _, levels, distribution, signal = _check_all(None, levels, distribution, signal, "lsq_init_step")
    b = int(round(np.log2(levels)))
    if 2 ** b != levels:
        raise ValueError(f"lsq_init_step: levels must be a power of two (2^bits), got {levels}")
    _, qp = F.lsq_bounds(b, signed=signal == "weight")
    if qp < 1:
        raise ValueError(f"lsq_init_step: LSQ is undefined for 1-bit weights (Q_P = 2^(b−1) − 1 = 0), got levels={levels}")
    _, g1, _ = upper_moments(0.0, distribution)
    mean_abs = 2 * float(g1) if signal == "weight" else float(g1)  # E|X| (weights), E[ReLU(X)] (activations)
    return float(F.lsq_init_step(mean_abs, qp))
