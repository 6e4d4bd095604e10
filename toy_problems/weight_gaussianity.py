"""How far Assumption 1 of seed 001 holds on real weights: Shapiro–Wilk per layer (seed 001, Fig. 2)
and the gap between the closed-form scale S (seed 001, eq. 7) and the empirical centroid.

For a layer with weights w (sample mean μ, standard deviation σ) and threshold δ (default
δ = 0.1·max|w|, seed 001's initialization, §IV), ternarization keeps the weights outside
[μ − δ, μ + δ]. The scale that minimizes the layer's quantization error for this support is the
empirical centroid (seed 001, eq. 4)::

    c = mean(|w_i| : |w_i − μ| > δ)

and seed 001 replaces it by its Gaussian value S(μ, σ, δ) = μ + σλ(δ/σ) (eq. 7). The report gives
both, their relative gap (S − c)/c, and the gap in standard errors of c, beside the Shapiro–Wilk
statistic W and p-value on a seeded subsample of at most 5,000 weights (scipy's p-value is
accurate only up to N = 5000). Seed 001 reads W ≥ 0.82 as "a good normally distribution match".

:func:`trained_or_synthetic_weights_report` is what the command runs: the weights of a small
MLP trained on the 8×8 digits with ``tinyquant`` (if ``tinyquant.nn`` and its trainer import), and
always a synthetic Gaussian / Laplace / Student-t(3) set as calibration.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .checks import as_generator, check_count, check_positive

__all__ = ["gaussianity_report", "report_table", "synthetic_weights", "train_digits_mlp",
           "trained_or_synthetic_weights_report", "plot_histograms"]


def gaussianity_report(weights: dict, threshold_fraction: float = 0.1, max_samples: int = 5000, seed=0) -> list:
    """One dict per layer of ``weights`` (name → array of any shape):

    ``layer, n, mean, std, skewness, excess_kurtosis, shapiro_w, shapiro_p, subsample, delta,
    kept_fraction, gaussian_kept_fraction, centroid, centroid_se, S, gap, gap_se``.

    δ = ``threshold_fraction``·max|w|; ``centroid`` = mean |w| over |w − μ| > δ with its standard
    error; ``S`` = μ + σλ(δ/σ) (seed 001, eq. 7); ``gap`` = (S − centroid)/centroid; ``gap_se`` =
    (S − centroid)/centroid_se. Shapiro–Wilk runs on min(n, ``max_samples``) weights drawn without
    replacement with ``seed``.
    """
    from .truncated_gaussian_formulas import scaling_factor

    where = "gaussianity_report"
    if not isinstance(weights, dict) or not weights:
        raise TypeError(f"{where}: weights must be a non-empty dict of layer name -> array, got {type(weights).__name__}")
    threshold_fraction = check_positive("threshold_fraction", threshold_fraction, where)
    if threshold_fraction >= 1:
        raise ValueError(f"{where}: threshold_fraction must be in (0, 1), got {threshold_fraction!r}")
    max_samples = check_count("max_samples", max_samples, where, minimum=3)
    if max_samples > 5000:
        raise ValueError(f"{where}: max_samples must be <= 5000 (scipy's Shapiro–Wilk p-value), got {max_samples!r}")
    rng = as_generator(seed, where)
    rows = []
    for name, w in weights.items():
        w = np.asarray(w, dtype=np.float64).ravel()
        if w.size < 3 or not np.all(np.isfinite(w)):
            raise ValueError(f"{where}: layer {name!r} needs at least 3 finite weights, got {w.size} values "
                             f"({int(np.sum(~np.isfinite(w)))} non-finite)")
        mu, sigma = float(w.mean()), float(w.std())
        if sigma == 0:
            raise ValueError(f"{where}: layer {name!r} has constant weights (std 0)")
        sub = w if w.size <= max_samples else rng.choice(w, size=max_samples, replace=False)
        sw = stats.shapiro(sub)
        delta = threshold_fraction * float(np.abs(w).max())
        kept = np.abs(w - mu) > delta
        if kept.sum() < 2:
            raise ValueError(f"{where}: layer {name!r}: fewer than 2 weights lie outside μ ± δ (δ = {delta:g})")
        c = float(np.abs(w[kept]).mean())
        c_se = float(np.abs(w[kept]).std(ddof=1) / np.sqrt(kept.sum()))
        s = scaling_factor(mu, sigma, delta)  # seed 001, eq. 7
        rows.append({
            "layer": str(name), "n": int(w.size), "mean": mu, "std": sigma,
            "skewness": float(stats.skew(w)), "excess_kurtosis": float(stats.kurtosis(w)),
            "shapiro_w": float(sw.statistic), "shapiro_p": float(sw.pvalue), "subsample": int(sub.size),
            "delta": delta, "kept_fraction": float(kept.mean()),
            "gaussian_kept_fraction": float(2 * stats.norm.sf(delta / sigma)),
            "centroid": c, "centroid_se": c_se, "S": s, "gap": (s - c) / c, "gap_se": (s - c) / c_se,
        })
    return rows


def report_table(rows: list) -> str:
    from tinyquant.markdown import table as md_table

    body = [[r["layer"], f"{r['n']:,}", f"{r['mean']:+.4f}", f"{r['std']:.4f}", f"{r['skewness']:+.2f}", f"{r['excess_kurtosis']:+.2f}",
             f"{r['shapiro_w']:.4f}", f"{r['shapiro_p']:.2g}", f"{r['delta']:.4f} ({r['delta'] / r['std']:.2f}σ)",
             f"{r['kept_fraction']:.3f} / {r['gaussian_kept_fraction']:.3f}",
             f"{r['centroid']:.4f} ± {r['centroid_se']:.4f}", f"{r['S']:.4f}", f"{100 * r['gap']:+.1f}% ({r['gap_se']:+.1f} s.e.)"] for r in rows]
    return md_table(["layer", "n", "μ", "σ", "skew", "excess kurtosis", "Shapiro–Wilk W", "p", "δ = 0.1·max|w|",
                     "kept fraction (measured / Gaussian)", "empirical centroid ± s.e.", "S (eq. 7)", "S − centroid"], body)


def synthetic_weights(n: int = 20_000, seed=0) -> dict:
    """Calibration layers of unit scale: Gaussian, Laplace, Student-t(3), uniform, and a Gaussian
    with mean 0.3σ (to show eq. 7's offset μ)."""
    n = check_count("n", n, "synthetic_weights", minimum=3)
    rng = as_generator(seed, "synthetic_weights")
    s = 0.05
    return {
        "synthetic gaussian": rng.normal(0.0, s, n),
        "synthetic gaussian, μ = 0.3σ": rng.normal(0.3 * s, s, n),
        "synthetic laplace": rng.laplace(0.0, s / np.sqrt(2), n),
        "synthetic student-t(3)": rng.standard_t(3, n) * s,
        "synthetic uniform": rng.uniform(-np.sqrt(3) * s, np.sqrt(3) * s, n),
    }


def train_digits_mlp(epochs: int = 30, seed: int = 0, hidden=(256, 128), weight_decay: float = 5e-4) -> tuple:
    """Train tinyquant's MLP on the 8×8 digits with SGD (lr 0.05, momentum 0.9, weight decay, batch 64);
    return (weights of its Linear layers by name, final test accuracy)."""
    from tinyquant.data.digits import load_digits
    from tinyquant.data.loader import DataLoader
    from tinyquant.nn.models import mlp
    from tinyquant.optim.sgd import SGD
    from tinyquant.train.trainer import Trainer

    data = load_digits(seed=seed)
    model = mlp(in_features=64, hidden=hidden, num_classes=10, rng=seed)
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=weight_decay)
    train = DataLoader((data.x_train, data.y_train), batch_size=64, shuffle=True, seed=seed)
    test = DataLoader((data.x_test, data.y_test), batch_size=512)
    trainer = Trainer(model, opt, train, test, epochs=epochs, seed=seed, show_progress=False)
    history = trainer.fit()
    weights = {name: p.data.copy() for name, p in model.named_parameters() if p.data.ndim >= 2}
    return weights, float(history[-1].get("test_accuracy", float("nan")))


