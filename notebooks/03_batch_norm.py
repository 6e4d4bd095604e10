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
# # 03 · Batch normalization
#
# Batch normalization (Ioffe & Szegedy, 2015) standardizes each channel of a layer's output
# over the batch, then rescales it with learned $\gamma, \beta$. Binary and ternary networks
# lean on it heavily: $\operatorname{sign}$ only sees which side of zero a pre-activation falls
# on, and BN is what puts zero in a useful place and keeps the scale of every layer under
# control.
#
# **Learning goals.** After this notebook you can
#
# 1. compute the batch-norm forward pass by hand for NCHW inputs;
# 2. derive its backward pass, and explain why the gradient is orthogonal to $\mathbf 1$ and to $\hat x$;
# 3. state tinyquant's (PyTorch's) running-statistics convention precisely and reproduce it;
# 4. explain the difference between training and evaluation mode;
# 5. fold an evaluation-mode BN into the preceding convolution — what an inference engine
#    (and a quantized deployment) does;
# 6. see what BN does to activation distributions in a deep random network.
#
# **Exercises** are headed **Exercise N.M**. Each one's reference solution sits between
# `### BEGIN SOLUTION` and `### END SOLUTION` (the student edition has a stub there that raises
# `NotImplementedError`): write your own code in its place and run the cell that starts with
# `# Check exercise N.M`, which fails when your code is wrong.

# %%
import matplotlib.pyplot as plt
import numpy as np

import tinyquant as tq
import tinyquant.nn as nn
import tinyquant.nn.functional as F


# %% [markdown]
# ## 1. Forward
#
# For an input $x$ of shape $(N, C, H, W)$, each channel $c$ is normalized over its
# $m = N H W$ values (for an $(N, C)$ input, $m = N$):
#
# $$\mu_c = \frac1m \sum x, \qquad
#   \sigma^2_c = \frac1m \sum (x - \mu_c)^2 \quad(\text{biased: divide by } m),$$
#
# $$\hat x = \frac{x - \mu_c}{\sqrt{\sigma_c^2 + \varepsilon}}, \qquad
#   y = \gamma_c\, \hat x + \beta_c, \qquad \varepsilon = 10^{-5}.$$
#
# Right after normalization every channel has mean 0 and variance $\approx 1$; $\gamma$ and
# $\beta$ let the network undo that if it wants to (with $\gamma = \sigma$, $\beta = \mu$, BN is
# the identity).

# %%
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


# %% [markdown]
# ## 2. Backward, derived
#
# Work on one channel with values $x_1, \dots, x_m$, upstream gradient $g_k = \partial L/\partial y_k$,
# and $s = (\sigma^2 + \varepsilon)^{-1/2}$. The parameters are easy:
#
# $$\frac{\partial L}{\partial \beta} = \sum_k g_k, \qquad
#   \frac{\partial L}{\partial \gamma} = \sum_k g_k\, \hat x_k, \qquad
#   \frac{\partial L}{\partial \hat x_k} = \gamma\, g_k .$$
#
# The input is harder because **every** $\hat x_k$ depends on **every** $x_j$, through $\mu$
# and $\sigma^2$. With $\partial\mu/\partial x_j = 1/m$ and
# $\partial\sigma^2/\partial x_j = \frac2m (x_j - \mu)$ (the term through $\mu$ vanishes because
# $\sum_k (x_k - \mu) = 0$), and $\partial s/\partial\sigma^2 = -\tfrac12 s^3$:
#
# $$\frac{\partial \hat x_k}{\partial x_j}
#  = s\Big(\delta_{kj} - \frac1m\Big) - (x_k - \mu)\, \frac{s^3}{2}\, \frac{2}{m}(x_j - \mu)
#  = \frac{s}{m}\big(m\,\delta_{kj} - 1 - \hat x_k\, \hat x_j\big).$$
#
# Summing over $k$ against $\partial L/\partial\hat x_k = \gamma g_k$:
#
# $$\boxed{\;\frac{\partial L}{\partial x_j}
#  = \frac{\gamma\, s}{m}\Big(m\, g_j - \sum_k g_k - \hat x_j \sum_k g_k\, \hat x_k\Big)\;}$$
#
# **Reading the formula.** It is $\gamma s$ times $g$ with its mean removed and its component
# along $\hat x$ removed — an orthogonal projection. So per channel
# $\sum_j \partial L/\partial x_j = 0$ and $\sum_j \hat x_j\, \partial L/\partial x_j = 0$:
# BN's output does not change if you shift or scale its input, so the gradient has no
# component in those two directions. (The second holds exactly only for $\varepsilon = 0$:
# with $\varepsilon > 0$, $\sum_k \hat x_k^2 = m\,\sigma^2/(\sigma^2 + \varepsilon)$ is slightly
# less than $m$, and BN is only *almost* scale-invariant.)
#
# ### Exercise 3.1 — the backward by hand
#
# Write `batch_norm_backward(grad, x_hat, inv_std, gamma)` returning
# `(dx, dgamma, dbeta)` for NCHW inputs, vectorized over channels (`inv_std` has shape
# $(1, C, 1, 1)$, as `batch_norm_forward` returns it).

