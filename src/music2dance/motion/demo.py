"""A procedural dancing figure on the canonical skeleton, for previews, benchmarks and tests."""

from __future__ import annotations

import numpy as np

from ..defaults import MODEL_FPS


def demo_motion(seconds: float = 4.0, fps: float = MODEL_FPS, seed: int = 0):
    """A procedural dancing figure on the canonical skeleton, for previews, benchmarks and tests.

    Built by forward kinematics, so bone lengths are exactly constant: steps, knee bends, arm swings,
    a turning and travelling body. Returns a `Motion` (metres, y up, feet near y = 0).
    """
    from scipy.spatial.transform import Rotation

    from ..io.skeleton import CANONICAL_JOINTS, CANONICAL_PARENTS, Motion

    rng = np.random.default_rng(seed)
    idx = {n: i for i, n in enumerate(CANONICAL_JOINTS)}
    # Rest offsets from the parent (metres), standing, arms slightly down, facing +z.
    rest = {
        "spine": (0, 0.22, 0),
        "neck": (0, 0.30, 0),
        "head": (0, 0.20, 0.02),
        "left_shoulder": (0.18, 0.0, 0),
        "left_elbow": (0.05, -0.27, 0),
        "left_wrist": (0.02, -0.25, 0.02),
        "left_hip": (0.10, 0.0, 0),
        "left_knee": (0, -0.43, 0.01),
        "left_ankle": (0, -0.42, -0.02),
        "left_foot": (0, -0.06, 0.14),
    }
    for n in list(rest):
        if n.startswith("left_"):
            x, y, z = rest[n]
            rest["right_" + n[5:]] = (-x, y, z)
    t = np.arange(int(round(seconds * fps))) / fps
    n = len(t)
    beat = 2 * np.pi * 2.0 * t  # 120 bpm
    ph = rng.uniform(0, 2 * np.pi, 8)
    local = {name: np.zeros((n, 3)) for name in CANONICAL_JOINTS}  # rotation vectors (radians)
    local["pelvis"][:, 1] = 0.6 * np.sin(2 * np.pi * t / 6 + ph[0]) + 0.15 * np.sin(beat / 2)
    local["spine"][:, 0] = 0.12 * np.sin(beat + ph[1])
    local["spine"][:, 2] = 0.10 * np.sin(beat / 2 + ph[2])
    for side, s in (("left", 1.0), ("right", -1.0)):
        swing = np.sin(beat / 2 + (0 if s > 0 else np.pi))
        local[f"{side}_hip"][:, 0] = -0.45 * np.clip(swing, 0, None)
        local[f"{side}_knee"][:, 0] = 0.9 * np.clip(swing, 0, None)
        local[f"{side}_ankle"][:, 0] = -0.2 * np.clip(swing, 0, None)
        local[f"{side}_shoulder"][:, 2] = s * (0.6 + 0.5 * np.sin(beat / 2 + ph[3] + s))
        local[f"{side}_shoulder"][:, 0] = -0.5 * np.sin(beat / 2 + ph[4] * s)
        local[f"{side}_elbow"][:, 0] = -0.8 - 0.6 * np.sin(beat + ph[5])
    world_rot: list = [None] * len(CANONICAL_JOINTS)
    pos = np.zeros((n, len(CANONICAL_JOINTS), 3))
    bounce = 0.03 * np.cos(beat)
    pos[:, 0] = np.stack(
        [0.5 * np.sin(2 * np.pi * t / 8), 0.93 - bounce - 0.05, 0.4 * np.sin(2 * np.pi * t / 5)], axis=1
    )
    for j, name in enumerate(CANONICAL_JOINTS):
        p = CANONICAL_PARENTS[j]
        r = Rotation.from_rotvec(local[name])
        if p < 0:
            world_rot[j] = r
            continue
        pos[:, j] = pos[:, p] + world_rot[p].apply(np.asarray(rest[name], dtype=np.float64))
        world_rot[j] = world_rot[p] * r
    feet = [idx["left_foot"], idx["right_foot"], idx["left_ankle"], idx["right_ankle"]]
    pos[..., 1] -= pos[:, feet, 1].min()
    return Motion(joints=pos.astype(np.float32), fps=float(fps), meta={"model": "demo"})
