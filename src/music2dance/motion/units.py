"""Dance units: fixed-length windows of a dance anchored on its kinematic beats (the paper's decomposition).

A unit is `unit_frames` frames (default `defaults.UNIT_FRAMES`, 32 at 15 fps: about 2 s, about 4 beats)
starting on a kinematic beat. Each unit's own frame (`canonicalize_units`, `place_units`) is in
`motion.geometry`.
"""

from __future__ import annotations

import numpy as np

from ..defaults import UNIT_FRAMES


def unit_starts(
    kin_beats: np.ndarray, n_frames: int, unit_frames: int = UNIT_FRAMES, *, min_gap: int = 4
) -> np.ndarray:
    """Start frames of the units of one dance.

    kin_beats: (B,) int, kinematic beat frame indices (sorted).
    n_frames: frames in the dance; a unit must fit entirely (start + unit_frames <= n_frames).
    min_gap: frames; beats closer than this to the previous kept start are skipped so that a jittery
        detector does not produce near-duplicate units.
    Returns (N,) int64 start frames.
    """
    starts: list[int] = []
    for b in np.sort(np.asarray(kin_beats, dtype=np.int64)):
        if b < 0 or b + unit_frames > n_frames:
            continue
        if starts and b - starts[-1] < min_gap:
            continue
        starts.append(int(b))
    return np.asarray(starts, dtype=np.int64)


def extract_units(array: np.ndarray, starts: np.ndarray, unit_frames: int = UNIT_FRAMES) -> np.ndarray:
    """Cut windows of `unit_frames` frames from a per-frame array.

    array: (T, ...) joints (T, J, 3) or music features (T, D).
    starts: (N,) int start frames.
    Returns (N, unit_frames, ...) of the same dtype.
    """
    idx = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(unit_frames)[None, :]
    if idx.size and idx.max() >= len(array):
        raise ValueError(f"unit ending at frame {idx.max()} exceeds the {len(array)} frames available")
    return array[idx]


def unit_chains(starts: np.ndarray, n_frames: int, unit_frames: int, chain: int) -> np.ndarray:
    """Chains of `chain` consecutive units that follow each other without a gap or overlap.

    Unit i+1 starts on the last frame of unit i (so its initial pose is unit i's last pose, as in eq. 7).
    starts: (N,) candidate start frames (any, usually every frame of the dance).
    Returns (C, chain) int64 start frames; each row is start, start + (L-1), start + 2 (L-1), ...
    """
    step = unit_frames - 1
    s = np.asarray(starts, dtype=np.int64)
    rows = s[:, None] + step * np.arange(chain)[None, :]
    ok = rows[:, -1] + unit_frames <= n_frames
    return rows[ok]
