"""Write the two theory notebooks: 05 (ternarization with trainable thresholds, seed 001) and
10 (STE geometry and AB-STE, seeds 004 and 000).

Generated from this file so that a review reads plain Python rather than notebook JSON; the
notebooks are written *without outputs* (the notebook tests execute them)::

    python notebooks/_build/build_theory_notebooks.py      # writes notebooks/05_*.ipynb, 10_*.ipynb

Cell ids are the notebook's number and the cell's position, so rebuilding an unchanged
notebook gives an identical file.
"""

from __future__ import annotations

from nbtools import code, md, write_notebook


# A short training run that is exactly ``tinyquant train`` (same data, model, quantizers,
# optimizer, cosine schedule, seed) plus one callback that records something after every
# optimizer step. Both notebooks use it; it is spelled out so students see the pieces.
TRAIN_AND_RECORD = r"""
from tinyquant import optim
from tinyquant.cli import train_namespace
from tinyquant.data import DataLoader, get_dataset
from tinyquant.nn.models import build_model
from tinyquant.quant.config import configure_quantization
from tinyquant.train import LambdaCallback, Trainer


def train_and_record(record, **options):
    # `tinyquant train` with `options` (as in train_namespace), calling record(model) after every step
    args = train_namespace(no_progress=True, **options)
    data = get_dataset(args.dataset)
    model = build_model(args.model, data.input_shape, data.num_classes, rng=args.seed)
    model, callbacks, regime, groups = configure_quantization(model, args)   # quantizers, regime
    train_loader = DataLoader(data.x_train, data.y_train, args.batch_size, shuffle=True, seed=args.seed)
    test_loader = DataLoader(data.x_test, data.y_test, 256)
    optimizer = optim.SGD(groups or model.parameters(), lr=0.05 if args.lr is None else args.lr,
                          momentum=args.momentum, weight_decay=args.weight_decay)
    scheduler = optim.LRScheduler(optimizer, optim.cosine(args.epochs * len(train_loader)))
    recorder = LambdaCallback(on_step_end=lambda trainer: record(trainer))
    trainer = Trainer(model, optimizer, train_loader, test_loader, epochs=args.epochs, scheduler=scheduler,
                      callbacks=callbacks + [recorder], regime=regime, seed=args.seed, show_progress=False)
    trainer.fit()
    return model, trainer.history
"""


# =====================================================================================
# 05 — ternarization with trainable thresholds (seed 001)
# =====================================================================================

