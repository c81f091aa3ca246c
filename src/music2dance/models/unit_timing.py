"""Units in time: the beat grid they are laid on, the join between two, and the warp inside one.

Plain functions on arrays (times in seconds, joints (L, J, 3) metres) used by `DanceModel`'s decode
(eq. 7); each has a known-answer test in tests/test_model_object.py and tests/test_generate.py.
"""

from __future__ import annotations

import numpy as np


def beat_grid(beats: np.ndarray, duration: float, natural: float) -> tuple[np.ndarray, int]:
    """Unit boundaries (seconds) on the beat grid, covering [0, duration].

    beats: (B,) tracked beat times, s. natural: a unit's duration at the model's rate ((L - 1) / fps, s).
    Each unit spans k beats, k in {1, 2, 3, 4, 6, 8} chosen so that k beats last closest to `natural`
    (so units are warped as little as possible). Before the first and after the last beat the grid goes
    on at the song's beat period. Without a usable beat (silence, fewer than 2 beats) units keep their
    natural duration. Returns (boundaries (U+1,), k).
    """
    beats = np.asarray(beats, dtype=np.float64)
    if len(beats) < 2:
        return np.arange(0.0, duration + natural, natural), 0
    period = float(np.median(np.diff(beats)))
    k = min((1, 2, 3, 4, 6, 8), key=lambda k: abs(np.log(k * period / natural)))
    b = list(beats[::k])
    span = k * period
    while b[0] > 0:
        b.insert(0, b[0] - span)
    while b[-1] < duration:
        b.append(b[-1] + span)
    return np.asarray(b), k


def join_unit(unit: np.ndarray, prev: np.ndarray, dt: float, prev_dt: float, blend_frames: int) -> np.ndarray:
    """Make `unit` (L, J, 3) continue `prev` (L, J, 3) without a jump in position or in velocity.

    A correction c(t) = (dp + dv t) w(t) is added, where dp and dv are the position and velocity gaps at
    the join (velocities in m/s: units are time-warped differently, dt / prev_dt seconds per frame) and
    w falls from 1 to 0 with zero slope at both ends (smoothstep) over `blend_frames` frames. So the unit
    starts exactly at prev's last pose, with prev's last velocity up to w's first discrete step (a
    velocity error of (|dp| / dt + |dv|) (1 - w(1)): 4 % of the gaps at 8 blend frames), and is
    untouched after the blend.
    """
    dp = prev[-1] - unit[0]
    dv = (prev[-1] - prev[-2]) / prev_dt - (unit[1] - unit[0]) / dt
    k = np.arange(len(unit))
    x = np.clip(k / blend_frames, 0.0, 1.0)
    w = 1.0 - x * x * (3 - 2 * x)
    return unit + w[:, None, None] * (dp[None] + dv[None] * (k * dt)[:, None, None])


def warp_times(nominal: np.ndarray, anchors: dict[float, float], max_warp: float) -> np.ndarray:
    """A unit's key-frame times (L,) s warped so key frame k falls at anchors[k] (s), ends fixed.

    Anchors are taken in order of k while the pace before and after each stays within [1/max_warp,
    max_warp] of the unit's own (others are dropped); the map through them is monotone cubic (PCHIP), so
    time never runs backwards and its rate has no jumps.
    """
    from scipy.interpolate import PchipInterpolator

    L = len(nominal)
    dt = (nominal[-1] - nominal[0]) / (L - 1)
    kept = [(0.0, float(nominal[0]))]
    for k, t in sorted(anchors.items()):
        k0, t0 = kept[-1]
        if k - k0 < 1 or k > L - 2:
            continue
        pace = ((t - t0) / ((k - k0) * dt), (nominal[-1] - t) / ((L - 1 - k) * dt))
        if all(1 / max_warp <= p <= max_warp for p in pace):
            kept.append((float(k), float(t)))
    if len(kept) == 1:
        return nominal
    kept.append((L - 1.0, float(nominal[-1])))
    ks, ts = zip(*kept)
    return PchipInterpolator(np.asarray(ks), np.asarray(ts))(np.arange(L))
