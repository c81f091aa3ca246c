"""The dance file format of `music2dance generate`: one npz, loadable with ``allow_pickle=False``.

Keys: joints (T, J, 3) float32 metres right-handed y up; fps; joint_names (J,) unicode; parents (J,);
music_beats (B,) seconds; model (str); seed (int). Extra float/int arrays may follow.
"""

from __future__ import annotations

import os
import zlib

import numpy as np

from ..errors import input_error
from ..validate import MAX_FILE_BYTES, check_input_file, check_motion
from .atomic import atomic_path
from .skeleton import CANONICAL_JOINTS, Motion


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


def read_npz_arrays(path: str | os.PathLike, what: str = "npz") -> dict[str, np.ndarray]:
    """Every array of an npz (no pickles), or a one-line error: not a zip of arrays, truncated, too large."""
    import zipfile

    check_input_file(path, what)
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):  # an .npy array under an .npz name
            raise ValueError("an .npy array, not an .npz archive")
        with z:
            declared = sum(info.file_size for info in z.zip.infolist())
            if declared > MAX_FILE_BYTES:
                raise ValueError(f"its arrays would take {declared >> 20} MiB")
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError, TypeError, zipfile.BadZipFile, zlib.error) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise input_error(path, f"not a readable {what} ({why})") from None
    bad = [k for k, v in arrays.items() if not isinstance(v, np.ndarray)]
    if bad:
        raise input_error(path, f"not a readable {what} (member {bad[0]!r} is not a numpy array)")
    return arrays


def _describe(v: np.ndarray) -> str:
    if v.dtype.kind in "US":
        return f"text {str(v.reshape(-1)[0])[:20]!r}" if v.size == 1 else f"{v.size} texts"
    if v.dtype.kind == "b":
        return "true/false"
    return f"{v.size} values" if v.size != 1 else f"a {v.dtype} value"


def _scalar(path, data: dict, key: str, kinds: str):
    v = data.pop(key)
    if v.size != 1 or v.dtype.kind not in kinds:
        want = "number" if "f" in kinds else "integer" if "i" in kinds else "text"
        raise input_error(path, f"{key!r} must be a single {want}, got {_describe(v)}")
    return v.reshape(()).item()


def _vector(path, data: dict, key: str, kinds: str, n: int | None = None) -> np.ndarray:
    v = data.pop(key)
    if v.ndim != 1 or (v.size and v.dtype.kind not in kinds) or (n is not None and len(v) != n):
        want = f"({n},)" if n is not None else "1-D"
        raise input_error(path, f"{key!r} must be a {want} array, got {v.dtype} {v.shape}")
    return v


def load_dance_npz(path: str | os.PathLike) -> Motion:
    """Read a dance npz into a Motion; `meta` holds music_beats, model, seed and any extra arrays.

    Every field is checked (types, shapes) and the dance validated (`validate.check_motion`)."""
    data = read_npz_arrays(path, "dance npz")
    if "joints" not in data or "fps" not in data:
        raise input_error(path, "dance npz needs 'joints' (T, J, 3) and 'fps'")
    joints = data.pop("joints")
    if joints.ndim != 3 or joints.shape[-1] != 3 or joints.dtype.kind not in "fiu":
        raise input_error(path, f"'joints' must be (T, J, 3) numbers, got {joints.dtype} {joints.shape}")
    fps = float(_scalar(path, data, "fps", "fiu"))
    J = joints.shape[1]
    kwargs = {}
    if "joint_names" in data:
        kwargs["joint_names"] = tuple(str(n) for n in _vector(path, data, "joint_names", "US", J))
    elif J != len(CANONICAL_JOINTS):
        raise input_error(path, f"{J} joints without 'joint_names'; the canonical skeleton has 18")
    if "parents" in data:
        kwargs["parents"] = tuple(int(p) for p in _vector(path, data, "parents", "iu", J))
    beats = _vector(path, data, "music_beats", "fiu") if "music_beats" in data else np.zeros(0)
    if not np.isfinite(beats.astype(np.float64)).all():
        raise input_error(path, "'music_beats' contains NaN or infinite values")
    meta = {"music_beats": beats.astype(np.float32)}
    if "model" in data:
        meta["model"] = str(_scalar(path, data, "model", "US"))
    if "seed" in data:
        meta["seed"] = int(_scalar(path, data, "seed", "iu"))
    meta.update(data)
    motion = Motion(joints=joints, fps=fps, meta=meta, **kwargs)
    return check_motion(motion, path)
