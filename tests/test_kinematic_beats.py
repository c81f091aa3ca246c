"""The kinematic beat detector on synthetic motion with known beats, hit rates, and the Tang data."""

from __future__ import annotations

import numpy as np
import pytest

from music2dance.io.skeleton import NUM_JOINTS
from music2dance.motion.kinematic_beats import (
    KinematicBeatParams,
    hit_rate,
    hit_rate_vs_chance,
    kinematic_beats,
    motion_magnitude,
    nearest_beat_distance,
)

FPS = 25.0


def body_along(path: np.ndarray) -> np.ndarray:
    """(T, 18, 3): every joint follows `path` (T, 3) metres, offset by a fixed pose."""
    pose = np.random.default_rng(0).uniform(-0.3, 0.3, (NUM_JOINTS, 3))
    return path[:, None, :] + pose[None]


def stop_and_go(stops: list[int], T: int) -> np.ndarray:
    """A straight walk along x whose speed falls to 0 exactly at each frame in `stops`."""
    speed = np.ones(T)
    edges = [0, *stops, T - 1]
    for a, b in zip(edges[:-1], edges[1:]):
        t = np.arange(a, b + 1)
        speed[a : b + 1] = np.sin(np.pi * (t - a) / (b - a))  # 0 at both ends of each stretch
    x = np.cumsum(speed) * 1.5 / FPS
    return np.stack([x, np.zeros(T), np.zeros(T)], axis=1)


def test_decelerations_are_beats_within_one_frame():
    stops = [20, 37, 60, 75, 100, 118]
    beats = kinematic_beats(body_along(stop_and_go(stops, 140)), FPS)
    assert len(beats) == len(stops)
    assert np.abs(beats - np.array(stops)).max() <= 1


def test_constant_speed_has_no_beats():
    T = 100
    path = np.stack([np.arange(T) * 0.04, np.zeros(T), np.zeros(T)], axis=1)
    assert len(kinematic_beats(body_along(path), FPS)) == 0
    mag = motion_magnitude(body_along(path), FPS)
    assert mag.shape == (T,)
    np.testing.assert_allclose(mag[5:-5], 0.04 * FPS, rtol=1e-6)  # m/s


def test_jitter_while_standing_is_not_a_beat():
    rng = np.random.default_rng(3)
    still = body_along(np.zeros((150, 3))) + rng.normal(0, 0.001, (150, NUM_JOINTS, 3))
    assert len(kinematic_beats(still, FPS)) == 0


def test_direction_reversal_is_a_beat():
    # back and forth along x at constant speed: reversals at frames 30, 60, 90
    t = np.arange(121)
    x = 0.05 * np.where((t // 30) % 2 == 0, t % 30, 30 - t % 30)
    path = np.stack([x, np.zeros_like(x), np.zeros_like(x)], axis=1)
    beats = kinematic_beats(body_along(path), FPS)
    assert len(beats) == 3 and np.abs(beats - np.array([30, 60, 90])).max() <= 1


def test_sharp_turn_found_by_the_angle_alone():
    # constant speed, a right-angle turn at frame 40 and another at 80; deceleration criterion disabled
    d = np.zeros((120, 3))
    d[:40, 0], d[40:80, 2], d[80:, 0] = 0.04, 0.04, -0.04
    path = np.cumsum(d, axis=0)
    angle_only = KinematicBeatParams(min_drop=1.0, min_angle_deg=60.0)
    beats = kinematic_beats(body_along(path), FPS, angle_only)
    assert len(beats) == 2 and np.abs(beats - np.array([40, 80])).max() <= 1
    no_angle = KinematicBeatParams(min_drop=1.0, min_angle_deg=None)
    assert len(kinematic_beats(body_along(path), FPS, no_angle)) == 0


def test_min_spacing_merges_close_beats():
    stops = [20, 24, 60]
    wide = KinematicBeatParams(min_spacing_s=0.3, min_angle_deg=None)
    beats = kinematic_beats(body_along(stop_and_go(stops, 90)), FPS, wide)
    assert len(beats) == 2


def test_unknown_joint_name_is_reported():
    with pytest.raises(ValueError, match="unknown joints"):
        kinematic_beats(body_along(np.zeros((10, 3))), FPS, KinematicBeatParams(joints=("tail",)))


def test_hit_rate():
    music = np.arange(0.0, 10.0, 0.5)
    assert hit_rate(music + 0.05, music, 0.08) == 1.0
    assert hit_rate(music + 0.25, music, 0.08) == 0.0
    assert hit_rate(np.array([1.0, 1.25, 2.02, 3.3]), music, 0.08) == 0.5
    assert np.isnan(hit_rate(np.array([]), music, 0.08))
    assert hit_rate([1.0, 2.05, 3.5], [4.0, 1.0, 3.0, 2.0], tol_s=0.1) == pytest.approx(2 / 3)  # any order
    assert hit_rate([1.0, 1.3], [1.05], tol_s=0.1) == 0.5  # a single music beat
    assert hit_rate([1.0], [], tol_s=0.1) == 0.0


def test_nearest_beat_distance_any_shape():
    d = nearest_beat_distance(np.array([[0.0, 1.2], [2.6, 9.0]]), np.array([3.0, 1.0, 2.0]))
    np.testing.assert_allclose(d, [[1.0, 0.2], [0.4, 6.0]])
    np.testing.assert_allclose(nearest_beat_distance([0.5, 4.0], [1.0]), [0.5, 3.0])


def test_hit_rate_vs_chance_on_locked_beats():
    music = np.arange(0.0, 60.0, 0.5)
    kin = music[::2] + np.random.default_rng(0).normal(0, 0.02, 60)
    r = hit_rate_vs_chance(kin, music, 0.08, n_shifts=400, rng=1, span=(0.0, 60.0))
    assert r["hit"] > 0.95
    # random shifts land within +-80 ms of a beat 0.5 s apart about 2 * 0.08 / 0.5 of the time
    assert r["chance_mean"] == pytest.approx(0.32, abs=0.06)
    # a periodic dance shifted at random hits all its beats or none, so the spread is wide and z modest
    assert r["hit"] > r["chance_mean"] + 0.5 and r["z"] > 1.2
    again = hit_rate_vs_chance(kin, music, 0.08, n_shifts=400, rng=1, span=(0.0, 60.0))
    assert again == r


def test_hit_rate_vs_chance_on_unrelated_beats():
    rng = np.random.default_rng(5)
    music = np.arange(0.0, 100.0, 0.5)
    kin = np.sort(rng.uniform(0, 100, 150))
    r = hit_rate_vs_chance(kin, music, 0.08, rng=2, span=(0.0, 100.0))
    assert abs(r["z"]) < 3 and abs(r["hit"] - r["chance_mean"]) < 0.1


def test_tang_take_has_plausible_beats(shared_data):
    from music2dance.io.tang import read_tang_sequence

    m = read_tang_sequence(shared_data / "tang2018" / "DANCE_C_2").motion
    beats = kinematic_beats(m.joints, m.fps)
    rate = len(beats) / m.duration
    assert 0.5 < rate < 3.0  # steps per second of a cha-cha
    assert np.diff(beats).min() >= round(KinematicBeatParams().min_spacing_s * m.fps)
