"""Tang 2018 reader: mapping of the 23 points, units and handedness, errors, and the real takes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from music2dance.errors import Music2DanceError
from music2dance.io.skeleton import joint_index
from music2dance.io.tang import list_tang_sequences, read_tang_raw, read_tang_sequence


def _make_take(folder: Path, world: np.ndarray, start: int = 50) -> Path:
    folder.mkdir(parents=True)
    center = world[:, 2].copy()
    skel = world - center[:, None]
    data = {"length": len(world), "center": center.tolist(), "skeletons": skel.tolist()}
    (folder / "skeletons.json").write_text(json.dumps(data))
    (folder / "config.json").write_text(
        json.dumps({"start_position": start, "end_position": start + len(world)})
    )
    return folder


def _points(T: int = 4) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(0, 50, size=(T, 23, 3)) + [0, 100, 0]


def test_mapping_units_and_mirror(tmp_path):
    world = _points()
    seq = read_tang_sequence(_make_take(tmp_path / "DANCE_R_3", world))
    assert seq.name == "DANCE_R_3" and seq.style == "rumba"
    assert seq.audio_offset_s == pytest.approx(2.0)
    assert seq.audio_path == tmp_path / "DANCE_R_3" / "audio.mp3"
    m = seq.motion
    assert m.fps == 25.0 and m.joints.shape == (4, 18, 3)
    flip = np.array([-0.01, 0.01, 0.01])  # centimetres -> metres, Unity x mirrored
    np.testing.assert_allclose(m.joints[:, joint_index("left_wrist")], world[:, 6] * flip, atol=1e-5)
    np.testing.assert_allclose(m.joints[:, joint_index("right_elbow")], world[:, 13] * flip, atol=1e-5)
    np.testing.assert_allclose(m.joints[:, joint_index("left_foot")], world[:, 11] * flip, atol=1e-5)
    np.testing.assert_allclose(m.joints[:, joint_index("spine")], world[:, 2] * flip, atol=1e-5)
    np.testing.assert_allclose(
        m.joints[:, joint_index("pelvis")], 0.5 * (world[:, 7] + world[:, 16]) * flip, atol=1e-5
    )
    np.testing.assert_allclose(
        m.joints[:, joint_index("head")], 0.5 * (world[:, 0] + world[:, 1]) * flip, atol=1e-5
    )


def test_raw_world_is_center_plus_offsets(tmp_path):
    world = _points()
    raw, cfg = read_tang_raw(_make_take(tmp_path / "DANCE_W_9", world))
    np.testing.assert_allclose(raw, world, atol=1e-4)
    assert cfg["start_position"] == 50


def test_list_sequences_sorted(tmp_path):
    for n in ("DANCE_W_2", "DANCE_C_1"):
        _make_take(tmp_path / n, _points(2))
    (tmp_path / "notes").mkdir()
    assert [p.name for p in list_tang_sequences(tmp_path)] == ["DANCE_C_1", "DANCE_W_2"]


@pytest.mark.parametrize(
    "content, problem",
    [
        (None, "file not found"),
        ("{not json", "not readable JSON"),
        (json.dumps({"center": [[0, 0, 0]]}), "missing key"),
        (json.dumps({"center": [[0, 0, 0]], "skeletons": [[[0, 0, 0]] * 22]}), r"must be \(T, 23, 3\)"),
        (json.dumps({"center": [[0, 0, 0], [0, 0, 0]], "skeletons": [[[0, 0, 0]] * 23]}), "'center' must be"),
    ],
)
def test_bad_skeletons_json(tmp_path, content, problem):
    folder = tmp_path / "DANCE_C_1"
    folder.mkdir()
    if content is not None:
        (folder / "skeletons.json").write_text(content)
    with pytest.raises(Music2DanceError, match=problem) as e:
        read_tang_sequence(folder)
    assert "skeletons.json" in str(e.value)


def test_nan_only_point_is_an_error(tmp_path):
    world = _points()
    world[:, 9] = np.nan
    folder = _make_take(tmp_path / "DANCE_T_1", world)
    text = (folder / "skeletons.json").read_text().replace("NaN", "null")
    (folder / "skeletons.json").write_text(text)
    with pytest.raises(Music2DanceError, match=r"points \[9\] are NaN in every frame"):
        read_tang_sequence(folder)


def test_bad_folder_name(tmp_path):
    with pytest.raises(Music2DanceError, match="DANCE_<C|R|T|W>"):
        read_tang_sequence(_make_take(tmp_path / "DANCE_X_1", _points(2)))


def test_real_take_left_right_and_size(shared_data):
    seq = read_tang_sequence(shared_data / "tang2018" / "DANCE_C_2")
    j = seq.motion.joints.astype(np.float64)
    assert seq.style == "cha-cha" and j.shape == (1890, 18, 3)
    assert seq.audio_offset_s == pytest.approx(156 / 25)
    # Right-handed, y up: left = up x forward, forward from ankle to toe. The left hip must be on it.
    fwd = (j[:, 13] - j[:, 12]) + (j[:, 17] - j[:, 16])
    fwd[:, 1] = 0
    left = np.cross([0.0, 1.0, 0.0], fwd)
    assert (((j[:, 10] - j[:, 14]) * left).sum(-1) > 0).mean() > 0.95
    # Upper arm ~32 cm, forearm (elbow to point 6) ~23 cm in this take.
    upper = np.linalg.norm(j[:, joint_index("left_elbow")] - j[:, joint_index("left_shoulder")], axis=-1)
    fore = np.linalg.norm(j[:, joint_index("left_wrist")] - j[:, joint_index("left_elbow")], axis=-1)
    assert 0.28 < np.median(upper) < 0.36 and 0.20 < np.median(fore) < 0.27
    assert 1.5 < np.median(j[:, joint_index("head"), 1]) < 1.8


def test_list_real_takes(shared_data):
    seqs = list_tang_sequences(shared_data / "tang2018")
    assert len(seqs) == 45
    styles = [read_tang_sequence(p).style for p in seqs[:1]]
    assert styles == ["cha-cha"]
