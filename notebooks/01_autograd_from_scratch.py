# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Autograd from scratch
#
# Every network in this course — float, binary, ternary, k-bit — is trained by the same
# machine: **reverse-mode automatic differentiation** (backpropagation). Before we quantize
# anything we take that machine apart.
#
# **Learning goals.** After this notebook you can
#
# 1. draw the computation graph of an expression and backpropagate through it by hand;
# 2. explain why backpropagation visits the nodes in *reverse topological order* and why
#    gradients are *accumulated* (`+=`), not assigned;
# 3. build a tiny scalar autograd engine (a `Value` class) and check it against tinyquant;
# 4. write a custom `tinyquant.Function` — forward and backward side by side — and check it
#    with `tinyquant.gradcheck`;
# 5. explain what a *straight-through estimator* (STE) is and why gradcheck must reject it;
# 6. explain why numerical derivatives are taken in float64.
#
# **Exercises** are headed **Exercise N.M**. Each one's reference solution sits between
# `### BEGIN SOLUTION` and `### END SOLUTION` (the student edition has a stub there that raises
# `NotImplementedError`): write your own code in its place and run the cell that starts with
# `# Check exercise N.M`, which fails when your code is wrong.

# %%
import sys

import matplotlib.pyplot as plt
import numpy as np

import tinyquant as tq
from tinyquant.autograd import topological_order

print("python", sys.version.split()[0], "| numpy", np.__version__, "| tinyquant", tq.__version__)

# %% [markdown]
# ## 1. A computation graph, by hand
#
# Take three inputs $a = 2$, $b = -3$, $c = 10$ and the expression
#
# $$L = (a\,b + c)\; a .$$
#
# Name every intermediate result: $e = a b$, $d = e + c$, $L = d\,a$. Each node is an
# operation that knows its **local derivatives** — how its output moves when one input moves:
#
# | node | forward | local derivatives |
# |---|---|---|
# | $e = a\,b$ | $-6$ | $\partial e/\partial a = b$, $\;\partial e/\partial b = a$ |
# | $d = e + c$ | $4$ | $\partial d/\partial e = 1$, $\;\partial d/\partial c = 1$ |
# | $L = d\,a$ | $8$ | $\partial L/\partial d = a$, $\;\partial L/\partial a = d$ |
#
# The **chain rule** multiplies local derivatives along each path from $L$ back to an input
# and **adds the paths**. The input $a$ is used twice (in $e$ and in $L$), so two paths reach it:
#
# $$\frac{\partial L}{\partial a}
#   = \underbrace{\frac{\partial L}{\partial a}\Big|_{\text{direct}}}_{d}
#   + \underbrace{\frac{\partial L}{\partial d}\,\frac{\partial d}{\partial e}\,\frac{\partial e}{\partial a}}_{a \cdot 1 \cdot b}
#   = 4 + 2\cdot(-3) = -2 .$$
#
# Backpropagation computes the *adjoint* $\bar v = \partial L/\partial v$ of every node $v$,
# starting from $\bar L = 1$ and pushing adjoints from each node to its inputs:
# $\bar u \mathrel{+}= \bar v \cdot \partial v/\partial u$. The `+=` is where the paths add up.

# %%
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

# %% [markdown]
# The same expression in tinyquant. A `Tensor` with `requires_grad=True` records every
# operation applied to it; `L.backward()` walks the recorded graph. We pass float64 scalars
# so that nothing is rounded to float32 (tinyquant's training precision for Python numbers).

# %%
ta, tb, tc = (tq.Tensor(np.float64(v), requires_grad=True) for v in (a, b, c))
tL = (ta * tb + tc) * ta
tL.backward()

print("tinyquant:", ta.grad, tb.grad, tc.grad)
np.testing.assert_allclose([ta.grad, tb.grad, tc.grad], [a_bar, b_bar, c_bar])


# %% [markdown]
# A picture of the graph: each box shows a node's forward value and its adjoint
# $\partial L/\partial v$ (its `grad`). Arrows point forward; backpropagation runs against them.

# %%
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