# %%
def batch_norm_backward(grad, x_hat, inv_std, gamma):
    ### BEGIN SOLUTION
    axes = (0, 2, 3)
    m = grad.size // grad.shape[1]                            # values per channel
    sum_g = grad.sum(axis=axes, keepdims=True)
    sum_g_xhat = (grad * x_hat).sum(axis=axes, keepdims=True)
    dx = gamma.reshape(1, -1, 1, 1) * inv_std / m * (m * grad - sum_g - x_hat * sum_g_xhat)
    return dx, sum_g_xhat.ravel(), sum_g.ravel()
    ### END SOLUTION


# %% [markdown]
# **Check**, four ways: (a) against tinyquant's fused `batch_norm` backward; (b) against
# autograd through the forward written with *primitive* tinyquant ops (mean, subtract,
# square root, …), which knows nothing of the closed form; (c) `gradcheck` — float64 central
# differences — of a `Function` made of your forward and your backward; (d) the two
# orthogonality properties derived above.

# %%
# Check exercise 3.1
class BatchNormByHand(tq.Function):  # your forward + backward as a Function, for gradcheck in (c)
    @staticmethod
    def forward(ctx, x, gamma, beta):
        y, (x_hat, inv_std) = batch_norm_forward(x, gamma, beta)
        ctx.save_for_backward(x_hat, inv_std, gamma)
        return y

    @staticmethod
    def backward(ctx, grad):
        return batch_norm_backward(grad, *ctx.saved)


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
x_small = rng.standard_normal((3, 2, 3, 3)) + 0.5
assert tq.gradcheck(lambda x_, g_, b_: BatchNormByHand.apply(x_, g_, b_), x_small, gamma[:2], beta[:2])

# (d) the gradient is orthogonal to 1, and — exactly when ε = 0 — to x̂, per channel
np.testing.assert_allclose(dx.sum(axis=(0, 2, 3)), 0, atol=1e-10)
_, (x_hat0, inv_std0) = batch_norm_forward(x, gamma, beta, eps=0.0)
dx0, _, _ = batch_norm_backward(g, x_hat0, inv_std0, gamma)
np.testing.assert_allclose((dx0 * x_hat0).sum(axis=(0, 2, 3)), 0, atol=1e-10)
print("batch_norm_backward matches tinyquant, primitive autograd and gradcheck; Σdx = 0, Σdx·x̂ = 0 at ε = 0.")


# %% [markdown]
# The classic mistake is to treat $\mu$ and $\sigma$ as constants, giving
# $\partial L/\partial x = \gamma s\, g$. It is what evaluation mode does (section 4) — but in
# training mode it is wrong, and the check catches it:

# %%
class BatchNormFrozenStats(BatchNormByHand):
    @staticmethod
    def backward(ctx, grad):
        x_hat, inv_std, gamma = ctx.saved
        dgamma, dbeta = (grad * x_hat).sum(axis=(0, 2, 3)), grad.sum(axis=(0, 2, 3))  # these two are right
        return gamma.reshape(1, -1, 1, 1) * inv_std * grad, dgamma, dbeta  # ignores ∂μ/∂x, ∂σ/∂x


