"""Write the three core coursework notebooks (01 autograd, 02 im2col, 03 batch norm).

The notebooks are generated from this file so that a review reads plain Python rather
than notebook JSON. They are written *without outputs* (the tests execute them)::

    python notebooks/_build/build_core_notebooks.py            # writes notebooks/0[123]_*.ipynb

Cell ids are derived from the notebook name and the cell's position, so rebuilding an
unchanged notebook gives an identical file.
"""

from __future__ import annotations

from nbtools import code, md, write_notebook


# =====================================================================================
# 01 — autograd from scratch
# =====================================================================================

AUTOGRAD = [
    md(r"""
# 01 · Autograd from scratch

Every network in this course — float, binary, ternary, k-bit — is trained by the same
machine: **reverse-mode automatic differentiation** (backpropagation). Before we quantize
anything we take that machine apart.

**Learning goals.** After this notebook you can

1. draw the computation graph of an expression and backpropagate through it by hand;
2. explain why backpropagation visits the nodes in *reverse topological order* and why
   gradients are *accumulated* (`+=`), not assigned;
3. build a tiny scalar autograd engine (a `Value` class) and check it against tinyquant;
4. write a custom `tinyquant.Function` — forward and backward side by side — and check it
   with `tinyquant.gradcheck`;
5. explain what a *straight-through estimator* (STE) is and why gradcheck must reject it;
6. explain why numerical derivatives are taken in float64.

Exercises are marked **Exercise**. Each ships a working reference solution marked
`# solution — try it yourself first`: delete the body, write your own, and run the check
cell below it. The checks compare your code with tinyquant or with a formula, so they fail
when your code is wrong.
"""),
    code(r"""
import sys

import matplotlib.pyplot as plt
import numpy as np

import tinyquant as tq
from tinyquant.autograd import topological_order

print("python", sys.version.split()[0], "| numpy", np.__version__, "| tinyquant", tq.__version__)
"""),
    md(r"""
## 1. A computation graph, by hand

Take three inputs $a = 2$, $b = -3$, $c = 10$ and the expression

$$L = (a\,b + c)\; a .$$

Name every intermediate result: $e = a b$, $d = e + c$, $L = d\,a$. Each node is an
operation that knows its **local derivatives** — how its output moves when one input moves:

| node | forward | local derivatives |
|---|---|---|
| $e = a\,b$ | $-6$ | $\partial e/\partial a = b$, $\;\partial e/\partial b = a$ |
| $d = e + c$ | $4$ | $\partial d/\partial e = 1$, $\;\partial d/\partial c = 1$ |
| $L = d\,a$ | $8$ | $\partial L/\partial d = a$, $\;\partial L/\partial a = d$ |

The **chain rule** multiplies local derivatives along each path from $L$ back to an input
and **adds the paths**. The input $a$ is used twice (in $e$ and in $L$), so two paths reach it:

$$\frac{\partial L}{\partial a}
  = \underbrace{\frac{\partial L}{\partial a}\Big|_{\text{direct}}}_{d}
  + \underbrace{\frac{\partial L}{\partial d}\,\frac{\partial d}{\partial e}\,\frac{\partial e}{\partial a}}_{a \cdot 1 \cdot b}
  = 4 + 2\cdot(-3) = -2 .$$

Backpropagation computes the *adjoint* $\bar v = \partial L/\partial v$ of every node $v$,
starting from $\bar L = 1$ and pushing adjoints from each node to its inputs:
$\bar u \mathrel{+}= \bar v \cdot \partial v/\partial u$. The `+=` is where the paths add up.
"""),
    code(r"""
a, b, c = 2.0, -3.0, 10.0

# forward, one node at a time
e = a * b
d = e + c
L = d * a

# backward: adjoints, from the output to the inputs (each line is  ū += v̄ · ∂v/∂u)
L_bar = 1.0
d_bar = L_bar * a          # L = d·a
a_bar = L_bar * d          # L = d·a   (first path into a)
e_bar = d_bar * 1.0        # d = e + c
c_bar = d_bar * 1.0
a_bar += e_bar * b         # e = a·b   (second path into a: accumulate!)
b_bar = e_bar * a

print(f"forward : e = {e}, d = {d}, L = {L}")
print(f"backward: dL/da = {a_bar}, dL/db = {b_bar}, dL/dc = {c_bar}")
"""),
    md(r"""
The same expression in tinyquant. A `Tensor` with `requires_grad=True` records every
operation applied to it; `L.backward()` walks the recorded graph. We pass float64 scalars
so that nothing is rounded to float32 (tinyquant's training precision for Python numbers).
"""),
    code(r"""
ta, tb, tc = (tq.Tensor(np.float64(v), requires_grad=True) for v in (a, b, c))
tL = (ta * tb + tc) * ta
tL.backward()

print("tinyquant:", ta.grad, tb.grad, tc.grad)
np.testing.assert_allclose([ta.grad, tb.grad, tc.grad], [a_bar, b_bar, c_bar])
"""),
    md(r"""
A picture of the graph: each box shows a node's forward value and its adjoint
$\partial L/\partial v$ (its `grad`). Arrows point forward; backpropagation runs against them.
"""),
    code(r"""
def draw_graph(ax, nodes, edges):
    # nodes: name -> (x, y, value, grad); edges: (from, to, label of the local derivative)
    for src, dst, label in edges:
        (x0, y0, *_), (x1, y1, *_) = nodes[src], nodes[dst]
        ax.annotate("", xy=(x1 - 0.33, y1), xytext=(x0 + 0.33, y0),
                    arrowprops=dict(arrowstyle="->", color="0.4"))
        ax.text(x0 + 0.6 * (x1 - x0), y0 + 0.6 * (y1 - y0) + 0.1, label, ha="center", color="tab:red",
                fontsize=9, bbox=dict(fc="white", ec="none", pad=0.5))
    for name, (x, y, value, grad) in nodes.items():
        ax.text(x, y, f"{name}\n{value:g}\ngrad {grad:g}", ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round", fc="lightyellow" if name in "abc" else "lightblue"))
    ax.set_xlim(-0.6, 3.6); ax.set_ylim(-1.6, 1.6); ax.axis("off")


nodes = {"a": (0, 1, a, a_bar), "b": (0, 0, b, b_bar), "c": (0, -1, c, c_bar),
         "e = a·b": (1.2, 0.5, e, e_bar), "d = e + c": (2.1, -0.3, d, d_bar), "L = d·a": (3.1, 0.8, L, L_bar)}
edges = [("a", "e = a·b", "∂e/∂a = b"), ("b", "e = a·b", "∂e/∂b = a"),
         ("e = a·b", "d = e + c", "1"), ("c", "d = e + c", "1"),
         ("d = e + c", "L = d·a", "∂L/∂d = a"), ("a", "L = d·a", "∂L/∂a = d")]
fig, ax = plt.subplots(figsize=(8, 3.6))
draw_graph(ax, nodes, edges)
ax.set_title("L = (a·b + c)·a : forward values and adjoints")
plt.show()
"""),
    md(r"""
## 2. Topological order

In the hand computation we were careful to finish $\bar d$ before using it, and to add
*both* contributions into $\bar a$ before reading it. In general: **a node's adjoint is
complete only once every node that consumes it has pushed its contribution.** Listing the
nodes so that each comes after all of its inputs — a *topological order* — and walking it
**in reverse** guarantees exactly that.

tinyquant sorts the graph with an *iterative* depth-first search
(`tinyquant.autograd.topological_order`): a recursive one would overflow Python's stack
on a graph a few thousand operations deep. Here is the order it finds for our graph
(`_node` is the internal record of the Function that produced a tensor):
"""),
    code(r"""
for t in topological_order(tL):
    made_by = "leaf (input)" if t.is_leaf else t._node.function.__name__
    print(f"{made_by:>13}   value {t.data:g}")
"""),
    md(r"""
Every input appears before the operations that read it, and `L` comes last. The backward
pass visits this list from the bottom up.

## 3. Exercise 1 — a micro scalar autograd

Write a class `Value` that holds one float (`data`), its adjoint (`grad`, starting at 0),
and enough of a record of how it was made to backpropagate (micrograd's design: each
operation builds its output and attaches a small `_backward` closure right next to the
forward line). Support `+ - * /`, `** number`, unary minus, `tanh()` and `exp()`, with
Python numbers on either side, and a `backward()` that

* sorts the graph topologically **without recursion** (the check builds a chain 5,000
  operations deep),
* seeds `self.grad = 1`, then calls each node's `_backward` in reverse order,
* **accumulates** into `grad` with `+=` (the check reuses a node).
"""),
    code(r"""
# solution — try it yourself first
import math


class Value:
    # A scalar that remembers how it was computed.

    def __init__(self, data, parents=(), op=""):
        self.data = float(data)
        self.grad = 0.0
        self._parents = parents
        self._backward = lambda: None  # pushes self.grad into the parents' .grad
        self.op = op

    def __repr__(self):
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"

    @staticmethod
    def lift(other):
        return other if isinstance(other, Value) else Value(other)

    def __add__(self, other):
        other = Value.lift(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():  # d(s + o)/ds = d(s + o)/do = 1
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = Value.lift(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():  # d(s·o)/ds = o, d(s·o)/do = s
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):
        assert isinstance(k, (int, float)), "only a constant exponent"
        out = Value(self.data**k, (self,), f"**{k}")

        def _backward():  # d(s^k)/ds = k·s^(k−1)
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():  # d tanh(s)/ds = 1 − tanh²(s)
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():  # d exp(s)/ds = exp(s)
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    # everything else is built from the operations above
    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-Value.lift(other))

    def __truediv__(self, other):
        return self * Value.lift(other) ** -1

    def __radd__(self, other):
        return Value.lift(other) + self

    def __rsub__(self, other):
        return Value.lift(other) - self

    def __rmul__(self, other):
        return Value.lift(other) * self

    def __rtruediv__(self, other):
        return Value.lift(other) / self

    def backward(self):
        # iterative DFS: a node is appended once all of its parents have been
        order, visited, stack = [], set(), [(self, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
            elif id(node) not in visited:
                visited.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node._parents if id(p) not in visited)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
"""),
    md(r"""
**Check.** One expression, written once, is evaluated with your `Value`s and with
tinyquant `Tensor`s (float64) at several random points; the gradients must agree. Two more
checks use formulas: for a reused node $b = a + a$, $c = b\,b = 4a^2$ so
$\partial c/\partial a = 8a$; and a chain of 5,000 operations $y = x + 1 + 1 + \dots$ has
$\partial y/\partial x = 1$.
"""),
    code(r"""
def expression(a, b, c):
    # works for Value and for tinyquant.Tensor alike
    d = a * b + c / 4
    e = d.tanh() * a - (b * 0.5).exp()
    return e * e / (a**2 + 1) - 3 * c + 2 / (1 + b * b)


rng = np.random.default_rng(0)
for trial in range(5):
    point = rng.standard_normal(3)
    vs = [Value(p) for p in point]
    out = expression(*vs)
    out.backward()

    ts = [tq.Tensor(np.float64(p), requires_grad=True) for p in point]
    ref = expression(*ts)
    ref.backward()

    np.testing.assert_allclose(out.data, ref.item(), rtol=1e-12)
    np.testing.assert_allclose([v.grad for v in vs], [t.grad for t in ts], rtol=1e-10, atol=1e-12)

# a node used twice: its two contributions must add up
a_ = Value(3.0)
b_ = a_ + a_
c_ = b_ * b_
c_.backward()
assert a_.grad == 8 * 3.0, f"c = 4a², so dc/da = 8a = 24, got {a_.grad} (assigning instead of accumulating?)"

# a chain deeper than Python's recursion limit
x_ = Value(0.5)
y_ = x_
for _ in range(5_000):
    y_ = y_ + 1
y_.backward()
assert x_.grad == 1.0, x_.grad
print("Value agrees with tinyquant on 5 random points; reuse and a 5,000-deep chain work.")
"""),
    md(r"""
## 4. A custom `Function` — Exercise 2: the backward of tanh

tinyquant's operations are all `Function`s. `forward(ctx, *arrays)` works on plain NumPy
arrays and may save what the backward needs with `ctx.save_for_backward(...)`;
`backward(ctx, grad)` receives $\bar y = \partial L/\partial y$ (same shape as $y$) and
returns $\bar x = \partial L/\partial x$ for every input. `MyFunction.apply(tensor)` runs the
forward and records the node.

For $y = \tanh x$: $\;\dfrac{dy}{dx} = 1 - \tanh^2 x = 1 - y^2$, so $\bar x = \bar y\,(1 - y^2)$.
Saving the *output* $y$ rather than $x$ means the backward needs no second `tanh`.

Write `MyTanh`.
"""),
    code(r"""
# solution — try it yourself first
class MyTanh(tq.Function):
    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved
        return grad * (1 - y * y)  # d tanh(x)/dx = 1 − tanh²(x)
"""),
    md(r"""
**Check.** `tinyquant.gradcheck(fn, *arrays)` promotes the inputs to float64, backpropagates
a random cotangent $R$ through $\langle \mathrm{fn}(x), R\rangle$ and compares every entry of
the gradient with the central difference
$\big(L(x + \varepsilon e_i) - L(x - \varepsilon e_i)\big) / 2\varepsilon$. We also compare with
the closed form $1/\cosh^2 x$ and with tinyquant's own `tanh`.
"""),
    code(r"""
rng = np.random.default_rng(1)
x = rng.standard_normal((3, 4)) * 2

assert tq.gradcheck(lambda t: MyTanh.apply(t), x)

tx = tq.Tensor(x, requires_grad=True)
MyTanh.apply(tx).sum().backward()
np.testing.assert_allclose(tx.grad, 1 / np.cosh(x) ** 2, rtol=1e-10)

tx_ref = tq.Tensor(x, requires_grad=True)
tx_ref.tanh().sum().backward()
np.testing.assert_allclose(tx.grad, tx_ref.grad, rtol=1e-12)
print("MyTanh passes gradcheck and matches 1/cosh² and tinyquant's tanh.")
"""),
    md(r"""
A check is only worth something if it can fail. Here is a typical slip — $1 - y$ instead
of $1 - y^2$ — and what gradcheck says about it:
"""),
    code(r"""
class WrongTanh(tq.Function):
    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved
        return grad * (1 - y)  # wrong on purpose


try:
    tq.gradcheck(lambda t: WrongTanh.apply(t), x)
except tq.GradcheckError as err:
    print("caught:", err)
else:
    raise AssertionError("gradcheck should have rejected WrongTanh")
"""),
    md(r"""
## 5. Exercise 3 — a straight-through sign (a first quantizer)

A binary network replaces a weight or activation $x$ by $\operatorname{sign}(x) \in \{-1, +1\}$.
Its derivative is $0$ almost everywhere (and undefined at $0$), so the true gradient tells
the latent weights nothing. The **straight-through estimator** (STE) keeps the forward
$\operatorname{sign}$ but *pretends*, in the backward, that the forward was the clipped
identity $\operatorname{hardtanh}(x) = \operatorname{clip}(x, -1, 1)$:

$$\text{forward: } y = \operatorname{sign}(x) = \begin{cases} +1 & x \ge 0 \\ -1 & x < 0 \end{cases}
\qquad\qquad
\text{backward: } \bar x = \bar y \cdot \mathbb 1\{|x| \le 1\}.$$

Conventions, stated once: $\operatorname{sign}(0) = +1$ (a binary value is never $0$),
and the boundary $|x| = 1$ counts as inside (as in `Tensor.clip`). The output keeps the
input's dtype.

Write `SignSTE`.
"""),
    code(r"""
# solution — try it yourself first
class SignSTE(tq.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(np.abs(x) <= 1)
        return np.where(x >= 0, 1, -1).astype(x.dtype)  # sign(0) = +1

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved
        return grad * inside  # straight through where |x| ≤ 1, blocked outside
"""),
    md(r"""
**Check.** The forward against the formula, on points that include $0$ and $\pm 1$; the
backward against the formula *and* against the true gradient of tinyquant's
$\operatorname{clip}(x, -1, 1)$ — the STE's backward is exactly hardtanh's derivative.
"""),
    code(r"""
rng = np.random.default_rng(2)
x = np.concatenate([[-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0], rng.uniform(-3, 3, size=13)]).astype(np.float32)
expected_forward = np.where(x >= 0, 1.0, -1.0)
expected_mask = (np.abs(x) <= 1).astype(np.float32)
cotangent = rng.standard_normal(x.shape).astype(np.float32)

tx = tq.Tensor(x.copy(), requires_grad=True)
y = SignSTE.apply(tx)
(y * tq.Tensor(cotangent)).sum().backward()

assert y.dtype == np.float32, y.dtype
np.testing.assert_array_equal(y.data, expected_forward)
assert y.data[3] == 1.0, "sign(0) must be +1"
np.testing.assert_array_equal(tx.grad, cotangent * expected_mask)

t_clip = tq.Tensor(x.copy(), requires_grad=True)
(t_clip.clip(-1, 1) * tq.Tensor(cotangent)).sum().backward()
np.testing.assert_array_equal(tx.grad, t_clip.grad)
print("SignSTE: forward is sign with sign(0) = +1; backward equals d hardtanh/dx.")
"""),
    md(r"""
**The STE is not a gradient, and gradcheck knows it.** Finite differences of
$\operatorname{sign}$ are $0$ (away from the jump), while the STE's backward is $1$ inside
$[-1, 1]$. So gradcheck *must* reject `SignSTE` — and must accept hardtanh, whose derivative
the STE borrows (we keep the test points away from the kinks at $\pm 1$, where a finite
difference straddles two slopes).
"""),
    code(r"""
x_smooth = np.random.default_rng(3).uniform(-0.9, 0.9, size=(4, 3))  # inside (−1, 1), away from the kinks
assert np.abs(x_smooth).min() > 1e-3  # and away from sign's jump at 0

assert tq.gradcheck(lambda t: t.clip(-1, 1), x_smooth)  # hardtanh: a true gradient
try:
    tq.gradcheck(lambda t: SignSTE.apply(t), x_smooth)
except tq.GradcheckError as err:
    print("gradcheck rejects the STE, as it should:\n ", err)
else:
    raise AssertionError("gradcheck accepted the STE: its backward is not the derivative of sign")
"""),
    code(r"""
grid = np.linspace(-2, 2, 401)
tg = tq.Tensor(grid, requires_grad=True)
SignSTE.apply(tg).sum().backward()  # summing independent entries: grad[i] = dy_i/dx_i

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharex=True)
axes[0].plot(grid, SignSTE.apply(tq.Tensor(grid)).data, label="forward: sign(x)")
axes[0].plot(grid, np.clip(grid, -1, 1), "--", label="hardtanh(x) = clip(x, −1, 1)")
axes[0].set_title("what the forward computes")
axes[1].plot(grid, tg.grad, color="tab:red", label="STE backward: 1{|x| ≤ 1}")
axes[1].plot(grid, np.zeros_like(grid), ":", color="0.3", label="true derivative of sign (a.e.)")
axes[1].set_title("what the backward pretends"); axes[1].set_ylim(-0.1, 1.5)
for ax in axes:
    ax.set_xlabel("x"); ax.legend(loc="upper left", fontsize=8); ax.grid(alpha=0.3)
plt.tight_layout(); plt.show()
"""),
    md(r"""
Every quantizer in `tinyquant.quant` has this shape: a `Function` whose forward rounds
and whose backward is a chosen surrogate, with its formula written next to it.

## 6. Backprop vs finite differences, and why float64

Take $f(x) = \tanh(2x)\, e^{-x^2/2}$, whose derivative is
$f'(x) = \big(2(1 - \tanh^2 2x) - x \tanh 2x\big)\, e^{-x^2/2}$.
Backpropagation gives $f'$ at every point of a grid in one backward pass (the entries are
independent, so the gradient of $\sum_i f(x_i)$ is $f'(x_i)$ elementwise).
"""),
    code(r"""
def f(x):
    return (x * 2).tanh() * (-(x * x) / 2).exp()


def f_prime(x):  # by hand, as a reference
    t = np.tanh(2 * x)
    return (2 * (1 - t * t) - x * t) * np.exp(-x * x / 2)


grid = np.linspace(-3, 3, 241)
tg = tq.Tensor(grid, requires_grad=True)
f(tg).sum().backward()
backprop = tg.grad

eps = 1e-5
coarse = grid[::12]
central = (f(tq.Tensor(coarse + eps)).data - f(tq.Tensor(coarse - eps)).data) / (2 * eps)

np.testing.assert_allclose(backprop, f_prime(grid), rtol=1e-10, atol=1e-12)
np.testing.assert_allclose(central, f_prime(coarse), atol=1e-8)
print("max |backprop − formula| =", np.abs(backprop - f_prime(grid)).max())
print("max |central difference − formula| =", np.abs(central - f_prime(coarse)).max())
"""),
    md(r"""
The central difference has two errors that pull in opposite directions:

* **truncation**: $\dfrac{f(x+\varepsilon) - f(x-\varepsilon)}{2\varepsilon} = f'(x) + \dfrac{\varepsilon^2}{6} f'''(x) + O(\varepsilon^4)$ — small $\varepsilon$ is better;
* **rounding**: $f(x\pm\varepsilon)$ are each off by about $u\,|f(x)|$, where $u$ is the unit
  roundoff ($u \approx 6\times10^{-8}$ in float32, $1.1\times10^{-16}$ in float64), and dividing
  by $2\varepsilon$ magnifies that to about $u|f|/\varepsilon$ — large $\varepsilon$ is better.

The total $\approx \varepsilon^2 |f'''|/6 + u|f|/\varepsilon$ is smallest near
$\varepsilon^\ast \approx u^{1/3}$, with error $\approx u^{2/3}$: about $10^{-5}$ in float32 but
$10^{-11}$ in float64. A gradient check in float32 cannot tell a correct backward from a
slightly wrong one — which is why `tinyquant.gradcheck` promotes every input to float64.
"""),
    code(r"""
x0 = 0.7
epsilons = np.logspace(-12, 0, 49)
errors = {}
for dtype in (np.float32, np.float64):
    up = np.array([f(tq.Tensor(np.array(x0 + e, dtype=dtype))).item() for e in epsilons])
    down = np.array([f(tq.Tensor(np.array(x0 - e, dtype=dtype))).item() for e in epsilons])
    errors[dtype.__name__] = np.maximum(np.abs((up - down) / (2 * epsilons) - f_prime(x0)), 1e-17)

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
axes[0].plot(grid, f(tq.Tensor(grid)).data, label="f(x)")
axes[0].plot(grid, backprop, label="f'(x) by backprop")
axes[0].plot(coarse, central, "o", ms=4, label="f'(x) by central differences")
axes[0].set_xlabel("x"); axes[0].legend(fontsize=8); axes[0].grid(alpha=0.3)
axes[0].set_title("f(x) = tanh(2x)·exp(−x²/2)")
for name, err in errors.items():
    axes[1].loglog(epsilons, err, "o-", ms=3, label=name)
axes[1].set_xlabel("ε"); axes[1].set_ylabel("|central difference − f'(x₀)|")
axes[1].set_title(f"finite-difference error at x₀ = {x0}"); axes[1].legend(); axes[1].grid(alpha=0.3, which="both")
plt.tight_layout(); plt.show()

for name, err in errors.items():
    best = np.argmin(err)
    at_1e6 = err[np.argmin(np.abs(epsilons - 1e-6))]
    print(f"{name}: best error {err[best]:.1e} at ε = {epsilons[best]:.0e};  error at ε = 1e-6: {at_1e6:.1e}")

# gradcheck's defaults are ε = 1e-6, atol = 1e-5: fine in float64, hopeless in float32
assert errors["float64"][np.argmin(np.abs(epsilons - 1e-6))] < 1e-8
assert errors["float32"][np.argmin(np.abs(epsilons - 1e-6))] > 1e-3
"""),
    md(r"""
## Summary

* Backpropagation = the chain rule, applied node by node in **reverse topological order**,
  with adjoints **accumulated** over every path.
* A tinyquant `Function` is a forward on arrays plus its backward, side by side; `gradcheck`
  tests the backward against float64 central differences — and it can fail.
* A straight-through estimator is a deliberate, documented *lie* in the backward: sign
  forward, hardtanh's derivative backward. It is the heart of binary-network training and
  it is, by construction, not a gradient.

**Next:** 02 builds the convolution out of im2col and one matrix product; 03 takes batch
normalization apart.
"""),
]


