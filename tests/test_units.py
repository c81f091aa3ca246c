"""Dance units: beat-anchored windows, chains for composition, canonical frames and their inverse."""

import numpy as np
import pytest

from music2dance.io.skeleton import CANONICAL_JOINTS, joint_index
from music2dance.motion.units import (
    canonicalize_units,
    extract_units,
    place_units,
    unit_chains,
    unit_starts,
)


def _figure(yaw: float, at=(0.0, 0.0)) -> np.ndarray:
    """A standing figure (J, 3) facing yaw radians (0 = +z) with its pelvis at (x, z) = at."""
    rng = np.random.default_rng(0)
    p = rng.normal(0, 0.05, (len(CANONICAL_JOINTS), 3)).astype(np.float32)
    p[:, 1] += 1.0
    # Left is +x for a figure facing +z in a right-handed y-up frame.
    for name, x in (
        ("left_hip", 0.1),
        ("right_hip", -0.1),
        ("left_shoulder", 0.18),
        ("right_shoulder", -0.18),
    ):
        p[joint_index(name)] = [x, 1.0, 0.0]
    p[joint_index("pelvis")] = [0.0, 1.0, 0.0]
    c, s = np.cos(yaw), np.sin(yaw)
    x, z = p[:, 0].copy(), p[:, 2].copy()
    p[:, 0], p[:, 2] = c * x + s * z + at[0], -s * x + c * z + at[1]
    return p


def test_unit_starts_fit_and_skip_close_beats():
    starts = unit_starts(np.array([0, 2, 10, 30, 90, 95]), n_frames=100, unit_frames=32, min_gap=4)
    assert starts.tolist() == [0, 10, 30]  # 2 is too close to 0; 90 and 95 do not fit


def test_extract_units_and_chains():
    arr = np.arange(100)[:, None].repeat(3, 1)
    u = extract_units(arr, np.array([0, 5]), 32)
    assert u.shape == (2, 32, 3) and u[1, 0, 0] == 5 and u[1, -1, 0] == 36
    rows = unit_chains(np.arange(0, 100, 10), 100, 32, 3)
    # Unit i+1 starts on unit i's last frame; the chain must fit: start + 2*31 + 32 <= 100.
    assert rows[0].tolist() == [0, 31, 62] and len(rows) == 1
    assert all(r[-1] + 32 <= 100 for r in rows)
    with pytest.raises(ValueError):
        extract_units(arr, np.array([90]), 32)


@pytest.mark.parametrize("yaw", [0.0, 0.7, -2.5, np.pi / 2])
def test_canonicalize_faces_plus_z_and_inverts(yaw):
    frames = np.stack([_figure(yaw, at=(1.5, -2.0)) for _ in range(4)])[None]  # (1, 4, J, 3)
    canon, got_yaw, offset = canonicalize_units(frames)
    assert np.isclose(np.angle(np.exp(1j * (got_yaw[0] - yaw))), 0, atol=1e-5)
    assert np.allclose(offset[0], [1.5, 0.0, -2.0], atol=1e-5)
    pel = canon[0, 0, joint_index("pelvis")]
    assert abs(pel[0]) < 1e-5 and abs(pel[2]) < 1e-5 and np.isclose(pel[1], 1.0)
    # Facing +z: the left hip is on +x.
    assert canon[0, 0, joint_index("left_hip"), 0] > 0.09
    assert np.allclose(place_units(canon, got_yaw, offset), frames, atol=1e-5)
