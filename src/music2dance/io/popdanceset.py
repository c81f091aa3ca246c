"""PopDanceSet (Luke-Luo1/POPDG, 2024) as downloaded -> sequences.

Layout: `motions/<seq>.pkl`, the HybrIK output per clip (`pred_thetas` (N, 24, 3) axis-angle or
(N, 24, 3, 3) matrices, `transl` (N, 3) camera-space root translation, `pred_camera` (N, 1) scale; the
POPDG-processed `pos` / `q` / `scale` keys are read too), `wavs/<seq>.wav`, `splits/{train,test}.txt`
(the POPDG repository's `data/splits/`; copy them beside motions/). 30 fps. One style ("pop").

Axes: HybrIK works in the camera frame (x right, y down, z away from the camera). As POPDG does (it rotates
the root by -90 degrees about x into its z-up frame), the root is rotated upright; here by 180 degrees about
x into our y-up frame: (x, y, z) -> (x, -y, -z), applied to the posed joints, so the dancer faces the
camera along +z with their left on +x. Translation: `transl * pred_camera`, POPDG's rescaling
(data/slice.py); cleaning then scales the root path with the bone lengths. Shape (pred_betas) is not
used: bone lengths are normalised anyway. Needs a SMPL body model (`--body-model`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import input_error
from .datasets import DatasetScan, DatasetSequence, assign_splits, find_audio, natural_key, read_name_list
from .keypoints import load_array_pickle
from .skeleton import Motion

POPDANCESET_FPS = 30.0
STYLE = "pop"
# Camera frame (y down, z forward) -> y up: 180 degrees about x.
CAMERA_TO_Y_UP = np.diag([1.0, -1.0, -1.0])


def scan(root: Path, music: Path | None = None, body_model=None) -> DatasetScan:
    from .smpl import load_body_model, missing_body_model

    if next((root / "motions").glob("*.pkl"), None) is None:
        raise input_error(root, "no PopDanceSet motions/<clip>.pkl found")
    if body_model is None:
        raise missing_body_model(root, "PopDanceSet", "a SMPL body model file (SMPL_NEUTRAL.pkl)")
    model = load_body_model(body_model)
    wav_dir = music or root / "wavs"
    names = sorted((p.stem for p in (root / "motions").glob("*.pkl")), key=natural_key)
    split_of: dict[str, str] = {}
    for split in ("train", "test"):
        f = root / "splits" / f"{split}.txt"
        if f.is_file():
            split_of.update({n: split for n in read_name_list(f)})
    seqs, skipped = [], []
    for name in names:
        if split_of and name not in split_of:
            continue
        dance = root / "motions" / f"{name}.pkl"
        audio = find_audio(wav_dir, name)
        if audio is None:
            skipped.append((str(dance), f"no song {name}.wav in {wav_dir}"))
            continue
        seqs.append(
            DatasetSequence(
                name,
                STYLE,
                split_of.get(name, ""),
                dance,
                audio,
                "popdanceset",
                POPDANCESET_FPS,
                options={"body_model": model},
                hash_extra=f"smpl:{model.fingerprint}",
            )
        )
    notes = [f"motion: HybrIK SMPL through {model.path.name} ({model.kind}), camera frame rotated to y up"]
    if split_of:
        notes.append("split: splits/train.txt and test.txt")
        n_unlisted = len([n for n in names if n not in split_of])
        if n_unlisted:
            notes.append(f"{n_unlisted} clip(s) in neither split left out")
    else:
        auto = assign_splits(seqs)
        for s in seqs:
            s.split = auto[s.name]
        notes.append("split: no splits/train.txt, test.txt; 15 % held out")
    return DatasetScan("popdanceset", root, seqs, skipped, POPDANCESET_FPS, notes)


def _rotations(thetas: np.ndarray, n: int, path: Path) -> np.ndarray:
    from .smpl import axis_angle_to_matrix

    per_frame = thetas.size // max(n, 1)
    if per_frame == 72:
        return axis_angle_to_matrix(thetas.reshape(n, 24, 3))
    if per_frame == 216:
        return thetas.reshape(n, 24, 3, 3)
    raise input_error(path, f"pose {thetas.shape}: expected 24 axis-angles or 24 rotation matrices per frame")


def popdanceset_joints(data: dict, path: Path, model) -> np.ndarray:
    """HybrIK pickle -> (N, 24, 3) SMPL joints, metres (POPDG's scale), y up, facing +z."""
    from .smpl import joint_positions

    keys = ("pred_thetas", "transl", "pred_camera") if "pred_thetas" in data else ("q", "pos", "scale")
    if keys[0] not in data or keys[1] not in data:
        raise input_error(path, "expected HybrIK pred_thetas + transl (or POPDG q + pos)")
    try:
        thetas = np.asarray(data[keys[0]], dtype=np.float64)
        transl = np.asarray(data[keys[1]], dtype=np.float64).reshape(-1, 3)
        scale = np.asarray(data.get(keys[2], 1.0), dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise input_error(path, f"pose arrays are not numeric ({e})") from None
    n = len(transl)
    if n == 0 or thetas.size % n:
        raise input_error(path, f"{keys[0]} {thetas.shape} does not match {keys[1]} {transl.shape}")
    if scale.ndim >= 2 and scale.shape[-1] == 3:  # (s, tx, ty) weak-perspective camera: the scale
        scale = scale[..., 0]
    scale = scale.reshape(-1, 1) if scale.size == n else scale.reshape(-1)[:1].reshape(1, 1)
    joints = joint_positions(model, _rotations(thetas, n, path), transl * scale)
    return joints @ CAMERA_TO_Y_UP.T


def load(seq: DatasetSequence) -> tuple[Motion, Path, float]:
    from .smpl import smpl_to_canonical

    joints = popdanceset_joints(load_array_pickle(seq.dance), seq.dance, seq.options["body_model"])
    motion = Motion(
        smpl_to_canonical(joints), POPDANCESET_FPS, meta={"source": str(seq.dance), "dataset": "popdanceset"}
    )
    return motion, seq.audio, 0.0