TERNARY = [
    md(r"""
# 05 · Ternarization with trainable thresholds

A ternary network stores every weight of a layer as one of three values $\{-S, 0, +S\}$. Two
numbers per layer decide the result: the **threshold** $\delta$ below which a weight becomes 0,
and the **scale** $S$ given to the others. Seed 001 (He, Fan et al.) makes $\delta$ *trainable*
by back-propagation. For that, $S$ must be a differentiable function of $\delta$. The paper gets
one by assuming the weights are Gaussian.

**Learning goals.** After this notebook you can

1. write the ternarizer $\hat w = S\cdot\mathrm{Tern}(w)$ and say why the best scale is the
   centroid of the kept weights (seed 001, eq. 4);
2. derive the closed form $S(\mu,\sigma,\delta) = \mu + \sigma\,\varphi(\alpha)/(1-\Phi(\alpha))$,
   $\alpha = \delta/\sigma$: the mean of a truncated Gaussian (eqs. 5–7);
3. explain why the textbook formula loses every digit in the tail, and evaluate it stably;
4. derive $\partial S/\partial\delta$ and draw seed 001's Fig. 3 with and without clipping
   $\delta$ into $(0, 3\sigma)$ (eqs. 8–10);
5. explain *gradient correctness*, $\partial\,\mathrm{Tern}/\partial w = 1/S$ (eq. 15);
6. train a ternary CNN with seed 001's Algorithm 1 and watch the thresholds move;
7. test, with Shapiro–Wilk, whether trained weights are Gaussian, and say what the test cannot tell you.

Exercises are marked **Exercise**. Each one comes with a working reference solution marked
`# solution — try it yourself first`. Delete the body, write your own, and run the check cell
below it. The checks compare your code with scipy, with tinyquant or with a finite difference,
so they fail when your code is wrong.
"""),
    code(r"""
import math
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy import special, stats

import tinyquant as tq
from tinyquant.quant import get_quantizer
from tinyquant.quant.ternary import (inverse_mills_ratio, truncated_gaussian_scale,
                                     truncated_gaussian_scale_grad)
from toy_problems import truncated_gaussian as tg
from toy_problems.weight_gaussianity import gaussianity_report

warnings.filterwarnings("ignore", message="IProgress not found")   # tqdm outside Jupyter widgets
notebook_start = time.perf_counter()
print("numpy", np.__version__, "| tinyquant", tq.__version__)
"""),
    md(r"""
## 1. Ternarization and its scale

Take a layer's weights $w$, with mean $\mu$ and standard deviation $\sigma$. Seed 001
ternarizes around the mean, with thresholds $\mu \pm \delta$ (eq. 11):

$$\mathrm{Tern}(w_i) = \begin{cases} +1 & w_i > \mu + \delta \\ \ \ 0 & |w_i - \mu| \le \delta \\ -1 & w_i < \mu - \delta \end{cases}
\qquad \hat w_i = S \cdot \mathrm{Tern}(w_i) \quad \text{(eq. 2)} .$$

Which $S$ should we use? Take $t = \mathrm{Tern}(w)$ as fixed and choose $S$ to minimize the
quantization error $\sum_i (w_i - S\,t_i)^2$. Setting the derivative with respect to $S$ to zero gives

$$S^\star = \frac{\sum_i t_i w_i}{\sum_i t_i^2} = \operatorname{mean}\{\,|w_i| : t_i \ne 0\,\} ,$$

the **centroid** of the weights that are kept (eq. 4). Computed from the data, it has no
derivative in $\delta$, because moving $\delta$ moves weights in and out of the average one at a time.
Below is a Gaussian "layer" ternarized by tinyquant's `truncated_gaussian_ternary` with
$\delta = 0.5\sigma$.
"""),
    code(r"""
rng = np.random.default_rng(0)
w = rng.normal(0.0, 0.05, size=(64, 32, 3, 3))          # a conv layer's worth of Gaussian weights
quantizer = get_quantizer("truncated_gaussian_ternary")
quantizer.delta.data[...] = 0.025                         # δ = 0.5σ; float32 parameter
quantizer.initialized[...] = True                         # keep our δ (no data-driven init)
w_hat = quantizer.quantize(w)

mu, sigma = w.mean(), w.std(ddof=1)
kept = np.abs(w - mu) > 0.025
print(f"μ = {mu:+.5f}, σ = {sigma:.5f}; levels: {np.unique(w_hat)}")
print(f"kept {kept.mean():.3f} of the weights (Gaussian: {2 * stats.norm.sf(0.5):.3f})")
print(f"empirical centroid (eq. 4) {np.abs(w[kept]).mean():.6f}  vs  tinyquant's S {w_hat.max():.6f}")

fig, ax = plt.subplots(figsize=(8, 3))
ax.hist(w.ravel(), bins=120, density=True, alpha=0.4, label="latent weights w")
for s in (-1, 1):
    ax.axvline(mu + s * 0.025, color="k", ls=":", lw=1)
    ax.axvline(s * w_hat.max(), color="C3", lw=2)
ax.plot([], [], "k:", label="thresholds μ ± δ"); ax.plot([], [], "C3", lw=2, label="levels ±S")
ax.set_xlabel("weight"); ax.legend(fontsize=8); ax.set_title("ternarization of a Gaussian layer")
plt.show()
"""),
    md(r"""
## 2. The Gaussian model gives a closed form

Seed 001's **Assumption 1**: the weights of a layer follow $\mathcal N(\mu, \sigma^2)$. Under it,
the centroid becomes an expectation. The paper takes the upper tail (eq. 5):

$$S(\mu,\sigma,\delta) = \mathbb E[\,w \mid w > \mu + \delta\,],\qquad w \sim \mathcal N(\mu,\sigma^2).$$

Write $w = \mu + \sigma z$ with $z \sim \mathcal N(0,1)$ and $\alpha = \delta/\sigma$ (eq. 6). Then
$S = \mu + \sigma\,\mathbb E[z \mid z > \alpha]$. The standard normal density
$\varphi(z) = e^{-z^2/2}/\sqrt{2\pi}$ satisfies $\varphi'(z) = -z\,\varphi(z)$, so
$\int_\alpha^\infty z\,\varphi(z)\,dz = \big[-\varphi(z)\big]_\alpha^\infty = \varphi(\alpha)$. Dividing by the
probability of the tail, $1 - \Phi(\alpha)$:

$$\boxed{\,S(\mu,\sigma,\delta) = \mu + \sigma\,\lambda(\alpha),\qquad
\lambda(\alpha) = \frac{\varphi(\alpha)}{1-\Phi(\alpha)}\,}\qquad\text{(eq. 7)}$$

$\lambda$ is the **inverse Mills ratio**. $S$ is now a smooth function of $\delta$, and
back-propagation can train $\delta$.

*One fine point.* Eq. 4 averages $|w|$ over *both* tails, while eq. 7 takes the upper tail only.
For $\mu = 0$ the two agree. For $\mu \ne 0$ (with $\mu-\delta<0<\mu+\delta$) the two tails have equal
mass and mean absolute values $\sigma\lambda \pm \mu$, so eq. 4 gives $\sigma\lambda(\alpha)$ and eq. 7 is
off by exactly $\mu$. For trained layers $|\mu| \ll \sigma$ (see `toy_problems.truncated_gaussian.centroid_eq4`).

### Exercise 1: the truncated-Gaussian mean

Write `truncated_gaussian_mean(mu, sigma, delta)`, the mean of $\mathcal N(\mu,\sigma^2)$ truncated
to $(\mu+\delta, \infty)$. It must work on arrays. The check compares it with
`scipy.stats.truncnorm` (an independent implementation) for $\delta/\sigma$ up to 8.
"""),
    code(r"""
def truncated_gaussian_mean(mu, sigma, delta):
    # solution — try it yourself first
    alpha = np.asarray(delta, dtype=float) / sigma
    return mu + sigma * stats.norm.pdf(alpha) / stats.norm.sf(alpha)   # sf(α) = 1 − Φ(α), computed in the tail
"""),
    code(r"""
grid = [(mu_, sigma_, a * sigma_) for mu_ in (0.0, 0.01, -0.3) for sigma_ in (0.05, 1.0, 2.5)
        for a in (0.0, 0.1, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0)]
for mu_, sigma_, delta_ in grid:
    expected = stats.truncnorm(delta_ / sigma_, np.inf, loc=mu_, scale=sigma_).mean()
    got = float(truncated_gaussian_mean(mu_, sigma_, delta_))
    assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12), (mu_, sigma_, delta_, got, expected)
deltas = np.linspace(0, 0.15, 7)                           # arrays in, arrays out
np.testing.assert_allclose(truncated_gaussian_mean(0.01, 0.05, deltas),
                           truncated_gaussian_scale(0.01, 0.05, deltas), rtol=1e-12)
print(f"exercise 1: correct on {len(grid)} (μ, σ, δ) triples and against tinyquant")
"""),
    md(r"""
## 3. Why the textbook formula fails in the tail

Written as $\varphi(\alpha)/(1-\Phi(\alpha))$, eq. 7 subtracts two numbers that are nearly equal:
$\Phi(\alpha)$ is within $10^{-7}$ of 1 at $\alpha = 5.2$. In float64, $1 - \Phi(\alpha)$ keeps an
absolute error of about $\varepsilon \approx 10^{-16}$, so its *relative* error is about
$\varepsilon/(1-\Phi(\alpha))$. That is $10^{-10}$ at $\alpha = 5$ and $10^{-1}$ at $\alpha = 8$. From $\alpha \approx 8.3$
on, $\Phi(\alpha)$ rounds to exactly 1 and the quotient is $\varphi/0 = \infty$. In float32 the same
happens already near $\alpha \approx 5.4$. Using the survival function $Q(\alpha) = 1 - \Phi(\alpha)$
directly removes the cancellation. But $\varphi(\alpha)$ and $Q(\alpha)$ both underflow to 0 near
$\alpha \approx 38$, and the quotient becomes $0/0$.

The fix is to cancel the common factor $e^{-\alpha^2/2}$ *on paper*. With the scaled complementary
error function $\mathrm{erfcx}(x) = e^{x^2}\mathrm{erfc}(x)$:

$$1-\Phi(\alpha) = \tfrac12\, e^{-\alpha^2/2}\,\mathrm{erfcx}(\alpha/\sqrt2)
\quad\Longrightarrow\quad \lambda(\alpha) = \frac{\sqrt{2/\pi}}{\mathrm{erfcx}(\alpha/\sqrt2)} .$$

Nothing is subtracted, and nothing underflows. This is what `tinyquant.quant.ternary.inverse_mills_ratio` does.
Seed 001's footnote 2 reports errors "at the tail of distribution ($\delta > 3\sigma$)" from frameworks
that estimate $S$ numerically. The clipping of §4 keeps training away from the tail, but the formula
itself need not fail there.

Below: the relative error of each evaluation against an independent reference
$\exp(\log\varphi(\alpha) - \log Q(\alpha))$ (scipy's `log_ndtr`). Your exercise 1 function is included.
A non-finite result is drawn at the top of the plot.
"""),
    code(r"""
alpha = np.linspace(0, 40, 2001)
reference = np.exp(stats.norm.logpdf(alpha) - special.log_ndtr(-alpha))

with np.errstate(all="ignore"):
    a32 = alpha.astype(np.float32)
    evaluations = {
        "φ/(1 − Φ), float64": stats.norm.pdf(alpha) / (1 - stats.norm.cdf(alpha)),
        "φ/(1 − Φ), float32": (np.exp(-a32 * a32 / 2) / np.float32(math.sqrt(2 * math.pi))
                               / (1 - np.float32(0.5) * (1 + special.erf(a32 / np.float32(math.sqrt(2)))))),
        "φ/Q (survival function)": stats.norm.pdf(alpha) / stats.norm.sf(alpha),
        "exercise 1": truncated_gaussian_mean(0.0, 1.0, alpha),
        "tinyquant: √(2/π)/erfcx(α/√2)": inverse_mills_ratio(alpha),
    }
    errors = {name: np.abs(np.asarray(v, dtype=float) / reference - 1) for name, v in evaluations.items()}

fig, ax = plt.subplots(figsize=(8, 4))
for name, err in errors.items():
    shown = np.where(np.isfinite(err), np.maximum(err, 1e-17), 1e3)
    ax.semilogy(alpha, shown, lw=1.2, label=name)
ax.axhline(1e3, color="k", lw=0.6, ls=":"); ax.text(20, 2e3, "inf or nan", fontsize=8)
ax.set_xlabel("α = δ/σ"); ax.set_ylabel("relative error of λ(α)"); ax.set_ylim(1e-17, 1e5)
ax.set_title("the inverse Mills ratio in the tail"); ax.legend(fontsize=8, loc="center right")
plt.show()

for name, err in errors.items():
    inaccurate, infinite = alpha[~(err < 1e-6)], alpha[~np.isfinite(err)]
    print(f"{name:<31} max error on α ≤ 5: {err[alpha <= 5].max():8.1e};  first α with error > 1e-6: "
          f"{f'{inaccurate.min():5.2f}' if inaccurate.size else 'never'};  "
          f"first non-finite: {f'{infinite.min():5.2f}' if infinite.size else 'never'}")
assert errors["tinyquant: √(2/π)/erfcx(α/√2)"].max() < 1e-12            # stable everywhere on [0, 40]
assert not np.isfinite(evaluations["φ/(1 − Φ), float64"][alpha > 8.5]).any()   # the naive form is gone
"""),
    md(r"""
## 4. The threshold's gradient, with and without clipping (seed 001, Fig. 3)

To train $\delta$ we need $\partial S/\partial\delta$. Differentiate $\lambda = \varphi/(1-\Phi)$, using
$\varphi' = -\alpha\varphi$ and $(1-\Phi)' = -\varphi$:

$$\lambda'(\alpha) = \frac{-\alpha\varphi\,(1-\Phi) + \varphi^2}{(1-\Phi)^2} = \lambda(\alpha)\,\big(\lambda(\alpha) - \alpha\big),
\qquad \frac{\partial S}{\partial \delta} = \sigma\,\lambda'(\alpha)\,\frac{1}{\sigma} = \lambda(\alpha)\big(\lambda(\alpha)-\alpha\big).$$

(The paper only plots this derivative; the formula is derived here and in
`toy_problems.truncated_gaussian`.) It lies in $(0, 1)$: it equals $1 - \mathrm{Var}[w\mid w>\mu+\delta]/\sigma^2$.

Seed 001 keeps $\delta$ in a sensible range by passing $|\delta|$ through a hard tanh (eqs. 8–9):

$$\delta^c = \mathrm{hardtanh}(|\delta|, 0, 3\sigma) = \min(\max(|\delta|, 0), 3\sigma),\qquad
\frac{\partial S(\mu,\sigma,\delta^c)}{\partial\delta} = \mathrm{sign}(\delta)\,\mathbf 1[|\delta| < 3\sigma]\;\lambda'(\delta^c/\sigma).$$

So $S$ becomes even in $\delta$ and flat beyond $\pm 3\sigma$. The gradient is odd in $\delta$ and
zero on the plateaus. A threshold pushed past $3\sigma$ stops receiving gradient.

In the network, tinyquant's autograd computes $\partial L/\partial\delta = \sum_i g_i\,\mathrm{Tern}_i \cdot
\partial S/\partial\delta$, with $g = \partial L/\partial\hat w$. $\mathrm{Tern}$ itself is treated as constant in
$\delta$, so the threshold learns only through the scale it implies. With the upstream gradient
$g = \mathrm{Tern}(w)$, this is $n_{\text{kept}}\cdot\partial S/\partial\delta$. The cell below checks tinyquant's
backward against this formula at every $\delta$ of the plot.
"""),
    code(r"""
d = np.linspace(-5, 5, 1001)                                # μ = 0, σ = 1 as in seed 001's Fig. 3
S_plain, dS_plain = truncated_gaussian_scale(0.0, 1.0, d), truncated_gaussian_scale_grad(0.0, 1.0, d)
S_clip, dS_clip = tg.clipped_scaling_factor(0.0, 1.0, d), tg.clipped_scaling_factor_grad(0.0, 1.0, d)

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
for ax, (S_, dS_, title) in zip(axes, [(S_plain, dS_plain, "(a) S(0, 1, δ)"),
                                       (S_clip, dS_clip, "(b) S(0, 1, δᶜ),  δᶜ = hardtanh(|δ|, 0, 3σ)")]):
    ax.plot(d, S_, label="forward S")
    ax.plot(d, dS_, label="backward ∂S/∂δ")
    ax.axvspan(-5, -3, color="0.9"); ax.axvspan(3, 5, color="0.9")
    ax.set_xlabel("δ"); ax.set_title(title); ax.grid(alpha=0.3); ax.legend(fontsize=8)
fig.suptitle("seed 001, Fig. 3 (grey: |δ| ≥ 3σ)")
plt.tight_layout(); plt.show()

# tinyquant's backward for δ against the formula, on a standardized weight tensor
z = rng.standard_normal(20_000)
z = (z - z.mean()) / z.std(ddof=1)                          # exactly μ = 0, σ = 1 (ddof = 1, as tinyquant)
q = get_quantizer("truncated_gaussian_ternary"); q.initialized[...] = True
for delta_ in np.linspace(-4.5, 4.5, 46):            # step 0.2, avoiding the kinks 0 and ±3σ
    q.delta.data[...] = delta_
    q.delta.grad = None
    x = tq.Tensor(z)
    out = q(x)
    tern = np.sign(out.data)
    (out * tq.Tensor(tern)).sum().backward()                # upstream g = Tern(w)
    d32 = float(q.delta.data)                               # the float32 value actually used
    expected = np.sum(tern != 0) * tg.clipped_scaling_factor_grad(0.0, 1.0, d32)
    assert math.isclose(float(q.delta.grad), expected, rel_tol=1e-5, abs_tol=1e-6), (delta_, q.delta.grad, expected)
print("tinyquant's ∂L/∂δ = n_kept · ∂S(δᶜ)/∂δ at 46 thresholds, plateaus included")
"""),
    md(r"""
### Exercise 2: the derivative of the scale

Write `scale_derivative(mu, sigma, delta)` $= \partial S(\mu,\sigma,\delta)/\partial\delta$ (no clipping). The
check compares it with a central finite difference of tinyquant's $S$ in float64 and with tinyquant's own
derivative. Computing $\lambda$ the stable way lets it pass far into the tail.
"""),
    code(r"""
def scale_derivative(mu, sigma, delta):
    # solution — try it yourself first
    a = np.asarray(delta, dtype=float) / sigma
    lam = np.sqrt(2 / np.pi) / special.erfcx(a / np.sqrt(2))     # λ(α), stable
    return lam * (lam - a)                                       # λ'(α) = λ(λ − α); the σ's cancel
"""),
    code(r"""
for mu_, sigma_ in [(0.0, 1.0), (0.02, 0.05), (-1.0, 3.0)]:
    deltas = sigma_ * np.array([0.0, 0.3, 1.0, 2.0, 3.0, 4.5, 7.0])
    h = 1e-5 * sigma_
    numeric = (truncated_gaussian_scale(mu_, sigma_, deltas + h)
               - truncated_gaussian_scale(mu_, sigma_, deltas - h)) / (2 * h)
    np.testing.assert_allclose(scale_derivative(mu_, sigma_, deltas), numeric, rtol=1e-6)
    np.testing.assert_allclose(scale_derivative(mu_, sigma_, deltas),
                               truncated_gaussian_scale_grad(mu_, sigma_, deltas), rtol=1e-9)
tail = scale_derivative(0.0, 1.0, np.array([10.0, 20.0, 40.0]))
np.testing.assert_allclose(tail, tg.scaling_factor_grad(0.0, 1.0, np.array([10.0, 20.0, 40.0])), rtol=1e-9)
print("exercise 2: correct; in the tail ∂S/∂δ =", tail, "(→ 1 − 1/α²)")
"""),
    md(r"""
## 5. Gradient correctness (seed 001, eq. 15)

The layer computes with $\hat w = S\cdot\mathrm{Tern}(w)$. The plain STE sets $\partial\,\mathrm{Tern}/\partial w = 1$
(times $F'(w)$ if a windowed estimator is used), so by the chain rule

$$\frac{\partial L}{\partial w_i} = \frac{\partial L}{\partial \hat w_i}\cdot S\cdot 1 .$$

Every weight gradient is multiplied by $S$. For a layer with $\sigma = 0.05$, $S \approx 0.05$ (measured
below), so the weights learn about 20× more slowly than the learning rate says. The threshold $\delta$, trained with the same
learning rate, does not have this factor. Seed 001 instead asks the *whole* ternarizer to pass the
gradient straight through, $\partial\hat w/\partial w = S\,\partial\mathrm{Tern}/\partial w = 1$, which gives

$$\frac{\partial\,\mathrm{Tern}(w_i)}{\partial w_i} = \frac{1}{S}\qquad\text{(eq. 15)} .$$

Table I of the paper reports 90.39 % with it and 87.89 % without it (ResNet-20, CIFAR-10). The quantizer's
`gradient_correctness` flag switches between the two, and the cell measures the ratio of their gradients.
"""),
    code(r"""
w_layer = rng.normal(0.0, 0.05, size=(64, 32, 3, 3))
upstream = rng.standard_normal(w_layer.shape)
grads = {}
for correctness in (True, False):
    qz = get_quantizer("truncated_gaussian_ternary", gradient_correctness=correctness)
    x = tq.Tensor(w_layer, requires_grad=True)
    out = qz(x)                                     # training mode: δ initialized to 0.1·max|w|
    (out * tq.Tensor(upstream)).sum().backward()
    grads[correctness] = x.grad
S_layer = np.abs(out.data).max()
ratio = grads[False] / grads[True]
print(f"S = {S_layer:.5f};  gradient without / with correctness: min {ratio.min():.5f}, max {ratio.max():.5f}")
np.testing.assert_allclose(grads[True], upstream, rtol=1e-12)        # ∂ŵ/∂w = 1: straight through
np.testing.assert_allclose(ratio, S_layer, rtol=1e-6)               # the plain STE scales by S
"""),
    md(r"""
## 6. Training with Algorithm 1: thresholds that move

Seed 001's Algorithm 1 alternates two steps on every batch. First it takes a step on the thresholds
$\delta_l$ only (vanilla SGD, no weight decay). Then it re-ternarizes with the new thresholds
("important step!") and takes a step on the weights. In tinyquant this is
`tinyquant train --quantizer truncated_gaussian_ternary --regime alternating`
(`AlternatingThresholdRegime`). $\delta_l$ starts at $0.1\max|w_l|$ (the best row of Table I); the first
and last layers stay in full precision.

`train_and_record` below is exactly what `tinyquant train` does, plus a callback that records every
ternarized layer's $\delta_l$, $\sigma_l$ and sparsity after each step. We use `threshold_lr=1.0`. The
gradient of $\delta$ reaches it only through $S$ (§4) and is small, so at the CLI default of 0.01 the
thresholds move by less than 1 % in two epochs. Try it yourself. Two epochs take about 15–25 s.
"""),
    code(TRAIN_AND_RECORD),
    code(r"""
from tinyquant.nn.layers import quantizable_layers

trace = {"delta": [], "sigma": [], "zeros": []}


def record_thresholds(trainer):
    layers = [layer for layer in quantizable_layers(trainer.model) if layer.weight_quantizer is not None]
    deltas = [abs(float(layer.weight_quantizer.delta.data)) for layer in layers]
    sigmas = [float(layer.weight.data.std(ddof=1)) for layer in layers]
    trace["delta"].append(deltas)
    trace["sigma"].append(sigmas)
    trace["zeros"].append([float(np.mean(np.abs(layer.weight.data - layer.weight.data.mean()) <= min(d, 3 * s)))
                           for layer, d, s in zip(layers, deltas, sigmas)])


start = time.perf_counter()
model, history = train_and_record(record_thresholds, quantizer="truncated_gaussian_ternary",
                                  regime="alternating", threshold_lr=1.0, epochs=2)
trace = {k: np.array(v) for k, v in trace.items()}          # (steps, layers)
print(f"trained in {time.perf_counter() - start:.1f} s; test accuracy per epoch:",
      [round(h["test_accuracy"], 4) for h in history])
"""),
    code(r"""
names = [n for n, m in model.named_modules() if getattr(m, "weight_quantizer", None) is not None]
steps = np.arange(1, len(trace["delta"]) + 1)
fig, axes = plt.subplots(1, 3, figsize=(14, 3.4))
for j, name in enumerate(names):
    axes[0].plot(steps, trace["delta"][:, j], label=f"layer {name}")
    axes[1].plot(steps, trace["delta"][:, j] / trace["sigma"][:, j], label=f"layer {name}")
    axes[2].plot(steps, trace["zeros"][:, j], label=f"layer {name}")
axes[0].set_title("threshold |δ_l|"); axes[1].set_title("δ_l / σ_l   (clip at 3)")
axes[2].set_title("fraction of weights ternarized to 0")
for ax in axes:
    ax.set_xlabel("optimizer step"); ax.legend(fontsize=8); ax.grid(alpha=0.3)
plt.tight_layout(); plt.show()

for j, name in enumerate(names):
    print(f"layer {name}: δ {trace['delta'][0, j]:.5f} → {trace['delta'][-1, j]:.5f},  "
          f"δ/σ {trace['delta'][0, j] / trace['sigma'][0, j]:.3f} → {trace['delta'][-1, j] / trace['sigma'][-1, j]:.3f},  "
          f"zeros {trace['zeros'][0, j]:.3f} → {trace['zeros'][-1, j]:.3f}")
"""),
    md(r"""
Read the three panels together. $\sigma_l$ grows as training moves the weights. A threshold that
stayed fixed in absolute terms would then cut off a *smaller* fraction of the weights. The sparsity
of a ternary layer is set by $\delta/\sigma$, not by $\delta$, which is why eq. 9 clips at a multiple of $\sigma$.

## 7. Are trained weights Gaussian? (seed 001, Fig. 2)

Everything above rests on Assumption 1. Seed 001 checks it on ResNet-18b with the Shapiro–Wilk test and
reads a statistic $W \ge 0.82$ as "a good normal distribution match". $W$ is the squared correlation
between the sorted sample and the expected normal order statistics. It is 1 for a perfect match, but it
is close to 1 for *any* smooth, symmetric, light-tailed law. The p-value, not $W$, is what tests normality.
Below are the latent weights of our trained network, the same layers at initialization (tinyquant
initializes uniformly, $U(\pm 1/\sqrt{\text{fan-in}})$), and synthetic calibration layers of known law.
`gaussianity_report` also compares the closed-form $S$ (eq. 7) with the empirical centroid (eq. 4) at
seed 001's $\delta = 0.1\max|w|$. This gap is the error the Gaussian assumption actually costs.
"""),
    code(r"""
from toy_problems.weight_gaussianity import synthetic_weights

trained = {f"trained {n}": p.data for n, p in model.named_parameters() if p.data.ndim >= 2}
initial_model = build_model("digits_cnn", (1, 8, 8), 10, rng=0)
initial = {f"init {n}": p.data for n, p in initial_model.named_parameters() if p.data.ndim >= 2}
calibration = {k: v for k, v in synthetic_weights(n=5000, seed=0).items() if "μ" not in k}
rows = gaussianity_report({**trained, **initial, **calibration}, seed=0)

print(f"{'layer':<26} {'n':>6} {'W':>7} {'p':>9} {'kurtosis':>9} {'μ/σ':>7} {'eq. 7 − centroid':>17} "
      f"{'Gaussian eq. 4 − centroid':>26}")
for r in rows:
    eq4 = tg.centroid_eq4(r["mean"], r["std"], r["delta"])   # both tails, under N(μ, σ²)
    print(f"{r['layer']:<26} {r['n']:>6} {r['shapiro_w']:7.4f} {r['shapiro_p']:9.1e} "
          f"{r['excess_kurtosis']:+9.2f} {r['mean'] / r['std']:+7.3f} {100 * r['gap']:+16.1f}% "
          f"{100 * (eq4 / r['centroid'] - 1):+25.1f}%")

fig, axes = plt.subplots(1, len(trained), figsize=(4 * len(trained), 3))
for ax, (name, weights) in zip(axes, trained.items()):
    r = next(r for r in rows if r["layer"] == name)
    ax.hist(weights.ravel(), bins=60, density=True, alpha=0.4)
    xs = np.linspace(weights.min(), weights.max(), 300)
    ax.plot(xs, stats.norm.pdf(xs, r["mean"], r["std"]), "r")
    ax.set_title(f"{name} {weights.shape}\nW = {r['shapiro_w']:.3f}, p = {r['shapiro_p']:.1e}", fontsize=9)
plt.tight_layout(); plt.show()
"""),
    md(r"""
What to take from the table (the kurtosis of a uniform law is $-1.2$, of a Gaussian 0):

* **Training makes the weights bell-shaped, fast.** At initialization every layer is uniform (kurtosis
  $\approx -1.2$). After two epochs the three large layers have kurtosis within 0.3 of 0 and $W \ge 0.99$. The first
  layer (288 weights, kept in full precision) has barely moved.
* **$W \ge 0.82$ is a weak criterion.** The *uniform* initialization already scores $W \approx 0.95$, and so
  do the synthetic uniform and Laplace layers. Only the heavy-tailed Student-t(3) falls below 0.82.
  The p-values reject normality for every large trained layer: with 5,000 weights, Shapiro–Wilk detects
  even small departures. A normality test answers the wrong question here. What matters is whether the
  Gaussian formula gives the right *scale*.
* **The scale error of the trained layers comes mostly from $\mu$, not from the shape.** Eq. 7 is the mean
  of the upper tail, $\mu + \sigma\lambda$. Eq. 4 (the centroid of $|w|$ over both tails) is $\sigma\lambda$ (§2).
  With $|\mu|/\sigma$ between 0.06 and 0.1 and $\delta$ small, eq. 7 misses the centroid by 5–9 %. The same
  Gaussian model evaluated as eq. 4 (last column) is within 0.2 % for the three bell-shaped trained layers.
  For the uniform-like layers it is off by 3–6 %, which is the real cost of a wrong shape.

### Exercise 3: ternarize by hand

Write `ternarize(w, delta)`. It returns seed 001's $\hat w = S(\mu,\sigma,\delta^c)\,\mathrm{Tern}(w,\mu,\delta^c)$ with
$\mu$ the mean of `w`, $\sigma$ its standard deviation with `ddof=1` (PyTorch's `w.std()`, as in the
paper's Algorithm 1) and $\delta^c = \mathrm{hardtanh}(|\delta|, 0, 3\sigma)$. The check compares it with
tinyquant's quantizer for thresholds inside, on and beyond the clipping range, including a negative one.
"""),
    code(r"""
def ternarize(w, delta):
    # solution — try it yourself first
    mu, sigma = w.mean(), w.std(ddof=1)
    dc = np.clip(abs(delta), 0.0, 3 * sigma)                             # eq. 9
    S = mu + sigma * np.sqrt(2 / np.pi) / special.erfcx(dc / sigma / np.sqrt(2))   # eq. 10
    tern = (w > mu + dc).astype(float) - (w < mu - dc)                   # eq. 11
    return S * tern                                                      # eq. 2
"""),
    code(r"""
check_rng = np.random.default_rng(42)
for shape, loc, scale in [((32, 16, 3, 3), 0.003, 0.04), ((10, 256), -0.01, 0.2), ((500,), 0.0, 1.0)]:
    w_check = check_rng.normal(loc, scale, size=shape)
    sigma_check = w_check.std(ddof=1)
    for delta_ in (0.0, 0.3 * sigma_check, -1.1 * sigma_check, 2.9 * sigma_check, 5 * sigma_check):
        delta32 = float(np.float32(delta_))           # tinyquant stores δ as a float32 parameter
        qz = get_quantizer("truncated_gaussian_ternary")
        qz.delta.data[...] = delta32
        qz.initialized[...] = True
        expected = qz.quantize(w_check)
        got = ternarize(w_check, delta32)
        assert got.shape == w_check.shape, (got.shape, w_check.shape)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12,
                                   err_msg=f"shape {shape}, δ = {delta32:g} (σ = {sigma_check:g})")
print("exercise 3: correct for 3 tensors × 5 thresholds (clipped and negative included)")
"""),
    md(r"""
## Summary

* Ternarization is $\hat w = S\cdot\mathrm{Tern}(w)$. The best scale for a given support is the centroid of the
  kept weights, and under a Gaussian model it has the closed form $S = \mu + \sigma\lambda(\delta/\sigma)$.
* Evaluate $\lambda$ as $\sqrt{2/\pi}/\mathrm{erfcx}(\alpha/\sqrt2)$. The textbook $\varphi/(1-\Phi)$ is wrong from
  $\alpha \approx 5$ and infinite from $\alpha \approx 8.3$. $\partial S/\partial\delta = \lambda(\lambda - \alpha) \in (0, 1)$.
* Clipping $\delta$ into $(0, 3\sigma)$ makes $S$ even and flat beyond $3\sigma$. The threshold then stops
  receiving gradient there.
* Gradient correctness ($\partial\mathrm{Tern}/\partial w = 1/S$) removes a factor $S \ll 1$ from every weight gradient.
* The threshold learns only through $S$. Sparsity follows $\delta/\sigma$.
* Shapiro–Wilk's $W \ge 0.82$ is a weak criterion: a uniform layer passes it. Compare the closed-form $S$
  with the empirical centroid instead.
"""),
    code(r"""
print(f"notebook ran in {time.perf_counter() - notebook_start:.1f} s")
"""),
]