# %% [markdown]
# ## 2. Topological order
#
# In the hand computation we were careful to finish $\bar d$ before using it, and to add
# *both* contributions into $\bar a$ before reading it. In general: **a node's adjoint is
# complete only once every node that consumes it has pushed its contribution.** Listing the
# nodes so that each comes after all of its inputs — a *topological order* — and walking it
# **in reverse** guarantees exactly that.
#
# tinyquant sorts the graph with an *iterative* depth-first search
# (`tinyquant.autograd.topological_order`): a recursive one would overflow Python's stack
# on a graph a few thousand operations deep. Here is the order it finds for our graph: the
# leaves are the input tensors themselves, every other entry is the graph's record of one
# operation (its `function`, and its `output` tensor while anything still holds it — the graph
# keeps only what a backward needs, so an intermediate nobody holds is freed):

# %%
for entry in topological_order(tL):
    if isinstance(entry, tq.Tensor):
        made_by, value = "leaf (input)", entry.data
    else:
        made_by, value = entry.function.__name__, entry.output.data
    print(f"{made_by:>13}   value {value:g}")

# %% [markdown]
# Every input appears before the operations that read it, and `L` comes last. The backward
# pass visits this list from the bottom up.
#
# ## 3. Exercise 1.1 — a micro scalar autograd
#
# Write a class `Value` that holds one float (`data`), its adjoint (`grad`, starting at 0),
# and enough of a record of how it was made to backpropagate (micrograd's design: each
# operation builds its output and attaches a small `_backward` closure right next to the
# forward line). Support `+ - * /`, `** number`, unary minus, `tanh()` and `exp()`, with
# Python numbers on either side, and a `backward()` that
#
# * sorts the graph topologically **without recursion** (the check builds a chain 5,000
#   operations deep),
# * seeds `self.grad = 1`, then calls each node's `_backward` in reverse order,
# * **accumulates** into `grad` with `+=` (the check reuses a node).