# =====================================================================================
# 02 — convolution by im2col
# =====================================================================================

CONVOLUTION = [
    md(r"""
# 02 · Convolution by im2col

A convolution layer slides a small kernel over an image. Written as loops it is easy to
read and very slow in Python; written as **im2col + one matrix product (GEMM)** it is a few
lines of vectorized NumPy — and it is how tinyquant (and, in spirit, most libraries)
computes it. For quantization the GEMM view matters twice: a binary convolution is a GEMM
whose operands are $\pm1$ (XNOR + popcount on hardware), and the backward of im2col,
**col2im**, is how gradients get back to the image.

**Learning goals.** After this notebook you can

1. state the convolution (cross-correlation) of an NCHW batch and its output size;
2. write a loop convolution and check it against `tinyquant.nn.functional.conv2d`;
3. build the im2col matrix with fancy indexing and explain its shape and memory cost;
4. see a convolution as one GEMM, and time it against the loops;
5. explain why col2im is the **adjoint** of im2col and why it computes the input gradient;
6. check the convolution's gradients with `tinyquant.gradcheck`.

Exercises are marked **Exercise**; each ships a reference solution marked
`# solution — try it yourself first`, followed by a check cell that compares your code with
tinyquant.
"""),
    code(r"""
import time

import matplotlib.pyplot as plt
import numpy as np

import tinyquant as tq
import tinyquant.nn.functional as F
from tinyquant.nn.im2col import col2im, im2col
"""),
    md(r"""
## 1. The operation

Layout **NCHW**: input $x$ of shape $(N, C, H, W)$, weight $W$ of shape $(O, C, k_h, k_w)$,
bias $b$ of shape $(O,)$, stride $s$, zero padding $p$. Deep-learning "convolution" is a
cross-correlation (the kernel is not flipped):

$$y[n, o, h', w'] = b[o] + \sum_{c=0}^{C-1}\sum_{i=0}^{k_h-1}\sum_{j=0}^{k_w-1}
  W[o, c, i, j]\; x_{\text{pad}}[n, c,\; h' s + i,\; w' s + j],$$

$$H_o = \left\lfloor \frac{H + 2p - k_h}{s} \right\rfloor + 1, \qquad
  W_o = \left\lfloor \frac{W + 2p - k_w}{s} \right\rfloor + 1 .$$

### Exercise 1 — the loop convolution

Write `conv2d_naive(x, weight, bias, stride, padding)` on NumPy arrays with six loops —
over $n, o, h', w', i, j$ — doing the channel sum as one dot product. Zero-pad with `np.pad`.
"""),
    code(r"""
# solution — try it yourself first
def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, c_w, kh, kw = weight.shape
    assert c == c_w, f"input has {c} channels but weight expects {c_w}"
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for b in range(n):
        for oc in range(o):
            for r in range(ho):
                for q in range(wo):
                    for i in range(kh):
                        for j in range(kw):
                            # Σ_c W[oc, c, i, j] · x_pad[b, c, r·s + i, q·s + j]
                            out[b, oc, r, q] += weight[oc, :, i, j] @ xp[b, :, r * stride + i, q * stride + j]
            if bias is not None:
                out[b, oc] += bias[oc]
    return out
"""),
    md(r"""
**Check** against tinyquant's `conv2d` (float32, tolerance $10^{-5}$) on square and
non-square kernels, strides 1–3 and paddings 0–2, with and without bias.
"""),
    code(r"""
rng = np.random.default_rng(0)
cases = [  # (x shape, weight shape, stride, padding, with bias)
    ((2, 3, 7, 7), (4, 3, 3, 3), 1, 0, True),
    ((1, 2, 8, 6), (3, 2, 3, 2), 2, 1, False),
    ((2, 1, 9, 9), (2, 1, 5, 5), 3, 2, True),
    ((1, 4, 5, 5), (6, 4, 1, 1), 1, 0, True),
]
for x_shape, w_shape, stride, padding, with_bias in cases:
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32) if with_bias else None
    ours = conv2d_naive(x, w, b, stride, padding)
    ref = F.conv2d(tq.Tensor(x), tq.Tensor(w), None if b is None else tq.Tensor(b), stride=stride, padding=padding)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    np.testing.assert_allclose(ours, ref.data, rtol=1e-5, atol=1e-5)
    print(f"x {x_shape} * W {w_shape}, stride {stride}, padding {padding} -> {ours.shape}: agrees")
"""),
    md(r"""
## 2. im2col: every patch becomes a column

Look again at the formula: for one output position $(h', w')$, the numbers
$x_{\text{pad}}[n, c, h's + i, w's + j]$ over all $(c, i, j)$ form a **patch** of
$C k_h k_w$ values, and the output is a dot product of that patch with each filter.
im2col copies every patch into a column of a matrix:

$$\text{cols}[n,\ \underbrace{(c, i, j)}_{\text{row } r},\ \underbrace{(h', w')}_{\text{column } q}]
 = x_{\text{pad}}[n, c, h's + i, w's + j],
 \qquad \text{shape } (N,\ C k_h k_w,\ H_o W_o).$$

Below: a $5\times5$ single-channel image holding $0, 1, \dots, 24$ and a $3\times3$ kernel.
There are $3\times3 = 9$ output positions, so 9 columns of 9 values. The highlighted patch
(output position $(1, 2)$) is column $q = 1\cdot 3 + 2 = 5$. Pixels in the middle of the
image appear in many columns — im2col duplicates data.
"""),
    code(r"""
image = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)
cols = im2col(image, 3, 3, (1, 1), (0, 0))[0]  # (9, 9): rows (i, j), columns (h', w')
out_pos = (1, 2)
q = out_pos[0] * 3 + out_pos[1]

fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [5, 9]})
axes[0].imshow(image[0, 0], cmap="Blues", vmin=-10, vmax=30)
for (r, c_), v in np.ndenumerate(image[0, 0]):
    axes[0].text(c_, r, f"{v:.0f}", ha="center", va="center")
axes[0].add_patch(plt.Rectangle((out_pos[1] - 0.5, out_pos[0] - 0.5), 3, 3, fill=False, ec="tab:red", lw=3))
axes[0].set_title(f"x (1, 1, 5, 5): the patch of output {out_pos}")
axes[1].imshow(cols, cmap="Blues", vmin=-10, vmax=30)
for (r, c_), v in np.ndenumerate(cols):
    axes[1].text(c_, r, f"{v:.0f}", ha="center", va="center", fontsize=8)
axes[1].add_patch(plt.Rectangle((q - 0.5, -0.5), 1, 9, fill=False, ec="tab:red", lw=3))
axes[1].set_xlabel("column q = (h', w')"); axes[1].set_ylabel("row r = (i, j)")
axes[1].set_title(f"im2col(x)[0]: shape {cols.shape}, column {q} is that patch")
for ax in axes:
    ax.set_xticks([]); ax.set_yticks([])
plt.tight_layout(); plt.show()

np.testing.assert_array_equal(cols[:, q], image[0, 0, 1:4, 2:5].ravel())
"""),
    md(r"""
### Exercise 2 — im2col by hand, with fancy indexing

Build index arrays of shape $(C k_h k_w,\ H_o W_o)$ — one for the channel, one for the
padded row $h's + i$, one for the padded column $w's + j$ — and gather everything in one
fancy-indexing expression `xp[:, chan, rows, cols]`. No Python loop over pixels.

Hints: `np.meshgrid(..., indexing="ij")` or broadcasting with `[:, None]` / `[None, :]`;
row $r$ enumerates $(c, i, j)$ with $j$ fastest, column $q$ enumerates $(h', w')$ with $w'$
fastest. We keep the index builder separate: Exercise 3 reuses it.
"""),
    code(r"""
# solution — try it yourself first
def im2col_indices(c, h, w, kh, kw, stride=1, padding=0):
    # (chan, rows, cols) index arrays of shape (C·kh·kw, Ho·Wo) into the padded image
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    ch, i, j = np.meshgrid(np.arange(c), np.arange(kh), np.arange(kw), indexing="ij")  # each (C, kh, kw)
    oh, ow = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")                   # each (Ho, Wo)
    chan = ch.reshape(-1, 1)                                    # (C·kh·kw, 1): the same along q
    rows = i.reshape(-1, 1) + stride * oh.reshape(1, -1)       # h'·s + i
    cols = j.reshape(-1, 1) + stride * ow.reshape(1, -1)       # w'·s + j
    return chan, rows, cols


def im2col_by_hand(x, kh, kw, stride=1, padding=0):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    chan, rows, cols = im2col_indices(c, h, w, kh, kw, stride, padding)
    return xp[:, chan, rows, cols]                              # (N, C·kh·kw, Ho·Wo)
"""),
    md(r"""
**Check.** tinyquant builds its columns a different way (a strided *view* with
`sliding_window_view`, then one reshape); both are copies of the same numbers, so they must
be **exactly** equal.
"""),
    code(r"""
rng = np.random.default_rng(1)
for x_shape, (kh, kw), stride, padding in [((2, 3, 7, 6), (3, 3), 1, 0), ((1, 2, 8, 9), (3, 2), 2, 1),
                                          ((3, 1, 5, 5), (1, 1), 1, 0), ((1, 4, 11, 10), (5, 5), 3, 2)]:
    x = rng.standard_normal(x_shape)
    ours = im2col_by_hand(x, kh, kw, stride, padding)
    ref = im2col(x, kh, kw, (stride, stride), (padding, padding))
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    np.testing.assert_array_equal(ours, ref)
    print(f"x {x_shape}, kernel {kh}x{kw}, stride {stride}, padding {padding}: cols {ours.shape} identical")
"""),
    md(r"""
## 3. The GEMM view

With the columns in hand, every filter meets every patch in one matrix product. Reshape the
weight to $W_m$ of shape $(O,\ C k_h k_w)$:

$$y[n] = W_m\, \text{cols}[n] + b \quad\in \mathbb R^{O \times H_o W_o}, $$

and since the columns are ordered $(h', w')$, reshaping $y$ to $(N, O, H_o, W_o)$ is already
NCHW. `@` broadcasts over the batch axis, so this is one line.

The price is memory: each input value is copied into up to $k_h k_w$ columns.
"""),
    code(r"""
rng = np.random.default_rng(2)
x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
w = rng.standard_normal((16, 3, 3, 3)).astype(np.float32)
b = rng.standard_normal(16).astype(np.float32)

cols = im2col_by_hand(x, 3, 3, stride=1, padding=1)   # (N, C·kh·kw, Ho·Wo)
w_matrix = w.reshape(16, -1)                           # (O, C·kh·kw)
y = (w_matrix @ cols + b[:, None]).reshape(2, 16, 32, 32)

print("x", x.shape, "-> cols", cols.shape, "; W as a matrix", w_matrix.shape, "; y", y.shape)
print(f"memory: x {x.nbytes / 1024:.0f} KiB, cols {cols.nbytes / 1024:.0f} KiB ({cols.nbytes / x.nbytes:.1f}x)")
print(f"multiply-adds: {w_matrix.shape[0] * cols.shape[1] * cols.shape[2] * cols.shape[0]:,}")
ref = F.conv2d(tq.Tensor(x), tq.Tensor(w), tq.Tensor(b), padding=1)
np.testing.assert_allclose(y, ref.data, rtol=1e-5, atol=1e-5)
"""),
    md(r"""
### How much faster?

Same input for both: the loop version does one tiny dot product per Python iteration; the
GEMM version does all the arithmetic inside BLAS. (Timings vary from machine to machine;
we print them and assert nothing about them.)
"""),
    code(r"""
rng = np.random.default_rng(3)
x = rng.standard_normal((4, 3, 16, 16)).astype(np.float32)
w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)


def best_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


t_naive, y_naive = best_time(lambda: conv2d_naive(x, w, padding=1), repeats=1)
t_gemm, y_gemm = best_time(lambda: (w.reshape(8, -1) @ im2col_by_hand(x, 3, 3, padding=1)).reshape(4, 8, 16, 16), 20)
t_tq, y_tq = best_time(lambda: F.conv2d(tq.Tensor(x), tq.Tensor(w), padding=1).data, 20)
np.testing.assert_allclose(y_naive, y_gemm, rtol=1e-5, atol=1e-5)
np.testing.assert_allclose(y_tq, y_gemm, rtol=1e-5, atol=1e-5)

print(f"{'six loops':<22}{t_naive * 1e3:9.2f} ms")
print(f"{'im2col by hand + GEMM':<22}{t_gemm * 1e3:9.2f} ms   ({t_naive / t_gemm:,.0f}x faster)")
print(f"{'tinyquant conv2d':<22}{t_tq * 1e3:9.2f} ms   ({t_naive / t_tq:,.0f}x faster)")
"""),
    md(r"""
## 4. col2im is the adjoint of im2col

im2col is a **linear** map $A: x \mapsto \text{cols}$ (it only copies entries). Its adjoint
(transpose) $A^\top$ is defined by

$$\langle A x,\ Y\rangle = \langle x,\ A^\top Y\rangle \qquad \text{for all } x, Y .$$

Since $A$ copies pixel $x[n, c, h, w]$ into every column entry that reads it, $A^\top$ must
**add** all those column entries back into that pixel. That is col2im. It is *not* the
inverse of im2col: a pixel copied into 9 columns gets 9 contributions back.

Why we care: if $\text{cols} = A x$ and the loss has gradient $\bar{\text{cols}}$, the chain
rule gives $\bar x = A^\top \bar{\text{cols}} = \text{col2im}(\bar{\text{cols}})$. The backward of
im2col is col2im, and with $\bar{\text{cols}}[n] = W_m^\top\, \bar y[n]$ that is the input
gradient of the convolution.
"""),
    code(r"""
rng = np.random.default_rng(4)
x_shape, (kh, kw), stride, padding = (2, 3, 7, 8), (3, 3), (2, 2), (1, 1)
x = rng.standard_normal(x_shape)
y = rng.standard_normal(im2col(x, kh, kw, stride, padding).shape)

lhs = np.sum(im2col(x, kh, kw, stride, padding) * y)   # ⟨im2col(x), y⟩
rhs = np.sum(x * col2im(y, x_shape, kh, kw, stride, padding))  # ⟨x, col2im(y)⟩
print(f"<im2col(x), y> = {lhs:.12f}\n<x, col2im(y)> = {rhs:.12f}")
np.testing.assert_allclose(lhs, rhs, rtol=1e-12)
"""),
    md(r"""
Feeding col2im a matrix of ones counts, for each pixel, **how many columns copied it** —
how many windows cover it. With stride 1 and padding 1 the corners are covered 4 times and
the interior 9 times; with stride 2 the coverage is a checkerboard (some pixels are read by
one window, others by four), which is also how unevenly gradient flows back to them.
"""),
    code(r"""
fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
for ax, s in zip(axes, (1, 2)):
    shape = (1, 1, 7, 7)
    ones = np.ones(im2col(np.zeros(shape), 3, 3, (s, s), (1, 1)).shape)
    coverage = col2im(ones, shape, 3, 3, (s, s), (1, 1))[0, 0]
    im = ax.imshow(coverage, cmap="viridis", vmin=0, vmax=9)
    for (r, c_), v in np.ndenumerate(coverage):
        ax.text(c_, r, f"{v:.0f}", ha="center", va="center", color="k" if v > 6 else "w")
    ax.set_title(f"col2im(ones)\n3x3 kernel, stride {s}, padding 1")
    ax.set_xticks([]); ax.set_yticks([])
fig.colorbar(im, ax=axes, shrink=0.8, label="windows covering the pixel")
plt.show()
"""),
    md(r"""
### Exercise 3 — col2im by hand

Write `col2im_by_hand(cols, x_shape, kh, kw, stride, padding)` with the index arrays of
Exercise 2 and `np.add.at` (a plain `xp[:, chan, rows, cols] += ...` would **not** add
repeated indices — only one of the duplicates would land). Add into a zero padded buffer,
then crop the padding.
"""),
    code(r"""
# solution — try it yourself first
def col2im_by_hand(cols, x_shape, kh, kw, stride=1, padding=0):
    n, c, h, w = x_shape
    chan, rows, cols_idx = im2col_indices(c, h, w, kh, kw, stride, padding)
    xp = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    np.add.at(xp, (slice(None), chan, rows, cols_idx), cols)  # repeated indices accumulate
    return xp[:, :, padding : padding + h, padding : padding + w]
"""),
    md(r"""
**Check**: against tinyquant's `col2im` (a different algorithm: one shifted-slice addition
per kernel offset), and the adjoint identity with your own im2col.
"""),
    code(r"""
rng = np.random.default_rng(5)
for x_shape, (kh, kw), stride, padding in [((2, 3, 7, 6), (3, 3), 1, 0), ((1, 2, 8, 9), (3, 2), 2, 1),
                                          ((2, 2, 9, 9), (3, 3), 1, 1), ((1, 4, 11, 10), (5, 5), 3, 2)]:
    x = rng.standard_normal(x_shape)
    y = rng.standard_normal(im2col_by_hand(x, kh, kw, stride, padding).shape)
    ours = col2im_by_hand(y, x_shape, kh, kw, stride, padding)
    ref = col2im(y, x_shape, kh, kw, (stride, stride), (padding, padding))
    assert ours.shape == x_shape, ours.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.sum(im2col_by_hand(x, kh, kw, stride, padding) * y), np.sum(x * ours), rtol=1e-12)
print("col2im_by_hand matches tinyquant's col2im and is the adjoint of im2col_by_hand.")
"""),
    md(r"""
## 5. Gradients of the convolution

With $\text{cols}[n] = A x[n]$, $y[n] = W_m\,\text{cols}[n] + b$ and $\bar y = \partial L/\partial y$
(reshaped to $(N, O, H_o W_o)$):

$$\bar W_m = \sum_n \bar y[n]\ \text{cols}[n]^\top, \qquad
  \bar b = \sum_{n, h', w'} \bar y[n, :, h', w'], \qquad
  \bar x[n] = \text{col2im}\big(W_m^\top\, \bar y[n]\big).$$

First, `gradcheck` on tinyquant's conv2d (float64 central differences, every entry of small
inputs) for several strides and paddings and a non-square kernel:
"""),
    code(r"""
rng = np.random.default_rng(6)
x = rng.standard_normal((2, 3, 6, 5))
w = rng.standard_normal((4, 3, 3, 2))
b = rng.standard_normal(4)
for stride, padding in [(1, 0), (1, 1), (2, 1), ((2, 1), (0, 1))]:
    assert tq.gradcheck(lambda x_, w_, b_: F.conv2d(x_, w_, b_, stride=stride, padding=padding), x, w, b)
    print(f"conv2d stride {stride}, padding {padding}: gradcheck passed for x, W and b")
"""),
    md(r"""
Then the three formulas above, computed with *your* im2col and col2im, against the
gradients tinyquant backpropagates for a random $\bar y$:
"""),
    code(r"""
stride, padding = 2, 1
tx, tw, tb = (tq.Tensor(a.copy(), requires_grad=True) for a in (x, w, b))
ty = F.conv2d(tx, tw, tb, stride=stride, padding=padding)
y_bar = rng.standard_normal(ty.shape)
ty.backward(y_bar)

n, o = y_bar.shape[:2]
cols = im2col_by_hand(x, 3, 2, stride, padding)           # (N, C·kh·kw, Ho·Wo)
g = y_bar.reshape(n, o, -1)                               # (N, O, Ho·Wo)
w_bar = (g @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
b_bar = y_bar.sum(axis=(0, 2, 3))
x_bar = col2im_by_hand(w.reshape(o, -1).T @ g, x.shape, 3, 2, stride, padding)

np.testing.assert_allclose(w_bar, tw.grad, rtol=1e-10, atol=1e-12)
np.testing.assert_allclose(b_bar, tb.grad, rtol=1e-10, atol=1e-12)
np.testing.assert_allclose(x_bar, tx.grad, rtol=1e-10, atol=1e-12)
print("dW = Σ dy·colsᵀ, db = Σ dy and dx = col2im(Wᵀ·dy) reproduce tinyquant's gradients.")
"""),
    md(r"""
## Summary

* A convolution is a GEMM between the filters, $(O, C k_h k_w)$, and the image's patches laid
  out as columns, $(C k_h k_w, H_o W_o)$ — at the cost of $\approx k_h k_w\times$ the input's memory.
* im2col is linear; its adjoint col2im *adds* the columns back, and is exactly the input
  gradient of im2col. A check $\langle Ax, Y\rangle = \langle x, A^\top Y\rangle$ catches a wrong
  adjoint in one line.
* For a binary network the GEMM's operands become $\pm1$: the patch matrix of binarized
  activations times the binarized filters. Nothing else in this notebook changes.

**Next:** 03 — batch normalization, the layer that makes binary networks trainable.
"""),
]