x_frozen = np.random.default_rng(7).standard_normal((3, 2, 3, 3)) + 0.5
try:
    tq.gradcheck(lambda x_, g_, b_: BatchNormFrozenStats.apply(x_, g_, b_), x_frozen, gamma[:2], beta[:2])
except tq.GradcheckError as err:
    print("caught:", err)
else:
    raise AssertionError("gradcheck should reject a backward that ignores the batch statistics")


# %% [markdown]
# ## 3. Running statistics
#
# At test time there may be one image, or the batch may be unrepresentative, so BN keeps
# **running estimates** of each channel's mean and variance, updated at every training step.
# Conventions differ between libraries; tinyquant follows PyTorch, and every word matters:
#
# $$\text{running\_mean} \leftarrow (1 - m)\,\text{running\_mean} + m\,\mu_B, \qquad
#   \text{running\_var} \leftarrow (1 - m)\,\text{running\_var} + m\,\frac{n}{n-1}\,\sigma^2_B,$$
#
# with **momentum $m = 0.1$** weighting the *new* batch (Keras's `momentum=0.99` weights the
# *old* value — the same idea, the opposite convention), **$n$ values per channel**, and the
# **unbiased** batch variance in the running estimate (while the *biased* $\sigma_B^2$ normalizes
# the batch itself). The estimates start at mean 0 and variance 1.
#
# ### Exercise 3.2 — the running update
#
# Write `update_running_stats(running_mean, running_var, x, momentum=0.1)` for an NCHW
# batch, returning the new `(running_mean, running_var)`.

# %%
def update_running_stats(running_mean, running_var, x, momentum=0.1):
    ### BEGIN SOLUTION
    axes = (0, 2, 3)
    batch_mean = x.mean(axis=axes)
    batch_var_unbiased = x.var(axis=axes, ddof=1)  # divide by n − 1
    new_mean = (1 - momentum) * running_mean + momentum * batch_mean
    new_var = (1 - momentum) * running_var + momentum * batch_var_unbiased
    return new_mean, new_var
    ### END SOLUTION


# %% [markdown]
# **Check**: follow a `tinyquant.nn.BatchNorm2d` through six training steps on batches of
# different means and spreads. Then a closed form: fed the *same* batch $k$ times from the
# initial state, the estimates are
#
# $$\text{running\_mean}_k = (1 - 0.9^k)\,\mu_B, \qquad
#   \text{running\_var}_k = 0.9^k \cdot 1 + (1 - 0.9^k)\, s^2_B \quad (s^2_B \text{ unbiased}).$$

# %%
# Check exercise 3.2
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

# %% [markdown]
# Why the unbiased variance? With small batches the biased $\sigma_B^2$ underestimates the true
# variance by a factor $(n-1)/n$. Below, a `BatchNorm1d` sees 2,000 batches of only $n = 4$
# values from $\mathcal N(3, 2^2)$: the running variance fluctuates (an exponential average over
# about $1/m = 10$ batches) around the true $4$, not around the biased expectation $3$.

# %%
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
axes[0].set_ylabel("running mean"); axes[1].set_ylabel("running variance")
plt.tight_layout(); plt.show()

assert abs(long_run_var - 4) < 0.25, long_run_var  # ≈ 13 standard errors away from 3

# %% [markdown]
# ## 4. Training mode vs evaluation mode
#
# * **Training** (`module.train()`, the default): normalize with the *batch's* $\mu_B, \sigma_B^2$,
#   update the running estimates, and backpropagate through the statistics (section 2). A
#   sample's output depends on the **other samples in its batch**.
# * **Evaluation** (`module.eval()`): normalize with the running estimates, update nothing.
#   BN becomes a fixed per-channel affine map
#   $y = \gamma\,(x - \hat\mu)/\sqrt{\hat\sigma^2 + \varepsilon} + \beta$, each sample on its own,
#   with gradient $\gamma/\sqrt{\hat\sigma^2 + \varepsilon}$.
#
# A pitfall that follows: in training mode a batch of **one** $(1, C)$ vector has
# $x - \mu_B = 0$, so every output would be $\beta$, whatever the input; tinyquant refuses such
# a batch with a ValueError, as PyTorch does. Evaluate single samples in evaluation mode.

