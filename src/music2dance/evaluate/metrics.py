"""Metrics of the field (FID, Div, BAS, PFC, foot skating) and ours (freezing, unit jumps, bone lengths, CIs).

Pure numpy/scipy functions on arrays; joints are (T, J, 3) metres, y up, canonical order; beats as documented.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..io.skeleton import BONES, FEET
from ..motion.geometry import face_forward, joint_speed, mean_joint_speed
from ..motion.kinematic_beats import nearest_beat_distance
from .sets import fid, frechet_distance, reference_scale, standardize  # noqa: F401  (the feature-set distances live there)

# ---------------------------------------------------------------------------------------------- feature sets


def diversity(features: np.ndarray, *, index: np.ndarray | None = None) -> float:
    """Div: mean Euclidean distance over all pairs of rows of (N, D) features (0 for identical rows).

    index (optional, (N,) ints): rows with the same index are copies made by bootstrap resampling, and their
    pairs are skipped, so resampling does not pull the mean towards 0.
    """
    from scipy.spatial.distance import pdist

    x = np.asarray(features, dtype=np.float64)
    if len(x) < 2:
        return float("nan")
    d = pdist(x)
    if index is not None:
        idx = np.asarray(index)
        i, j = np.triu_indices(len(x), k=1)
        d = d[idx[i] != idx[j]]
        if d.size == 0:
            return float("nan")
    return float(d.mean())


def cross_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean Euclidean distance between every row of a (N, D) and every row of b (M, D)."""
    from scipy.spatial.distance import cdist

    return float(cdist(np.atleast_2d(a), np.atleast_2d(b)).mean())


# ---------------------------------------------------------------------------------------------------- beats


def motion_beats_speed_minima(
    joints: np.ndarray, fps: float, *, smooth_sigma_s: float = 5.0 / 60.0
) -> np.ndarray:
    """The field's motion beats: frame indices of strict local minima of smoothed mean joint speed.

    Speed (m/s, mean over joints) of each frame step, smoothed with a Gaussian of sigma smooth_sigma_s
    (Bailando: 5 frames at 60 fps), local minima as scipy.signal.argrelextrema(np.less). A motionless dance
    has no strict minima and so no beats. Returns (K,) int frame indices (step t -> frame t).
    """
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import argrelextrema

    s = mean_joint_speed(joints, fps)
    if s.size < 3:
        return np.zeros(0, dtype=int)
    sigma = smooth_sigma_s * fps
    if sigma > 0:
        s = gaussian_filter1d(s, sigma)
    # tiny differences from float noise in a still pose are not beats
    s = np.round(s, 9)
    return argrelextrema(s, np.less)[0].astype(int)


def motion_beats_fact(joints: np.ndarray, *, order: int = 10) -> np.ndarray:
    """FACT's motion beats (mint `tools/calculate_beat_scores.py`, `motion_peak_onehot`).

    The envelope e[t] = sum over joints of |p[t] - p[t-1]| (e[0] = 0; raw, unsmoothed, per frame), and the
    beats are its strict local minima over +-order frames (`scipy.signal.argrelextrema`, order 10 at 60
    fps). Returns (K,) int frame indices (envelope step t-1 -> t is frame t).
    """
    from scipy.signal import argrelextrema

    x = np.asarray(joints, dtype=np.float64)
    if len(x) < 3:
        return np.zeros(0, dtype=int)
    e = np.zeros(len(x))
    e[1:] = joint_speed(x, 1.0).sum(axis=1)  # at "1 fps": metres per frame
    e = np.round(e, 9)  # float noise in a still pose is not a beat
    return argrelextrema(e, np.less, order=max(int(order), 1))[0].astype(int)


