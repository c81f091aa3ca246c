"""Plain-data exports of a dance: per-frame joint positions as JSON, readable from any language.

Layout: {"format", "fps", "units", "joint_names", "parents", "frames": [[[x, y, z] x J] x T]}, mm-rounded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import input_error
from .atomic import write_text_atomic
from .skeleton import Motion

JSON_FORMAT = "music2dance-keypoints/1"


def keypoints_dict(motion: Motion) -> dict:
    """The JSON-ready dict of `motion`: positions in metres rounded to 1 mm, y up, right-handed."""
    joints = np.asarray(motion.joints, dtype=np.float64)
    if not np.isfinite(joints).all():
        raise ValueError("the dance contains NaN or infinite joint positions")
    return {
        "format": JSON_FORMAT,
        "fps": float(motion.fps),
        "units": "m",
        "up": "y",
        "joint_names": [str(n) for n in motion.joint_names],
        "parents": [int(p) for p in motion.parents],
        "music_beats": [round(float(b), 4) for b in np.ravel(motion.meta.get("music_beats", []))],
        "frames": np.round(joints, 3).tolist(),
    }


def write_keypoints_json(motion: Motion, path: str | os.PathLike) -> Path:
    """Write `motion` as keypoint JSON (see module docstring), atomically; returns the path."""
    path = Path(path)
    try:
        data = keypoints_dict(motion)
    except ValueError as e:
        raise input_error(path, str(e)) from None
    # One frame per line: small diffs, and still easy to skim.
    head = json.dumps({k: v for k, v in data.items() if k != "frames"}, separators=(",", ":"))[:-1]
    rows = ",\n".join(json.dumps(f, separators=(",", ":")) for f in data["frames"])
    write_text_atomic(path, f'{head},"frames":[\n{rows}\n]}}\n')
    return path


def read_keypoints_json(path: str | os.PathLike) -> Motion:
    """Read a file written by `write_keypoints_json` back into a Motion (validated where it is loaded)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != JSON_FORMAT:
            raise ValueError(f'no "format": "{JSON_FORMAT}" field')
        names = data["joint_names"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError("joint_names must be a list of names")
        joints = np.asarray(data["frames"], dtype=np.float32)
        if joints.ndim != 3 or joints.shape[1:] != (len(names), 3):
            raise ValueError(f"frames must be [frames][{len(names)} joints][3], got shape {joints.shape}")
        fps = data["fps"]
        if not isinstance(fps, (int, float)) or isinstance(fps, bool):
            raise ValueError(f"fps must be a number, got {fps!r}")
        parents = data["parents"]
        if not isinstance(parents, list) or not all(isinstance(p, int) for p in parents):
            raise ValueError("parents must be a list of joint indices")
        motion = Motion(
            joints=joints,
            fps=float(fps),
            joint_names=tuple(names),
            parents=tuple(parents),
            meta={"music_beats": np.asarray(data.get("music_beats", []), dtype=np.float32).reshape(-1)},
        )
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise input_error(path, f"not a music2dance keypoint JSON ({why})") from None
    return motion