# %%
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
        ### BEGIN SOLUTION
        other = Value.lift(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():  # d(s + o)/ds = d(s + o)/do = 1
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out
        ### END SOLUTION

    def __mul__(self, other):
        ### BEGIN SOLUTION
        other = Value.lift(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():  # d(s·o)/ds = o, d(s·o)/do = s
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out
        ### END SOLUTION

    def __pow__(self, k):
        ### BEGIN SOLUTION
        assert isinstance(k, (int, float)), "only a constant exponent"
        out = Value(self.data**k, (self,), f"**{k}")

        def _backward():  # d(s^k)/ds = k·s^(k−1)
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out
        ### END SOLUTION

    def tanh(self):
        ### BEGIN SOLUTION
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():  # d tanh(s)/ds = 1 − tanh²(s)
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out
        ### END SOLUTION

    def exp(self):
        ### BEGIN SOLUTION
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():  # d exp(s)/ds = exp(s)
            self.grad += out.data * out.grad

        out._backward = _backward
        return out
        ### END SOLUTION

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
        ### BEGIN SOLUTION
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
        ### END SOLUTION


# %% [markdown]
# **Check.** One expression, written once, is evaluated with your `Value`s and with
# tinyquant `Tensor`s (float64) at several random points; the gradients must agree. Two more
# checks use formulas: for a reused node $b = a + a$, $c = b\,b = 4a^2$ so
# $\partial c/\partial a = 8a$; and a chain of 5,000 operations $y = x + 1 + 1 + \dots$ has
# $\partial y/\partial x = 1$.

# %%
# Check exercise 1.1
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


# %% [markdown]
# ## 4. A custom `Function` — Exercise 1.2: the backward of tanh
#
# tinyquant's operations are all `Function`s. `forward(ctx, *arrays)` works on plain NumPy
# arrays and may save what the backward needs with `ctx.save_for_backward(...)`;
# `backward(ctx, grad)` receives $\bar y = \partial L/\partial y$ (same shape as $y$) and
# returns $\bar x = \partial L/\partial x$ for every input. `MyFunction.apply(tensor)` runs the
# forward and records the node.
#
# For $y = \tanh x$: $\;\dfrac{dy}{dx} = 1 - \tanh^2 x = 1 - y^2$, so $\bar x = \bar y\,(1 - y^2)$.
# Saving the *output* $y$ rather than $x$ means the backward needs no second `tanh`.
#
# Write `MyTanh`.

# %%
class MyTanh(tq.Function):
    @staticmethod
    def forward(ctx, x):
        ### BEGIN SOLUTION
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        ### BEGIN SOLUTION
        (y,) = ctx.saved
        return grad * (1 - y * y)  # d tanh(x)/dx = 1 − tanh²(x)
        ### END SOLUTION


# %% [markdown]
# **Check.** `tinyquant.gradcheck(fn, *arrays)` promotes the inputs to float64, backpropagates
# a random cotangent $R$ through $\langle \mathrm{fn}(x), R\rangle$ and compares every entry of
# the gradient with the central difference
# $\big(L(x + \varepsilon e_i) - L(x - \varepsilon e_i)\big) / 2\varepsilon$. We also compare with
# the closed form $1/\cosh^2 x$ and with tinyquant's own `tanh`.

# %%
# Check exercise 1.2
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


# %% [markdown]
# A check is only worth something if it can fail. Here is a typical slip — $1 - y$ instead
# of $1 - y^2$ — and what gradcheck says about it:

# %%
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


# %% [markdown]
# ## 5. Exercise 1.3 — a straight-through sign (a first quantizer)
#
# A binary network replaces a weight or activation $x$ by $\operatorname{sign}(x) \in \{-1, +1\}$.
# Its derivative is $0$ almost everywhere (and undefined at $0$), so the true gradient tells
# the latent weights nothing. The **straight-through estimator** (STE) keeps the forward
# $\operatorname{sign}$ but *pretends*, in the backward, that the forward was the clipped
# identity $\operatorname{hardtanh}(x) = \operatorname{clip}(x, -1, 1)$:
#
# $$\text{forward: } y = \operatorname{sign}(x) = \begin{cases} +1 & x \ge 0 \\ -1 & x < 0 \end{cases}
# \qquad\qquad
# \text{backward: } \bar x = \bar y \cdot \mathbb 1\{|x| \le 1\}.$$
#
# Conventions, stated once: $\operatorname{sign}(0) = +1$ (a binary value is never $0$),
# and the boundary $|x| = 1$ counts as inside (as in `Tensor.clip`). The output keeps the
# input's dtype.
#
# Write `SignSTE`.

# %%
class SignSTE(tq.Function):
    @staticmethod
    def forward(ctx, x):
        ### BEGIN SOLUTION
        ctx.save_for_backward(np.abs(x) <= 1)
        return np.where(x >= 0, 1, -1).astype(x.dtype)  # sign(0) = +1
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        ### BEGIN SOLUTION
        (inside,) = ctx.saved
        return grad * inside  # straight through where |x| ≤ 1, blocked outside
        ### END SOLUTION


# %% [markdown]
# **Check.** The forward against the formula, on points that include $0$ and $\pm 1$; the
# backward against the formula *and* against the true gradient of tinyquant's
# $\operatorname{clip}(x, -1, 1)$ — the STE's backward is exactly hardtanh's derivative.

# %%
# Check exercise 1.3
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

# %% [markdown]
# **The STE is not a gradient, and gradcheck knows it.** Finite differences of
# $\operatorname{sign}$ are $0$ (away from the jump), while the STE's backward is $1$ inside
# $[-1, 1]$. So gradcheck *must* reject `SignSTE` — and must accept hardtanh, whose derivative
# the STE borrows (we keep the test points away from the kinks at $\pm 1$, where a finite
# difference straddles two slopes).

# %%
# Check exercise 1.3
x_smooth = np.random.default_rng(3).uniform(-0.9, 0.9, size=(4, 3))  # inside (−1, 1), away from the kinks
assert np.abs(x_smooth).min() > 1e-3  # and away from sign's jump at 0

assert tq.gradcheck(lambda t: t.clip(-1, 1), x_smooth)  # hardtanh: a true gradient
try:
    tq.gradcheck(lambda t: SignSTE.apply(t), x_smooth)
except tq.GradcheckError as err:
    print("gradcheck rejects the STE, as it should:\n ", err)
else:
    raise AssertionError("gradcheck accepted the STE: its backward is not the derivative of sign")

# %% [markdown]
# The figure uses tinyquant's own straight-through sign (`SignFunction` with the `clipped`
# STE, what your `SignSTE` computes), so it shows even before you have written yours.

# %%
from tinyquant.quant import get_ste
from tinyquant.quant.binary import SignFunction

grid = np.linspace(-2, 2, 401)
tg = tq.Tensor(grid, requires_grad=True)
SignFunction.apply(tg, ste=get_ste("clipped")).sum().backward()  # summing independent entries: grad[i] = dy_i/dx_i

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharex=True)
axes[0].plot(grid, SignFunction.apply(tq.Tensor(grid), ste=get_ste("clipped")).data, label="forward: sign(x)")
axes[0].plot(grid, np.clip(grid, -1, 1), "--", label="hardtanh(x) = clip(x, −1, 1)")
axes[0].set_title("what the forward computes"); axes[0].set_ylabel("y")
axes[1].plot(grid, tg.grad, color="tab:red", label="STE backward: 1{|x| ≤ 1}")
axes[1].plot(grid, np.zeros_like(grid), ":", color="0.3", label="true derivative of sign (a.e.)")
axes[1].set_title("what the backward pretends"); axes[1].set_ylim(-0.1, 1.5); axes[1].set_ylabel("∂y/∂x")
for ax in axes:
    ax.set_xlabel("x"); ax.legend(loc="upper left", fontsize=8); ax.grid(alpha=0.3)
plt.tight_layout(); plt.show()


# %% [markdown]
# Every quantizer in `tinyquant.quant` has this shape: a `Function` whose forward rounds
# and whose backward is a chosen surrogate, with its formula written next to it.
#
# ## 6. Backprop vs finite differences, and why float64
#
# Take $f(x) = \tanh(2x)\, e^{-x^2/2}$, whose derivative is
# $f'(x) = \big(2(1 - \tanh^2 2x) - x \tanh 2x\big)\, e^{-x^2/2}$.
# Backpropagation gives $f'$ at every point of a grid in one backward pass (the entries are
# independent, so the gradient of $\sum_i f(x_i)$ is $f'(x_i)$ elementwise).

# %%
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

# %% [markdown]
# The central difference has two errors that pull in opposite directions:
#
# * **truncation**: $\dfrac{f(x+\varepsilon) - f(x-\varepsilon)}{2\varepsilon} = f'(x) + \dfrac{\varepsilon^2}{6} f'''(x) + O(\varepsilon^4)$ — small $\varepsilon$ is better;
# * **rounding**: $f(x\pm\varepsilon)$ are each off by about $u\,|f(x)|$, where $u$ is the unit
#   roundoff ($u \approx 6\times10^{-8}$ in float32, $1.1\times10^{-16}$ in float64), and dividing
#   by $2\varepsilon$ magnifies that to about $u|f|/\varepsilon$ — large $\varepsilon$ is better.
#
# The total $\approx \varepsilon^2 |f'''|/6 + u|f|/\varepsilon$ is smallest near
# $\varepsilon^\ast \approx u^{1/3}$, with error $\approx u^{2/3}$: about $10^{-5}$ in float32 but
# $10^{-11}$ in float64. A gradient check in float32 cannot tell a correct backward from a
# slightly wrong one — which is why `tinyquant.gradcheck` promotes every input to float64.

# %%
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
axes[0].set_xlabel("x"); axes[0].set_ylabel("f(x), f′(x)"); axes[0].legend(fontsize=8); axes[0].grid(alpha=0.3)
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

# %% [markdown]
# ## Summary
#
# * Backpropagation = the chain rule, applied node by node in **reverse topological order**,
#   with adjoints **accumulated** over every path.
# * A tinyquant `Function` is a forward on arrays plus its backward, side by side; `gradcheck`
#   tests the backward against float64 central differences — and it can fail.
# * A straight-through estimator is a deliberate, documented *lie* in the backward: sign
#   forward, hardtanh's derivative backward. It is the heart of binary-network training and
#   it is, by construction, not a gradient.
#
# **Next:** 02 builds the convolution out of im2col and one matrix product; 03 takes batch
# normalization apart.
