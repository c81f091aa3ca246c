"""One entry point for reading any supported dance file into a canonical `Motion`.

Dispatches by kind: Tang folder (skeletons.json), .bvh, dance .npz, keypoint .npz/.npy/.pkl.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from ..errors import input_error
from .skeleton import Motion

SUPPORTED = "a Tang folder (skeletons.json), .bvh, dance .npz, or COCO-17 keypoints (.npy, .npz, .pkl)"


def _is_dance_npz(path: Path) -> bool:
    try:
        with np.load(path, allow_pickle=False) as z:
            return "joints" in z.files and "fps" in z.files
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise input_error(path, f"not a readable npz ({e})") from None


def load_dance(path: str | os.PathLike) -> Motion:
    """Read a dance from any supported file (see SUPPORTED) as a canonical Motion (metres, y up).

    Tang and BVH motions are returned uncleaned at their own frame rate.
    """
    path = Path(path)
    if not path.exists():
        raise input_error(path, "file not found")
    if path.is_dir():
        if (path / "skeletons.json").is_file():
            from .tang import read_tang_sequence

            return read_tang_sequence(path).motion
        raise input_error(path, f"folder has no skeletons.json; expected {SUPPORTED}")
    if path.name == "skeletons.json":
        return load_dance(path.parent)
    ext = path.suffix.lower()
    if ext == ".bvh":
        from .bvh import bvh_to_motion

        return bvh_to_motion(path)
    if ext == ".npz" and _is_dance_npz(path):
        from .dance_npz import load_dance_npz

        return load_dance_npz(path)
    if ext in (".npz", ".npy", ".pkl"):
        from .keypoints import load_keypoints_motion

        return load_keypoints_motion(path)
    raise input_error(path, f"unsupported dance file type {ext or '(none)'!r}; expected {SUPPORTED}")
