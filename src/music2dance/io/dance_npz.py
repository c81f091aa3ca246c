"""The dance file format of `music2dance generate`: one npz, loadable with ``allow_pickle=False``.

Keys: joints (T, J, 3) float32 metres right-handed y up; fps; joint_names (J,) unicode; parents (J,);
music_beats (B,) seconds; model (str); seed (int). Extra float/int arrays may follow.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import input_error
from .atomic import atomic_path
from .skeleton import Motion


def save_dance_npz(
    path: str | os.PathLike,
    motion: Motion,
    *,
    music_beats: np.ndarray | None = None,
    model: str = "",
    seed: int = -1,
    extra: dict[str, np.ndarray] | None = None,
) -> None:
    """Write `motion` atomically as a dance npz (see module docstring for the keys)."""
    arrays = {
        "joints": np.asarray(motion.joints, dtype=np.float32),
        "fps": np.float32(motion.fps),
        "joint_names": np.array(motion.joint_names, dtype=np.str_),
        "parents": np.asarray(motion.parents, dtype=np.int32),
        "music_beats": np.asarray(
            music_beats if music_beats is not None else motion.meta.get("music_beats", []), dtype=np.float32
        ),
        "model": np.array(model or motion.meta.get("model", ""), dtype=np.str_),
        "seed": np.int64(seed if seed >= 0 else motion.meta.get("seed", -1)),
    }
    for k, v in (extra or {}).items():
        arrays[k] = np.asarray(v)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)


def load_dance_npz(path: str | os.PathLike) -> Motion:
    """Read a dance npz into a Motion; `meta` holds music_beats, model, seed and any extra arrays."""
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise input_error(path, f"not a readable dance npz ({e})") from None
    if "joints" not in data or "fps" not in data:
        raise input_error(path, "dance npz needs 'joints' (T, J, 3) and 'fps'")
    joints = data.pop("joints")
    if joints.ndim != 3 or joints.shape[-1] != 3:
        raise input_error(path, f"'joints' must be (T, J, 3), got {joints.shape}")
    if not np.isfinite(joints).all():
        raise input_error(path, "'joints' contains NaN or infinite values")
    fps = float(data.pop("fps"))
    kwargs = {}
    if "joint_names" in data:
        kwargs["joint_names"] = tuple(str(n) for n in data.pop("joint_names"))
    if "parents" in data:
        kwargs["parents"] = tuple(int(p) for p in data.pop("parents"))
    meta = {"music_beats": data.pop("music_beats", np.zeros(0, np.float32))}
    if "model" in data:
        meta["model"] = str(data.pop("model"))
    if "seed" in data:
        meta["seed"] = int(data.pop("seed"))
    meta.update(data)
    try:
        return Motion(joints=joints, fps=fps, meta=meta, **kwargs)
    except ValueError as e:
        raise input_error(path, str(e)) from None
