"""Reference rows of the evaluation: ground truth, a frozen mean pose, a dance on the wrong song, retrieval.

Each row is a list of `EvalDance` (joints (T, J, 3) metres at the protocol fps, music beats in seconds).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import input_error
from .metrics import mean_pose


@dataclass
class EvalDance:
    """One dance to evaluate against one song.

    joints (T, J, 3) float metres; fps; music_beats (B,) seconds on the dance's clock; unit_starts frame
    indices where units begin (None: the protocol's fixed grid); song/style of the song it is judged with.
    """

    song: str
    style: str
    joints: np.ndarray
    fps: float
    music_beats: np.ndarray
    unit_starts: np.ndarray | None = None
    seed: int = 0
    source: str = ""  # where the motion came from (e.g. the training dance a baseline reuses)


@dataclass
class PreparedSequence:
    """A prepared sequence (see ARCHITECTURE.md, prepared data)."""

    name: str
    style: str
    split: str
    joints: np.ndarray
    music: np.ndarray
    music_beats: np.ndarray
    kin_beats: np.ndarray
    audio_path: str
    audio_offset_s: float
    extra: dict = field(default_factory=dict)


def load_prepared(data: str | os.PathLike) -> tuple[dict, list[PreparedSequence]]:
    """(manifest, sequences) of a folder written by `music2dance prepare`; one-line errors name the file."""
    root = Path(data)
    man_path = root / "manifest.json"
    if not man_path.exists():
        raise input_error(
            data, "not a prepared data folder (no manifest.json); run `music2dance prepare` first"
        )
    try:
        man = json.loads(man_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise input_error(man_path, f"unreadable manifest ({e})") from None
    seqs = []
    for e in man.get("sequences", []):
        f = root / e["file"]
        try:
            with np.load(f, allow_pickle=False) as z:
                arr = {k: z[k] for k in ("joints", "music", "music_beats") if k in z.files}
                kin = z["kin_beats"] if "kin_beats" in z.files else np.zeros(0, int)
        except (OSError, ValueError) as err:
            raise input_error(f, f"unreadable prepared sequence ({err})") from None
        if "joints" not in arr:
            raise input_error(f, "prepared sequence has no 'joints'")
        seqs.append(
            PreparedSequence(
                name=e["name"],
                style=str(e.get("style", "unknown")),
                split=e.get("split", "train"),
                joints=np.asarray(arr["joints"], dtype=np.float64),
                music=np.asarray(arr.get("music", np.zeros((len(arr["joints"]), 0))), dtype=np.float64),
                music_beats=np.asarray(arr.get("music_beats", np.zeros(0)), dtype=np.float64),
                kin_beats=np.asarray(kin),
                audio_path=str(e.get("audio_path", "")),
                audio_offset_s=float(e.get("audio_offset_s", 0.0)),
            )
        )
    if not seqs:
        raise input_error(man_path, "the manifest lists no sequences")
    return man, seqs


def ground_truth(test: list[PreparedSequence], fps: float) -> list[EvalDance]:
    """The real test dances on their own songs."""
    return [EvalDance(s.name, s.style, s.joints, fps, s.music_beats, source=s.name) for s in test]


def frozen_pose_joints(pose: np.ndarray, n_frames: int) -> np.ndarray:
    """(T, J, 3) a (J, 3) pelvis-relative pose held still, its lowest joint on the floor (y = 0)."""
    p = np.asarray(pose, dtype=np.float64).copy()
    p[:, 1] -= p[:, 1].min()
    return np.repeat(p[None], n_frames, axis=0)


def mean_pose_row(test: list[PreparedSequence], pose: np.ndarray, fps: float) -> list[EvalDance]:
    """The data's mean pose frozen for each test song's length: what a dance that collapsed looks like."""
    return [
        EvalDance(
            s.name, s.style, frozen_pose_joints(pose, len(s.joints)), fps, s.music_beats, source="mean pose"
        )
        for s in test
    ]


def _fit_length(joints: np.ndarray, n: int) -> np.ndarray:
    """Crop to n frames, or repeat the dance (facing-preserving: plain repetition) until it reaches n."""
    if len(joints) >= n:
        return joints[:n]
    reps = int(np.ceil(n / len(joints)))
    return np.concatenate([joints] * reps, axis=0)[:n]


def wrong_song_row(
    test: list[PreparedSequence], train: list[PreparedSequence], fps: float, rng: np.random.Generator
) -> list[EvalDance]:
    """A random real training dance played on each test song: real motion, unrelated music.

    Prefers a training dance at least as long as the song; otherwise the dance is repeated (the seam is a
    jump, which the boundary metric may see; it is the fairest "real but wrong" reference we can build).
    """
    out = []
    for s in test:
        long_enough = [t for t in train if len(t.joints) >= len(s.joints)]
        pool = long_enough or train
        t = pool[int(rng.integers(len(pool)))]
        out.append(
            EvalDance(
                s.name, s.style, _fit_length(t.joints, len(s.joints)), fps, s.music_beats, source=t.name
            )
        )
    return out


def music_summary(music: np.ndarray) -> np.ndarray:
    """(2 D,) mean and std over time of a song's (T, D) per-frame features: what retrieval compares."""
    m = np.asarray(music, dtype=np.float64)
    if m.size == 0:
        return np.zeros(0)
    return np.concatenate([m.mean(axis=0), m.std(axis=0)])


def retrieval_row(test: list[PreparedSequence], train: list[PreparedSequence], fps: float) -> list[EvalDance]:
    """Nearest-neighbour retrieval: the training dance whose song's features are closest to the test song's.

    Distance: Euclidean between `music_summary` vectors standardised by the training songs' spread.
    """
    ref = np.stack([music_summary(t.music) for t in train])
    mu, sd = ref.mean(axis=0), ref.std(axis=0) + 1e-8
    z = (ref - mu) / sd
    out = []
    for s in test:
        q = (music_summary(s.music) - mu) / sd
        t = train[int(np.argmin(((z - q) ** 2).sum(axis=1)))] if q.size else train[0]
        out.append(
            EvalDance(
                s.name, s.style, _fit_length(t.joints, len(s.joints)), fps, s.music_beats, source=t.name
            )
        )
    return out


def data_mean_pose(train: list[PreparedSequence]) -> np.ndarray:
    """(J, 3) mean facing-normalised pose of the training dances."""
    return mean_pose([s.joints for s in train])
