"""Reader for the Tang et al. 2018 music-dance data set (skeletons.json + config.json + audio.mp3).

Converts the 23-point, centimetre, left-handed (Unity) skeletons into the canonical 18-joint `Motion`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import input_error
from .skeleton import CANONICAL_JOINTS, Motion

TANG_FPS = 25.0
TANG_NUM_POINTS = 23

STYLE_BY_LETTER = {"C": "cha-cha", "R": "rumba", "T": "tango", "W": "waltz"}

# Canonical joint -> Tang point indices averaged to make it (see docs/DATA.md for the evidence).
# The chains 3-6 / 7-11 are the dancer's LEFT limbs once x is negated (Unity's left-handed frame).
# 5/14 are forearm points, not joints: 4-6 (23 cm) is the forearm, so the wrist is 6/15.
TANG_TO_CANONICAL: dict[str, tuple[int, ...]] = {
    "pelvis": (7, 16),
    "spine": (2,),
    "neck": (3, 12),
    "head": (0, 1),
    "left_shoulder": (3,),
    "left_elbow": (4,),
    "left_wrist": (6,),
    "right_shoulder": (12,),
    "right_elbow": (13,),
    "right_wrist": (15,),
    "left_hip": (7,),
    "left_knee": (8,),
    "left_ankle": (9,),
    "left_foot": (11,),
    "right_hip": (16,),
    "right_knee": (17,),
    "right_ankle": (18,),
    "right_foot": (20,),
}


@dataclass
class TangSequence:
    """One Tang take: canonical motion (25 fps, metres, right-handed, y up, uncleaned) and its song."""

    name: str
    style: str
    motion: Motion
    audio_path: Path
    audio_offset_s: float


def list_tang_sequences(root: str | os.PathLike) -> list[Path]:
    """Sorted sequence folders (those holding a skeletons.json) under `root`."""
    root = Path(root)
    if not root.is_dir():
        raise input_error(root, "Tang data folder not found")
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "skeletons.json").is_file())


def _read_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise input_error(path, "file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise input_error(path, f"not readable JSON ({e})") from None
    if not isinstance(data, dict):
        raise input_error(path, "expected a JSON object")
    return data


def read_tang_raw(folder: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """World positions as stored: (T, 23, 3) float32 centimetres, Unity frame (left-handed, y up).

    Returns (world, config) where world = center[:, None] + skeletons and config is config.json
    (an empty dict when absent).
    """
    folder = Path(folder)
    path = folder / "skeletons.json"
    data = _read_json(path)
    try:
        center = np.asarray(data["center"], dtype=np.float64)
        skel = np.asarray(data["skeletons"], dtype=np.float64)
    except KeyError as e:
        raise input_error(path, f"missing key {e}") from None
    except (TypeError, ValueError) as e:
        raise input_error(path, f"'center'/'skeletons' are not numeric arrays ({e})") from None
    if skel.ndim != 3 or skel.shape[1:] != (TANG_NUM_POINTS, 3):
        raise input_error(path, f"'skeletons' must be (T, {TANG_NUM_POINTS}, 3), got {skel.shape}")
    if center.shape != (skel.shape[0], 3):
        raise input_error(path, f"'center' must be ({skel.shape[0]}, 3), got {center.shape}")
    if skel.shape[0] == 0:
        raise input_error(path, "no frames")
    world = (center[:, None, :] + skel).astype(np.float32)
    all_nan = np.isnan(world).all(axis=(0, 2))
    if all_nan.any():
        raise input_error(path, f"points {np.flatnonzero(all_nan).tolist()} are NaN in every frame")
    cfg_path = folder / "config.json"
    config = _read_json(cfg_path) if cfg_path.exists() else {}
    return world, config


def tang_to_canonical(world_cm: np.ndarray) -> np.ndarray:
    """(T, 23, 3) Tang points (cm, left-handed) -> (T, 18, 3) canonical joints (m, right-handed, y up)."""
    out = np.stack([world_cm[:, list(TANG_TO_CANONICAL[n])].mean(axis=1) for n in CANONICAL_JOINTS], axis=1)
    out = out * 0.01
    out[..., 0] *= -1.0  # left-handed Unity frame -> right-handed: mirror x
    return out.astype(np.float32)


def read_tang_sequence(folder: str | os.PathLike) -> TangSequence:
    """Read one take folder (DANCE_<letter>_<n>) into a `TangSequence` (uncleaned, 25 fps)."""
    folder = Path(folder)
    world, config = read_tang_raw(folder)
    letter = folder.name.split("_")[1][:1].upper() if folder.name.count("_") >= 1 else ""
    style = STYLE_BY_LETTER.get(letter)
    if style is None:
        raise input_error(folder, "folder name must look like DANCE_<C|R|T|W>_<n> to give the style")
    try:
        start = float(config.get("start_position", 0))
    except (TypeError, ValueError):
        raise input_error(folder / "config.json", "'start_position' is not a number") from None
    motion = Motion(
        joints=tang_to_canonical(world),
        fps=TANG_FPS,
        meta={"source": str(folder), "style": style, "dataset": "tang2018"},
    )
    return TangSequence(
        name=folder.name,
        style=style,
        motion=motion,
        audio_path=folder / "audio.mp3",
        audio_offset_s=start / TANG_FPS,
    )