# %%
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

# a batch of one in training: x − μ = 0, so the output would be β whatever the input;
# tinyquant refuses it, as PyTorch does (the DataLoader folds a last batch of one away)
single = nn.BatchNorm1d(3)
try:
    single(tq.Tensor(rng.standard_normal((1, 3)).astype(np.float32)))
    raise AssertionError("a training batch of one should be refused")
except ValueError as error:
    print("training mode, batch of one:", error)


# %% [markdown]
# ### Exercise 3.3 — folding BN into the convolution
#
# In evaluation mode BN is affine per output channel, so a convolution followed by BN is
# **one** convolution with new weights:
#
# $$\text{BN}(W * x + b) = W' * x + b', \qquad
#   W'_{o} = W_{o}\,\frac{\gamma_o}{\sqrt{\hat\sigma_o^2 + \varepsilon}}, \qquad
#   b'_o = (b_o - \hat\mu_o)\,\frac{\gamma_o}{\sqrt{\hat\sigma_o^2 + \varepsilon}} + \beta_o .$$
#
# Inference engines do this, and it matters for quantization: a deployed low-bit network
# quantizes $W'$, whose per-channel ranges BN has rescaled — which is one reason quantized
# networks use per-channel scales.
#
# Write `fold_batch_norm(weight, bias, running_mean, running_var, gamma, beta, eps)`
# returning `(new_weight, new_bias)`.

# %%
def fold_batch_norm(weight, bias, running_mean, running_var, gamma, beta, eps=1e-5):
    ### BEGIN SOLUTION
    scale = gamma / np.sqrt(running_var + eps)            # (O,): one factor per output channel
    return weight * scale[:, None, None, None], (bias - running_mean) * scale + beta
    ### END SOLUTION


# %% [markdown]
# **Check**: a tinyquant `Conv2d` followed by a `BatchNorm2d` (trained statistics, non-trivial
# $\gamma, \beta$) in evaluation mode, against one `conv2d` with your folded parameters.

# %%
# Check exercise 3.3
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

# %% [markdown]
# ## 5. What BN does to activations in a deep network
#
# Ten random `Linear(64, 64, bias=False)` layers with tanh (a bias right before BN is
# cancelled by its mean subtraction, so such layers usually drop it), default initialization
# ($W \sim U(\pm 1/\sqrt{64})$), a batch of 512 standard-normal inputs, no training. Each layer
# multiplies the variance of the pre-activations by about $64 \cdot \tfrac{1}{3 \cdot 64} \cdot
# \mathbb E[\tanh^2] < \tfrac13$, so without BN the signal **shrinks geometrically**; with the
# weights 4× larger it instead **saturates** tanh (which would push every $\operatorname{sign}$
# gradient outside the STE's window $|x| \le 1$). With BN after each linear layer (training
# mode, batch statistics), every layer's pre-activations stay at mean 0, variance 1 — and
# because BN is invariant to the scale of its input, the 4× weights give *the same* network.

# %%
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
    ax.set_ylim(0, 1.2); ax.set_xlabel("pre-activation"); ax.set_ylabel("density"); ax.legend(fontsize=8)
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

# %% [markdown]
# (Off the chart on the left: the deep layers without BN are spikes at 0 — see their std.)
#
# ## Summary
#
# * Training-mode BN normalizes with batch statistics; its backward is $\gamma s$ times the
#   upstream gradient projected away from $\mathbf 1$ and $\hat x$ — forgetting the statistics'
#   dependence on $x$ is a bug gradcheck catches.
# * Convention: `running = (1 − m)·running + m·batch`, $m = 0.1$, unbiased variance in the
#   running estimate, biased in the normalization, $\varepsilon = 10^{-5}$ (PyTorch's).
# * Evaluation-mode BN is a per-channel affine map; it folds into the preceding layer.
# * BN keeps every layer's pre-activations at unit scale regardless of the weights' scale —
#   exactly what a network of $\operatorname{sign}$ functions and STEs needs.