# =====================================================================================
# 03 — batch normalization
# =====================================================================================

BATCH_NORM = [
    md(r"""
# 03 · Batch normalization

Batch normalization (Ioffe & Szegedy, 2015) standardizes each channel of a layer's output
over the batch, then rescales it with learned $\gamma, \beta$. Binary and ternary networks
lean on it heavily: $\operatorname{sign}$ only sees which side of zero a pre-activation falls
on, and BN is what puts zero in a useful place and keeps the scale of every layer under
control.

**Learning goals.** After this notebook you can

1. compute the batch-norm forward pass by hand for NCHW inputs;
2. derive its backward pass, and explain why the gradient is orthogonal to $\mathbf 1$ and to $\hat x$;
3. state tinyquant's (PyTorch's) running-statistics convention precisely and reproduce it;
4. explain the difference between training and evaluation mode;
5. fold an evaluation-mode BN into the preceding convolution — what an inference engine
   (and a quantized deployment) does;
6. see what BN does to activation distributions in a deep random network.

Exercises are marked **Exercise**; each ships a reference solution marked
`# solution — try it yourself first`, followed by a check cell that compares your code with
tinyquant or with a formula.
"""),
    code(r"""
import matplotlib.pyplot as plt
import numpy as np

import tinyquant as tq
import tinyquant.nn as nn
import tinyquant.nn.functional as F
"""),
    md(r"""
## 1. Forward

For an input $x$ of shape $(N, C, H, W)$, each channel $c$ is normalized over its
$m = N H W$ values (for an $(N, C)$ input, $m = N$):

$$\mu_c = \frac1m \sum x, \qquad
  \sigma^2_c = \frac1m \sum (x - \mu_c)^2 \quad(\text{biased: divide by } m),$$

$$\hat x = \frac{x - \mu_c}{\sqrt{\sigma_c^2 + \varepsilon}}, \qquad
  y = \gamma_c\, \hat x + \beta_c, \qquad \varepsilon = 10^{-5}.$$

Right after normalization every channel has mean 0 and variance $\approx 1$; $\gamma$ and
$\beta$ let the network undo that if it wants to (with $\gamma = \sigma$, $\beta = \mu$, BN is
the identity).
"""),
    code(r"""
def batch_norm_forward(x, gamma, beta, eps=1e-5):
    axes = (0, 2, 3)                                          # every axis but the channel axis
    mean = x.mean(axis=axes, keepdims=True)                   # (1, C, 1, 1)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)   # biased: divide by m
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    y = gamma.reshape(1, -1, 1, 1) * x_hat + beta.reshape(1, -1, 1, 1)
    return y, (x_hat, inv_std)


rng = np.random.default_rng(0)
channel_means, channel_stds = np.array([3.0, -1.0, 0.5]), np.array([2.0, 0.5, 1.0])
x = rng.standard_normal((8, 3, 4, 4)) * channel_stds[:, None, None] + channel_means[:, None, None]
gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 3.0])

y, (x_hat, inv_std) = batch_norm_forward(x, gamma, beta)
print("x̂ per-channel mean:", x_hat.mean(axis=(0, 2, 3)).round(12) + 0.0)  # + 0.0 turns −0 into 0
print("x̂ per-channel var :", x_hat.var(axis=(0, 2, 3)).round(6), "(σ²/(σ² + ε), just under 1)")
print("y per-channel mean:", y.mean(axis=(0, 2, 3)).round(12) + 0.0, "(= β)")

ref = F.batch_norm(tq.Tensor(x), None, None, tq.Tensor(gamma), tq.Tensor(beta), training=True)
np.testing.assert_allclose(y, ref.data, rtol=1e-12, atol=1e-12)
"""),
    md(r"""
## 2. Backward, derived

Work on one channel with values $x_1, \dots, x_m$, upstream gradient $g_k = \partial L/\partial y_k$,
and $s = (\sigma^2 + \varepsilon)^{-1/2}$. The parameters are easy:

$$\frac{\partial L}{\partial \beta} = \sum_k g_k, \qquad
  \frac{\partial L}{\partial \gamma} = \sum_k g_k\, \hat x_k, \qquad
  \frac{\partial L}{\partial \hat x_k} = \gamma\, g_k .$$

The input is harder because **every** $\hat x_k$ depends on **every** $x_j$, through $\mu$
and $\sigma^2$. With $\partial\mu/\partial x_j = 1/m$ and
$\partial\sigma^2/\partial x_j = \frac2m (x_j - \mu)$ (the term through $\mu$ vanishes because
$\sum_k (x_k - \mu) = 0$), and $\partial s/\partial\sigma^2 = -\tfrac12 s^3$:

$$\frac{\partial \hat x_k}{\partial x_j}
 = s\Big(\delta_{kj} - \frac1m\Big) - (x_k - \mu)\, \frac{s^3}{2}\, \frac{2}{m}(x_j - \mu)
 = \frac{s}{m}\big(m\,\delta_{kj} - 1 - \hat x_k\, \hat x_j\big).$$

Summing over $k$ against $\partial L/\partial\hat x_k = \gamma g_k$:

$$\boxed{\;\frac{\partial L}{\partial x_j}
 = \frac{\gamma\, s}{m}\Big(m\, g_j - \sum_k g_k - \hat x_j \sum_k g_k\, \hat x_k\Big)\;}$$

**Reading the formula.** It is $\gamma s$ times $g$ with its mean removed and its component
along $\hat x$ removed — an orthogonal projection. So per channel
$\sum_j \partial L/\partial x_j = 0$ and $\sum_j \hat x_j\, \partial L/\partial x_j = 0$:
BN's output does not change if you shift or scale its input, so the gradient has no
component in those two directions. (The second holds exactly only for $\varepsilon = 0$:
with $\varepsilon > 0$, $\sum_k \hat x_k^2 = m\,\sigma^2/(\sigma^2 + \varepsilon)$ is slightly
less than $m$, and BN is only *almost* scale-invariant.)

### Exercise 1 — the backward by hand

Write `batch_norm_backward(grad, x_hat, inv_std, gamma)` returning
`(dx, dgamma, dbeta)` for NCHW inputs, vectorized over channels (`inv_std` has shape
$(1, C, 1, 1)$, as `batch_norm_forward` returns it).
"""),
    code(r"""
# solution — try it yourself first
def batch_norm_backward(grad, x_hat, inv_std, gamma):
    axes = (0, 2, 3)
    m = grad.size // grad.shape[1]                            # values per channel
    sum_g = grad.sum(axis=axes, keepdims=True)
    sum_g_xhat = (grad * x_hat).sum(axis=axes, keepdims=True)
    dx = gamma.reshape(1, -1, 1, 1) * inv_std / m * (m * grad - sum_g - x_hat * sum_g_xhat)
    return dx, sum_g_xhat.ravel(), sum_g.ravel()
"""),
    md(r"""
**Check**, four ways: (a) against tinyquant's fused `batch_norm` backward; (b) against
autograd through the forward written with *primitive* tinyquant ops (mean, subtract,
square root, …), which knows nothing of the closed form; (c) `gradcheck` — float64 central
differences — of a `Function` made of your forward and your backward; (d) the two
orthogonality properties derived above.
"""),
    code(r"""
rng = np.random.default_rng(1)
x = rng.standard_normal((4, 3, 5, 5)) * 2 + 1
gamma, beta = rng.uniform(0.5, 2, 3), rng.standard_normal(3)
g = rng.standard_normal(x.shape)

y, (x_hat, inv_std) = batch_norm_forward(x, gamma, beta)
dx, dgamma, dbeta = batch_norm_backward(g, x_hat, inv_std, gamma)

# (a) tinyquant's batch_norm
tx, tgamma, tbeta = (tq.Tensor(a.copy(), requires_grad=True) for a in (x, gamma, beta))
F.batch_norm(tx, None, None, tgamma, tbeta, training=True).backward(g)
for ours, ref in [(dx, tx.grad), (dgamma, tgamma.grad), (dbeta, tbeta.grad)]:
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


# (b) autograd through primitive ops
def batch_norm_from_primitives(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=(0, 2, 3), keepdims=True)
    return gamma.reshape(1, -1, 1, 1) * (centered / (var + eps).sqrt()) + beta.reshape(1, -1, 1, 1)


px, pgamma, pbeta = (tq.Tensor(a.copy(), requires_grad=True) for a in (x, gamma, beta))
batch_norm_from_primitives(px, pgamma, pbeta).backward(g)
for ours, ref in [(dx, px.grad), (dgamma, pgamma.grad), (dbeta, pbeta.grad)]:
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


# (c) gradcheck of your forward + backward as a Function
class BatchNormByHand(tq.Function):
    @staticmethod
    def forward(ctx, x, gamma, beta):
        y, (x_hat, inv_std) = batch_norm_forward(x, gamma, beta)
        ctx.save_for_backward(x_hat, inv_std, gamma)
        return y

    @staticmethod
    def backward(ctx, grad):
        return batch_norm_backward(grad, *ctx.saved)


x_small = rng.standard_normal((3, 2, 3, 3)) + 0.5
assert tq.gradcheck(lambda x_, g_, b_: BatchNormByHand.apply(x_, g_, b_), x_small, gamma[:2], beta[:2])

# (d) the gradient is orthogonal to 1, and — exactly when ε = 0 — to x̂, per channel
np.testing.assert_allclose(dx.sum(axis=(0, 2, 3)), 0, atol=1e-10)
_, (x_hat0, inv_std0) = batch_norm_forward(x, gamma, beta, eps=0.0)
dx0, _, _ = batch_norm_backward(g, x_hat0, inv_std0, gamma)
np.testing.assert_allclose((dx0 * x_hat0).sum(axis=(0, 2, 3)), 0, atol=1e-10)
print("batch_norm_backward matches tinyquant, primitive autograd and gradcheck; Σdx = 0, Σdx·x̂ = 0 at ε = 0.")
"""),
    md(r"""
The classic mistake is to treat $\mu$ and $\sigma$ as constants, giving
$\partial L/\partial x = \gamma s\, g$. It is what evaluation mode does (section 4) — but in
training mode it is wrong, and the check catches it:
"""),
    code(r"""
class BatchNormFrozenStats(BatchNormByHand):
    @staticmethod
    def backward(ctx, grad):
        x_hat, inv_std, gamma = ctx.saved
        _, dgamma, dbeta = batch_norm_backward(grad, x_hat, inv_std, gamma)
        return gamma.reshape(1, -1, 1, 1) * inv_std * grad, dgamma, dbeta  # ignores ∂μ/∂x, ∂σ/∂x


try:
    tq.gradcheck(lambda x_, g_, b_: BatchNormFrozenStats.apply(x_, g_, b_), x_small, gamma[:2], beta[:2])
except tq.GradcheckError as err:
    print("caught:", err)
else:
    raise AssertionError("gradcheck should reject a backward that ignores the batch statistics")
"""),
    md(r"""
## 3. Running statistics

At test time there may be one image, or the batch may be unrepresentative, so BN keeps
**running estimates** of each channel's mean and variance, updated at every training step.
Conventions differ between libraries; tinyquant follows PyTorch, and every word matters:

$$\text{running\_mean} \leftarrow (1 - m)\,\text{running\_mean} + m\,\mu_B, \qquad
  \text{running\_var} \leftarrow (1 - m)\,\text{running\_var} + m\,\frac{n}{n-1}\,\sigma^2_B,$$

with **momentum $m = 0.1$** weighting the *new* batch (Keras's `momentum=0.99` weights the
*old* value — the same idea, the opposite convention), **$n$ values per channel**, and the
**unbiased** batch variance in the running estimate (while the *biased* $\sigma_B^2$ normalizes
the batch itself). The estimates start at mean 0 and variance 1.

### Exercise 2 — the running update

Write `update_running_stats(running_mean, running_var, x, momentum=0.1)` for an NCHW
batch, returning the new `(running_mean, running_var)`.
"""),
    code(r"""
# solution — try it yourself first
def update_running_stats(running_mean, running_var, x, momentum=0.1):
    axes = (0, 2, 3)
    batch_mean = x.mean(axis=axes)
    batch_var_unbiased = x.var(axis=axes, ddof=1)  # divide by n − 1
    new_mean = (1 - momentum) * running_mean + momentum * batch_mean
    new_var = (1 - momentum) * running_var + momentum * batch_var_unbiased
    return new_mean, new_var
"""),
    md(r"""
**Check**: follow a `tinyquant.nn.BatchNorm2d` through six training steps on batches of
different means and spreads. Then a closed form: fed the *same* batch $k$ times from the
initial state, the estimates are

$$\text{running\_mean}_k = (1 - 0.9^k)\,\mu_B, \qquad
  \text{running\_var}_k = 0.9^k \cdot 1 + (1 - 0.9^k)\, s^2_B \quad (s^2_B \text{ unbiased}).$$
"""),
    code(r"""
rng = np.random.default_rng(2)
bn = nn.BatchNorm2d(3)  # a new module is in training mode
running_mean, running_var = np.zeros(3), np.ones(3)
with tq.no_grad():
    for step in range(6):
        batch = (rng.standard_normal((4, 3, 5, 5)) * (step + 1) + step - 2).astype(np.float32)
        bn(tq.Tensor(batch))
        running_mean, running_var = update_running_stats(running_mean, running_var, batch.astype(np.float64))
        np.testing.assert_allclose(running_mean, bn.running_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(running_var, bn.running_var, rtol=1e-5, atol=1e-6)

k, batch = 7, rng.standard_normal((2, 3, 4, 4)) * 3 + 1
mu_b, s2_b = batch.mean(axis=(0, 2, 3)), batch.var(axis=(0, 2, 3), ddof=1)
running_mean, running_var = np.zeros(3), np.ones(3)
for _ in range(k):
    running_mean, running_var = update_running_stats(running_mean, running_var, batch)
np.testing.assert_allclose(running_mean, (1 - 0.9**k) * mu_b, rtol=1e-12)
np.testing.assert_allclose(running_var, 0.9**k + (1 - 0.9**k) * s2_b, rtol=1e-12)
print("update_running_stats follows BatchNorm2d step by step and matches the closed form.")
"""),
    md(r"""
Why the unbiased variance? With small batches the biased $\sigma_B^2$ underestimates the true
variance by a factor $(n-1)/n$. Below, a `BatchNorm1d` sees 2,000 batches of only $n = 4$
values from $\mathcal N(3, 2^2)$: the running variance fluctuates (an exponential average over
about $1/m = 10$ batches) around the true $4$, not around the biased expectation $3$.
"""),
    code(r"""
rng = np.random.default_rng(3)
bn1 = nn.BatchNorm1d(1)
history = []
with tq.no_grad():
    for _ in range(2000):
        bn1(tq.Tensor((rng.standard_normal((4, 1)) * 2 + 3).astype(np.float32)))
        history.append((bn1.running_mean[0], bn1.running_var[0]))
history = np.array(history)
long_run_var = history[100:, 1].mean()

fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
axes[0].plot(history[:300, 0]); axes[0].axhline(3, ls="--", c="k", label="true mean 3")
axes[0].set_title("running_mean (batches of 4)")
axes[1].plot(history[:300, 1]); axes[1].axhline(4, ls="--", c="k", label="true variance 4")
axes[1].axhline(3, ls=":", c="tab:red", label="biased expectation 4·3/4 = 3")
axes[1].set_title(f"running_var; mean over steps 100–2000: {long_run_var:.2f}")
for ax in axes:
    ax.set_xlabel("training step"); ax.legend(fontsize=8); ax.grid(alpha=0.3)
plt.tight_layout(); plt.show()

assert abs(long_run_var - 4) < 0.25, long_run_var  # ≈ 13 standard errors away from 3
"""),
    md(r"""
## 4. Training mode vs evaluation mode

* **Training** (`module.train()`, the default): normalize with the *batch's* $\mu_B, \sigma_B^2$,
  update the running estimates, and backpropagate through the statistics (section 2). A
  sample's output depends on the **other samples in its batch**.
* **Evaluation** (`module.eval()`): normalize with the running estimates, update nothing.
  BN becomes a fixed per-channel affine map
  $y = \gamma\,(x - \hat\mu)/\sqrt{\hat\sigma^2 + \varepsilon} + \beta$, each sample on its own,
  with gradient $\gamma/\sqrt{\hat\sigma^2 + \varepsilon}$.

A pitfall that follows: in training mode a batch of **one** $(1, C)$ vector has
$x - \mu_B = 0$, so every output is $\beta$, whatever the input. Evaluate single samples in
evaluation mode.
"""),
    code(r"""
rng = np.random.default_rng(4)
bn = nn.BatchNorm2d(3)
with tq.no_grad():
    for _ in range(50):  # let the running estimates settle
        bn(tq.Tensor((rng.standard_normal((8, 3, 4, 4)) * 2 + 1).astype(np.float32)))
saved = bn.running_mean.copy(), bn.running_var.copy()

batch = (rng.standard_normal((8, 3, 4, 4)) * 2 + 1).astype(np.float32)
other = batch.copy()
other[1:] = rng.standard_normal((7, 3, 4, 4)) * 5  # same sample 0, different companions

with tq.no_grad():
    bn.train()
    train_a, train_b = bn(tq.Tensor(batch)).data[0], bn(tq.Tensor(other)).data[0]
    bn.running_mean[:], bn.running_var[:] = saved  # undo the two updates those calls made
    bn.eval()
    eval_a, eval_b = bn(tq.Tensor(batch)).data[0], bn(tq.Tensor(other)).data[0]

print(f"train mode: sample 0 moved by up to {np.abs(train_a - train_b).max():.3f} when its companions changed")
print(f"eval mode : sample 0 moved by up to {np.abs(eval_a - eval_b).max():.3f}")
assert np.abs(train_a - train_b).max() > 0.1
np.testing.assert_array_equal(eval_a, eval_b)
np.testing.assert_array_equal(bn.running_mean, saved[0])  # evaluation updates nothing

expected = (batch - saved[0][:, None, None]) / np.sqrt(saved[1][:, None, None] + bn.eps)  # γ = 1, β = 0
np.testing.assert_allclose(bn(tq.Tensor(batch)).data, expected, rtol=1e-5, atol=1e-6)

# the evaluation-mode gradient is a per-channel constant, and gradcheck agrees
rm, rv = saved[0].astype(np.float64), saved[1].astype(np.float64)
assert tq.gradcheck(lambda x_, g_, b_: F.batch_norm(x_, rm, rv, g_, b_, training=False),
                    batch[:2].astype(np.float64), np.array([1.0, 2.0, 0.5]), np.zeros(3))
print("eval mode uses the running estimates; its gradient passes gradcheck.")

single = nn.BatchNorm1d(3)
single.bias.data[:] = [0.5, -1.0, 2.0]
with tq.no_grad():
    out = single(tq.Tensor(rng.standard_normal((1, 3)).astype(np.float32))).data
np.testing.assert_allclose(out, [[0.5, -1.0, 2.0]])
print("training mode, batch of one: the output is β =", out[0])
"""),
    md(r"""
### Exercise 3 — folding BN into the convolution

In evaluation mode BN is affine per output channel, so a convolution followed by BN is
**one** convolution with new weights:

$$\text{BN}(W * x + b) = W' * x + b', \qquad
  W'_{o} = W_{o}\,\frac{\gamma_o}{\sqrt{\hat\sigma_o^2 + \varepsilon}}, \qquad
  b'_o = (b_o - \hat\mu_o)\,\frac{\gamma_o}{\sqrt{\hat\sigma_o^2 + \varepsilon}} + \beta_o .$$

Inference engines do this, and it matters for quantization: a deployed low-bit network
quantizes $W'$, whose per-channel ranges BN has rescaled — which is one reason quantized
networks use per-channel scales.

Write `fold_batch_norm(weight, bias, running_mean, running_var, gamma, beta, eps)`
returning `(new_weight, new_bias)`.
"""),
    code(r"""
# solution — try it yourself first
def fold_batch_norm(weight, bias, running_mean, running_var, gamma, beta, eps=1e-5):
    scale = gamma / np.sqrt(running_var + eps)            # (O,): one factor per output channel
    return weight * scale[:, None, None, None], (bias - running_mean) * scale + beta
"""),
    md(r"""
**Check**: a tinyquant `Conv2d` followed by a `BatchNorm2d` (trained statistics, non-trivial
$\gamma, \beta$) in evaluation mode, against one `conv2d` with your folded parameters.
"""),
    code(r"""
rng = np.random.default_rng(5)
conv, bn = nn.Conv2d(3, 8, 3, padding=1, rng=0), nn.BatchNorm2d(8)
bn.weight.data[:] = rng.uniform(0.5, 2.0, 8)
bn.bias.data[:] = rng.standard_normal(8)
with tq.no_grad():
    for _ in range(30):
        bn(conv(tq.Tensor((rng.standard_normal((8, 3, 6, 6)) + 0.5).astype(np.float32))))
bn.eval()

x = tq.Tensor(rng.standard_normal((4, 3, 6, 6)).astype(np.float32))
with tq.no_grad():
    reference = bn(conv(x)).data
    w_folded, b_folded = fold_batch_norm(conv.weight.data, conv.bias.data, bn.running_mean, bn.running_var,
                                         bn.weight.data, bn.bias.data, bn.eps)
    folded = F.conv2d(x, tq.Tensor(w_folded), tq.Tensor(b_folded), padding=1).data

assert w_folded.shape == conv.weight.shape and b_folded.shape == conv.bias.shape
np.testing.assert_allclose(folded, reference, rtol=1e-5, atol=1e-5)
print(f"folded conv matches conv → BN (eval); max difference {np.abs(folded - reference).max():.1e}")
"""),
    md(r"""
## 5. What BN does to activations in a deep network

Ten random `Linear(64, 64, bias=False)` layers with tanh (a bias right before BN is
cancelled by its mean subtraction, so such layers usually drop it), default initialization
($W \sim U(\pm 1/\sqrt{64})$), a batch of 512 standard-normal inputs, no training. Each layer
multiplies the variance of the pre-activations by about $64 \cdot \tfrac{1}{3 \cdot 64} \cdot
\mathbb E[\tanh^2] < \tfrac13$, so without BN the signal **shrinks geometrically**; with the
weights 4× larger it instead **saturates** tanh (which would push every $\operatorname{sign}$
gradient outside the STE's window $|x| \le 1$). With BN after each linear layer (training
mode, batch statistics), every layer's pre-activations stay at mean 0, variance 1 — and
because BN is invariant to the scale of its input, the 4× weights give *the same* network.
"""),
    code(r"""
depth, width = 10, 64
rng = np.random.default_rng(6)
inputs = rng.standard_normal((512, width)).astype(np.float32)
layers = [nn.Linear(width, width, bias=False, rng=seed) for seed in range(depth)]  # BN's β plays the bias


def pre_activations(weight_scale, use_bn, eps=1e-5):
    h, found = tq.Tensor(inputs), []
    with tq.no_grad():
        for layer in layers:
            z = F.linear(h, tq.Tensor(weight_scale * layer.weight.data))
            if use_bn:
                z = F.batch_norm(z, None, None, training=True, eps=eps)  # γ = 1, β = 0, batch statistics
            found.append(z.data)
            h = z.tanh()
    return found


runs = {"no BN": pre_activations(1, False), "no BN, weights x4": pre_activations(4, False),
        "BN": pre_activations(1, True), "BN, weights x4": pre_activations(4, True)}

fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
bins = np.linspace(-4, 4, 81)
for ax, name in zip(axes[:2], ("no BN", "BN")):
    for layer in (0, 3, 6, 9):
        z = runs[name][layer]
        ax.hist(z.ravel(), bins=bins, density=True, histtype="step", lw=1.5,
                label=f"layer {layer + 1} (std {z.std():.3f})")
    ax.set_ylim(0, 1.2); ax.set_xlabel("pre-activation"); ax.legend(fontsize=8)
    ax.set_title(f"{name}: pre-activation histograms")
for name, found in runs.items():
    axes[2].semilogy(range(1, depth + 1), [z.std() for z in found], marker="o",
                     ls="--" if "x4" in name else "-", label=name)
axes[2].set_xlabel("layer"); axes[2].set_ylabel("std of pre-activations")
axes[2].set_title("scale through depth"); axes[2].legend(fontsize=8); axes[2].grid(alpha=0.3, which="both")
plt.tight_layout(); plt.show()

for name, found in runs.items():
    print(f"{name:<18} layer-10 std {found[-1].std():6.3f};  outside the STE window |z| ≤ 1: "
          f"{np.mean(np.abs(found[-1]) > 1):5.1%}")
assert runs["no BN"][-1].std() < 0.01                      # vanished
for z in runs["BN"]:
    np.testing.assert_allclose(z.std(axis=0), 1, rtol=1e-3)  # every feature standardized
# scale invariance BN(4z) = BN(z): exact for ε = 0 (up to float32 rounding), nearly so for ε = 1e-5
for z, z4 in zip(pre_activations(1, True, eps=0.0), pre_activations(4, True, eps=0.0)):
    np.testing.assert_allclose(z, z4, rtol=1e-4, atol=1e-5)
gap = max(np.abs(z - z4).max() for z, z4 in zip(runs["BN"], runs["BN, weights x4"]))
print(f"BN with weights x1 vs x4: identical at ε = 0; max difference {gap:.1e} at ε = 1e-5")
"""),
    md(r"""
(Off the chart on the left: the deep layers without BN are spikes at 0 — see their std.)

## Summary

* Training-mode BN normalizes with batch statistics; its backward is $\gamma s$ times the
  upstream gradient projected away from $\mathbf 1$ and $\hat x$ — forgetting the statistics'
  dependence on $x$ is a bug gradcheck catches.
* Convention: `running = (1 − m)·running + m·batch`, $m = 0.1$, unbiased variance in the
  running estimate, biased in the normalization, $\varepsilon = 10^{-5}$ (PyTorch's).
* Evaluation-mode BN is a per-channel affine map; it folds into the preceding layer.
* BN keeps every layer's pre-activations at unit scale regardless of the weights' scale —
  exactly what a network of $\operatorname{sign}$ functions and STEs needs.
"""),
]


if __name__ == "__main__":
    for name, cells in [("01_autograd_from_scratch", AUTOGRAD), ("02_convolution_by_im2col", CONVOLUTION),
                        ("03_batch_norm", BATCH_NORM)]:
        print("wrote", write_notebook(name, cells))