# =====================================================================================
# 10 — STE geometry and AB-STE (seeds 004 and 000)
# =====================================================================================

GEOMETRY = [
    md(r"""
# 10 · The geometry of straight-through estimators, and AB-STE

A binary network computes with $\mathrm{sign}(w)$, whose derivative is 0 almost everywhere. A
**straight-through estimator** keeps the exact forward and, in the backward pass only, replaces
$\mathrm{sign}'$ by the derivative $F'$ of a *soft forward* $F \approx \mathrm{sign}$. Seed 000 compares eleven such
estimators. Seed 004 proposes two new ones, AB-Tanh and AB-ArcTan, which blend the identity with a
sigmoid-like curve by a factor $f$ that grows during training. It also states two lemmas about them.
This notebook looks at the shape of these functions and checks the lemmas numerically.

**Learning goals.** After this notebook you can

1. say exactly what an STE changes in backprop, and verify it on tinyquant's `binary_connect`;
2. read any estimator as a pair $(F, F')$ and compare estimators by their geometry: peak, mass, width;
3. draw seed 004's Fig. 3 for AB-Tanh and AB-ArcTan, $f \in \{0, 0.2, \dots, 1\}$;
4. turn a sign estimator into one for a multi-level staircase (the staircase rule);
5. test Lemma 1 (the variance of $F'$) and Lemma 2 (the Lipschitz constant of $F'$) numerically, find what
   the paper got wrong, and derive the correct statements;
6. watch $f$ follow its schedule $0.2 \to 0.8$ in a real training run.

Exercises end in `# solution — try it yourself first`. Delete the body, write your own, and run the check
cell. The checks compare your code with tinyquant, with a finite difference or with quadrature.
"""),
    code(r"""
import math
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy import integrate, stats

import tinyquant as tq
from tinyquant.quant import STES, get_quantizer, get_ste, staircase_derivative
from toy_problems import ste_analysis

warnings.filterwarnings("ignore", message="IProgress not found")   # tqdm outside Jupyter widgets
notebook_start = time.perf_counter()
print("numpy", np.__version__, "| tinyquant", tq.__version__, "|", len(STES), "registered STEs:", ", ".join(STES))
"""),
    md(r"""
## 1. What an STE is

Forward: $w_b = \mathrm{sign}(w)$ (tinyquant takes $\mathrm{sign}(0) = +1$; a binary weight is never 0).
Backward: the exact derivative would be $\partial L/\partial w = \partial L/\partial w_b \cdot 0$. The STE
replaces it by

$$\frac{\partial L}{\partial w} \;\approx\; \frac{\partial L}{\partial w_b}\cdot F'(w).$$

$F$ never enters the forward pass. It is only the curve whose slope we pretend `sign` has. The cell
binarizes a ramp with tinyquant's `binary_connect` quantizer and three estimators. It then checks that
the forward is `sign` in all three cases, and that the gradient reaching $w$ is exactly $F'(w)$ times the
upstream gradient.
"""),
    code(r"""
ramp = np.linspace(-2, 2, 801)
upstream = np.random.default_rng(0).uniform(0.5, 1.5, ramp.shape)      # some ∂L/∂w_b
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(ramp, np.where(ramp >= 0, 1, -1), "k", lw=2, label="forward: sign(w), for every STE")
for name in ("clipped", "tanh", "ab_tanh"):
    quantizer = get_quantizer("binary_connect", ste=name)
    w = tq.Tensor(ramp.copy(), requires_grad=True)
    w_b = quantizer(w)
    (w_b * tq.Tensor(upstream)).sum().backward()
    assert np.array_equal(w_b.data, np.where(ramp >= 0, 1.0, -1.0))
    np.testing.assert_allclose(w.grad, upstream * get_ste(name).dF(ramp), rtol=1e-12)
    axes[0].plot(ramp, get_ste(name).F(ramp), lw=1, label=f"F of {name} (never used forward)")
    axes[1].plot(ramp, w.grad / upstream, label=f"{name}: ∂L/∂w ÷ ∂L/∂w_b")
axes[0].legend(fontsize=7); axes[1].legend(fontsize=8); axes[1].set_xlabel("w"); axes[0].set_xlabel("w")
plt.tight_layout(); plt.show()
print("the backward of binary_connect is upstream × F'(w) for each STE")
"""),
    md(r"""
## 2. Every registered STE, and its geometry

Each estimator is written for `sign`, so where it saturates $F$ runs from −1 to +1. Its derivative then
has **mass** $\int F' = F(\infty) - F(-\infty) = 2$, the height of the step it imitates. Estimators differ in
how they spend that mass. A tall narrow peak, like $\tanh(kx)$ with large $k$, is faithful to `sign` but
gives most weights almost no gradient. A flat wide window gives every weight a gradient that says
little about the step. The numbers below describe each shape:

* $F'(0)$: the peak (for `sign`, $\infty$);
* mass on $[-3, 3]$: $\int_{-3}^{3}F'(x)\,dx$ (for the identity it grows without bound);
* $\mathbb E[F'(X)]$ and $P(F'(X) > 0.01)$ for $X\sim\mathcal N(0,1)$: the mean gradient gain, and the
  fraction of standardized weights that receive any gradient.

Scheduled estimators (`ab_tanh`, `ab_arctan`, `ede`, `reste`) are shown at their starting parameters.
"""),
    code(r"""
x = np.linspace(-8, 8, 16_001)                  # a 0.001 grid; N(0, 1) has no mass beyond ±8
gauss, inner = stats.norm.pdf(x), np.abs(x) <= 3
names = list(STES)
fig, axes = plt.subplots(2, 7, figsize=(17, 5), sharex=True)
print(f"{'STE':<11} {'F′(0)':>7} {'∫F′ on [−3,3]':>14} {'E[F′(X)]':>9} {'P(F′(X) > 0.01)':>16}")
for ax, name in zip(axes.flat, names):
    ste = get_ste(name)
    dF = ste.dF(x)
    ax.plot(x[inner], np.where(x[inner] >= 0, 1, -1), color="0.8", lw=2)
    ax.plot(x[inner], ste.F(x[inner]), label="F")
    ax.plot(x[inner], dF[inner], label="F′")
    ax.set_ylim(-1.7, 3.2); ax.set_title(name, fontsize=10)
    mass = np.trapezoid(dF[inner], x[inner])
    print(f"{name:<11} {float(ste.dF(0.0)):7.3f} {mass:14.3f} {np.trapezoid(dF * gauss, x):9.3f} "
          f"{np.trapezoid((dF > 0.01) * gauss, x):16.3f}")
    if name in ("clipped", "polynomial", "tanh", "sigmoid", "swish"):   # saturating: mass = F(3) − F(−3) ≈ 2
        assert abs(mass - (ste.F(3.0) - ste.F(-3.0))) < 2e-3            # (trapezoid rule on a 0.001 grid)
axes.flat[-1].axis("off"); axes.flat[0].legend(fontsize=8)
fig.suptitle("soft forward F (blue) and surrogate derivative F′ (orange) of every registered STE; grey: sign")
plt.tight_layout(); plt.show()
"""),
    md(r"""
Seed 000's poster finds no significant difference in *final* accuracy between such estimators
(a 0.35 pp spread over eleven STEs, TTQ and XNOR on ResNet-20). It does find differences in how
*stable* fine-tuning is: `polynomial` is smoothest for ternary weights and `sigmoid` for binary ones. The
geometry above is what differs between them.

## 3. AB-Tanh and AB-ArcTan (seed 004, Fig. 3)

$$\text{AB-Tanh:}\quad F(x) = (1-f)\,x + f\tanh(kx),\qquad F'(x) = (1-f) + f\,k\,\mathrm{sech}^2(kx)\qquad\text{(eqs. 3–4)}$$

$$\text{AB-ArcTan:}\quad F(x) = \tfrac{1-f}{2}\,x + \tfrac{f}{\arctan 2k}\arctan(kx),\qquad
F'(x) = \tfrac{1-f}{2} + \frac{f\,k}{\arctan(2k)\,(1+k^2x^2)}\qquad\text{(eqs. 5–6)}$$

Both use $k = 10$. At $f = 0$, AB-Tanh is the identity STE. At $f = 1$ it is $\tanh(kx)$, whose
derivative peaks at $F'(0) = k = 10$. The blend is a *floor* of $1-f$ under a peak of height $fk$.
AB-ArcTan as printed is normalized so that $F(\pm 2) = \pm 1$ for every $f$; at $f = 0$ it is therefore
$x/2$, not the identity. tinyquant keeps the paper's constants.
"""),
    code(r"""
xs = np.linspace(-1.5, 1.5, 3001)
blend = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
fig, axes = plt.subplots(2, 2, figsize=(11, 6.5))
for row, name in enumerate(("ab_tanh", "ab_arctan")):
    for f in blend:
        ste = get_ste(name, f=f, k=10.0)
        axes[row, 0].plot(xs, ste.F(xs), label=f"f = {f:.1f}")
        axes[row, 1].plot(xs, ste.dF(xs), label=f"f = {f:.1f}")
    axes[row, 0].plot(xs, np.where(xs >= 0, 1, -1), color="0.7", lw=1, ls="--")
    axes[row, 0].set_title(f"{name}: F(x), k = 10"); axes[row, 1].set_title(f"{name}: F′(x)")
    axes[row, 1].set_yscale("log"); axes[row, 0].legend(fontsize=7)
fig.suptitle("seed 004, Fig. 3 (and its AB-ArcTan counterpart)")
plt.tight_layout(); plt.show()
"""),
    md(r"""
### Exercise 1: AB-Tanh's backward

Write `ab_tanh_grad(x, f, k)` $= F'(x)$ for AB-Tanh. It must work on arrays and must not overflow for
large $|x|$: $\cosh(kx)$ overflows float64 once $|kx| > 710$, while $\mathrm{sech}^2(kx) = 1 - \tanh^2(kx)$
does not. The check compares it with tinyquant's estimator and with a central difference of
tinyquant's $F$.
"""),
    code(r"""
def ab_tanh_grad(x, f, k=10.0):
    # solution — try it yourself first
    t = np.tanh(k * np.asarray(x, dtype=float))
    return (1 - f) + f * k * (1 - t * t)            # sech² = 1 − tanh²
"""),
    code(r"""
grid = np.concatenate([np.linspace(-3, 3, 1201), [-1e3, -80.0, 80.0, 1e3]])
for f in (0.0, 0.2, 0.5, 0.8, 1.0):
    for k in (1.0, 10.0, 30.0):
        ste = get_ste("ab_tanh", f=f, k=k)
        ours = ab_tanh_grad(grid, f, k)
        assert np.all(np.isfinite(ours)), "overflow for large |x|"
        with np.errstate(over="ignore"):   # tinyquant squares cosh(700) = inf; 1/inf = 0 is still right
            reference = ste.dF(grid)
        np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-12)
        h = 1e-6
        numeric = (ste.F(grid + h) - ste.F(grid - h)) / (2 * h)
        np.testing.assert_allclose(ours, numeric, rtol=1e-6, atol=1e-6)
print("exercise 1: correct for 15 (f, k) pairs, tails included")
"""),
    md(r"""
## 4. The staircase rule: one STE for every quantizer

A $b$-bit quantizer is a staircase $Q(x) = c + \sum_k h_k H(x - t_k)$, with thresholds $t_k$, step heights
$h_k$ and $H$ the Heaviside step. Since $\mathrm{sign}(x) = -1 + 2H(x)$ is a single step of height 2, each step
is $(h_k/2)\,\mathrm{sign}(x - t_k)$ plus a constant. Each step therefore gets the sign estimator, centred
on its threshold, scaled by its height and stretched to a width $s$:

$$\tilde Q(x) = c' + \sum_k \frac{h_k}{2}\,F\!\Big(\frac{x - t_k}{s}\Big),\qquad
\tilde Q'(x) = \sum_k \frac{h_k}{2s}\,F'\!\Big(\frac{x - t_k}{s}\Big).$$

Below is a 2-bit staircase with levels $\{-1.5, -0.5, 0.5, 1.5\}\cdot\Delta$ and thresholds
$\{-\Delta, 0, \Delta\}$, with the AB-Tanh kernel at width $s = \Delta/2$ for several $f$. The check confirms
that tinyquant's `staircase_derivative` is the derivative of the soft staircase $\tilde Q$ built from
$F$. (Notebook 07 shows the same rule with the clipped kernel, which reproduces UniQ's STE.)
"""),
    code(r"""
step = 0.5
thresholds, heights, width = np.array([-step, 0.0, step]), np.full(3, step), step / 2
xq = np.linspace(-1.5, 1.5, 30_001)
staircase = -1.5 * step + step * np.sum(xq[:, None] >= thresholds, axis=1)

fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
axes[0].plot(xq, staircase, "k", lw=2, label="2-bit staircase Q")
for f in (0.2, 0.5, 0.8, 1.0):
    kernel = get_ste("ab_tanh", f=f, k=10.0)
    soft = np.sum(heights / 2 * kernel.F((xq[:, None] - thresholds) / width), axis=1)   # c' = 0 here
    soft_grad = staircase_derivative(kernel, xq, thresholds, heights, width)
    axes[0].plot(xq, soft, lw=1, label=f"Q̃, f = {f}")
    axes[1].plot(xq, soft_grad, lw=1, label=f"Q̃′, f = {f}")
    numeric = np.gradient(soft, xq)
    np.testing.assert_allclose(soft_grad[1:-1], numeric[1:-1], rtol=1e-4, atol=1e-4)
axes[0].legend(fontsize=7); axes[1].legend(fontsize=7)
axes[0].set_title("forward staircase and the soft staircase the STE imitates")
axes[1].set_title("staircase rule with the AB-Tanh kernel (s = Δ/2)")
plt.tight_layout(); plt.show()
"""),
    md(r"""
## 5. Lemma 1: does the variance of $F'$ shrink as $f$ grows?

Seed 004, §3.2, **Lemma 1 (as printed)**: *"The variance of the gradient $F'(x)$ decreases as the blending
factor $f$ increases from 0 to 1, resulting in a smoother gradient update."* Its proof begins: *"When
$f = 0$, $F'(x) = 1$, which results in no variance."*

Test it before reading on. Take inputs $X \sim \mathcal N(0, \sigma^2)$. Use $\sigma = 1$ for standardized
weights and $\sigma = 0.05$ for latent weights of a typical layer. Compute $\mathrm{Var}[F'(X)]$ by quadrature
(`toy_problems.ste_analysis.gaussian_variance_of_derivative`) and by Monte Carlo, for
$f = 0, 0.1, \dots, 1$.
"""),
    code(r"""
fs = np.round(np.linspace(0, 1, 11), 2)
sample = np.random.default_rng(1).standard_normal(400_000)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
variance = {}
for ax, name in zip(axes, ("ab_tanh", "ab_arctan")):
    for sigma in (1.0, 0.3, 0.05):
        quad = [ste_analysis.gaussian_variance_of_derivative(name, f, k=10.0, sigma=sigma) for f in fs]
        mc = [np.var(get_ste(name, f=f, k=10.0).dF(sigma * sample)) for f in fs]
        variance[name, sigma] = np.array(quad)
        ax.plot(fs, quad, marker="o", label=f"quadrature, σ = {sigma}")
        ax.plot(fs, mc, "k+", ms=8)
    ax.set_xlabel("blending factor f"); ax.set_ylabel("Var[F′(X)],  X ~ N(0, σ²)")
    ax.set_title(f"{name} (k = 10);  +: Monte Carlo"); ax.legend(fontsize=8); ax.grid(alpha=0.3)
plt.tight_layout(); plt.show()

for sigma in (1.0, 0.3, 0.05):
    v = variance["ab_tanh", sigma]
    print(f"AB-Tanh, σ = {sigma:<4}: Var[F′] at f = 0, 0.5, 1: {v[0]:.3g}, {v[5]:.4g}, {v[10]:.4g};"
          f"  Var(f)/Var(1) ÷ f² = {np.round(v[1:] / v[10] / fs[1:] ** 2, 6)}")
"""),
    md(r"""
The variance is 0 at $f = 0$, as the lemma's own proof says, and it **grows** with $f$. The last printed
ratio is 1 at every $f$, so it grows exactly like $f^2$. The reason is one line. The constant part $1-f$
of $F'$ has no variance, and a constant factor comes out of a variance squared:

$$\mathrm{Var}[F'(X)] = \mathrm{Var}\big[(1-f) + f\,k\,\mathrm{sech}^2(kX)\big] = f^2\,k^2\;\mathrm{Var}\big[\mathrm{sech}^2(kX)\big].$$

For AB-ArcTan, likewise, $\mathrm{Var}[F'] = f^2k^2/\arctan^2(2k)\cdot\mathrm{Var}[1/(1+k^2X^2)]$. This holds for
*any* input law, and so for trained weights too. The statement of Lemma 1 is backwards. What does hold
is the opposite trade-off: a small $f$ gives uniform, low-variance gradients (the identity STE), and a
large $f$ gives gradients that are faithful to `sign` near 0 and therefore vary a lot across weights. The
schedule $f: 0.2 \to 0.8$ starts stable and ends faithful.

### Exercise 2: the variance by Monte Carlo, against the closed form

Write `monte_carlo_variance(f, k, n, seed)`. It draws $n$ samples $X\sim\mathcal N(0,1)$ from
`np.random.default_rng(seed)` and returns the sample variance of AB-Tanh's $F'(X)$ (tinyquant's `dF`, or
your exercise 1 function). The check computes the closed form $f^2k^2\,\mathrm{Var}[\mathrm{sech}^2(kX)]$ by
quadrature. It allows five standard errors of the sample variance, $\sqrt{(\mu_4 - v^2)/n}$ with $\mu_4$ the
fourth central moment, also from quadrature.
"""),
    code(r"""
def monte_carlo_variance(f, k=10.0, n=200_000, seed=0):
    # solution — try it yourself first
    x = np.random.default_rng(seed).standard_normal(n)
    return float(np.var(get_ste("ab_tanh", f=f, k=k).dF(x)))
"""),
    code(r"""
def gaussian_moment(g, power=1):
    # E[g(X)^power] for X ~ N(0, 1), split at the kernel's scale so quad sees the peak
    edges = [-12, -1, -0.1, 0, 0.1, 1, 12]
    return sum(integrate.quad(lambda t: g(t) ** power * stats.norm.pdf(t), a, b, limit=200)[0]
               for a, b in zip(edges, edges[1:]))


for k in (3.0, 10.0):
    sech2 = lambda t: 1 / math.cosh(k * t) ** 2
    m1, m2 = gaussian_moment(sech2), gaussian_moment(sech2, 2)
    var_sech2 = m2 - m1 ** 2
    centred = lambda t: sech2(t) - m1
    mu4_sech2 = gaussian_moment(centred, 4)
    for f in (0.2, 0.5, 0.8, 1.0):
        closed = f ** 2 * k ** 2 * var_sech2
        se = f ** 2 * k ** 2 * math.sqrt((mu4_sech2 - var_sech2 ** 2) / 200_000)
        got = monte_carlo_variance(f, k, n=200_000, seed=3)
        assert abs(got - closed) < 5 * se, (f, k, got, closed, se)
        assert math.isclose(closed, ste_analysis.gaussian_variance_of_derivative("ab_tanh", f, k), rel_tol=1e-6)
    assert monte_carlo_variance(0.0, k) < 1e-20                       # f = 0: the identity, no variance
print("exercise 2: Monte Carlo agrees with f²k²·Var[sech²(kX)] within 5 standard errors")
"""),
    md(r"""
## 6. Lemma 2: how sharply can $F'$ change?

**Lemma 2 (as printed)**: $F'$ is Lipschitz with $L \le f k^2$, and the proof gives
$F''(x) = f\,k^2\,\mathrm{sech}^2(kx)\tanh(kx)$. Differentiate eq. 4 yourself, using
$\frac{d}{du}\mathrm{sech}^2 u = -2\,\mathrm{sech}^2u\,\tanh u$:

$$F''(x) = -2\,f\,k^2\,\mathrm{sech}^2(kx)\,\tanh(kx).$$

The printed formula misses the factor $-2$. Is the bound still right? Put $u = \tanh(kx) \in (-1, 1)$, so
that $|F''| = 2fk^2\,|u|(1-u^2)$. The maximum is at $u^2 = 1/3$:

$$L = \max_x |F''(x)| = 2fk^2\cdot\frac{1}{\sqrt3}\cdot\frac23 = \frac{4}{3\sqrt3}\,f\,k^2 \approx 0.770\,f\,k^2 \;\le\; f\,k^2 .$$

The bound survives, but only because $\mathrm{sech}^2\cdot\tanh$ never reaches 1. Taken literally, the printed
$F''$ would give $L = 0.385\,fk^2$, which is too small by a factor of 2. For AB-ArcTan,
$F'' = -2fk^3x/(\arctan(2k)(1+k^2x^2)^2)$, maximal at $kx = 1/\sqrt3$:
$L = \frac{3\sqrt3}{8}\,fk^2/\arctan(2k) \approx 0.427\,fk^2$ at $k = 10$.

### Exercise 3: $F''$ and its maximum

Write `ab_tanh_second_derivative(x, f, k)`. The check compares it with a central difference of tinyquant's
$F'$. It then checks that its maximum modulus on a fine grid is $\frac{4}{3\sqrt3}fk^2$, and that this is
what `toy_problems.ste_analysis` measures independently.
"""),
    code(r"""
def ab_tanh_second_derivative(x, f, k=10.0):
    # solution — try it yourself first
    t = np.tanh(k * np.asarray(x, dtype=float))
    return -2 * f * k ** 2 * (1 - t * t) * t
"""),
    code(r"""
xs = np.linspace(-1.5, 1.5, 300_001)
for f in (0.2, 0.5, 1.0):
    for k in (1.0, 3.0, 10.0):
        ste = get_ste("ab_tanh", f=f, k=k)
        h = 1e-6 / k
        numeric = (ste.dF(xs + h) - ste.dF(xs - h)) / (2 * h)
        ours = ab_tanh_second_derivative(xs, f, k)
        np.testing.assert_allclose(ours, numeric, rtol=1e-5, atol=1e-5 * f * k ** 2)
        bound = 4 / (3 * math.sqrt(3)) * f * k ** 2
        grid = np.linspace(-3 / k, 3 / k, 300_001)        # fine enough to land within 1e-9 of the peak
        assert math.isclose(np.abs(ab_tanh_second_derivative(grid, f, k)).max(), bound, rel_tol=1e-8)
        assert math.isclose(bound, ste_analysis.lipschitz_closed_form("ab_tanh", f, k), rel_tol=1e-12)
        assert bound <= f * k ** 2                        # Lemma 2's bound holds
print("exercise 3: F'' = −2fk²·sech²·tanh and max|F''| = 4/(3√3)·f·k² ≈ 0.770·f·k²")
"""),
    code(r"""
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
xx = np.linspace(-0.4, 0.4, 2001)
for f in (0.2, 0.5, 1.0):
    axes[0].plot(xx, ab_tanh_second_derivative(xx, f) / 100, label=f"f = {f}: F″ / k²")
axes[0].plot(xx, np.tanh(10 * xx) / np.cosh(10 * xx) ** 2, "k:", label="printed F″ / k² (f = 1)")
axes[0].axhline(-4 / (3 * math.sqrt(3)), color="0.6", lw=0.8); axes[0].axhline(4 / (3 * math.sqrt(3)), color="0.6", lw=0.8)
axes[0].set_title("AB-Tanh, k = 10 (grey: ±4/(3√3))"); axes[0].legend(fontsize=7); axes[0].set_xlabel("x")

for name, marker in (("ab_tanh", "o"), ("ab_arctan", "s")):
    for k in (1.0, 3.0, 10.0):
        measured = [ste_analysis.lipschitz_constant(name, f, k, points=40_001) / (f * k * k) for f in (0.2, 0.6, 1.0)]
        axes[1].plot((0.2, 0.6, 1.0), measured, marker=marker, ls="-", label=f"{name}, k = {k:g}")
axes[1].axhline(1.0, color="k", ls="--", lw=1); axes[1].text(0.22, 0.94, "Lemma 2's bound f·k²", fontsize=8)
axes[1].set_ylim(0, 1.1); axes[1].set_xlabel("f"); axes[1].set_ylabel("measured L / (f·k²)")
axes[1].set_title("Lipschitz constant of F′, measured by finite differences"); axes[1].legend(fontsize=7)
plt.tight_layout(); plt.show()
"""),
    md(r"""
The ratio $L/(fk^2)$ is flat in $f$: $L$ is exactly linear in $f$. For AB-Tanh it is $0.770$ for every $k$.
For AB-ArcTan it is $\frac{3\sqrt3}{8}/\arctan(2k)$, which depends on $k$ through the normalization.

## 7. The scheduled $f$ over training

Seed 004 raises $f$ linearly from 0.2 to 0.8 over training (§4.3). In tinyquant the `STEScheduler`
callback sets $f = 0.2 + 0.6\,p$ after every optimizer step, where $p$ is the fraction of training done.
`tinyquant train --quantizer xnor --ste ab_tanh` adds it automatically. Below, a binary MLP on the 8×8
digits (both hidden layers binarized, seed 004's setting of binary weights and full-precision
activations) trains for 3 epochs. After each step we record $f$ and, per layer, $\mathrm{Var}[F'(w)]$ over the
layer's latent weights: Lemma 1 on real weights. `train_and_record` is exactly `tinyquant train` plus a
recording callback.
"""),
    code(TRAIN_AND_RECORD),
    code(r"""
from tinyquant.nn.layers import quantizable_layers

log = {"step": [], "progress": [], "f": [], "var": []}


def record_blend(trainer):
    layers = [layer for layer in quantizable_layers(trainer.model) if layer.weight_quantizer is not None]
    ste = layers[0].weight_quantizer.ste
    log["step"].append(trainer.global_step)
    log["progress"].append(trainer.progress)
    log["f"].append(ste.f)
    log["var"].append([float(np.var(ste.dF(layer.weight.data))) for layer in layers])


start = time.perf_counter()
model, history = train_and_record(record_blend, model="mlp", quantizer="xnor", ste="ab_tanh",
                                  keep_first=False, epochs=3)
log = {key: np.array(value) for key, value in log.items()}
print(f"trained in {time.perf_counter() - start:.1f} s; test accuracy per epoch:",
      [round(h["test_accuracy"], 4) for h in history])
np.testing.assert_allclose(log["f"], 0.2 + 0.6 * log["progress"], rtol=1e-12)   # the schedule, step by step
assert math.isclose(log["f"][-1], 0.8)
"""),
    code(r"""
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
axes[0].plot(log["step"], log["f"], label="f recorded in the quantizer's STE")
axes[0].plot(log["step"], 0.2 + 0.6 * log["step"] / log["step"][-1], "k:", label="0.2 + 0.6·p")
axes[0].set_xlabel("optimizer step"); axes[0].set_title("blending factor f"); axes[0].legend(fontsize=8)
for j in range(log["var"].shape[1]):
    axes[1].plot(log["f"], log["var"][:, j], label=f"binarized layer {j + 1}: Var[F′(w)]")
f_line = np.linspace(0.2, 0.8, 50)
axes[1].plot(f_line, log["var"][-1, 0] * (f_line / 0.8) ** 2, "k:", label="∝ f² through the last point")
axes[1].set_xlabel("f"); axes[1].set_title("Lemma 1 on the latent weights during training")
axes[1].legend(fontsize=8)
plt.tight_layout(); plt.show()
"""),
    md(r"""
On real weights too, the variance of the surrogate gradient rises with $f$, and it follows $f^2$ closely.
By the identity of §5 it would be exactly $f^2$ at fixed weights. Only the (small) movement of the latent
weights during the run can bend the curve.

## Summary

* An STE changes only the backward pass: $\partial L/\partial w = \partial L/\partial w_b\cdot F'(w)$. The forward
  stays `sign`.
* A sign estimator's $F'$ carries mass 2. Estimators differ in how they spread it: a tall peak is faithful,
  a wide floor is stable.
* The staircase rule reuses any sign estimator for a multi-level quantizer: one scaled kernel per step.
* **Lemma 1** as printed is backwards. $\mathrm{Var}[F'(X)] = f^2k^2\,\mathrm{Var}[\mathrm{sech}^2(kX)]$ grows like $f^2$.
* **Lemma 2** holds, although the printed $F''$ lacks a factor $-2$. The exact constant is
  $L = \frac{4}{3\sqrt3}fk^2 \approx 0.770\,fk^2$ (AB-Tanh).
* Scheduling $f: 0.2\to0.8$ moves training from stable identity-like gradients toward sign-faithful ones.
"""),
    code(r"""
print(f"notebook ran in {time.perf_counter() - notebook_start:.1f} s")
"""),
]


if __name__ == "__main__":
    for name, cells in [("05_ternarization_with_trainable_thresholds", TERNARY),
                        ("10_ste_geometry_and_ab_ste", GEOMETRY)]:
        print("wrote", write_notebook(name, cells))
