"""Numerical gradient checking by central differences, in float64.

For a function ``fn`` of Tensors with output y, pick a fixed random cotangent R and
compare, for input x, the backpropagated gradient of L = ⟨y, R⟩ with

    ∂L/∂x[i] ≈ (L(x + ε·e_i) − L(x − ε·e_i)) / (2ε)          (error O(ε²))

at every index of small inputs and at ``max_indices`` sampled indices of large ones;
plus one random direction v per input: ⟨∇L, v⟩ ≈ (L(x + εv) − L(x − εv)) / (2ε).
Finite differences in float32 are meaningless (ε² ≪ float32 resolution), so every
input is promoted to float64.
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numerical derivatives disagree; the message says where."""


def gradcheck(
    fn,
    *inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    max_indices: int = 40,
    seed: int = 0,
    wrt=None,
) -> bool:
    """Check the gradients of ``fn(*inputs)`` against central differences.

    ``inputs`` are arrays or Tensors (converted to float64 Tensors); ``wrt`` lists the
    positions of the inputs to check (default: every floating-point input). Returns True
    or raises :class:`GradcheckError` naming the input, the index and both derivatives.
    """
    rng = np.random.default_rng(seed)
    xs = []
    for x in inputs:
        arr = x.data if isinstance(x, Tensor) else np.asarray(x)
        floating = np.issubdtype(arr.dtype, np.floating)
        xs.append(Tensor(arr.astype(np.float64), requires_grad=True) if floating else Tensor(arr))
    if wrt is None:
        wrt = [i for i, x in enumerate(xs) if x.requires_grad]

    out = fn(*xs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    cotangent = rng.standard_normal(out.shape)
    (out * Tensor(cotangent)).sum().backward()

    def objective() -> float:
        return float(np.sum(fn(*xs).data * cotangent))

    for i in wrt:
        x = xs[i]
        analytic = np.zeros_like(x.data) if x.grad is None else x.grad
        if x.size <= max_indices:
            indices = range(x.size)
        else:
            indices = rng.choice(x.size, size=max_indices, replace=False)
        for k in indices:
            index = np.unravel_index(k, x.shape)  # works for non-contiguous layouts too
            original = x.data[index]
            x.data[index] = original + eps
            up = objective()
            x.data[index] = original - eps
            down = objective()
            x.data[index] = original
            numeric = (up - down) / (2 * eps)
            exact = analytic[index]
            if not np.isclose(exact, numeric, atol=atol, rtol=rtol):
                raise GradcheckError(
                    f"gradcheck: input {i} (shape {x.shape}) at index {tuple(map(int, index))}: "
                    f"analytic {exact:.8g} vs numerical {numeric:.8g} "
                    f"(atol={atol}, rtol={rtol}, eps={eps})"
                )
        direction = rng.standard_normal(x.shape)
        base = x.data.copy()
        x.data[...] = base + eps * direction
        up = objective()
        x.data[...] = base - eps * direction
        down = objective()
        x.data[...] = base
        numeric = (up - down) / (2 * eps)
        exact = float(np.sum(analytic * direction))
        if not np.isclose(exact, numeric, atol=atol * np.sqrt(x.size), rtol=rtol):
            raise GradcheckError(
                f"gradcheck: input {i} (shape {x.shape}) along a random direction: "
                f"analytic {exact:.8g} vs numerical {numeric:.8g}"
            )
    return True
