"""Reference rows of the evaluation: ground truth, a frozen mean pose, a dance on the wrong song, retrieval.

Each row is a list of `EvalDance` (joints (T, J, 3) metres at the protocol fps, music beats in seconds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..io.prepared import PreparedSequence
from ..io.prepared import load_prepared as read_prepared
from .metrics import mean_pose
from .sets import reference_scale


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


def load_prepared(data: str | os.PathLike) -> tuple[dict, list[PreparedSequence]]:
    """(manifest, sequences) of a prepared folder, joints and music as float64 (the metrics' precision)."""
    man, seqs = read_prepared(data)
    for s in seqs:
        s.joints = np.asarray(s.joints, dtype=np.float64)
        s.music = np.asarray(s.music, dtype=np.float64)
        s.music_beats = np.asarray(s.music_beats, dtype=np.float64)
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


def _fit_length(joints: np.ndarray, n: int, fps: float) -> np.ndarray:
    """Crop to n frames, or repeat the dance until it reaches n, joined as the model joins units.

    Each repeat is first moved horizontally so that its root starts where the previous copy's root ended
    (no metre-sized jump across the floor), then `models.dance_model.join_unit` blends away the remaining
    position and velocity gap. The facing is left as it is.
    """
    from ..models.dance_config import InferenceConfig
    from ..models.unit_timing import join_unit

    blend = InferenceConfig().blend_frames  # joined as the model joins units

    x = np.asarray(joints, dtype=np.float64)
    if len(x) >= n:
        return x[:n]
    out = [x]
    total = len(x)
    while total < n:
        prev = out[-1]
        nxt = x.copy()
        nxt[..., [0, 2]] += prev[-1, 0, [0, 2]] - nxt[0, 0, [0, 2]]
        nxt = join_unit(nxt, prev, 1.0 / fps, 1.0 / fps, blend)
        # the joined copy starts on the previous copy's last pose: keep that frame once
        out.append(nxt[1:])
        total += len(nxt) - 1
    return np.concatenate(out, axis=0)[:n]


def wrong_song_row(
    test: list[PreparedSequence], train: list[PreparedSequence], fps: float, rng: np.random.Generator
) -> list[EvalDance]:
    """A random real training dance played on each test song: real motion, unrelated music.

    Prefers a training dance at least as long as the song; otherwise the dance is repeated, joined without
    a jump (see `_fit_length`).
    """
    out = []
    for s in test:
        long_enough = [t for t in train if len(t.joints) >= len(s.joints)]
        pool = long_enough or train
        t = pool[int(rng.integers(len(pool)))]
        out.append(
            EvalDance(
                s.name, s.style, _fit_length(t.joints, len(s.joints), fps), fps, s.music_beats, source=t.name
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

    Distance: Euclidean between `music_summary` vectors standardised by the training songs' spread. Only
    training dances at least as long as the test song are candidates, so the retrieved dance is played
    without a seam; when none is long enough the nearest is repeated, joined without a jump (`_fit_length`).
    """
    ref = np.stack([music_summary(t.music) for t in train])
    mu, sd = reference_scale(ref, min_std=1e-8)
    z = (ref - mu) / sd
    out = []
    for s in test:
        q = (music_summary(s.music) - mu) / sd
        d = ((z - q) ** 2).sum(axis=1) if q.size else np.zeros(len(train))
        long_enough = np.array([len(t.joints) >= len(s.joints) for t in train])
        if long_enough.any():
            d = np.where(long_enough, d, np.inf)
        t = train[int(np.argmin(d))]
        out.append(
            EvalDance(
                s.name, s.style, _fit_length(t.joints, len(s.joints), fps), fps, s.music_beats, source=t.name
            )
        )
    return out


def data_mean_pose(train: list[PreparedSequence]) -> np.ndarray:
    """(J, 3) mean facing-normalised pose of the training dances."""
    return mean_pose([s.joints for s in train])
