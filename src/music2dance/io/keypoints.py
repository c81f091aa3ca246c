"""COCO-17 keypoints (AIST++ keypoints3d, OpenPose-style 2D) -> canonical `Motion`, and their file readers.

Derived joints (pelvis, spine, neck, head, toes) are approximations; the rules are in `coco17_to_motion`.
"""

from __future__ import annotations

import os
import pickle
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import input_error
from .skeleton import CANONICAL_JOINTS, Motion

COCO17: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
_K = {n: i for i, n in enumerate(COCO17)}

_UNIT_TO_M = {"m": 1.0, "cm": 0.01, "mm": 0.001}

# Spine point = this fraction of the way from pelvis to neck (Tang: waist point 12 cm up a 42 cm torso).
SPINE_FRACTION = 0.28
# Toe = ankle + TOE_FORWARD * shin forward and TOE_DOWN * shin down (Tang medians: ankle->toe 18 cm,
# 13 cm lower and 12 cm forward, shin 36 cm).
TOE_FORWARD = 0.33
TOE_DOWN = 0.36
# 2D scale rule: torso (mid-shoulder to mid-hip) + thigh + shin of a 1.70 m adult, metres.
REFERENCE_TORSO_LEG_M = 1.30

AIST_FPS = 60.0


def _body_length(kp: np.ndarray) -> np.ndarray:
    """(T,) torso + mean thigh + mean shin per frame, input units."""
    neck = 0.5 * (kp[:, _K["left_shoulder"]] + kp[:, _K["right_shoulder"]])
    pelvis = 0.5 * (kp[:, _K["left_hip"]] + kp[:, _K["right_hip"]])

    def d(a, b):
        return np.linalg.norm(kp[:, _K[a]] - kp[:, _K[b]], axis=-1)

    thigh = 0.5 * (d("left_hip", "left_knee") + d("right_hip", "right_knee"))
    shin = 0.5 * (d("left_knee", "left_ankle") + d("right_knee", "right_ankle"))
    return np.linalg.norm(neck - pelvis, axis=-1) + thigh + shin


def _auto_scale(kp: np.ndarray) -> float:
    """Metres per input unit for 3D keypoints of unknown unit, from the torso+leg length."""
    length = float(np.nanmedian(_body_length(kp)))
    for unit, lo, hi in (("m", 0.5, 3.0), ("cm", 50.0, 300.0), ("mm", 500.0, 3000.0)):
        if lo <= length < hi:
            return _UNIT_TO_M[unit]
    raise ValueError(f"cannot tell the unit: torso+leg length is {length:.3g}")


def coco17_to_motion(
    kp: np.ndarray, fps: float, *, units: str = "m", image_height: float | None = None
) -> Motion:
    """COCO-17 keypoints -> canonical Motion (metres, right-handed, y up). Missing points may be NaN.

    kp: (T, 17, 3) 3D points, y up (AIST++ keypoints3d: pass units="cm"), or (T, 17, 2) image points in
        pixels, y down (OpenPose style; exact (0, 0) points count as missing). units: "m", "cm", "mm"
        or "auto" (3D only: picked from the torso+leg length).
    2D: y is flipped (y_up = image_height - y, or -y when image_height is None), z = 0, and the scale
        makes the 90th percentile over frames of torso + thigh + shin equal REFERENCE_TORSO_LEG_M
        (a high percentile because projection only shortens limbs).
    Derived joints: pelvis = mid-hips; neck = mid-shoulders; spine = SPINE_FRACTION of the way up;
        head = mid-ears (nose where an ear is missing); toe = ankle moved forward (left x up, horizontal)
        and down by fixed fractions of the median shin length. In 2D the forward direction is out of
        the image plane, so the toe lies straight below the ankle.
    """
    kp = np.asarray(kp, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1] != 17 or kp.shape[2] not in (2, 3):
        raise ValueError(f"keypoints must be (T, 17, 2) or (T, 17, 3), got {kp.shape}")
    if kp.shape[0] == 0:
        raise ValueError("keypoints have no frames")
    is_2d = kp.shape[2] == 2
    if is_2d:
        kp = kp.copy()
        kp[(kp == 0).all(axis=-1)] = np.nan
        y = kp[..., 1]
        y_up = (image_height - y) if image_height is not None else -y
        kp = np.concatenate([kp[..., :1], y_up[..., None], np.zeros_like(y_up)[..., None]], axis=-1)
        length = np.nanpercentile(_body_length(kp), 90)
        if not np.isfinite(length) or length <= 0:
            raise ValueError("cannot scale 2D keypoints: shoulders, hips, knees or ankles never seen")
        kp = kp * (REFERENCE_TORSO_LEG_M / length)
    elif units == "auto":
        kp = kp * _auto_scale(kp)
    elif units in _UNIT_TO_M:
        kp = kp * _UNIT_TO_M[units]
    else:
        raise ValueError(f"units must be one of m, cm, mm, auto; got {units!r}")

    def p(n):
        return kp[:, _K[n]]

    out = {n: p(n) for n in CANONICAL_JOINTS if n in _K}
    out["pelvis"] = 0.5 * (p("left_hip") + p("right_hip"))
    out["neck"] = 0.5 * (p("left_shoulder") + p("right_shoulder"))
    out["spine"] = out["pelvis"] + SPINE_FRACTION * (out["neck"] - out["pelvis"])
    ears = 0.5 * (p("left_ear") + p("right_ear"))
    out["head"] = np.where(np.isnan(ears), p("nose"), ears)

    up = np.array([0.0, 1.0, 0.0])
    left = p("left_hip") - p("right_hip")
    left[:, 1] = 0.0
    fwd = np.cross(left, up)  # right-handed, y up: forward = left x up
    norm = np.linalg.norm(fwd, axis=-1, keepdims=True)
    fwd = np.divide(fwd, norm, out=np.zeros_like(fwd), where=norm > 1e-9)
    if is_2d:
        fwd[:] = 0.0  # forward is out of the image plane and its sign is unknown
    for side in ("left", "right"):
        ankle = p(f"{side}_ankle")
        shin = np.nanmedian(np.linalg.norm(p(f"{side}_knee") - ankle, axis=-1))
        shin = shin if np.isfinite(shin) else 0.0
        out[f"{side}_foot"] = ankle + shin * (TOE_FORWARD * fwd - TOE_DOWN * up)

    joints = np.stack([out[n] for n in CANONICAL_JOINTS], axis=1)
    return Motion(joints=joints.astype(np.float32), fps=float(fps), meta={"source_format": "coco17"})


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts/lists of numpy arrays only; anything else is refused."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("collections", "OrderedDict"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