def shifted_chance(
    score: Callable[[np.ndarray], float],
    beats: np.ndarray,
    period: float,
    *,
    n_shifts: int = 50,
    rng: np.random.Generator,
) -> float:
    """Chance level of a beat score: mean of score(beats shifted circularly by a uniform random offset).

    beats (B,) in any unit, period the span they wrap around (the dance's length in that unit). Shifting
    keeps the music's tempo and the number of beats but breaks their phase with the motion, so a dance
    whose beats hit the music only by density scores about its chance level.
    """
    b = np.asarray(beats, dtype=np.float64).ravel()
    if period <= 0 or n_shifts < 1:
        return float("nan")
    vals = [score(np.sort((b + rng.uniform(0, period)) % period)) for _ in range(n_shifts)]
    vals = np.asarray(vals, dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if vals.size else float("nan")


def beat_align_score(
    motion_beats: np.ndarray, music_beats: np.ndarray, *, variant: str = "bailando", sigma: float = 3.0
) -> float:
    """Beat Align Score, both published variants; beats in frames (or any unit shared with sigma).

    variant "aist" (AIST++/FACT): mean over motion beats of exp(-d^2 / (2 sigma^2)), d to the nearest music
    beat.
    variant "bailando": mean over music beats of exp(-d^2 / (2 sigma^2)), d to the nearest motion beat
    (sigma 3 frames gives Bailando's exp(-d^2 / 18)). An empty averaging set, or nothing to match, gives 0.
    """
    mo = np.asarray(motion_beats, dtype=np.float64).ravel()
    mu = np.asarray(music_beats, dtype=np.float64).ravel()
    if variant == "aist":
        src, dst = mo, mu
    elif variant == "bailando":
        src, dst = mu, mo
    else:
        raise ValueError(f"variant must be 'aist' or 'bailando', got {variant!r}")
    if src.size == 0 or dst.size == 0:
        return 0.0
    d = nearest_beat_distance(src, dst)
    return float(np.exp(-(d**2) / (2.0 * sigma**2)).mean())


def beat_distances(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Signed distance of each src beat to its nearest dst beat (src - dst), same unit as the inputs."""
    src = np.asarray(src, dtype=np.float64).ravel()
    dst = np.sort(np.asarray(dst, dtype=np.float64).ravel())
    if src.size == 0 or dst.size == 0:
        return np.zeros(0)
    k = np.searchsorted(dst, src)
    lo = dst[np.clip(k - 1, 0, len(dst) - 1)]
    hi = dst[np.clip(k, 0, len(dst) - 1)]
    return np.where(np.abs(src - lo) <= np.abs(src - hi), src - lo, src - hi)


def beat_coverage(n_kinematic_beats: int, n_music_beats: int) -> float:
    """ "Dancing to Music" beat coverage: #kinematic beats / #music beats (nan without music beats)."""
    return float(n_kinematic_beats) / n_music_beats if n_music_beats > 0 else float("nan")


# ------------------------------------------------------------------------------------ physical plausibility


def _contact(joints: np.ndarray, contact_height_m: float, ankle_offset_m: float, feet: Sequence[int]):
    """(T, F) contact mask of the foot joints: height above the clip's floor under a per-joint threshold.

    Floor = the lowest foot-joint height of the clip, so a whole dance shifted up or down is judged the same;
    ankles (even positions in FEET) use contact_height_m + ankle_offset_m, toes contact_height_m.
    """
    y = joints[:, list(feet), 1]
    floor = y.min()
    thr = np.array([contact_height_m + (ankle_offset_m if k % 2 == 0 else 0.0) for k in range(len(feet))])
    return (y - floor) < thr


def foot_skating(
    joints: np.ndarray,
    fps: float,
    *,
    contact_height_m: float = 0.05,
    ankle_offset_m: float = 0.06,
    feet: Sequence[int] = FEET,
) -> float:
    """Foot skating: mean horizontal speed (m/s) of foot joints over the steps in which they are in contact.

    A step t -> t+1 counts for a joint when it is in contact at both frames (see `_contact`: FEET order is
    left ankle, left toe, right ankle, right toe). 0 for planted feet; 0 when no foot ever touches the floor.
    """
    x = np.asarray(joints, dtype=np.float64)
    if x.shape[0] < 2:
        return 0.0
    c = _contact(x, contact_height_m, ankle_offset_m, feet)
    both = c[1:] & c[:-1]
    v = np.linalg.norm(np.diff(x[:, list(feet)][..., [0, 2]], axis=0), axis=-1) * fps
    return float(v[both].mean()) if both.any() else 0.0


def physical_foot_contact(
    joints: np.ndarray, fps: float, *, feet: Sequence[int] = FEET, root: int = 0
) -> float:
    """EDGE's PFC (physical foot contact score); lower is better.

    Per frame t = 1..T-2: root acceleration a_t = (p[t+1] - 2 p[t] + p[t-1]) fps^2 with its upward component
    clamped at >= 0 (falling is explained by gravity), |a_t| normalised by its maximum over the clip; each
    foot's speed = min over its two joints (ankle, toe) of the horizontal speed |p[t+1] - p[t]| (m/s here;
    EDGE used displacement per frame at 30 fps); PFC = mean over t of |a_t|/max|a| * v_left * v_right.
    A root acceleration is only plausible when some foot is still (its speed ~0) to push against the floor.
    Units (m/s)^2: EDGE's published number (x 10000, per-frame displacements at 30 fps) = ours x 10000 / 900.
    """
    x = np.asarray(joints, dtype=np.float64)
    if x.shape[0] < 3:
        return 0.0
    a = (x[2:, root] - 2 * x[1:-1, root] + x[:-2, root]) * fps**2
    a[:, 1] = np.maximum(a[:, 1], 0.0)
    a = np.linalg.norm(a, axis=-1)
    if a.max() <= 0:
        return 0.0
    a = a / a.max()
    f = x[:, list(feet)][..., [0, 2]]
    v = np.linalg.norm(f[2:] - f[1:-1], axis=-1) * fps  # (T-2, 4) speed leaving frame t
    left = np.minimum(v[:, 0], v[:, 1])
    right = np.minimum(v[:, 2], v[:, 3])
    return float((a * left * right).mean())


def bone_length_variation(
    joints: np.ndarray, bones: Sequence[tuple[int, int]] = BONES
) -> tuple[float, np.ndarray]:
    """Skeleton realism: (mean over bones, per bone (B,)) std over time of bone lengths, in cm."""
    x = np.asarray(joints, dtype=np.float64)
    b = np.array(bones)
    lengths = np.linalg.norm(x[:, b[:, 0]] - x[:, b[:, 1]], axis=-1)  # (T, B) metres
    per = lengths.std(axis=0) * 100.0
    return float(per.mean()), per


# ---------------------------------------------------------------------------------- freezing and long range


def motion_energy(joints: np.ndarray, fps: float, *, window_s: float = 2.0) -> np.ndarray:
    """(W,) mean joint speed (m/s) per non-overlapping window of window_s seconds (a partial last window kept
    when at least half full)."""
    s = mean_joint_speed(joints, fps)
    n = max(int(round(window_s * fps)), 1)
    out = [s[i : i + n].mean() for i in range(0, len(s), n) if len(s[i : i + n]) >= max(n // 2, 1)]
    return np.asarray(out, dtype=np.float64)


def freezing_stats(
    joints: np.ndarray, fps: float, *, threshold: float, window_s: float = 2.0, trend_window_s: float = 20.0
) -> dict:
    """Freezing of a whole dance: energy per window (see `motion_energy`) against an absolute threshold (m/s).

    Returns frozen_fraction (share of windows with energy below threshold), energy_ratio (mean joint speed of
    the last trend_window_s over the first; nan when the dance is shorter than 2 x trend_window_s, since
    overlapping halves would hide a trend) and mean_energy (m/s).
    """
    e = motion_energy(joints, fps, window_s=window_s)
    s = mean_joint_speed(joints, fps)
    n = int(round(trend_window_s * fps))
    ratio = float("nan")
    if len(s) >= 2 * n and n > 0:
        first = s[:n].mean()
        ratio = float(s[-n:].mean() / first) if first > 0 else float("nan")
    return {
        "frozen_fraction": float((e < threshold).mean()) if e.size else float("nan"),
        "energy_ratio": ratio,
        "mean_energy": float(s.mean()) if s.size else 0.0,
    }


def mean_pose(joint_sets: Sequence[np.ndarray]) -> np.ndarray:
    """(J, 3) average pose of many dances after removing position and facing (see `face_forward`)."""
    tot, n = None, 0
    for j in joint_sets:
        f = face_forward(j)
        tot = f.sum(axis=0) if tot is None else tot + f.sum(axis=0)
        n += len(f)
    return tot / max(n, 1)


def distance_to_mean_pose(joints: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """(T,) mean over joints of the distance (m) between each facing-normalised frame and a (J, 3) pose.

    A dance that collapses towards the data's mean pose shows this curve falling over time.
    """
    f = face_forward(joints)
    return np.linalg.norm(f - np.asarray(pose)[None], axis=-1).mean(axis=1)


def boundary_jump_ratio(joints: np.ndarray, unit_starts: Sequence[int]) -> dict:
    """Unit-boundary jumps: joint velocity and acceleration at unit boundaries vs inside units.

    Velocity of step k is |p[k+1] - p[k]| (mean over joints); a boundary at frame s >= 1 owns step s-1.
    Acceleration at frame k is |p[k+1] - 2 p[k] + p[k-1]|; a boundary owns frames s-1 and s. Ratios are
    mean at boundaries / mean elsewhere: about 1 for smooth motion, large when units are stitched with jumps.
    nan when there is no interior boundary or no interior motion.
    """
    x = np.asarray(joints, dtype=np.float64)
    T = x.shape[0]
    starts = sorted({int(s) for s in unit_starts if 1 <= int(s) <= T - 1})
    out = {"velocity_ratio": float("nan"), "acceleration_ratio": float("nan"), "n_boundaries": len(starts)}
    if not starts or T < 4:
        return out
    v = mean_joint_speed(x, 1.0)  # (T-1,) metres per frame: the ratios need no frame rate
    a = np.linalg.norm(x[2:] - 2 * x[1:-1] + x[:-2], axis=-1).mean(axis=1)  # (T-2,) frame k -> a[k-1]
    bv = np.zeros(T - 1, bool)
    bv[[s - 1 for s in starts]] = True
    ba = np.zeros(T - 2, bool)
    for s in starts:
        for k in (s - 1, s):
            if 1 <= k <= T - 2:
                ba[k - 1] = True
    for key, arr, m in (("velocity_ratio", v, bv), ("acceleration_ratio", a, ba)):
        inside = arr[~m].mean() if (~m).any() else 0.0
        if m.any() and inside > 1e-12:
            out[key] = float(arr[m].mean() / inside)
    return out


# ----------------------------------------------------------------------------------------- style classifier


class NearestCentroid:
    """Dance-style classifier: nearest class centroid of standardised features (numpy only).

    Fitted on real training dances' clip features (N, D) with labels (N,); predict returns labels.
    """

    def __init__(self) -> None:
        self.classes_: np.ndarray | None = None

    def fit(self, x: np.ndarray, y: Sequence[str]) -> NearestCentroid:
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y)
        self.mu_, self.sd_ = reference_scale(x, min_std=1e-8)
        z = (x - self.mu_) / self.sd_
        self.classes_ = np.unique(y)
        self.centroids_ = np.stack([z[y == c].mean(axis=0) for c in self.classes_])
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(np.asarray(x, dtype=np.float64)) - self.mu_) / self.sd_
        d = ((z[:, None, :] - self.centroids_[None]) ** 2).sum(-1)
        return self.classes_[d.argmin(axis=1)]


# ------------------------------------------------------------------------------------------------ bootstrap


def bootstrap_ci(
    values: np.ndarray,
    *,
    n_boot: int = 1000,
    ci: float = 0.95,
    rng: np.random.Generator | None = None,
    statistic: Callable[[np.ndarray], float] = np.mean,
) -> tuple[float, float]:
    """Percentile bootstrap interval of statistic(values) resampling the (N,) values with replacement.

    nan values are dropped first; (nan, nan) when fewer than 2 remain.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size < 2:
        return float("nan"), float("nan")
    rng = rng if rng is not None else np.random.default_rng(0)
    idx = rng.integers(0, v.size, size=(n_boot, v.size))
    stats = np.array([statistic(v[i]) for i in idx]) if statistic is not np.mean else v[idx].mean(axis=1)
    lo, hi = np.percentile(stats, [50 * (1 - ci), 50 * (1 + ci)])
    return float(lo), float(hi)
