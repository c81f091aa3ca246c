"""Writing a dance as a data file, the format picked by the extension (`DATA_FORMATS`: .npz .bvh .json).

The keypoint JSON (per-frame joint positions, readable from any language) is written and read here:
{"format", "fps", "units", "joint_names", "parents", "frames": [[[x, y, z] x J] x T]}, mm-rounded.
Drawn outputs (.mp4 .gif .html) are `render/`'s; `commands.write_dance` picks between the two.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from ..errors import input_error
from .atomic import write_text_atomic
from .skeleton import Motion

JSON_FORMAT = "music2dance-keypoints/1"

DATA_FORMATS: dict[str, str] = {
    ".npz": "dance npz (joints, fps, skeleton, music beats; reloadable)",
    ".bvh": "BVH motion capture file (centimetres, Mixamo-like names)",
    ".json": "per-frame joint positions (metres, rounded to mm)",
}

log = logging.getLogger(__name__)


def write_data_file(
    motion: Motion, out: str | os.PathLike, *, quiet: bool = False, model: str = "", seed: int = -1
) -> Path:
    """Write `motion` to `out` in the data format its extension names (see `DATA_FORMATS`); returns the path.

    model / seed: provenance stored in .npz. The caller checks the output path first
    (`validate.check_output`); an extension that is no data format is a one-line error.
    """
    out = Path(out)
    ext = out.suffix.lower()
    if ext == ".npz":
        from .dance_npz import save_dance_npz

        save_dance_npz(out, motion, model=model, seed=seed)
    elif ext == ".bvh":
        from .bvh_export import write_bvh

        write_bvh(motion, out)
    elif ext == ".json":
        write_keypoints_json(motion, out)
    else:
        raise input_error(
            out, f"not a data format {ext or '(no extension)'!r}; use one of: {' '.join(DATA_FORMATS)}"
        )
    if not quiet:
        log.info("wrote %s (%d frames at %g fps)", out, motion.num_frames, motion.fps)
    return out


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
