"""High-precision references for the sandbox's tail tests, written with mpmath from the
definitions (independent of the float64 code under test)."""

import mpmath as mp


def ramp(b):
    """J(b) = E[(b − ξ)⁺] = b Φ(b) + φ(b) for ξ ~ N(0, 1), at the current mp precision."""
    b = mp.mpf(b)
    return b * mp.ncdf(b) + mp.npdf(b)


def sr_transition_matrix(alpha, sigma, delta, grid, fprime, dps=400):
    """T_α of SR with Gaussian noise (rows i, columns j, as mpf), from the second differences of
    G_i(a) = c J((μ_i − a)/c) in ``dps`` digits: the linear part of G cancels exactly at this
    precision, so entries down to ~10^(20 − dps) are exact to many digits."""
    with mp.workdps(dps):
        k = len(grid)
        a_, d_ = mp.mpf(alpha), mp.mpf(delta)
        c = a_ * mp.mpf(sigma) / d_
        T = [[None] * k for _ in range(k)]
        for i in range(k):
            mu = i - a_ / d_ * mp.mpf(float(fprime[i]))
            G = [c * ramp((mu - a) / c) for a in range(-1, k + 1)]  # G[a + 1] = G_i(a)
            for j in range(1, k - 1):
                T[i][j] = G[j] - 2 * G[j + 1] + G[j + 2]
            T[i][0] = G[2] - G[1] + 1
            T[i][k - 1] = G[k - 1] - G[k]
        return T


def stationary_distribution(T, dps=400):
    """π with π T = π, Σ π = 1, by an LU solve of (Tᵀ − I) π = 0 with one row replaced by Σ π = 1,
    in ``dps`` digits (errors ~10^(−dps) relative to max π)."""
    with mp.workdps(dps):
        k = len(T)
        A = mp.matrix(k, k)
        for i in range(k):
            for j in range(k):
                A[i, j] = T[j][i] - (1 if i == j else 0)
        for j in range(k):
            A[k - 1, j] = 1
        b = mp.matrix(k, 1)
        b[k - 1] = 1
        x = mp.lu_solve(A, b)
        return [x[i] for i in range(k)]


def truncated_normal_mean(mu, sigma, delta, dps=50):
    """E[w | w > μ + δ] for w ~ N(μ, σ²), i.e. μ + σ φ(α)/Q(α) with α = δ/σ and
    Q(α) = erfc(α/√2)/2, from the definitions in ``dps`` digits (the float inputs taken as exact)."""
    with mp.workdps(dps):
        mu, sigma, delta = mp.mpf(mu), mp.mpf(sigma), mp.mpf(delta)
        alpha = delta / sigma
        return mu + sigma * mp.npdf(alpha) / (mp.erfc(alpha / mp.sqrt(2)) / 2)