def load_array_pickle(path: str | os.PathLike) -> dict:
    """A pickle of a dict of numpy arrays (AIST++, PopDanceSet) -> that dict; one-line error otherwise."""
    try:
        with open(path, "rb") as f:
            data = _ArrayUnpickler(f, encoding="latin1").load()
    except Exception as e:  # a corrupt pickle fails in many ways (EOFError, UnpicklingError, KeyError, ...)
        raise input_error(
            path, f"cannot read the pickle ({type(e).__name__}{f': {e}' if str(e) else ''})"
        ) from None
    if not isinstance(data, dict):
        raise input_error(path, "expected a pickled dict of arrays")
    return data


_KP_KEYS = ("keypoints3d_optim", "keypoints3d", "keypoints", "keypoints2d", "joints3d", "kp")


def read_keypoints(path: str | os.PathLike) -> tuple[np.ndarray, float | None, str]:
    """Read COCO-17 keypoints from .npy, .npz or .pkl (AIST++).

    Returns (kp (T, 17, 2|3) float64, fps or None when the file has none, units) where units is "cm"
    for AIST++ pickles (their keypoints3d are centimetres) and "auto" otherwise.
    AIST++ keypoints2d (views, T, 17, 3: x, y, confidence) take the first view's x, y.
    """
    path = Path(path)
    ext = path.suffix.lower()
    fps, units = None, "auto"
    try:
        if ext == ".npy":
            with open(path, "rb") as f:
                if f.read(6) != b"\x93NUMPY":
                    raise input_error(path, "not a .npy array file")
            kp = np.load(path, allow_pickle=False)
        elif ext in (".npz", ".pkl"):
            if ext == ".npz":
                from .dance_npz import read_npz_arrays

                data = read_npz_arrays(path, "keypoint npz")
            else:
                with open(path, "rb") as f:
                    data = _ArrayUnpickler(f).load()
                units = "cm"
            if not isinstance(data, dict):
                raise input_error(path, "expected a dict of arrays")
            key = next((k for k in _KP_KEYS if k in data and data[k] is not None), None)
            if key is None:
                raise input_error(path, f"no keypoints array (looked for {', '.join(_KP_KEYS)})")
            kp = np.asarray(data[key])
            if key == "keypoints2d" and kp.ndim == 4:
                kp = kp[0, ..., :2]
            if "fps" in data:
                fps = float(np.asarray(data["fps"]))
        else:
            raise input_error(path, f"unsupported keypoint file type {ext!r} (use .npy, .npz or .pkl)")
    except (
        OSError,
        ValueError,
        TypeError,
        KeyError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
        pickle.UnpicklingError,
        AttributeError,
        ImportError,
    ) as e:
        raise input_error(path, f"cannot read keypoints ({e})") from None
    if kp.dtype.kind not in "fiu":
        raise input_error(path, f"keypoints must be numbers, got {kp.dtype}")
    kp = np.asarray(kp, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1] != 17 or kp.shape[2] not in (2, 3):
        raise input_error(path, f"keypoints must be (T, 17, 2|3) in COCO-17 order, got {kp.shape}")
    return kp, fps, units


def load_keypoints_motion(path: str | os.PathLike, fps: float | None = None) -> Motion:
    """Keypoint file -> canonical Motion; fps from the file, else `fps`, else AIST++'s 60."""
    kp, file_fps, units = read_keypoints(path)
    try:
        motion = coco17_to_motion(kp, fps or file_fps or AIST_FPS, units=units)
    except ValueError as e:
        raise input_error(path, str(e)) from None
    motion.meta["source"] = str(path)
    return motion
