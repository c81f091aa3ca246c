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
    """Read a file written by `write_keypoints_json` back into a Motion."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        joints = np.asarray(data["frames"], dtype=np.float32)
        motion = Motion(
            joints=joints.reshape(-1, len(data["joint_names"]), 3),
            fps=float(data["fps"]),
            joint_names=tuple(data["joint_names"]),
            parents=tuple(data["parents"]),
            meta={"music_beats": np.asarray(data.get("music_beats", []), dtype=np.float32)},
        )
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise input_error(path, f"not a music2dance keypoint JSON ({e})") from None
    return motion
