"""The one geometry of joint tracks: facing, turning about the vertical, the canonical frame, joint speed,
frame-rate changes, low-pass filtering and filling missing joints: one function per idea, for every layer.

Conventions: joints are (T, J, 3) float arrays in metres, right-handed, y up; functions that need named
joints (facing, the canonical frame) expect the canonical joint order of `io.skeleton` (pelvis = joint 0).
Frame rates are in frames per second, angles in radians. Yaw 0 faces +z; a positive yaw turns +z towards
+x (a rotation about +y).

Time convention of `resample_joints`: frame k of the output is at k / dst_fps seconds, frame 0 of input and
output at time 0, and the output covers the input's sample times [0, (T - 1) / src_fps] without
extrapolating: `resampled_length(T, src_fps, dst_fps)` = floor((T - 1) dst_fps / src_fps) + 1 frames
(a 15 fps dance of T frames gives 2 T - 1 frames at 30 fps). A player that shows every frame for 1 / fps
seconds (a video) needs T / src_fps seconds of pictures; `render.figure.video_frames` holds the last pose
for the remaining frames.
"""

from __future__ import annotations

import numpy as np

from ..errors import Music2DanceError
from ..io.skeleton import CANONICAL_JOINTS, joint_index

PELVIS = joint_index("pelvis")
_LEFT_HIP, _RIGHT_HIP = joint_index("left_hip"), joint_index("right_hip")
_LEFT_SHOULDER, _RIGHT_SHOULDER = joint_index("left_shoulder"), joint_index("right_shoulder")


class MissingJointError(Music2DanceError, ValueError):
    """A joint missing (NaN) in every frame, so there is nothing to fill it from."""


# ------------------------------------------------------------------------------------ facing and frames


def facing_angle(joints: np.ndarray, *, hips_only: bool = False) -> np.ndarray:
    """Yaw (radians) of the body's forward direction: canonical joints (..., J, 3) metres -> (...,).

    Forward is horizontal, perpendicular to the body's right-to-left line, forward = left x up. The left
    line is the sum of the hip line and the shoulder line (a twisted torso faces between the two), or with
    hips_only=True the hip line alone: the pelvis's own orientation, for comparing poses in which the
    torso's twist against the hips is part of the pose (`face_forward`).
    """
    joints = np.asarray(joints, dtype=np.float64)
    left = joints[..., _LEFT_HIP, :] - joints[..., _RIGHT_HIP, :]
    if not hips_only:
        left = left + (joints[..., _LEFT_SHOULDER, :] - joints[..., _RIGHT_SHOULDER, :])
    # forward = left x (0, 1, 0) = (-left_z, 0, left_x)
    return np.arctan2(-left[..., 2], left[..., 0])


def rotate_y(points: np.ndarray, angle) -> np.ndarray:
    """Rotate (..., 3) points (any length unit) about +y by `angle` radians (+z towards +x) -> (..., 3).

    angle: a number, or an array that broadcasts against points[..., 0] (one angle per unit, say). The
    result's dtype is numpy's for points and angle (float32 points with float32 angles stay float32).
    """
    c, s = np.cos(angle), np.sin(angle)
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    return np.stack([c * x + s * z, y, -s * x + c * z], axis=-1)


