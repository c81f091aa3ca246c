"""Per-clip dance features of the field (AIST++/Bailando kinetic and geometric) on the canonical skeleton.

All inputs are joints (T, J, 3) float, metres, right-handed, y up, canonical joint order; outputs are float64.
"""

from __future__ import annotations

import numpy as np

from ..io.skeleton import CANONICAL_JOINTS, NUM_JOINTS
from ..motion.geometry import joint_speed

_J = {n: i for i, n in enumerate(CANONICAL_JOINTS)}


def _check(joints: np.ndarray) -> np.ndarray:
    x = np.asarray(joints, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != 3:
        raise ValueError(f"joints must be (T, J, 3), got {x.shape}")
    return x


def _window_mean(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of x[lo[i]:hi[i]+1] along axis 0 for each i (empty windows give 0) and the window sizes."""
    c = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(x, axis=0)], axis=0)
    n = np.maximum(hi - lo + 1, 0)
    s = c[np.maximum(hi + 1, lo)] - c[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        m = s / np.maximum(n, 1).reshape((-1,) + (1,) * (x.ndim - 1))
    return m, n


def kinetic_features(
    joints: np.ndarray, fps: float, *, window: int = 2, bugged_acceleration: bool = False
) -> np.ndarray:
    """Kinetic features (AIST++ / Bailando layout): (3 J,), per joint [KE_horizontal, KE_vertical, |acc|].

    For every frame i in 1..T-1 the velocity is the mean of the frame differences p[k+1]-p[k] over
    k in [i-w-1, i+w-1] (window w, clipped to the clip) divided by dt; KE_h is the mean over i of its squared
    horizontal (x, z) norm, KE_v of its squared vertical (y) norm, in (m/s)^2. The acceleration at i is the
    norm of the mean over m in [i-w, i+w] (clipped to 1..T-2) of the second difference
    (p[m+1] - 2 p[m] + p[m-1]) / dt^2, in m/s^2, averaged over i = 1..T-1 like the published code (windows
    that fall off the clip count as 0).

    bugged_acceleration=True reproduces the published code's operator-precedence bug
    `v1 = p[m] - p[m-1] / dt`, which makes the "acceleration" depend on absolute position; that is why, as in
    the published pipeline, positions are taken relative to the first frame's root before the features.
    """
    x = _check(joints)
    T = x.shape[0]
    if T < 3:
        return np.zeros(3 * x.shape[1])
    x = x - x[:1, :1, :]
    dt = 1.0 / float(fps)
    d = np.diff(x, axis=0)  # (T-1, J, 3): d[k] = p[k+1] - p[k]
    i = np.arange(1, T)
    v, _ = _window_mean(d, np.clip(i - window - 1, 0, T - 2), np.clip(i + window - 1, -1, T - 2))
    v = v / dt
    ke_h = (v[..., 0] ** 2 + v[..., 2] ** 2).sum(axis=0) / (T - 1)
    ke_v = (v[..., 1] ** 2).sum(axis=0) / (T - 1)
    if bugged_acceleration:
        v2 = (x[2:] - x[1:-1]) / dt
        v1 = x[1:-1] - x[:-2] / dt
        a = (v2 - v1) / dt  # a[m-1] for m = 1..T-2
    else:
        a = (x[2:] - 2 * x[1:-1] + x[:-2]) / dt**2
    lo = np.maximum(i - window, 1) - 1
    hi = np.minimum(i + window, T - 2) - 1
    am, n = _window_mean(a, lo, hi)
    acc = (np.linalg.norm(am, axis=-1) * (n > 0)[:, None]).sum(axis=0) / (T - 1)
    return np.stack([ke_h, ke_v, acc], axis=1).reshape(-1)


KINETIC_FEATURE_NAMES: tuple[str, ...] = tuple(
    f"{n}.{k}" for n in CANONICAL_JOINTS for k in ("ke_horizontal", "ke_vertical", "acceleration")
)

# The 32 boolean relations of the AIST++ / Bailando geometric features (after Mueller et al. 2005), mapped
# onto the canonical skeleton: SMPL "belly" -> pelvis, "chest" -> spine, "root" -> pelvis, "toes" -> foot.
# (kind, joints, threshold in body sizes or angle range in degrees, name). Kinds, per frame t:
#   move(a, b, c): velocity of c relative to a, along direction a->b, above thr (m/s)
#   nmove(a, b, c, p): velocity of p relative to a, along the normal cross(c - a, b - a), above thr (m/s)
#   plane(a, b, c, p): signed distance of p from the plane (a, b, c), normal cross(c - a, b - a), above thr
#   nplane(a, b, c, p): signed distance of p from the plane through c with normal b - a, above thr
#   angle(a, b, c, p): angle between b - a and p - c strictly inside the range (degrees)
#   fast(a): speed of a above thr (m/s)
# Special points: "zero" origin, "up"/"down" unit vectors, "ymin" = (0, lowest joint's y, 0) this frame.
GEOMETRIC_RELATIONS: tuple[tuple[str, tuple[str, ...], object, str], ...] = (
    ("nmove", ("neck", "right_hip", "left_hip", "right_wrist"), ("hl", 1.8), "right hand moves forward"),
    ("nmove", ("neck", "left_hip", "right_hip", "left_wrist"), ("hl", 1.8), "left hand moves forward"),
    ("nplane", ("spine", "neck", "neck", "right_wrist"), ("hl", 0.2), "right hand above neck"),
    ("nplane", ("spine", "neck", "neck", "left_wrist"), ("hl", 0.2), "left hand above neck"),
    ("move", ("pelvis", "spine", "right_wrist"), ("hl", 1.8), "right hand moves up"),
    ("move", ("pelvis", "spine", "left_wrist"), ("hl", 1.8), "left hand moves up"),
    ("angle", ("right_elbow", "right_shoulder", "right_elbow", "right_wrist"), (0, 110), "right elbow bent"),
    ("angle", ("left_elbow", "left_shoulder", "left_elbow", "left_wrist"), (0, 110), "left elbow bent"),
    (
        "nplane",
        ("left_shoulder", "right_shoulder", "left_wrist", "right_wrist"),
        ("sw", 2.5),
        "hands far apart",
    ),
    ("move", ("left_wrist", "right_wrist", "right_wrist"), ("hl", 1.4), "hands move apart (right)"),
    (
        "move",
        ("right_wrist", "pelvis", "left_wrist"),
        ("hl", 1.4),
        "left hand moves towards right hand's root line",
    ),
    (
        "move",
        ("left_wrist", "pelvis", "right_wrist"),
        ("hl", 1.4),
        "right hand moves towards left hand's root line",
    ),
    ("fast", ("right_wrist",), ("hl", 2.5), "right hand fast"),
    ("fast", ("left_wrist",), ("hl", 2.5), "left hand fast"),
    (
        "plane",
        ("pelvis", "left_hip", "left_foot", "right_ankle"),
        ("hl", 0.38),
        "right foot in front of left leg",
    ),
    (
        "plane",
        ("pelvis", "right_hip", "right_foot", "left_ankle"),
        ("hl", 0.38),
        "left foot in front of right leg",
    ),
    ("nplane", ("zero", "up", "ymin", "right_ankle"), ("hl", 1.2), "right foot raised"),
    ("nplane", ("zero", "up", "ymin", "left_ankle"), ("hl", 1.2), "left foot raised"),
    ("nplane", ("left_hip", "right_hip", "left_ankle", "right_ankle"), ("hw", 2.1), "feet far apart"),
    ("angle", ("right_knee", "right_hip", "right_knee", "right_ankle"), (0, 110), "right knee bent"),
    ("angle", ("left_knee", "left_hip", "left_knee", "left_ankle"), (0, 110), "left knee bent"),
    ("fast", ("right_ankle",), ("hl", 2.5), "right foot fast"),
    ("fast", ("left_ankle",), ("hl", 2.5), "left foot fast"),
    ("angle", ("neck", "pelvis", "right_shoulder", "right_elbow"), (25, 180), "right upper arm raised"),
    ("angle", ("neck", "pelvis", "left_shoulder", "left_elbow"), (25, 180), "left upper arm raised"),
    ("angle", ("neck", "pelvis", "right_hip", "right_knee"), (50, 180), "right thigh raised"),
    ("angle", ("neck", "pelvis", "left_hip", "left_knee"), (50, 180), "left thigh raised"),
    (
        "plane",
        ("right_ankle", "neck", "left_ankle", "pelvis"),
        ("hl", 0.5),
        "root behind the ankles-neck plane",
    ),
    ("angle", ("neck", "pelvis", "zero", "up"), (70, 110), "torso horizontal"),
    ("nplane", ("zero", "down", "ymin", "right_wrist"), ("hl", -1.2), "right hand low"),
    ("nplane", ("zero", "down", "ymin", "left_wrist"), ("hl", -1.2), "left hand low"),
    ("fast", ("pelvis",), ("hl", 2.3), "root fast"),
)
GEOMETRIC_FEATURE_NAMES: tuple[str, ...] = tuple(r[3] for r in GEOMETRIC_RELATIONS)
_HAND_UP = ("right hand moves up", "left hand moves up")


def canonical_body_sizes() -> dict[str, float]:
    """Humerus, shoulder width and hip width (metres) of the canonical skeleton the data is normalised to.

    From `motion.clean.STANDARD_BONE_LENGTHS`: the upper arm; shoulders and hips hang off one central
    joint each, on a line, so the widths are the sums of the two side bones (0.282 / 0.272 / 0.210 m).
    """
    from ..motion.clean import STANDARD_BONE_LENGTHS as L

    return {
        "humerus_m": float(L[_J["left_elbow"]]),
        "shoulder_width_m": float(L[_J["left_shoulder"]] + L[_J["right_shoulder"]]),
        "hip_width_m": float(L[_J["left_hip"]] + L[_J["right_hip"]]),
    }


# The published code's body sizes: distances between SMPL template joints (AIST++ API features/manual.py:
# left shoulder - left elbow, left - right shoulder, left - right hip), metres.
_SMPL_TEMPLATE = {
    "l_shoulder": (1.99113488e-01, 2.36807942e-01, -1.80702247e-02),
    "l_elbow": (4.54445392e-01, 2.21158922e-01, -4.10167128e-02),
    "r_shoulder": (-1.91692337e-01, 2.36928746e-01, -1.23055102e-02),
    "l_hip": (5.64076714e-02, -3.23069185e-01, 1.09197125e-02),
    "r_hip": (-6.24834076e-02, -3.31302464e-01, 1.50412619e-02),
}


def smpl_body_sizes() -> dict[str, float]:
    """The published code's body sizes (0.257 / 0.391 / 0.119 m), from the SMPL template joints."""
    t = {k: np.array(v) for k, v in _SMPL_TEMPLATE.items()}
    return {
        "humerus_m": float(np.linalg.norm(t["l_shoulder"] - t["l_elbow"])),
        "shoulder_width_m": float(np.linalg.norm(t["l_shoulder"] - t["r_shoulder"])),
        "hip_width_m": float(np.linalg.norm(t["l_hip"] - t["r_hip"])),
    }


def _point(x: np.ndarray, name: str) -> np.ndarray:
    """(T, 3) trajectory of a joint or special point."""
    T = x.shape[0]
    if name == "zero":
        return np.zeros((T, 3))
    if name == "up":
        return np.tile([0.0, 1.0, 0.0], (T, 1))
    if name == "down":
        return np.tile([0.0, -1.0, 0.0], (T, 1))
    if name == "ymin":
        out = np.zeros((T, 3))
        out[:, 1] = x[:, :, 1].min(axis=1)
        return out
    return x[:, _J[name]]


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    ok = n[..., 0] > 1e-8
    return v / np.where(n > 1e-8, n, 1.0), ok


def geometric_features(
    joints: np.ndarray,
    fps: float,
    *,
    humerus_m: float | None = None,
    shoulder_width_m: float | None = None,
    hip_width_m: float | None = None,
    published_hand_up: bool = False,
    fixed_frame_time: bool = False,
    per_frame: bool = False,
) -> np.ndarray:
    """Geometric features: the 32 `GEOMETRIC_RELATIONS` per frame t = 1..T-1, averaged: (32,) in [0, 1].

    Distances are thresholded at multiples of the body sizes (metres; None: measured on the canonical
    skeleton, `canonical_body_sizes`). A degenerate plane or direction (zero-length normal) makes the
    relation False, as published. per_frame=True returns (T-1, 32) booleans.
    Published variants: published_hand_up=True makes rows 5-6 ("hand moves up") what the published code
    computes: its `f_move(belly, chest, chest, wrist)` never reads the wrist, so both rows are the velocity
    of the chest relative to the belly along belly -> chest. fixed_frame_time=True divides displacements by
    the published fixed 1/120 s instead of the true frame time 1/fps.
    """
    x = _check(joints)
    if x.shape[1] != NUM_JOINTS:
        raise ValueError(f"geometric features need the {NUM_JOINTS} canonical joints, got {x.shape[1]}")
    T = x.shape[0]
    if T < 2:
        return (
            np.zeros((0, len(GEOMETRIC_RELATIONS)), bool) if per_frame else np.zeros(len(GEOMETRIC_RELATIONS))
        )
    canon = canonical_body_sizes()
    sizes = {
        "hl": canon["humerus_m"] if humerus_m is None else humerus_m,
        "sw": canon["shoulder_width_m"] if shoulder_width_m is None else shoulder_width_m,
        "hw": canon["hip_width_m"] if hip_width_m is None else hip_width_m,
    }
    dt = 1.0 / 120.0 if fixed_frame_time else 1.0 / float(fps)
    cols = []
    for kind, names, thr, label in GEOMETRIC_RELATIONS:
        if published_hand_up and label in _HAND_UP:
            names = ("pelvis", "spine", "spine")  # published: belly, chest, chest (the wrist is unused)
        P = [_point(x, n) for n in names]
        cur = [p[1:] for p in P]
        prev = [p[:-1] for p in P]
        th = None if kind == "angle" else sizes[thr[0]] * thr[1]
        if kind == "move":
            a, b, c = cur
            vel = ((c - a) - (prev[2] - prev[0])) / dt
            u, ok = _unit(b - a)
            f = ok & ((vel * u).sum(-1) > th)
        elif kind == "nmove":
            a, b, c, p = cur
            vel = ((p - a) - (prev[3] - prev[0])) / dt
            u, ok = _unit(np.cross(c - a, b - a))
            f = ok & ((vel * u).sum(-1) > th)
        elif kind == "plane":
            a, b, c, p = cur
            u, ok = _unit(np.cross(c - a, b - a))
            f = ok & (((p - a) * u).sum(-1) > th)
        elif kind == "nplane":
            a, b, c, p = cur
            u, ok = _unit(b - a)
            f = ok & (((p - c) * u).sum(-1) > th)
        elif kind == "angle":
            a, b, c, p = cur
            u1, ok1 = _unit(b - a)
            u2, ok2 = _unit(p - c)
            ang = np.degrees(np.arccos(np.clip((u1 * u2).sum(-1), -1.0, 1.0)))
            f = ok1 & ok2 & (ang > thr[0]) & (ang < thr[1])
        elif kind == "fast":
            f = np.linalg.norm(cur[0] - prev[0], axis=-1) / dt > th
        else:  # pragma: no cover - the table above is fixed
            raise AssertionError(kind)
        cols.append(f)
    feats = np.stack(cols, axis=1)
    return feats if per_frame else feats.mean(axis=0).astype(np.float64)


def clip_starts(
    n_frames: int, fps: float, *, clip_s: float, hop_s: float, min_clip_s: float
) -> list[tuple[int, int]]:
    """(start, stop) frame ranges of fixed-length crops; a dance shorter than clip_s gives one whole clip.

    Tails shorter than min_clip_s are dropped; a whole dance shorter than min_clip_s is still one clip, so
    no test song disappears from the evaluation.
    """
    L = max(int(round(clip_s * fps)), 1)
    hop = max(int(round(hop_s * fps)), 1)
    if n_frames <= L:
        return [(0, n_frames)] if n_frames >= 3 else []
    out = [(s, s + L) for s in range(0, n_frames - L + 1, hop)]
    tail = out[-1][0] + hop
    if tail < n_frames and (n_frames - tail) >= min_clip_s * fps:
        out.append((tail, n_frames))
    return out


def motion_statistics(joints: np.ndarray, fps: float) -> np.ndarray:
    """Per-clip motion statistics for the classifier two-sample test: (F,) float64, see MOTION_STAT_NAMES.

    Per joint: mean and std over the clip of its speed (m/s) and of its acceleration magnitude (m/s^2);
    per non-root joint: mean and std of its height above the pelvis (m); the pelvis's height above the
    clip's lowest joint (mean, std, m) and its horizontal speed (mean, std, m/s).
    """
    x = _check(joints)
    J = x.shape[1]
    if x.shape[0] < 3:
        return np.zeros(4 * J + 2 * (J - 1) + 4)
    v = joint_speed(x, fps)  # (T-1, J)
    a = np.linalg.norm(x[2:] - 2 * x[1:-1] + x[:-2], axis=-1) * fps**2  # (T-2, J)
    h = x[:, 1:, 1] - x[:, :1, 1]  # (T, J-1) height above the pelvis
    ph = x[:, 0, 1] - x[:, :, 1].min()
    rv = np.linalg.norm(np.diff(x[:, 0, [0, 2]], axis=0), axis=-1) * fps
    return np.concatenate(
        [
            v.mean(0),
            v.std(0),
            a.mean(0),
            a.std(0),
            h.mean(0),
            h.std(0),
            [ph.mean(), ph.std(), rv.mean(), rv.std()],
        ]
    )


MOTION_STAT_NAMES: tuple[str, ...] = (
    tuple(f"{n} speed mean" for n in CANONICAL_JOINTS)
    + tuple(f"{n} speed std" for n in CANONICAL_JOINTS)
    + tuple(f"{n} acceleration mean" for n in CANONICAL_JOINTS)
    + tuple(f"{n} acceleration std" for n in CANONICAL_JOINTS)
    + tuple(f"{n} height above pelvis mean" for n in CANONICAL_JOINTS[1:])
    + tuple(f"{n} height above pelvis std" for n in CANONICAL_JOINTS[1:])
    + ("pelvis height mean", "pelvis height std", "root horizontal speed mean", "root horizontal speed std")
)
