"""Distances between sets of clip features, and how sure we are of them: FID, FID_inf, KID, noise floors,
intervals from half-samples of dances.

Feature sets are (N, D) float arrays, one row per clip; `groups` are (N,) labels of the dance each clip
comes from. Clips of one dance (overlapping windows, one dancer, one song) are dependent, so every
resampling here draws whole dances, never single clips, and never draws one clip twice.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# A set statistic: (reference features, row features) -> float.
SetStatistic = Callable[[np.ndarray, np.ndarray], float]


def reference_scale(reference: np.ndarray, *, min_std: float) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), std (D,)) of a reference set (N, D) per dimension, the std floored at min_std.

    The one z-score of the evaluation: features are then (x - mean) / std. The floor keeps a dimension that
    is (nearly) constant in the reference from blowing up; each caller picks it for its features (`standardize`
    0.01 for FID and KID, the style classifier and retrieval 1e-8, the C2ST 1e-12).
    """
    ref = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    return ref.mean(axis=0), np.maximum(ref.std(axis=0), min_std)


def standardize(reference: np.ndarray, *others: np.ndarray, min_std: float = 0.01) -> list[np.ndarray]:
    """Standardise feature sets by the reference set's per-dimension mean and std (as Bailando/EDGE do).

    reference (N, D); returns [reference', *others'] with (x - mean_ref) / max(std_ref, min_std)
    (`reference_scale`). The floor keeps every distance finite: a geometric relation that never fires in
    the reference has std 0, and one firing frame elsewhere gave FID_g ~ 1e15 with the published eps of
    1e-10. With the floor a relation the reference never shows, firing in a share p of a row's frames, adds
    about (p / min_std)^2 to FID_g. Dimensions that are constant in the reference and in the row add nothing.
    """
    ref = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    mu, sd = reference_scale(ref, min_std=min_std)
    return [(np.atleast_2d(np.asarray(x, dtype=np.float64)) - mu) / sd for x in (ref, *others)]


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, D) and (M, D).

    |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2)), sample covariances (ddof 1). The trace of
    the matrix root is the sum of the square roots of the eigenvalues of S_a S_b (real and >= 0: it is
    similar to S_a^(1/2) S_b S_a^(1/2)), which equals scipy's `sqrtm` route of the published code to float
    precision, is 20x faster and stays finite for the singular covariances of small sets. nan under 2 rows.
    """
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    b = np.atleast_2d(np.asarray(b, dtype=np.float64))
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    if a.shape[1] == 0:
        return 0.0
    sa, sb = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    ev = np.linalg.eigvals(sa @ sb)
    tr_root = np.sqrt(np.clip(ev.real, 0.0, None)).sum()
    d = a.mean(axis=0) - b.mean(axis=0)
    return float(max(d @ d + np.trace(sa) + np.trace(sb) - 2.0 * tr_root, 0.0))


def fid(reference: np.ndarray, generated: np.ndarray, *, min_std: float = 0.01) -> float:
    """FID_k / FID_g: Fréchet distance after standardising both sets by the reference set (N, D), (M, D)."""
    ref, gen = standardize(reference, generated, min_std=min_std)
    return frechet_distance(ref, gen)


def kid(reference: np.ndarray, generated: np.ndarray, *, min_std: float = 0.01, degree: int = 3) -> float:
    """KID: unbiased squared MMD with the polynomial kernel k(x, y) = (x . y / D + 1)^degree.

    Features standardised by the reference set (as for FID). Unbiased (diagonal terms left out), so two
    samples of one distribution score about 0 at any size, and it can be slightly negative. nan under 2
    rows in either set.
    """
    x, y = standardize(reference, generated, min_std=min_std)
    return mmd2(poly_kernel(x, x, degree), poly_kernel(y, y, degree), poly_kernel(x, y, degree))


def poly_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3) -> np.ndarray:
    """(N, M) polynomial kernel (x . y / D + 1)^degree between the rows of x (N, D) and y (M, D)."""
    return (x @ y.T / max(x.shape[1], 1) + 1.0) ** degree


def mmd2(kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray) -> float:
    """Unbiased squared MMD from the kernel matrices of two samples (diagonals of kxx, kyy left out)."""
    m, n = len(kxx), len(kyy)
    if m < 2 or n < 2:
        return float("nan")
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def fid_infinity(
    reference: np.ndarray,
    generated: np.ndarray,
    *,
    n_sizes: int = 5,
    draws: int = 8,
    rng: np.random.Generator,
    min_std: float = 0.01,
) -> float:
    """Bias-corrected FID_inf (Chong & Forsyth, CVPR 2020): FID at set sizes n/2 .. n, extrapolated to 1/n = 0.

    FID of a random subset (without replacement) of m of the n generated clips is computed `draws` times
    for each of n_sizes sizes; a least-squares line FID(m) = FID_inf + k / m gives the intercept. The
    small-n bias of FID is ~ k / m, so FID_inf compares sets of different sizes. Clipped at 0; nan when
    fewer than 4 clips.
    """
    g = np.asarray(generated, dtype=np.float64)
    n = len(g)
    if n < 4:
        return float("nan")
    ref = standardize(reference, min_std=min_std)[0]
    gz = standardize(reference, g, min_std=min_std)[1]
    sizes = np.unique(np.round(np.linspace(max(n // 2, 3), n, n_sizes)).astype(int))
    inv, vals = [], []
    for m in sizes:
        for _ in range(1 if m == n else draws):
            idx = rng.choice(n, size=m, replace=False)
            inv.append(1.0 / m)
            vals.append(frechet_distance(ref, gz[idx]))
    inv, vals = np.asarray(inv), np.asarray(vals)
    ok = np.isfinite(vals)
    if ok.sum() < 2 or np.ptp(inv[ok]) == 0:
        return float(vals[ok].mean()) if ok.any() else float("nan")
    slope, intercept = np.polyfit(inv[ok], vals[ok], 1)
    return float(max(intercept, 0.0))


def _half(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row mask of a random half of the groups (without replacement); clips when there is only one group."""
    u = np.unique(labels)
    if len(u) < 2:
        # a single dance: fall back to halves of its clips (still no clip twice)
        return rng.permutation(len(labels)) < max(len(labels) // 2, 1)
    pick = rng.choice(u, size=len(u) // 2, replace=False)
    return np.isin(labels, pick)


def half_sample_interval(
    statistic: Callable[[np.ndarray, np.ndarray], float],
    ref_groups: np.ndarray,
    row_groups: np.ndarray,
    point: float,
    *,
    n_draws: int = 200,
    ci: float = 0.95,
    positive: bool = False,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """Interval of a set statistic from half-samples of dances, the reference set resampled too.

    statistic(ref_mask (N,) bool, row_mask (M,) bool) -> float computes the statistic on the kept clips.
    Each draw keeps a random half of the row's dances and of the reference's dances (without replacement,
    so no clip is duplicated, which would bias FID upwards) and recomputes the statistic. The deviations of
    the draws from their mean (which removes the half-size bias) are scaled by sqrt(h / (G - h)) (G dances,
    h kept: the variance ratio of a full set to a half-sample drawn without replacement; 1 for even G) and
    placed around the point. positive=True (FID, Div: statistics >= 0 with a long right tail) takes the
    deviations of log(statistic), so the interval is point x [e^lo, e^hi] and stays positive. The interval
    always contains the point: its ends are widened to it if the draws are very skewed. (nan, nan) under 2
    finite draws.
    """
    vals = []
    for _ in range(n_draws):
        vals.append(statistic(_half(np.asarray(ref_groups), rng), _half(np.asarray(row_groups), rng)))
    v = np.asarray(vals, dtype=np.float64)
    v = v[np.isfinite(v)]
    if positive:
        v = np.log(v[v > 0])
    if v.size < 2 or not np.isfinite(point):
        return float("nan"), float("nan")
    G = len(np.unique(row_groups))
    G = G if G >= 2 else len(row_groups)
    h = G // 2
    scale = np.sqrt(h / max(G - h, 1))
    lo, hi = np.percentile(v - v.mean(), [50 * (1 - ci), 50 * (1 + ci)]) * scale
    if positive:
        lo, hi = point * np.exp(lo), point * np.exp(hi)
    else:
        lo, hi = point + lo, point + hi
    return float(min(lo, point)), float(max(hi, point))


def draw_reference_clips(
    ref_groups: np.ndarray,
    n: int,
    rng: np.random.Generator,
    *,
    ref_strata: np.ndarray | None = None,
    want: dict | None = None,
) -> np.ndarray:
    """Indices of n reference clips made of whole dances in random order (the last one cut short).

    What a row of n clips from a handful of dances would be if it were drawn from the reference itself.
    With ref_strata (N,) (e.g. the style of each clip) and want {stratum: clips}, each stratum's clips come
    from dances of that stratum (topped up from any dance when a stratum runs out), so the draw has the
    row's mix of styles.
    """
    g = np.asarray(ref_groups)
    if ref_strata is None or not want:
        order = rng.permutation(np.unique(g))
        idx = np.concatenate([np.flatnonzero(g == d) for d in order])
        return idx[: min(n, len(idx))]
    strata = np.asarray(ref_strata)
    used: set = set()
    out = []
    for stratum, k in want.items():
        dances = [d for d in rng.permutation(np.unique(g[strata == stratum])) if d not in used]
        rest = [d for d in rng.permutation(np.unique(g)) if d not in used and d not in dances]
        taken = 0
        for d in dances + rest:
            if taken >= k:
                break
            c = np.flatnonzero(g == d)[: k - taken]
            out.append(c)
            used.add(d)
            taken += len(c)
    return np.concatenate(out) if out else np.zeros(0, int)


def noise_floor(
    statistic: Callable[[np.ndarray], float],
    ref_groups: np.ndarray,
    n: int,
    *,
    n_draws: int = 50,
    rng: np.random.Generator,
    ref_strata: np.ndarray | None = None,
    want: dict | None = None,
) -> np.ndarray:
    """(n_draws,) statistic(idx): the statistic of n reference clips `idx` drawn by dance against the whole
    reference (see `draw_reference_clips`, also for ref_strata / want): what a row from the reference
    distribution scores at n."""
    draws = [
        statistic(draw_reference_clips(ref_groups, n, rng, ref_strata=ref_strata, want=want))
        for _ in range(n_draws)
    ]
    return np.asarray(draws, dtype=np.float64)


def at_size(
    statistic: Callable[[np.ndarray], float], n_row: int, n: int, *, draws: int = 20, rng: np.random.Generator
) -> float:
    """statistic(row_idx) at exactly n row clips: all n_row when n_row <= n, else the mean over random
    n-subsets. Rows are compared at equal numbers of clips, because FID grows as the set shrinks."""
    if n_row <= n:
        return statistic(np.arange(n_row))
    vals = [statistic(rng.choice(n_row, size=n, replace=False)) for _ in range(draws)]
    return float(np.nanmean(vals))


class StandardizedSets:
    """A reference and a row standardised once by the full reference, with the reference's kernel matrix
    cached, so the resampling in `half_sample_interval`, `noise_floor` and `at_size` is cheap.

    The standardisation (a fixed change of units per feature) stays that of the full reference in every
    resample; only which clips are kept changes. That also keeps a half of the reference in which a rare
    relation never fires from dividing by a near-zero std.
    """

    def __init__(
        self,
        reference: np.ndarray,
        row: np.ndarray,
        *,
        min_std: float,
        degree: int = 3,
        ref_kernel: np.ndarray | None = None,
    ) -> None:
        self.zr, self.zx = standardize(reference, row, min_std=min_std)
        self.degree = degree
        self.krr = poly_kernel(self.zr, self.zr, degree) if ref_kernel is None else ref_kernel
        self.krx = poly_kernel(self.zr, self.zx, degree)
        self.kxx = poly_kernel(self.zx, self.zx, degree)

    def fid(self, ref_mask=slice(None), row_idx=slice(None)) -> float:
        return frechet_distance(self.zr[ref_mask], self.zx[row_idx])

    def kid(self, ref_mask=slice(None), row_idx=slice(None)) -> float:
        r = np.arange(len(self.zr))[ref_mask]
        x = np.arange(len(self.zx))[row_idx]
        return mmd2(self.krr[np.ix_(r, r)], self.kxx[np.ix_(x, x)], self.krx[np.ix_(r, x)])

    def floor_fid(self, idx: np.ndarray) -> float:
        return frechet_distance(self.zr, self.zr[idx])

    def floor_kid(self, idx: np.ndarray) -> float:
        return mmd2(self.krr, self.krr[np.ix_(idx, idx)], self.krr[:, idx])
