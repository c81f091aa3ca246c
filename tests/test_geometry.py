"""motion.geometry: facing, the canonical frame, joint speed, resampling, low-pass and gap filling."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REST

from music2dance.errors import Music2DanceError
from music2dance.io.skeleton import joint_index
from music2dance.motion.geometry import (
    MissingJointError,
    canonicalize,
    canonicalize_units,
    face_forward,
    facing_angle,
    fill_missing,
    joint_speed,
    mean_joint_speed,
    place_units,
    resample_joints,
    resampled_length,
    rotate_y,
    smooth,
    uncanonicalize,
    unit_speed,
)


def _walking(T: int = 50, fps: float = 25.0) -> np.ndarray:
    """REST walking along +z at 1 m/s, the wrists swinging forward and back at 1 Hz."""
    t = np.arange(T) / fps
    j = np.repeat(REST[None], T, axis=0).copy()
    j[..., 2] += t[:, None]
    for w in (joint_index("left_wrist"), joint_index("right_wrist")):
        j[:, w, 2] += 0.1 * np.sin(2 * np.pi * 1.0 * t)
    return j


def _turned(j: np.ndarray, deg: float, shift=(0.0, 0.0)) -> np.ndarray:
    return rotate_y(j, np.radians(deg)) + np.array([shift[0], 0.0, shift[1]])


# ------------------------------------------------------------------------------------ facing and frames


@pytest.mark.parametrize("deg", [0.0, 90.0, -135.0])
def test_facing_angle_of_turned_figure(deg):
    j = _turned(_walking(3), deg)
    np.testing.assert_allclose(facing_angle(j), np.radians(deg), atol=1e-9)
    np.testing.assert_allclose(facing_angle(j, hips_only=True), np.radians(deg), atol=1e-9)


def test_facing_of_a_twisted_torso_lies_between_hips_and_shoulders():
    pose = REST.copy()
    for name in ("left_shoulder", "right_shoulder"):
        pose[joint_index(name)] = rotate_y(REST[joint_index(name)], np.radians(40.0))
    assert facing_angle(pose, hips_only=True) == pytest.approx(0.0, abs=1e-12)
    assert 0.1 < facing_angle(pose) < np.radians(40.0) - 0.1


def test_canonicalize_roundtrip():
    j = _turned(_walking(), 70.0, shift=(3.0, -2.0))
    c, yaw, offset = canonicalize(j, frame=5)
    assert yaw == pytest.approx(np.radians(70.0))
    np.testing.assert_allclose(c[5, 0, [0, 2]], 0.0, atol=1e-12)
    assert facing_angle(c[5]) == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(c[..., 1], j[..., 1])
    np.testing.assert_allclose(uncanonicalize(c, yaw, offset), j, atol=1e-12)


@pytest.mark.parametrize("yaw", [0.0, 0.7, -2.5, np.pi / 2])
def test_canonicalize_units_faces_plus_z_and_inverts(yaw):
    frames = np.stack([_turned(_walking(4), np.degrees(yaw), shift=(1.5, -2.0))]).astype(np.float32)
    canon, got_yaw, offset = canonicalize_units(frames)
    assert canon.dtype == got_yaw.dtype == offset.dtype == np.float32
    assert np.isclose(np.angle(np.exp(1j * (got_yaw[0] - yaw))), 0, atol=1e-5)
    np.testing.assert_allclose(offset[0], [1.5, 0.0, -2.0], atol=1e-5)
    pel = canon[0, 0, joint_index("pelvis")]
    assert abs(pel[0]) < 1e-5 and abs(pel[2]) < 1e-5 and np.isclose(pel[1], REST[0, 1])
    assert canon[0, 0, joint_index("left_hip"), 0] > 0.08  # facing +z: the left hip is on +x
    np.testing.assert_allclose(place_units(canon, got_yaw, offset), frames, atol=1e-5)


def test_face_forward_removes_position_and_facing_per_frame():
    j = _walking(10)
    turned = np.stack([_turned(j[t : t + 1], 30.0 * t, shift=(t, -t))[0] for t in range(10)])
    f = face_forward(turned)
    np.testing.assert_allclose(f[:, joint_index("pelvis")], 0.0, atol=1e-12)
    np.testing.assert_allclose(f, face_forward(j), atol=1e-12)
    hip = f[:, joint_index("left_hip")] - f[:, joint_index("right_hip")]
    np.testing.assert_allclose(hip[:, 2], 0.0, atol=1e-12)  # the hip line along +x
    assert (hip[:, 0] > 0).all()


# -------------------------------------------------------------------------------------------------- speed


def test_speeds_of_a_walk():
    fps = 25.0
    j = _walking(51, fps)
    v = joint_speed(j, fps)
    assert v.shape == (50, 18)
    np.testing.assert_allclose(v[:, joint_index("pelvis")], 1.0)  # walking at 1 m/s
    m = mean_joint_speed(j, fps)
    np.testing.assert_allclose(m, v.mean(axis=1))
    t = np.arange(51) / fps
    wrist = np.abs(np.diff(t + 0.1 * np.sin(2 * np.pi * t))) * fps  # the wrists' z speed
    np.testing.assert_allclose(m, (16 * 1.0 + 2 * wrist) / 18)
    units = np.stack([j[:26], j[25:]])
    np.testing.assert_allclose(unit_speed(units, fps), [m[:25].mean(), m[25:].mean()])
    assert unit_speed(units.astype(np.float32), fps).dtype == np.float32
    assert mean_joint_speed(j[:1], fps).shape == (0,)


# ---------------------------------------------------------------------------------------- time and gaps


def test_smooth_removes_high_frequency():
    t = np.arange(500) / 100.0
    slow, fast = np.sin(2 * np.pi * 1.0 * t), 0.3 * np.sin(2 * np.pi * 20.0 * t)
    out = smooth((slow + fast)[:, None], 100.0, 5.0)[:, 0]
    assert np.abs(out - slow)[50:-50].max() < 0.02


@pytest.mark.parametrize("src, dst", [(25.0, 15.0), (15.0, 60.0), (120.0, 30.0), (15.0, 30.0)])
def test_resample_keeps_frequency_and_the_time_span(src, dst):
    f = 1.5
    t = np.arange(int(8 * src)) / src
    x = np.sin(2 * np.pi * f * t)[:, None, None] * np.ones((1, 2, 3))
    y = resample_joints(x, src, dst)
    assert len(y) == resampled_length(len(t), src, dst) == int(np.floor((len(t) - 1) * dst / src)) + 1
    assert (len(y) - 1) / dst <= t[-1] + 1e-9 < len(y) / dst  # covers the input's span, no further
    t2 = np.arange(len(y)) / dst
    spectrum = np.abs(np.fft.rfft(y[:, 0, 0] * np.hanning(len(y))))
    freq = np.fft.rfftfreq(len(y), 1 / dst)
    assert abs(freq[spectrum.argmax()] - f) < 0.15
    inner = slice(len(y) // 8, -len(y) // 8)
    np.testing.assert_allclose(y[inner, 0, 0], np.sin(2 * np.pi * f * t2[inner]), atol=0.05)


def test_resample_antialias():
    # 11 Hz at 25 fps would alias to 4 Hz at 15 fps; the filter must remove it instead.
    t = np.arange(250) / 25.0
    y = resample_joints(np.sin(2 * np.pi * 11.0 * t)[:, None], 25.0, 15.0)
    assert np.abs(y[20:-20]).max() < 0.1


def test_upsampling_passes_through_the_frames_and_is_smooth():
    fps = 15.0
    t = np.arange(45) / fps
    x = np.repeat(REST[None], len(t), axis=0).copy()
    x[:, :, 0] += np.sin(2 * np.pi * 1.0 * t)[:, None] * 0.2
    up = resample_joints(x, 15.0, 60.0)
    assert len(up) == 177
    np.testing.assert_allclose(up[::4], x, atol=1e-9)
    speed = mean_joint_speed(up, 60.0)
    # linear interpolation would hold the speed constant over 4 frames; the spline does not
    assert np.count_nonzero(np.abs(np.diff(speed)) < 1e-9) < 10


def test_resample_same_rate_and_short_input_are_copies():
    x = _walking(5)
    for y in (resample_joints(x, 25.0, 25.0), resample_joints(x[:1], 25.0, 50.0)):
        assert y is not x and y.dtype == np.float64
    np.testing.assert_array_equal(resample_joints(x, 25.0, 25.0), x)
    np.testing.assert_allclose(resample_joints(x[:2], 25.0, 50.0)[1], 0.5 * (x[0] + x[1]))  # 2 frames: linear


def test_fill_missing_linear_exact_and_ends_held():
    j = _walking()
    holey = j.copy()
    holey[10:14, 3] = np.nan
    holey[0:2, 5, 1] = np.nan  # one NaN coordinate makes the joint-frame missing
    out = fill_missing(holey)
    np.testing.assert_allclose(out[10:14, 3], j[10:14, 3], atol=1e-12)  # the head moves linearly
    np.testing.assert_allclose(out[0:2, 5], np.repeat(j[2:3, 5], 2, axis=0))  # the start holds frame 2
    assert not np.isnan(out).any()
    assert not np.isnan(holey[10, 3]).sum() == 0  # the input is left as it was


def test_a_joint_never_seen_raises_or_takes_the_absent_value():
    j = _walking()
    j[:, joint_index("left_knee")] = np.nan
    with pytest.raises(MissingJointError, match="left_knee is missing in every frame"):
        fill_missing(j)
    assert issubclass(MissingJointError, Music2DanceError) and issubclass(MissingJointError, ValueError)
    out = fill_missing(j, absent=0.0)
    np.testing.assert_array_equal(out[:, joint_index("left_knee")], 0.0)
    np.testing.assert_array_equal(np.delete(out, joint_index("left_knee"), axis=1), np.delete(j, 11, axis=1))


def test_joint_acceleration_of_a_fall_is_g():
    """A joint falling freely (y = -g t^2 / 2) accelerates at g at every frame; a still joint at 0."""
    from music2dance.motion.geometry import joint_acceleration

    fps, g = 30.0, 9.81
    t = np.arange(20) / fps
    joints = np.zeros((20, 2, 3))
    joints[:, 0, 1] = -0.5 * g * t**2
    acc = joint_acceleration(joints, fps)
    assert acc.shape == (18, 2)
    assert np.allclose(acc[:, 0], g) and np.allclose(acc[:, 1], 0.0)
