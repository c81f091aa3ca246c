"""Cleaning noisy dance joints: gaps, single-frame glitches, jitter, frame rate, bone lengths, floor.

Plain functions on (T, J, 3) float arrays in metres (right-handed, y up); `clean_motion` runs them in order.
Filling gaps, the low-pass filter and the frame-rate change are `motion.geometry`'s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, percentile_filter, uniform_filter1d

from ..defaults import FLOOR_WINDOW_S, MODEL_FPS
from ..errors import Music2DanceError
from ..io.skeleton import CANONICAL_JOINTS, FEET, Motion, joint_index
from .geometry import MissingJointError, facing_angle, fill_missing, resample_joints, smooth


class CleaningError(Music2DanceError, ValueError):
    """Joints that cannot be cleaned (e.g. a joint missing in every frame)."""


# Canonical bone lengths (metres) of a ~1.70 m adult, indexed like CANONICAL_JOINTS (child joint of the
# bone; 0 for the root). Median over the 45 Tang takes of each take's median length, each take scaled so
# that its head point stands 1.58 m above the floor (0.93 x 1.70 m: the head points are at ear level) at
# the 95th percentile over frames, measured above the 4 s moving floor level (`floor_level`).
# Left and right are averaged. See docs/DATA.md.
STANDARD_BONE_LENGTHS: np.ndarray = np.array(
    [
        0.0,  # pelvis (root)
        0.163,  # spine <- pelvis
        0.304,  # neck <- spine
        0.170,  # head <- neck
        0.136,  # left_shoulder <- neck
        0.282,  # left_elbow <- left_shoulder
        0.240,  # left_wrist <- left_elbow
        0.136,  # right_shoulder <- neck
        0.282,  # right_elbow <- right_shoulder
        0.240,  # right_wrist <- right_elbow
        0.105,  # left_hip <- pelvis
        0.460,  # left_knee <- left_hip
        0.320,  # left_ankle <- left_knee
        0.172,  # left_foot <- left_ankle
        0.105,  # right_hip <- pelvis
        0.460,  # right_knee <- right_hip
        0.320,  # right_ankle <- right_knee
        0.172,  # right_foot <- right_ankle
    ],
    dtype=np.float64,
)


def _check(joints: np.ndarray) -> np.ndarray:
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[-1] != 3:
        raise ValueError(f"joints must be (T, J, 3), got {joints.shape}")
    return joints


def _spike_deviation(joints: np.ndarray) -> np.ndarray:
    """(T, J) distance of each frame from the mean of its two neighbours (0 at the ends), metres."""
    dev = np.zeros(joints.shape[:2])
    if joints.shape[0] >= 3:
        dev[1:-1] = np.linalg.norm(joints[1:-1] - 0.5 * (joints[:-2] + joints[2:]), axis=-1)
    return dev


def detect_glitches(
    joints: np.ndarray,
    fps: float,
    *,
    threshold: float = 8.0,
    chord_ratio: float = 1.5,
    min_accel: float = 30.0,
) -> np.ndarray:
    """Single-frame spikes: (T, J) bool.

    joints: (T, J, 3) metres, no NaN; fps: frames per second.
    d = distance of a frame from the mean of its two neighbours. A frame is a glitch when d
    - is a local maximum in time (a spike's neighbours move by half as much: only the peak is flagged),
    - exceeds `threshold` x the joint's robust scale of d (median over the take / 0.6745),
    - exceeds `chord_ratio` x half the distance between the two neighbours: the point leaves the path
      and comes back, whereas a fast limb that stops or turns (a foot landing) moves its neighbours apart,
    - and exceeds the d of a real acceleration of `min_accel` m/s^2 (d = a / (2 fps^2)), so takes with
      tiny jitter do not flag ordinary motion.
    """
    joints = _check(joints)
    dev = _spike_deviation(joints)
    if joints.shape[0] < 3:
        return np.zeros(dev.shape, dtype=bool)
    half_chord = np.zeros_like(dev)
    half_chord[1:-1] = 0.5 * np.linalg.norm(joints[2:] - joints[:-2], axis=-1)
    scale = np.median(dev[1:-1], axis=0) / 0.6745
    floor = 0.5 * min_accel / float(fps) ** 2
    limit = np.maximum(threshold * scale, floor)
    peak = np.zeros_like(dev, dtype=bool)
    peak[1:-1] = (dev[1:-1] >= dev[:-2]) & (dev[1:-1] >= dev[2:])
    return peak & (dev > limit[None, :]) & (dev > chord_ratio * half_chord)


def repair_glitches(joints: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Replace flagged joint-frames (mask (T, J) bool) by linear interpolation from their neighbours."""
    joints = _check(joints).copy()
    joints[np.asarray(mask, dtype=bool)] = np.nan
    return fill_missing(joints)


def bone_lengths(joints: np.ndarray, parents) -> np.ndarray:
    """(T, J) distance of each joint from its parent (0 for roots); units of `joints`."""
    joints = _check(joints)
    parents = np.asarray(parents)
    out = np.zeros(joints.shape[:2])
    child = np.flatnonzero(parents >= 0)
    out[:, child] = np.linalg.norm(joints[:, child] - joints[:, parents[child]], axis=-1)
    return out


_bone_lengths_of = bone_lengths  # clean_motion's keyword of the same name shadows it


def _topological(parents) -> list[int]:
    parents = list(parents)
    order, done = [], set()
    while len(order) < len(parents):
        progress = False
        for j, p in enumerate(parents):
            if j not in done and (p < 0 or p in done):
                order.append(j)
                done.add(j)
                progress = True
        if not progress:
            raise ValueError("parents contain a cycle")
    return order


def normalize_bone_lengths(joints: np.ndarray, parents, lengths) -> np.ndarray:
    """Rebuild (T, J, 3) joints from the root outward with each bone set to `lengths` (J,), same units.

    Bone directions are kept; roots keep their positions. A zero-length input bone points up (+y).
    """
    joints = _check(joints)
    lengths = np.asarray(lengths, dtype=np.float64)
    if lengths.shape != (joints.shape[1],):
        raise ValueError(f"lengths must be ({joints.shape[1]},), got {lengths.shape}")
    out = joints.copy()
    for j in _topological(parents):
        p = parents[j]
        if p < 0:
            continue
        d = joints[:, j] - joints[:, p]
        n = np.linalg.norm(d, axis=-1, keepdims=True)
        unit = np.where(n > 1e-12, d / np.where(n > 1e-12, n, 1.0), np.array([0.0, 1.0, 0.0]))
        out[:, j] = out[:, p] + lengths[j] * unit
    return out


# (root, middle, end) joints of the four limbs, by canonical name
LIMBS = (
    ("left_hip", "left_knee", "left_ankle"),
    ("right_hip", "right_knee", "right_ankle"),
    ("left_shoulder", "left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow", "right_wrist"),
)


def normalize_bone_lengths_keep_limb_ends(joints: np.ndarray, parents, lengths, limbs=LIMBS) -> np.ndarray:
    """Like `normalize_bone_lengths`, but each limb keeps the decoded vector from its root (hip,
    shoulder) to its end (ankle, wrist); its middle joint (knee, elbow) is placed by two-bone inverse
    kinematics in the plane in which the input bends it. (T, J, 3) metres, canonical joints.

    Why: a network that outputs positions shortens bones where it averages poses; setting each bone to
    its standard length along its own direction then stretches the limb (measured on the bundled model:
    pelvis 8 cm higher above the feet than in real dances, knees 16 degrees straighter). Keeping the
    end points keeps where the feet and hands are, and bends the knee or elbow to fit the real bones.
    An end farther than the two bones reach is pulled in to 0.999 of their length (a straight limb).
    """
    src = _check(joints)
    out = normalize_bone_lengths(src, parents, lengths)
    lengths = np.asarray(lengths, dtype=np.float64)
    children = [[j for j, p in enumerate(parents) if p == k] for k in range(len(parents))]
    yaw = facing_angle(src)
    fwd = np.stack([np.sin(yaw), np.zeros(len(src)), np.cos(yaw)], axis=-1)  # yaw 0 faces +z
    for root_name, mid_name, end_name in limbs:
        a, b, c = (joint_index(n) for n in (root_name, mid_name, end_name))
        l1, l2 = lengths[b], lengths[c]
        d = src[:, c] - src[:, a]
        dist = np.linalg.norm(d, axis=-1, keepdims=True)
        u = d / np.maximum(dist, 1e-9)
        dist = np.clip(dist, abs(l1 - l2) + 1e-6, 0.999 * (l1 + l2))
        # bend plane: where the input puts the middle joint off the root-end line (else: knees forward,
        # elbows back)
        m = src[:, b] - src[:, a]
        perp = m - (m * u).sum(-1, keepdims=True) * u
        default = fwd if "knee" in mid_name else -fwd
        default = default - (default * u).sum(-1, keepdims=True) * u
        small = np.linalg.norm(perp, axis=-1, keepdims=True) < 1e-4
        perp = np.where(small, default, perp)
        perp /= np.maximum(np.linalg.norm(perp, axis=-1, keepdims=True), 1e-12)
        cos_a = np.clip((l1**2 + dist**2 - l2**2) / (2 * l1 * dist), -1.0, 1.0)
        mid = out[:, a] + u * (l1 * cos_a) + perp * (l1 * np.sqrt(1 - cos_a**2))
        end = out[:, a] + u * dist
        moved = end - out[:, c]
        out[:, b], out[:, c] = mid, end
        stack = list(children[c])
        while stack:  # the end's own children (the foot) move with it
            k = stack.pop()
            out[:, k] += moved
            stack.extend(children[k])
    return out


def lift_feet_to_floor(
    joints: np.ndarray, fps: float, parents, lengths, *, smooth_s: float = 0.1, legs=LIMBS[:2]
) -> np.ndarray:
    """Raise each foot that is below the floor (y = 0) onto it and re-bend that leg's knee to fit.

    joints: (T, J, 3) metres, canonical joints, standard bone lengths `lengths`. Per leg, the lift is the
    depth of its lowest foot joint (ankle or toe) below y = 0, spread over `smooth_s` seconds on each side
    (a moving maximum, then a moving mean of the same width: never less than the depth, and without a
    step), added to the ankle and the toe; the knee is then placed by `normalize_bone_lengths_keep_limb_ends`.
    The pelvis does not move: a foot through the floor means a leg reaching too far, so bending the knee
    is the repair, where lifting the whole body would stand the dancer taller still.
    """
    src = _check(joints)
    w = 2 * max(1, int(round(smooth_s * fps))) + 1
    lifted, moved = src.copy(), {}
    for limb in legs:
        ankle = joint_index(limb[2])
        foot = [ankle] + [j for j, p in enumerate(parents) if p == ankle]
        depth = np.maximum(0.0, -src[:, foot, 1].min(axis=1))
        if depth.any():
            lift = uniform_filter1d(maximum_filter1d(depth, w, mode="nearest"), w, mode="nearest")
            lifted[:, foot, 1] += lift[:, None]
            moved[limb] = (lift > 0, [joint_index(limb[1])] + foot)
    if not moved:
        return src.copy()
    bent = normalize_bone_lengths_keep_limb_ends(lifted, parents, lengths, tuple(moved))
    out = src.copy()
    for frames, limb_joints in moved.values():  # other frames keep their knee exactly
        out[np.ix_(frames, limb_joints)] = bent[np.ix_(frames, limb_joints)]
    return out


def floor_level(
    joints: np.ndarray,
    fps: float | None = None,
    *,
    window_s: float | None = None,
    feet=FEET,
    percentile: float = 2.0,
) -> np.ndarray:
    """(T,) floor height (metres) under each frame of (T, J, 3) joints.

    window_s None: one level for the whole take, the `percentile` of the per-frame lowest foot height.
    window_s given (with fps): the same percentile over a moving window of that length, then averaged over
    the window, for takes whose floor drifts (many Tang takes rise by 10-40 cm over a minute). Jumps
    shorter than about half the window stay in the air.
    """
    joints = _check(joints)
    low = joints[:, list(feet), 1].min(axis=1)
    if window_s is None:
        return np.full(low.shape, np.percentile(low, percentile))
    if fps is None:
        raise ValueError("floor_level needs fps with window_s")
    size = max(1, min(len(low), int(round(window_s * fps))))
    level = percentile_filter(low, percentile, size=size, mode="nearest")
    # A low percentile over a window lags a drifting floor by half a window; instead average the foot
    # heights of frames in contact (within 10, then 5, then 3 cm of the current level), which is
    # centred. Odd (point) reflection at the ends keeps a linear drift linear there.
    pad = min(size, len(low) - 1)
    for tol in (0.10, 0.05, 0.03):
        contact = (low < level + tol).astype(np.float64)
        num = np.pad(low * contact, pad, mode="reflect", reflect_type="odd")
        den = np.pad(contact, pad, mode="reflect")
        num = uniform_filter1d(num, size, mode="nearest")[pad : pad + len(low)]
        den = uniform_filter1d(den, size, mode="nearest")[pad : pad + len(low)]
        level = np.where(den > 1e-6, num / np.maximum(den, 1e-6), level)
    return level


def put_on_floor(
    joints: np.ndarray, fps: float | None = None, *, window_s: float | None = None, feet=FEET
) -> np.ndarray:
    """Shift (T, J, 3) metres vertically so the feet stand on y = 0 (see `floor_level`).

    The level is a robust low percentile over the take (or over a moving window of `window_s` seconds),
    never per frame, so jumps stay in the air and a few glitched frames do not set the floor.
    """
    joints = _check(joints).copy()
    joints[..., 1] -= floor_level(joints, fps, window_s=window_s, feet=feet)[:, None]
    return joints


@dataclass
class CleaningReport:
    """What `clean_motion` did. Counts are joint-frames of the input; std figures are centimetres."""

    frames_in: int
    frames_out: int
    fps_in: float
    fps_out: float
    nan_filled: int
    glitches_repaired: int
    bone_std_cm_before: float  # mean over bones of the std over time of each bone's length
    bone_std_cm_after: float
    body_scale: float  # factor applied to the root trajectory by bone-length normalisation
    floor_shift_m: float  # median metres subtracted from y to put the feet on the floor
    floor_drift_m: float  # range (max - min) of the floor level over the take

    def as_dict(self) -> dict:
        return asdict(self)


def _bone_std_cm(joints: np.ndarray, parents) -> float:
    L = bone_lengths(joints, parents)[:, np.asarray(parents) >= 0]
    return float(np.nanmean(np.nanstd(L, axis=0)) * 100.0) if L.size else 0.0


def clean_motion(
    motion: Motion,
    *,
    fps_out: float | None = MODEL_FPS,
    smooth_hz: float | None = None,
    bone_lengths: str | np.ndarray | None = "standard",
    glitch_threshold: float = 8.0,
    floor_window_s: float | None = FLOOR_WINDOW_S,
) -> tuple[Motion, CleaningReport]:
    """Clean a canonical Motion: fill NaN, repair glitches, smooth (optional), resample, bones, floor.

    fps_out: target frame rate (None keeps the input's). smooth_hz: low-pass cutoff in Hz or None.
    bone_lengths: "standard" (STANDARD_BONE_LENGTHS, canonical skeleton only), "take" (this take's
    median lengths), an array (J,) of metres, or None to keep the lengths. When lengths change, the root
    trajectory is scaled by the ratio of total bone length so that steps match the new legs.
    floor_window_s: moving window (s) of the floor level, to undo slow vertical drift; None: one level.
    """
    parents = motion.parents
    raw = _check(motion.joints)
    nan_mask = np.isnan(raw).any(axis=-1)
    try:
        x = fill_missing(raw)
    except MissingJointError as e:
        source = motion.meta.get("source")
        raise CleaningError(f"{source}: {e}" if source else str(e)) from None
    std_before = _bone_std_cm(raw, parents)
    glitches = detect_glitches(x, motion.fps, threshold=glitch_threshold)
    x = repair_glitches(x, glitches)
    if smooth_hz:
        x = smooth(x, motion.fps, smooth_hz)
    fps = float(fps_out) if fps_out else float(motion.fps)
    x = resample_joints(x, motion.fps, fps)

    scale = 1.0
    if bone_lengths is not None:
        current = np.median(_bone_lengths_of(x, parents), axis=0)
        if isinstance(bone_lengths, str):
            if bone_lengths == "standard":
                if tuple(motion.joint_names) != CANONICAL_JOINTS:
                    raise ValueError("standard bone lengths need the canonical skeleton")
                target = STANDARD_BONE_LENGTHS
            elif bone_lengths == "take":
                target = current
            else:
                raise ValueError(
                    f"bone_lengths must be 'standard', 'take', an array or None; got {bone_lengths!r}"
                )
        else:
            target = np.asarray(bone_lengths, dtype=np.float64)
        roots = [j for j, p in enumerate(parents) if p < 0]
        scale = float(target.sum() / current.sum()) if current.sum() > 0 else 1.0
        # Move the whole body with its root (not the root alone): bone directions are read from the
        # joints' relative positions, which must stay as they were.
        x = x + (scale - 1.0) * x[:, roots[:1]]
        x = normalize_bone_lengths(x, parents, target)

    floor_shift = floor_drift = 0.0
    if tuple(motion.joint_names) == CANONICAL_JOINTS:
        level = floor_level(x, fps, window_s=floor_window_s)
        x = x.copy()
        x[..., 1] -= level[:, None]
        floor_shift, floor_drift = float(np.median(level)), float(level.max() - level.min())

    report = CleaningReport(
        frames_in=int(raw.shape[0]),
        frames_out=int(x.shape[0]),
        fps_in=float(motion.fps),
        fps_out=fps,
        nan_filled=int(nan_mask.sum()),
        glitches_repaired=int(glitches.sum()),
        bone_std_cm_before=std_before,
        bone_std_cm_after=_bone_std_cm(x, parents),
        body_scale=scale,
        floor_shift_m=floor_shift,
        floor_drift_m=floor_drift,
    )
    meta = dict(motion.meta)
    meta["cleaning"] = report.as_dict()
    out = Motion(
        joints=x.astype(np.float32), fps=fps, joint_names=motion.joint_names, parents=parents, meta=meta
    )
    return out, report
