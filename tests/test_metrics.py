"""Each evaluation metric pinned on hand-made inputs with known answers.

Synthetic skeletons only (no data folder needed); fast.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REST

from music2dance.evaluate import features as F
from music2dance.evaluate import metrics as M
from music2dance.evaluate.protocol import Protocol
from music2dance.io.skeleton import FEET, NUM_JOINTS, joint_index

FPS = 15.0


def still(T: int) -> np.ndarray:
    return np.repeat(REST[None], T, axis=0).copy()


def test_kinetic_parabola_and_bug():
    T = 60
    t = np.arange(T) / FPS
    a = 2.0
    x = still(T)
    x[:, :, 0] += 0.5 * a * t[:, None] ** 2  # whole body accelerates along x
    k = F.kinetic_features(x, FPS).reshape(NUM_JOINTS, 3)
    assert k.shape == (NUM_JOINTS, 3)
    np.testing.assert_allclose(k[:, 2], a, rtol=1e-9)  # analytic acceleration of a parabola
    assert np.all(k[:, 1] == 0)  # no vertical motion
    kb = F.kinetic_features(x, FPS, bugged_acceleration=True).reshape(NUM_JOINTS, 3)
    assert np.all(np.abs(kb[:, 2] - a) > 1.0)
    np.testing.assert_allclose(kb[:, :2], k[:, :2])  # the bug only touches acceleration


def test_kinetic_constant_velocity():
    T = 40
    x = still(T)
    x[:, :, 1] += 0.3 * np.arange(T)[:, None] / FPS  # 0.3 m/s upwards
    k = F.kinetic_features(x, FPS).reshape(NUM_JOINTS, 3)
    np.testing.assert_allclose(k[:, 1], 0.09, rtol=1e-9)  # (0.3 m/s)^2
    np.testing.assert_allclose(k[:, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(k[:, 2], 0.0, atol=1e-9)


def test_geometric_features_on_known_poses():
    x = still(10)
    g = F.geometric_features(x, FPS)
    assert g.shape == (32,) == (len(F.GEOMETRIC_FEATURE_NAMES),)
    names = F.GEOMETRIC_FEATURE_NAMES
    assert g[names.index("right hand above neck")] == 0
    assert g[names.index("right foot raised")] == 0
    assert g[names.index("right hand low")] == 0
    up = x.copy()
    up[:, joint_index("right_wrist")] = [-0.2, 1.9, 0.0]
    up[:, joint_index("right_elbow")] = [-0.2, 1.7, 0.0]
    g2 = F.geometric_features(up, FPS)
    assert g2[names.index("right hand above neck")] == 1
    assert g2[names.index("right upper arm raised")] == 1
    assert g2[names.index("left hand above neck")] == 0


def test_frechet_identical_and_shifted():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    assert M.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shift = np.array([1.0, 2.0, 0.0])
    assert M.frechet_distance(a, a + shift) == pytest.approx(5.0, rel=1e-6)
    # closed form for Gaussians N(0, I) vs N(0, 4 I): d (1 + 4 - 2*2) = d
    b = rng.normal(size=(4000, 3)) * 2.0
    assert M.frechet_distance(a, b) == pytest.approx(3.0, rel=0.1)
    assert M.fid(a, a) == pytest.approx(0.0, abs=1e-6)
    assert M.fid(a, a + shift) > M.fid(a, a + shift / 2) > 0


def test_diversity():
    x = np.tile([1.0, 2.0], (5, 1))
    assert M.diversity(x) == 0.0
    assert M.diversity(np.array([[0.0, 0.0], [3.0, 4.0]])) == pytest.approx(5.0)
    # bootstrap copies (same index) are not counted as pairs
    y = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0]])
    assert M.diversity(y, index=np.array([0, 0, 1])) == pytest.approx(5.0)


def test_beat_align_score():
    beats = np.array([10, 20, 30, 40])
    assert M.beat_align_score(beats, beats, variant="aist") == pytest.approx(1.0)
    assert M.beat_align_score(beats, beats, variant="bailando") == pytest.approx(1.0)
    assert M.beat_align_score(beats + 3, beats, variant="bailando") == pytest.approx(np.exp(-9 / 18))
    assert M.beat_align_score(beats + 3, beats, variant="aist", sigma=3) == pytest.approx(np.exp(-0.5))
    # the variants differ: one extra motion beat far away only hurts the motion-averaged one
    mo = np.array([10, 20, 30, 40, 100])
    assert M.beat_align_score(mo, beats, variant="bailando") == pytest.approx(1.0)
    assert M.beat_align_score(mo, beats, variant="aist") == pytest.approx(0.8)
    assert M.beat_align_score([], beats) == 0.0


def test_motion_beats_speed_minima():
    T = 90
    t = np.arange(T) / FPS
    x = still(T)
    x[:, :, 0] += 0.2 * np.sin(2 * np.pi * 1.0 * t)[:, None]  # 1 Hz sway: speed minima every 0.5 s
    b = M.motion_beats_speed_minima(x, FPS)
    assert len(b) == pytest.approx(T / FPS * 2 - 1, abs=1)
    np.testing.assert_allclose(np.diff(b), 7.5, atol=1)
    assert M.motion_beats_speed_minima(still(T), FPS).size == 0


def test_beat_coverage_and_distances():
    assert M.beat_coverage(3, 6) == 0.5
    d = M.beat_distances(np.array([1.1, 2.9]), np.array([1.0, 3.0]))
    np.testing.assert_allclose(d, [0.1, -0.1])


def test_freezing_detected():
    T = int(60 * FPS)
    t = np.arange(T) / FPS
    x = still(T)
    amp = np.where(t < 30, 0.2, 0.0)  # dances 30 s then freezes
    x[:, :, 0] += (amp * np.sin(2 * np.pi * t))[:, None]
    s = M.freezing_stats(x, FPS, threshold=0.05)
    assert s["frozen_fraction"] == pytest.approx(0.5, abs=0.05)
    assert s["energy_ratio"] < 0.05
    moving = still(T)
    moving[:, :, 0] += (0.2 * np.sin(2 * np.pi * t))[:, None]
    s2 = M.freezing_stats(moving, FPS, threshold=0.05)
    assert s2["frozen_fraction"] == 0.0
    assert s2["energy_ratio"] == pytest.approx(1.0, abs=0.05)


def test_distance_to_mean_pose():
    x = still(20)
    pose = M.mean_pose([x])
    np.testing.assert_allclose(M.distance_to_mean_pose(x, pose), 0.0, atol=1e-9)
    # rotating and moving the dancer does not change its distance to the mean pose
    th = 0.7
    R = np.array([[np.cos(th), 0, np.sin(th)], [0, 1, 0], [-np.sin(th), 0, np.cos(th)]])
    y = x @ R.T + np.array([1.0, 0.0, -2.0])
    np.testing.assert_allclose(M.distance_to_mean_pose(y, pose), 0.0, atol=1e-9)


def _smooth_dance(T: int) -> np.ndarray:
    t = np.arange(T) / FPS
    x = still(T)
    x[:, :, 0] += (0.3 * np.sin(2 * np.pi * 0.4 * t))[:, None]
    x[:, :, 2] += (0.3 * np.cos(2 * np.pi * 0.3 * t))[:, None]
    return x


def test_boundary_jumps():
    T = 320
    starts = list(range(0, T, 32))
    smooth = _smooth_dance(T)
    r = M.boundary_jump_ratio(smooth, starts)
    assert r["velocity_ratio"] == pytest.approx(1.0, abs=0.15)
    assert r["acceleration_ratio"] == pytest.approx(1.0, abs=0.3)
    jumpy = smooth.copy()
    for s in starts[1:]:
        jumpy[s:] += np.array([0.2, 0.0, 0.0])  # each unit starts 20 cm off
    r2 = M.boundary_jump_ratio(jumpy, starts)
    assert r2["velocity_ratio"] > 3 and r2["acceleration_ratio"] > 3
    # the same jumps seen on a shifted grid are mostly missed
    r3 = M.boundary_jump_ratio(jumpy, [s + 16 for s in starts])
    assert r3["velocity_ratio"] < 1.0


def test_bone_length_variation():
    x = _smooth_dance(50)
    m, per = M.bone_length_variation(x)
    assert m == pytest.approx(0.0, abs=1e-9)
    y = x.copy()
    y[::2, joint_index("head"), 1] += 0.02  # head bone alternates 2 cm longer
    m2, per2 = M.bone_length_variation(y)
    assert per2.max() == pytest.approx(1.0, abs=1e-6)  # std of {0, 2} cm = 1 cm


def test_foot_skating():
    T = 30
    x = still(T)
    assert M.foot_skating(x, FPS) == 0.0
    slide = x.copy()
    slide[:, :, 0] += 0.5 * np.arange(T)[:, None] / FPS  # whole body slides at 0.5 m/s, feet on the floor
    assert M.foot_skating(slide, FPS) == pytest.approx(0.5)
    lifted = slide.copy()
    lifted[:, list(FEET), 1] += np.where(np.arange(T) % 2 == 0, 0.0, 0.5)[:, None]  # in contact every 2nd
    assert M.foot_skating(lifted, FPS) == 0.0  # never in contact on both ends of a step


def test_physical_foot_contact():
    T = 60
    t = np.arange(T) / FPS
    # the body bobs and sways with the left foot planted and the right foot sliding
    planted = still(T)
    bob = 0.05 * np.sin(2 * np.pi * t)
    sway = 0.1 * np.sin(2 * np.pi * 0.5 * t)
    body = [j for j in range(NUM_JOINTS) if j not in (joint_index("left_ankle"), joint_index("left_foot"))]
    planted[:, body, 0] += sway[:, None]
    planted[:, body, 1] += np.abs(bob)[:, None]
    assert M.physical_foot_contact(planted, FPS) == pytest.approx(0.0, abs=1e-12)
    floating = still(T)
    floating[:, :, 0] += sway[:, None]  # everything, feet included, slides with the root
    floating[:, :, 1] += np.abs(bob)[:, None]
    assert M.physical_foot_contact(floating, FPS) > 1e-3


def test_bootstrap_ci():
    rng = np.random.default_rng(1)
    small = rng.normal(5.0, 1.0, size=20)
    big = rng.normal(5.0, 1.0, size=2000)
    lo, hi = M.bootstrap_ci(small, n_boot=500)
    assert lo < small.mean() < hi
    lo2, hi2 = M.bootstrap_ci(big, n_boot=500)
    assert lo2 < big.mean() < hi2
    assert (hi2 - lo2) < (hi - lo) / 4
    assert np.isnan(M.bootstrap_ci([1.0])[0])


def test_nearest_centroid():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(0, 1, (20, 3)), rng.normal(5, 1, (20, 3))])
    y = np.array(["a"] * 20 + ["b"] * 20)
    clf = M.NearestCentroid().fit(x, y)
    assert (clf.predict(x) == y).mean() > 0.95


def test_clip_starts():
    assert F.clip_starts(600, 15, clip_s=20, hop_s=20, min_clip_s=10) == [(0, 300), (300, 600)]
    assert F.clip_starts(760, 15, clip_s=20, hop_s=20, min_clip_s=10) == [(0, 300), (300, 600), (600, 760)]
    assert F.clip_starts(100, 15, clip_s=20, hop_s=20, min_clip_s=10) == [(0, 100)]


def test_protocol_roundtrip(tmp_path):
    from music2dance.errors import Music2DanceError

    p = Protocol()
    assert Protocol.from_dict(p.to_dict()) == p
    f = tmp_path / "p.json"
    f.write_text('{"clip_s": 10, "bugged_acceleration": true}')
    q = Protocol.load(f)
    assert q.clip_s == 10 and q.bugged_acceleration
    f.write_text('{"clip_seconds": 10}')
    with pytest.raises(Music2DanceError, match="clip_seconds"):
        Protocol.load(f)
    assert "fps" in p.describe()
