"""The paper's kinematic beat detector (sudden deceleration or a sharp change of direction) and hit rates.

Used to cut dances into units, to compare a dance's beats with the music's, and as a metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..io.skeleton import CANONICAL_JOINTS


@dataclass(frozen=True)
class KinematicBeatParams:
    """Settings of `kinematic_beats`; defaults chosen by measurement on the Tang data (docs/BEATS.md).

    joints: canonical joint names whose motion counts (None: all joints).
    root_relative: measure joints relative to the pelvis, so travelling across the floor is not "motion".
    smooth_s: Gaussian smoothing of the positions, standard deviation in seconds (0: none).
    min_drop: a deceleration beat needs the speed to fall by at least this fraction of the highest speed
        within `lookback_s` before it (0.5: to half of the preceding peak).
    lookback_s: seconds before a speed minimum in which the preceding peak is looked for.
    min_peak_speed: metres per second; the preceding peak must be at least this fast (ignores jitter
        while standing still).
    min_angle_deg: a direction beat is a local maximum of the speed-weighted mean turning angle of at
        least this many degrees between the velocities one frame before and one frame after, while the
        speed within `lookback_s` reaches `min_peak_speed` (None: off).
    min_spacing_s: beats closer than this (seconds) are merged, keeping the stronger.
    """

    # Feet in the world frame won the grid search (benchmarks/kinematic_beat_params.py): steps are what
    # ballroom dancers put on the beat, and travelling across the floor is part of a step.
    joints: tuple[str, ...] | None = ("left_ankle", "right_ankle", "left_foot", "right_foot")
    root_relative: bool = False
    smooth_s: float = 0.04
    min_drop: float = 0.5
    lookback_s: float = 0.5
    min_peak_speed: float = 0.1
    min_angle_deg: float | None = 90.0
    min_spacing_s: float = 0.3

    def joint_indices(self, names: tuple[str, ...] = CANONICAL_JOINTS) -> list[int]:
        if self.joints is None:
            return list(range(len(names)))
        missing = [j for j in self.joints if j not in names]
        if missing:
            raise ValueError(f"unknown joints {missing}; the skeleton has {', '.join(names)}")
        return [names.index(j) for j in self.joints]


def _velocities(
    joints: np.ndarray, fps: float, params: KinematicBeatParams, joint_names: tuple[str, ...]
) -> np.ndarray:
    """(T, K, 3) joint velocities in m/s (central differences of smoothed positions) of the chosen joints."""
    from scipy.ndimage import gaussian_filter1d

    p = np.asarray(joints, dtype=np.float64)
    if p.ndim != 3 or p.shape[2] != 3:
        raise ValueError(f"joints must be (T, J, 3), got {p.shape}")
    if params.root_relative:
        p = p - p[:, :1]  # the root (canonical pelvis, index 0) is the reference
    p = p[:, params.joint_indices(joint_names)]
    if params.smooth_s > 0 and len(p) > 1:
        p = gaussian_filter1d(p, sigma=params.smooth_s * fps, axis=0, mode="nearest")
    if len(p) < 2:
        return np.zeros_like(p)
    return np.gradient(p, axis=0) * fps


def motion_magnitude(
    joints: np.ndarray,
    fps: float,
    params: KinematicBeatParams | None = None,
    *,
    joint_names: tuple[str, ...] = CANONICAL_JOINTS,
) -> np.ndarray:
    """Mean joint speed per frame, the curve whose sudden drops are kinematic beats.

    joints: (T, J, 3) positions in metres; fps: frames per second; params: joint choice, root-relative
    measuring and smoothing (defaults: `KinematicBeatParams()`); joint_names: names of the J joints.
    Returns (T,) float64 metres per second. NaN positions must be filled before (motion.clean).
    """
    params = params or KinematicBeatParams()
    v = _velocities(joints, fps, params, joint_names)
    return np.linalg.norm(v, axis=2).mean(axis=1)


def turning_angle(
    joints: np.ndarray,
    fps: float,
    params: KinematicBeatParams | None = None,
    *,
    joint_names: tuple[str, ...] = CANONICAL_JOINTS,
) -> np.ndarray:
    """Speed-weighted mean angle between each joint's velocity one frame before and one frame after.

    Returns (T,) degrees in [0, 180]; 0 at the first and last frame. Slow joints weigh little, so the
    noisy direction of a joint at rest does not look like a turn.
    """
    params = params or KinematicBeatParams()
    v = _velocities(joints, fps, params, joint_names)
    out = np.zeros(len(v))
    if len(v) < 3:
        return out
    a, b = v[:-2], v[2:]
    na, nb = np.linalg.norm(a, axis=2), np.linalg.norm(b, axis=2)
    cos = (a * b).sum(axis=2) / np.maximum(na * nb, 1e-12)
    ang = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    w = np.minimum(na, nb)
    out[1:-1] = (ang * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-12)
    return out


def _local_minima(x: np.ndarray) -> np.ndarray:
    """Frames t with x[t] <= x[t-1] and x[t] < x[t+1] (first frame of a flat bottom), interior only."""
    if len(x) < 3:
        return np.zeros(0, dtype=int)
    return np.flatnonzero((x[1:-1] <= x[:-2]) & (x[1:-1] < x[2:])) + 1


def _suppress(frames: np.ndarray, strength: np.ndarray, min_gap: int) -> np.ndarray:
    """Keep the strongest beats first, dropping any within `min_gap` frames of one already kept."""
    if len(frames) == 0 or min_gap <= 0:
        return np.unique(frames)
    kept: list[int] = []
    for i in np.argsort(-strength, kind="stable"):
        f = int(frames[i])
        if all(abs(f - k) >= min_gap for k in kept):
            kept.append(f)
    return np.array(sorted(kept), dtype=int)


def kinematic_beats(
    joints: np.ndarray,
    fps: float,
    params: KinematicBeatParams | None = None,
    *,
    joint_names: tuple[str, ...] = CANONICAL_JOINTS,
) -> np.ndarray:
    """Frames where the dance decelerates suddenly or turns sharply (Lee et al. 2019, section 3.1).

    joints: (T, J, 3) positions in metres, no NaN; fps: frames per second; params: `KinematicBeatParams`
    (None: the measured defaults); joint_names: names of the J joints (canonical by default).
    A deceleration beat is a local minimum of `motion_magnitude` at most (1 - min_drop) times the highest
    speed in the `lookback_s` before it, that peak being at least `min_peak_speed`. A direction beat is a
    local maximum of `turning_angle` of at least `min_angle_deg` (when set) with a speed of at least
    `min_peak_speed` within `lookback_s` either side. Beats closer than
    `min_spacing_s` are merged, keeping the deeper drop / sharper turn.
    Returns (B,) int64 sorted frame indices.
    """
    params = params or KinematicBeatParams()
    mag = motion_magnitude(joints, fps, params, joint_names=joint_names)
    T = len(mag)
    cand, strength = [], []
    look = max(1, int(round(params.lookback_s * fps)))
    for t in _local_minima(mag):
        peak = mag[max(0, t - look) : t].max()
        if peak >= params.min_peak_speed and mag[t] <= (1.0 - params.min_drop) * peak:
            cand.append(t)
            strength.append(1.0 - mag[t] / peak)
    if params.min_angle_deg is not None and T >= 3:
        ang = turning_angle(joints, fps, params, joint_names=joint_names)
        for t in _local_minima(-ang):  # local maxima of the angle
            # a turn only counts while something moves: the noisy direction of a still body is no beat
            moving = mag[max(0, t - look) : t + look + 1].max() >= params.min_peak_speed
            if ang[t] >= params.min_angle_deg and moving:
                cand.append(t)
                strength.append(ang[t] / 180.0)
    frames = np.asarray(cand, dtype=int)
    gap = int(round(params.min_spacing_s * fps))
    return _suppress(frames, np.asarray(strength, dtype=float), gap).astype(np.int64)


def nearest_beat_distance(times: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """|t - the nearest beat| for each of `times` (any shape, e.g. (S, B) shifted copies), same unit.

    beats: (M,) non-empty, any order (seconds, frames: the unit of `times`). Returns float64 of times' shape.
    """
    b = np.sort(np.asarray(beats, dtype=np.float64).ravel())
    t = np.asarray(times, dtype=np.float64)
    if len(b) == 1:
        return np.abs(t - b[0])
    i = np.clip(np.searchsorted(b, t), 1, len(b) - 1)
    return np.minimum(np.abs(t - b[i - 1]), np.abs(t - b[i]))


def _hits(kin: np.ndarray, music: np.ndarray, tol_s: float) -> np.ndarray:
    """Boolean (..., B): kinematic beat within tol_s of its nearest music beat. kin may be (S, B)."""
    return nearest_beat_distance(kin, music) <= tol_s + 1e-9


def hit_rate(kin_times: np.ndarray, music_times: np.ndarray, tol_s: float) -> float:
    """Fraction of kinematic beats within +-tol_s seconds of some music beat (the paper's beat hit rate).

    kin_times, music_times: beat times in seconds on the same clock. Returns a value in [0, 1];
    NaN when there are no kinematic beats, 0.0 when there are no music beats. The evaluation's
    beat hit rate too.
    """
    kin = np.asarray(kin_times, dtype=np.float64).ravel()
    music = np.asarray(music_times, dtype=np.float64).ravel()
    if kin.size == 0:
        return float("nan")
    if music.size == 0:
        return 0.0
    return float(_hits(kin, music, tol_s).mean())


def hit_rate_vs_chance(
    kin_times: np.ndarray,
    music_times: np.ndarray,
    tol_s: float,
    n_shifts: int = 200,
    max_shift_s: float = 2.0,
    rng: np.random.Generator | int | None = None,
    *,
    span: tuple[float, float] | None = None,
) -> dict:
    """Hit rate at the given alignment against the same dance shifted in time at random (chance level).

    kin_times, music_times: seconds, same clock; tol_s: hit tolerance in seconds; n_shifts: random shifts;
    max_shift_s: shifts are uniform in [-max_shift_s, max_shift_s] seconds; rng: Generator or seed.
    span: (start, end) seconds of the dance; shifted beats wrap around inside it so their number and
    spacing are kept (None: from the first to the last kinematic beat plus one median interval).
    Returns dict(hit, chance_mean, chance_std, z) where z = (hit - chance_mean) / chance_std
    (NaN when the spread is 0 or there are no kinematic beats), and n_kin, n_music.
    """
    kin = np.sort(np.asarray(kin_times, dtype=np.float64).ravel())
    music = np.sort(np.asarray(music_times, dtype=np.float64).ravel())
    rng = np.random.default_rng(rng)
    out = {
        "hit": hit_rate(kin, music, tol_s),
        "chance_mean": float("nan"),
        "chance_std": float("nan"),
        "z": float("nan"),
        "n_kin": int(kin.size),
        "n_music": int(music.size),
    }
    if kin.size == 0 or music.size < 2 or n_shifts < 1:
        return out
    if span is None:
        step = float(np.median(np.diff(kin))) if kin.size > 1 else 1.0
        span = (float(kin[0]), float(kin[-1]) + step)
    start, end = span
    length = max(end - start, 1e-9)
    shifts = rng.uniform(-max_shift_s, max_shift_s, size=(n_shifts, 1))
    shifted = start + np.mod(kin[None, :] - start + shifts, length)
    chance = _hits(shifted, music, tol_s).mean(axis=1)
    out["chance_mean"] = float(chance.mean())
    out["chance_std"] = float(chance.std())
    if out["chance_std"] > 0:
        out["z"] = float((out["hit"] - out["chance_mean"]) / out["chance_std"])
    return out
