"""One entry point for reading any supported dance file into a canonical `Motion`.

Dispatches by kind: Tang folder (skeletons.json), .bvh, dance .npz, keypoint .npz/.npy/.pkl.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import input_error
from ..validate import check_input_file, check_motion
from .skeleton import Motion

SUPPORTED = (
    "a Tang folder (skeletons.json), .bvh, dance .npz or .json (from `music2dance generate`), "
    "or COCO-17 keypoints (.npy, .npz, .pkl)"
)


def _is_dance_npz(path: Path) -> bool:
    from .dance_npz import read_npz_arrays

    check_input_file(path, "npz")
    try:
        with np.load(path, allow_pickle=False) as z:  # names only: the arrays are read once, later
            return "joints" in z.files  # a dance npz (load_dance_npz names a missing 'fps')
    except Exception:  # not a zip, truncated, an .npy under an .npz name: let the reader say which
        read_npz_arrays(path)
        raise input_error(path, "not a readable npz") from None


def _read(path: Path) -> Motion:
    if not path.exists():
        raise input_error(path, "file not found")
    if path.is_dir():
        if (path / "skeletons.json").is_file():
            from .tang import read_tang_sequence

            return read_tang_sequence(path).motion
        raise input_error(path, f"folder has no skeletons.json; expected {SUPPORTED}")
    if path.name == "skeletons.json":
        return _read(path.parent)
    ext = path.suffix.lower()
    if ext in (".bvh", ".json", ".npy", ".pkl"):
        check_input_file(path, "dance file")
    if ext == ".bvh":
        from .bvh import bvh_to_motion

        return bvh_to_motion(path)
    if ext == ".json":
        from .export import read_keypoints_json

        return read_keypoints_json(path)
    if ext == ".npz" and _is_dance_npz(path):
        from .dance_npz import load_dance_npz

        return load_dance_npz(path)
    if ext in (".npz", ".npy", ".pkl"):
        from .keypoints import load_keypoints_motion

        return load_keypoints_motion(path)
    raise input_error(path, f"unsupported dance file type {ext or '(none)'!r}; expected {SUPPORTED}")


def load_dance(path: str | os.PathLike, *, allow_missing: bool = True) -> Motion:
    """Read a dance from any supported file (see SUPPORTED) as a canonical Motion (metres, y up).

    Tang and BVH motions are returned uncleaned at their own frame rate. Every dance is validated once
    here (`validate.check_motion`: shapes, finite values, frame rate, coordinates, skeleton tree);
    allow_missing=False also refuses NaN (missing) joint positions, which renderers cannot draw.
    """
    path = Path(path)
    return check_motion(_read(path), path, allow_missing=allow_missing)