def body_frame(poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where poses (..., J, 3) metres stand: yaw (...,) radians (`facing_angle`) and the pelvis on the
    floor, offset (..., 3) metres with offset[..., 1] = 0 (in the poses' dtype)."""
    poses = np.asarray(poses)
    offset = poses[..., PELVIS, :].copy()
    offset[..., 1] = 0.0
    return facing_angle(poses), offset


def canonicalize(joints: np.ndarray, frame: int = 0) -> tuple[np.ndarray, float, np.ndarray]:
    """Turn about y and shift a sequence so that frame `frame` has its pelvis at x = z = 0 and faces +z.

    joints: (T, J, 3) metres, canonical order. Returns (joints_out (T, J, 3) float64, yaw radians,
    offset (3,) metres with offset[1] = 0): joints_out = rotate_y(joints - offset, -yaw). Heights are kept.
    """
    joints = np.asarray(joints, dtype=np.float64)
    yaw, offset = body_frame(joints[frame])
    return rotate_y(joints - offset, -float(yaw)), float(yaw), offset


def uncanonicalize(joints: np.ndarray, yaw: float, offset: np.ndarray) -> np.ndarray:
    """Inverse of `canonicalize`: rotate_y(joints, yaw) + offset; (T, J, 3) metres, float64."""
    return rotate_y(np.asarray(joints, dtype=np.float64), yaw) + np.asarray(offset, dtype=np.float64)


def canonicalize_units(units: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Put each unit in its own frame: first-frame pelvis at x = z = 0, first frame facing +z.

    units: (N, L, J, 3) metres, y up. Returns (canonical units (N, L, J, 3), yaw (N,) radians, offset (N, 3)
    metres), all float32, such that `place_units(canonical, yaw, offset)` gives the input back. The height
    (y) is kept: the floor is shared by every unit, so feet stay on it. Float32 throughout, as the models
    see it (the recorded dances of the bundled model depend on these exact numbers).
    """
    units = np.asarray(units, dtype=np.float32)
    yaw, offset = body_frame(units[:, 0])
    yaw = np.asarray(yaw, dtype=np.float32).reshape(len(units))
    canon = rotate_y(units - offset[:, None, None], -yaw[:, None, None])
    return canon.astype(np.float32), yaw, offset


def place_units(canon: np.ndarray, yaw: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Inverse of `canonicalize_units`: canonical (N, L, J, 3) metres -> world, turned by yaw (N,) radians
    and moved by offset (N, 3) metres; float32."""
    return (
        rotate_y(np.asarray(canon), np.asarray(yaw)[:, None, None]) + np.asarray(offset)[:, None, None]
    ).astype(np.float32)


def face_forward(joints: np.ndarray) -> np.ndarray:
    """Every frame in its own frame: (T, J, 3) metres -> pelvis-relative (the pelvis at 0, height too),
    turned about y so the pelvis faces +z (hip line along +x, `facing_angle(hips_only=True)`); float64.

    Removes position and facing, so poses from different takes and moments can be averaged and compared.
    """
    x = np.asarray(joints, dtype=np.float64)
    x = x - x[:, PELVIS : PELVIS + 1, :]
    return rotate_y(x, -facing_angle(x, hips_only=True)[:, None])


# -------------------------------------------------------------------------------------------------- speed


def _steps(joints: np.ndarray, axis: int) -> np.ndarray:
    """Distance (m) each joint moves from one frame to the next along the time `axis`, in joints' dtype."""
    return np.linalg.norm(np.diff(joints, axis=axis), axis=-1)


def joint_speed(joints: np.ndarray, fps: float) -> np.ndarray:
    """(T-1, J) speed of each joint over each frame step, |p[t+1] - p[t]| * fps, m/s, float64;
    joints (T, J, 3) metres."""
    return _steps(np.asarray(joints, dtype=np.float64), 0) * float(fps)


def joint_acceleration(joints: np.ndarray, fps: float) -> np.ndarray:
    """(T-2, J) acceleration magnitude of each joint, |p[t+1] - 2 p[t] + p[t-1]| * fps^2, m/s^2, float64;
    joints (T, J, 3) metres."""
    return np.linalg.norm(np.diff(np.asarray(joints, dtype=np.float64), 2, axis=0), axis=-1) * float(fps) ** 2


def mean_joint_speed(joints: np.ndarray, fps: float) -> np.ndarray:
    """(T-1,) mean over joints of `joint_speed`, m/s, float64; joints (T, J, 3) metres (empty under 2
    frames)."""
    x = np.asarray(joints, dtype=np.float64)
    if len(x) < 2:
        return np.zeros(0)
    return _steps(x, 0).mean(axis=1) * float(fps)


def unit_speed(units: np.ndarray, fps: float) -> np.ndarray:
    """(N,) mean joint speed of each unit over its L-1 steps and J joints, m/s, in the units' dtype
    (float32 units, as the models make them, give float32); units (N, L, J, 3) metres."""
    return _steps(np.asarray(units), 1).mean(axis=(1, 2)) * fps


# ---------------------------------------------------------------------------------------- time and gaps


def smooth(joints: np.ndarray, fps: float, cutoff_hz: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass along time: (T, ...) any units -> float64; cutoff in Hz (< fps / 2)."""
    from scipy.signal import butter, filtfilt

    joints = np.asarray(joints, dtype=np.float64)
    nyq = 0.5 * float(fps)
    if not 0 < cutoff_hz < nyq:
        raise ValueError(f"cutoff {cutoff_hz} Hz must be between 0 and the Nyquist frequency {nyq} Hz")
    b, a = butter(order, cutoff_hz / nyq)
    padlen = min(3 * max(len(a), len(b)), joints.shape[0] - 1)
    if padlen < 1:
        return joints.copy()
    return filtfilt(b, a, joints, axis=0, padlen=padlen)


def resampled_length(n_frames: int, src_fps: float, dst_fps: float) -> int:
    """Frames `resample_joints` returns for n_frames at src_fps: floor((n - 1) dst / src) + 1 (n if < 2)."""
    if n_frames < 2 or src_fps == dst_fps:
        return int(n_frames)
    return int(np.floor((n_frames - 1) * float(dst_fps) / float(src_fps) + 1e-9)) + 1


def resample_joints(joints: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """Change the frame rate of (T, ...) data (joints (T, J, 3) metres): float64 (N, ...), see the module
    docstring for the time convention (N = `resampled_length`).

    Values between frames come from a cubic spline (not-a-knot; lower degree under 4 frames): linear
    interpolation would make the speed piecewise constant and hide the speed minima that motion-beat
    detectors look for. Downsampling first low-passes at 0.4 x dst_fps (80 % of the new Nyquist frequency)
    so that fast motion does not alias into slow motion.
    """
    from scipy.interpolate import make_interp_spline

    x = np.asarray(joints, dtype=np.float64)
    T = x.shape[0]
    if src_fps == dst_fps or T < 2:
        return x.copy()
    if dst_fps < src_fps:
        x = smooth(x, src_fps, 0.4 * dst_fps)
    n = resampled_length(T, src_fps, dst_fps)
    t_in = np.arange(T) / float(src_fps)
    t_out = np.arange(n) / float(dst_fps)  # the last may pass t_in[-1] by float error: spline extends
    flat = x.reshape(T, -1)
    return make_interp_spline(t_in, flat, k=min(3, T - 1))(t_out).reshape((n,) + x.shape[1:])


def fill_missing(joints: np.ndarray, *, absent: float | None = None) -> np.ndarray:
    """Fill NaN joints of (T, J, 3) by linear interpolation over time, per joint; ends hold the nearest value.

    A joint-frame with any NaN coordinate counts as missing. A joint missing in every frame raises
    MissingJointError (absent=None), or is set to `absent` (metres) in every coordinate, for analyses that
    accept any file and only need finite numbers (`music2dance beats`). Returns float64 (T, J, 3).
    """
    joints = np.array(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[-1] != 3:
        raise ValueError(f"joints must be (T, J, 3), got {joints.shape}")
    missing = np.isnan(joints).any(axis=-1)  # (T, J)
    if not missing.any():
        return joints
    t = np.arange(joints.shape[0])
    for j in np.flatnonzero(missing.any(axis=0)):
        ok = ~missing[:, j]
        if not ok.any():
            if absent is None:
                name = CANONICAL_JOINTS[j] if joints.shape[1] == len(CANONICAL_JOINTS) else f"joint {j}"
                raise MissingJointError(f"{name} is missing in every frame")
            joints[:, j] = absent
            continue
        for c in range(3):
            joints[~ok, j, c] = np.interp(t[~ok], t[ok], joints[ok, j, c])
    return joints