def trained_or_synthetic_weights_report(fast: bool = False, seed: int = 0) -> dict:
    """The Gaussianity table of the command: trained MLP layers (if tinyquant trains) + synthetic calibration."""
    weights, note = {}, ""
    try:
        trained, acc = train_digits_mlp(epochs=3 if fast else 30, seed=seed)
        weights.update({f"digits MLP {k} {tuple(v.shape)}": v for k, v in trained.items()})
        note = (f"tinyquant MLP 64-256-128-10 (BatchNorm) trained {3 if fast else 30} epochs on the 8×8 digits "
                f"(SGD, weight decay 5e-4; test accuracy {acc:.3f})")
    except ImportError as exc:  # tinyquant.nn / trainer not importable: synthetic weights only
        note = f"tinyquant models not importable ({exc}); synthetic weights only"
    weights.update(synthetic_weights(n=5_000 if fast else 20_000, seed=seed))
    rows = gaussianity_report(weights, seed=seed)
    return {"title": f"Gaussianity of weights (seed 001, Fig. 2 and eq. 7): {note}; synthetic calibration layers "
                     "of 20,000 (fast: 5,000) weights", "rows": rows, "weights": weights, "note": note}


def plot_histograms(report: dict, out_dir: str) -> list:
    """Fig. 2-style histograms with the Gaussian of the layer's μ, σ; returns the written path."""
    import os

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, weights = report["rows"], report["weights"]
    k = len(rows)
    cols = 4
    fig, axes = plt.subplots((k + cols - 1) // cols, cols, figsize=(4 * cols, 3 * ((k + cols - 1) // cols)), squeeze=False)
    for ax, r in zip(axes.ravel(), rows):
        w = np.asarray(weights[r["layer"]]).ravel()
        ax.hist(w, bins=80, density=True, alpha=0.4, label="weights")
        x = np.linspace(w.min(), w.max(), 400)
        ax.plot(x, stats.norm.pdf(x, r["mean"], r["std"]), "r", label="Gaussian, same μ and σ")
        for s in (-1, 1):
            ax.axvline(r["mean"] + s * r["delta"], color="k", ls=":", lw=0.8, label="μ ± δ (ternary thresholds)" if s == 1 else None)
        ax.set_title(f"{r['layer']}\nShapiro–Wilk W = {r['shapiro_w']:.3f}, S − centroid = {100 * r['gap']:+.1f}%", fontsize=8)
        ax.set_xlabel("weight value", fontsize=8)
        ax.set_ylabel("density", fontsize=8)
    axes.ravel()[0].legend(fontsize=6)
    for ax in axes.ravel()[k:]:
        ax.axis("off")
    fig.tight_layout()
    path = os.path.join(out_dir, "weight_histograms.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]
