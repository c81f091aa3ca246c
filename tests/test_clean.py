"""Cleaning functions on synthetic joints with known answers, and on real Tang takes."""

from __future__ import annotations

import numpy as np
import pytest

from music2dance.errors import Music2DanceError
from music2dance.io.skeleton import BONES, CANONICAL_PARENTS, FEET, Motion, joint_index
from music2dance.motion.clean import (
    STANDARD_BONE_LENGTHS,
    CleaningError,
    bone_lengths,
    clean_motion,
    detect_glitches,
    normalize_bone_lengths,
    put_on_floor,
    repair_glitches,
)


def _standing(T: int = 50) -> np.ndarray:
    """A figure facing +z (left = +x), walking along +z at 1 m/s with a gentle arm swing, 25 fps."""
    base = {
        "pelvis": (0, 0.95, 0),
        "spine": (0, 1.08, 0),
        "neck": (0, 1.40, 0),
        "head": (0, 1.58, 0),
        "left_shoulder": (0.17, 1.40, 0),
        "left_elbow": (0.20, 1.10, 0),
        "left_wrist": (0.22, 0.88, 0),
        "right_shoulder": (-0.17, 1.40, 0),
        "right_elbow": (-0.20, 1.10, 0),
        "right_wrist": (-0.22, 0.88, 0),
        "left_hip": (0.10, 0.95, 0),
        "left_knee": (0.10, 0.52, 0.02),
        "left_ankle": (0.10, 0.10, 0),
        "left_foot": (0.10, 0.02, 0.15),
        "right_hip": (-0.10, 0.95, 0),
        "right_knee": (-0.10, 0.52, 0.02),
        "right_ankle": (-0.10, 0.10, 0),
        "right_foot": (-0.10, 0.02, 0.15),
    }
    from music2dance.io.skeleton import CANONICAL_JOINTS

    pose = np.array([base[n] for n in CANONICAL_JOINTS])
    t = np.arange(T) / 25.0
    j = np.repeat(pose[None], T, axis=0)
    j[..., 2] += t[:, None]
    for w in (joint_index("left_wrist"), joint_index("right_wrist")):
        j[:, w, 2] += 0.1 * np.sin(2 * np.pi * 1.0 * t)
    return j


def test_spike_found_and_removed():
    rng = np.random.default_rng(0)
    j = _standing(100) + rng.normal(0, 0.002, size=(100, 18, 3))
    clean = j.copy()
    j[37, joint_index("right_wrist")] += [0.0, 0.15, 0.05]
    mask = detect_glitches(j, 25.0)
    assert mask.sum() == 1 and mask[37, joint_index("right_wrist")]
    fixed = repair_glitches(j, mask)
    assert (
        np.linalg.norm(fixed[37, joint_index("right_wrist")] - clean[37, joint_index("right_wrist")]) < 0.01
    )


def test_fast_stop_is_not_a_glitch():
    # A foot that swings at 3 m/s and stops dead: a sharp corner, not a spike.
    j = _standing(60)
    foot = joint_index("left_foot")
    x = np.minimum(np.arange(60), 30) * 3.0 / 25.0
    j[:, foot, 0] += x
    assert not detect_glitches(j, 25.0)[:, foot].any()


def test_bone_length_normalisation_exact_and_keeps_directions():
    j = _standing() + np.random.default_rng(3).normal(0, 0.01, size=(50, 18, 3))
    out = normalize_bone_lengths(j, CANONICAL_PARENTS, STANDARD_BONE_LENGTHS)
    L = bone_lengths(out, CANONICAL_PARENTS)
    np.testing.assert_allclose(L, np.broadcast_to(STANDARD_BONE_LENGTHS, L.shape), atol=1e-12)
    for c, p in BONES:
        a = j[:, c] - j[:, p]
        b = out[:, c] - out[:, p]
        cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
        np.testing.assert_allclose(cos, 1.0, atol=1e-9)
    np.testing.assert_array_equal(out[:, 0], j[:, 0])  # root kept


def test_put_on_floor_keeps_jumps():
    j = _standing(100)
    j[:, :, 1] += 0.3
    j[40:50, :, 1] += 0.25  # a jump
    out = put_on_floor(j)
    low = out[:, list(FEET), 1].min(axis=1)
    assert abs(np.percentile(low, 2)) < 1e-9
    assert low[45] == pytest.approx(0.25)


def test_clean_motion_synthetic():
    j = _standing(100)
    j[20:23, joint_index("head")] = np.nan
    j[60, joint_index("left_wrist")] += [0.0, 0.3, 0.0]
    j[..., 1] += 0.2
    out, report = clean_motion(Motion(j, 25.0), fps_out=15.0)
    assert out.fps == 15.0 and out.joints.shape == (60, 18, 3)
    assert report.nan_filled == 3 and report.glitches_repaired == 1
    assert report.bone_std_cm_after < 1e-3
    assert not np.isnan(out.joints).any()
    assert abs(np.percentile(out.joints[:, list(FEET), 1].min(axis=1), 2)) < 0.01
    assert out.meta["cleaning"]["glitches_repaired"] == 1


def test_clean_motion_keep_lengths_and_bad_option():
    out, report = clean_motion(Motion(_standing(40), 25.0), fps_out=None, bone_lengths=None, smooth_hz=6.0)
    assert out.fps == 25.0 and report.body_scale == 1.0
    with pytest.raises(ValueError, match="bone_lengths"):
        clean_motion(Motion(_standing(10), 25.0), bone_lengths="huge")


def test_clean_motion_names_the_take_and_the_joint_never_seen():
    j = _standing()
    j[:, joint_index("left_knee")] = np.nan
    with pytest.raises(CleaningError, match="take.npz: left_knee is missing in every frame"):
        clean_motion(Motion(j, 25.0, meta={"source": "take.npz"}))
    with pytest.raises(Music2DanceError):
        clean_motion(Motion(j, 25.0))


@pytest.mark.parametrize("name", ["DANCE_C_2", "DANCE_W_1"])
def test_real_tang_take(shared_data, name):
    from music2dance.io.tang import read_tang_sequence

    seq = read_tang_sequence(shared_data / "tang2018" / name)
    out, report = clean_motion(seq.motion)
    assert out.fps == 15.0
    assert abs(out.duration - seq.motion.duration) < 0.1
    assert report.bone_std_cm_before > 0.5 and report.bone_std_cm_after < 1e-3
    j = out.joints.astype(np.float64)
    low = j[:, list(FEET), 1].min(axis=1)
    assert (
        -0.05 < np.percentile(low, 2) < 0.01 and 0.0 < np.median(low) < 0.08
    )  # on the floor (W_1 drifts up 40 cm)
    head = np.median(j[:, joint_index("head"), 1])
    assert 1.4 < head < 1.7
    assert report.glitches_repaired < 0.02 * seq.motion.num_frames * 18


def test_moving_floor_undoes_drift_and_keeps_jumps():
    j = _standing(250)
    j[:, :, 1] += np.linspace(0.0, 0.3, 250)[:, None]  # the floor drifts up 30 cm over 10 s
    j[120:130, :, 1] += 0.25  # a 0.4 s jump
    low = put_on_floor(j, 25.0, window_s=4.0)[:, list(FEET), 1].min(axis=1)
    assert np.abs(np.delete(low, np.s_[100:150])).max() < 0.02
    assert low[125] > 0.2
