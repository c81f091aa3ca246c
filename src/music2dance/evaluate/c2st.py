"""Classifier two-sample test (C2ST): can a logistic regression tell a row's clips from real ones?

Inputs are per-clip motion statistics (`features.motion_statistics`, (N, F)) with the (N,) label of the
dance each clip comes from. Folds are grouped by dance: no dance is in both the training and the test part,
so the classifier cannot win by recognising a dancer or a song. Score = balanced accuracy on held-out
dances: 0.5 = indistinguishable, 1.0 = every clip told apart.
"""

from __future__ import annotations

import numpy as np

from .sets import reference_scale


def fit_logistic(
    x: np.ndarray, y: np.ndarray, *, c: float = 1.0, max_iter: int = 50, tol: float = 1e-8
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """L2-regularised logistic regression with balanced class weights, fitted by Newton's method (numpy).

    x (N, F), y (N,) in {0, 1}. Features are standardised by this training set (`sets.reference_scale`,
    std floored at 1e-12). Minimises 0.5 |w|^2 + c * sum_i weight_i * logloss_i, weight = N / (2 N_class) (sklearn's
    "balanced"), intercept unpenalised; the objective is strictly convex, so Newton steps (with step
    halving) converge in a few iterations for the ~100 features used here. Returns (w (F,), b, mean, std).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mu, sd = reference_scale(x, min_std=1e-12)
    z = np.concatenate([(x - mu) / sd, np.ones((len(x), 1))], axis=1)  # last column: intercept
    n1 = max(y.sum(), 1.0)
    n0 = max(len(y) - y.sum(), 1.0)
    sw = c * np.where(y > 0.5, len(y) / (2 * n1), len(y) / (2 * n0))
    reg = np.ones(z.shape[1])
    reg[-1] = 0.0

    def objective(theta):
        m = z @ theta
        return 0.5 * (reg * theta) @ theta + (sw * (np.logaddexp(0.0, m) - y * m)).sum()

    theta = np.zeros(z.shape[1])
    f = objective(theta)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ theta, -500, 500)))
        grad = z.T @ (sw * (p - y)) + reg * theta
        hess = (z * (sw * p * (1 - p))[:, None]).T @ z + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-4:
            new = theta - t * step
            fn = objective(new)
            if fn <= f:
                break
            t *= 0.5
        theta, done = new, f - fn < tol * max(abs(f), 1.0)
        f = fn
        if done:
            break
    return theta[:-1], float(theta[-1]), mu, sd


def predict_logistic(model: tuple[np.ndarray, float, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    """(N,) predicted class (0/1) of x (N, F) under a model from `fit_logistic`."""
    w, b, mu, sd = model
    return ((((np.asarray(x, dtype=np.float64) - mu) / sd) @ w + b) > 0).astype(int)


def balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean over the two classes of the fraction of their clips predicted right (nan without both)."""
    y, pred = np.asarray(y), np.asarray(pred)
    if not ((y == 0).any() and (y == 1).any()):
        return float("nan")
    return float(0.5 * ((pred[y == 1] == 1).mean() + (pred[y == 0] == 0).mean()))


def _folds(groups: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """(N,) fold number of each clip: the dances are dealt in random order to k folds."""
    u = rng.permutation(np.unique(groups))
    fold_of = {g: i % k for i, g in enumerate(u)}
    return np.array([fold_of[g] for g in groups])


def grouped_cv_correct(
    real: np.ndarray,
    real_groups: np.ndarray,
    fake: np.ndarray,
    fake_groups: np.ndarray,
    *,
    folds: int = 5,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold correctness of every clip, folds grouped by dance -> (correct (N,) bool, y (N,) 0/1).

    Real dances and the row's dances are dealt to folds separately, so each held-out fold has both kinds
    (k = min(folds, dances of the smaller side), at least 2). y = 1 for the row's clips.
    """
    x = np.concatenate([real, fake]).astype(np.float64)
    y = np.concatenate([np.zeros(len(real), int), np.ones(len(fake), int)])
    k = max(min(folds, len(np.unique(real_groups)), len(np.unique(fake_groups))), 2)
    f = np.concatenate([_folds(np.asarray(real_groups), k, rng), _folds(np.asarray(fake_groups), k, rng)])
    correct = np.zeros(len(y), bool)
    for i in range(k):
        test = f == i
        train = ~test
        if not (test.any() and (y[train] == 0).any() and (y[train] == 1).any()):
            continue
        model = fit_logistic(x[train], y[train])
        correct[test] = predict_logistic(model, x[test]) == y[test]
    return correct, y


def c2st(
    real: np.ndarray,
    real_groups: np.ndarray,
    fake: np.ndarray,
    fake_groups: np.ndarray,
    *,
    folds: int = 5,
    repeats: int = 3,
    n_boot: int = 1000,
    ci: float = 0.95,
    rng: np.random.Generator,
) -> dict:
    """Balanced accuracy of telling `fake` clips from `real` ones on held-out dances, with an interval.

    real (N, F) / fake (M, F) clip statistics with their dance labels. The point is the mean over `repeats`
    random fold assignments; the interval resamples dances (of each class separately, with replacement:
    the statistic is a mean of per-clip correctness, so repeated dances do not bias it) and always contains
    the point. Returns {"value", "ci_lo", "ci_hi"}.
    """
    runs = [
        grouped_cv_correct(real, real_groups, fake, fake_groups, folds=folds, rng=rng) for _ in range(repeats)
    ]
    y = runs[0][1]
    correct = np.mean([r[0] for r in runs], axis=0)  # per-clip share of repeats it was classified right
    point = float(np.mean([balanced_accuracy(y, np.where(r[0], y, 1 - y)) for r in runs]))
    groups = np.concatenate([np.asarray(real_groups, dtype=object), np.asarray(fake_groups, dtype=object)])
    # per dance: (class, sum of correctness, clips) so a resample is a few sums
    keys = list(dict.fromkeys(zip(y.tolist(), groups.tolist())))
    cls = np.array([k[0] for k in keys])
    sums = np.array([correct[(y == k[0]) & (groups == k[1])].sum() for k in keys])
    cnts = np.array([((y == k[0]) & (groups == k[1])).sum() for k in keys])
    stats = []
    for _ in range(n_boot):
        acc = []
        for c in (0, 1):
            idx = np.flatnonzero(cls == c)
            pick = rng.choice(idx, size=len(idx), replace=True)
            acc.append(sums[pick].sum() / max(cnts[pick].sum(), 1))
        stats.append(0.5 * (acc[0] + acc[1]))
    lo, hi = np.percentile(stats, [50 * (1 - ci), 50 * (1 + ci)])
    return {"value": point, "ci_lo": float(min(lo, point)), "ci_hi": float(max(hi, point))}


def c2st_floor(
    real: np.ndarray,
    real_groups: np.ndarray,
    n_dances: int,
    *,
    draws: int = 10,
    folds: int = 5,
    rng: np.random.Generator,
    styles: dict | None = None,
    want_styles: list | None = None,
) -> np.ndarray:
    """(draws,) C2ST balanced accuracy of real against real: n_dances real dances at random play the row.

    What the test scores when there is nothing to find (about 0.5, higher when dances differ a lot from
    each other, e.g. by style). With styles {dance: style} and want_styles (one style per row dance), the
    pseudo-row has the row's styles (a dance of another style when a style runs out).
    """
    g = np.asarray(real_groups)
    u = np.unique(g)
    n_dances = int(min(max(n_dances, 1), len(u) - 1))
    out = []
    for _ in range(draws):
        if styles and want_styles:
            picked: list = []
            for st in want_styles[:n_dances]:
                pool = [d for d in u if styles.get(d) == st and d not in picked]
                pool = pool or [d for d in u if d not in picked]
                picked.append(pool[int(rng.integers(len(pool)))])
        else:
            picked = list(rng.choice(u, size=n_dances, replace=False))
        pick = np.isin(g, picked)
        correct, y = grouped_cv_correct(real[~pick], g[~pick], real[pick], g[pick], folds=folds, rng=rng)
        out.append(balanced_accuracy(y, np.where(correct, y, 1 - y)))
    return np.asarray(out, dtype=np.float64)


def separating_features(
    real: np.ndarray, fake: np.ndarray, names, *, top: int = 3
) -> list[tuple[str, float]]:
    """The features that separate most: largest |mean_fake - mean_real| / std_real, with that signed value.

    A univariate effect size rather than the classifier's weights, which share credit arbitrarily among
    correlated features. Features constant in the real set use std 1e-6 x their scale.
    """
    real, fake = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    sd = real.std(axis=0)
    sd = np.where(sd > 1e-9, sd, 1e-6 * np.maximum(np.abs(real).mean(axis=0), 1e-9))
    d = (fake.mean(axis=0) - real.mean(axis=0)) / sd
    order = np.argsort(-np.abs(d))[:top]
    return [(str(names[i]), float(d[i])) for i in order]
