"""FineDance (li-ronghui/FineDance, ICCV 2023) as downloaded -> sequences.

Layout: `motion/NNN.npy` (T, 315) = root translation (3, metres) + 52 joints x 6-D rotation (SMPL-X body
22 and hands 15 + 15, no jaw or eyes), 30 fps, y up (`motion_fea319` files (T, 319) with 4 foot-contact
columns first are read too); `music_wav/NNN.wav`; `label_json/NNN.json` (song name, coarse style,
fine-grained genre). Split: the official FineDance@Genre (cross-genre) test and ignore lists of the
FineDance code (`get_train_test_list("cross_genre")`), everything else train. Music and motion lengths
differ by 1-2 frames: the motion is cut to the song.

Joint positions need a body model (`--body-model`, SMPL-X neutral as FineDance used; SMPL-H or SMPL work
too): the 18 canonical joints depend only on the 22 body rotations, so the hand rotations are not used.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import input_error
from .datasets import DatasetScan, DatasetSequence, find_audio, natural_key, truncate_to_audio
from .skeleton import Motion

FINEDANCE_FPS = 30.0
FINEDANCE_JOINTS = 52
# FineDance@Genre, from the FineDance code's get_train_test_list("cross_genre"); "130" is in both lists
# there and is ignored (the ignore check comes first in their loader).
CROSS_GENRE_TEST = (
    "063", "132", "143", "036", "098", "198", "130", "012", "211", "193",
    "179", "065", "137", "161", "092", "120", "037", "109", "204", "144",
)  # fmt: skip
CROSS_GENRE_IGNORE = ("116", "117", "118", "119", "120", "121", "122", "123", "202", "130")
# label_json keys tried for the genre, most specific first (the fine-grained genre is the style class).
LABEL_KEYS = ("style2", "genre", "style", "style1", "label")


def _style(label_dir: Path, name: str) -> str:
    path = label_dir / f"{name}.json"
    if not path.is_file():
        return "unknown"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise input_error(path, f"not readable JSON ({e})") from None
    if isinstance(data, str):
        return data.strip() or "unknown"
    if isinstance(data, dict):
        for k in LABEL_KEYS:
            if isinstance(data.get(k), str) and data[k].strip():
                return data[k].strip()
    return "unknown"


def scan(root: Path, music: Path | None = None, body_model=None) -> DatasetScan:
    from .smpl import load_body_model, missing_body_model

    motion_dir = root / "motion" if (root / "motion").is_dir() else root / "motion_fea319"
    if next(motion_dir.glob("*.npy"), None) is None:
        raise input_error(root, "no FineDance motion/NNN.npy found")
    if body_model is None:
        raise missing_body_model(root, "FineDance", "a SMPL-X body model file (SMPLX_NEUTRAL.npz)")
    model = load_body_model(body_model)
    music_dir = music or root / "music_wav"
    label_dir = root / "label_json"
    names = sorted((p.stem for p in motion_dir.glob("*.npy")), key=natural_key)
    seqs, skipped = [], []
    ignored = [n for n in names if n in CROSS_GENRE_IGNORE]
    for name in names:
        if name in CROSS_GENRE_IGNORE:
            continue
        dance = motion_dir / f"{name}.npy"
        audio = find_audio(music_dir, name)
        if audio is None:
            skipped.append((str(dance), f"no song {name}.wav in {music_dir}"))
            continue
        try:
            style = _style(label_dir, name)
        except Exception as e:  # noqa: BLE001 - one bad label file skips its sequence, it does not stop
            skipped.append((str(label_dir / f"{name}.json"), str(e).split(": ", 1)[-1]))
            continue
        split = "test" if name in CROSS_GENRE_TEST else "train"
        seqs.append(
            DatasetSequence(
                name,
                style,
                split,
                dance,
                audio,
                "finedance",
                FINEDANCE_FPS,
                options={"body_model": model},
                files=(dance, audio, label_dir / f"{name}.json"),
                hash_extra=f"smpl:{model.fingerprint}",
            )
        )
    notes = [
        f"motion: 6-D rotations through {model.path.name} ({model.kind}); body joints only",
        "split: FineDance@Genre (the official cross-genre test list; the rest train)",
    ]
    if ignored:
        notes.append(f"{len(ignored)} sequence(s) in the official ignore list left out")
    return DatasetScan("finedance", root, seqs, skipped, FINEDANCE_FPS, notes)


def finedance_joints(motion: np.ndarray, path: Path, model) -> np.ndarray:
    """(T, 315) or (T, 319) FineDance motion -> (T, J, 3) body-model joints, metres, y up."""
    from .smpl import joint_positions, rot6d_to_matrix

    if motion.ndim != 2 or motion.shape[1] not in (315, 319) or len(motion) == 0:
        raise input_error(path, f"expected (T, 315) or (T, 319) FineDance motion, got {motion.shape}")
    if motion.shape[1] == 319:
        motion = motion[:, 4:]  # motion_fea319: 4 foot contacts first
    trans = motion[:, :3]
    rot = rot6d_to_matrix(motion[:, 3:].reshape(len(motion), FINEDANCE_JOINTS, 6))
    return joint_positions(model, rot[:, :22], trans)


def load(seq: DatasetSequence) -> tuple[Motion, Path, float]:
    from .smpl import smpl_to_canonical

    try:
        data = np.load(seq.dance, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise input_error(seq.dance, f"cannot read the motion ({e})") from None
    data = np.asarray(data, dtype=np.float64)
    if not np.isfinite(data).all():
        raise input_error(seq.dance, "motion has NaN or infinite values")
    joints = smpl_to_canonical(finedance_joints(data, seq.dance, seq.options["body_model"]))
    motion = Motion(joints, FINEDANCE_FPS, meta={"source": str(seq.dance), "dataset": "finedance"})
    return truncate_to_audio(motion, seq.audio), seq.audio, 0.0
