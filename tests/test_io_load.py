"""load_dance dispatches every supported dance file kind and names the file on bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from music2dance.errors import Music2DanceError
from music2dance.io.dance_npz import save_dance_npz
from music2dance.io.load import load_dance
from music2dance.io.skeleton import Motion

FIXTURES = Path(__file__).parent / "fixtures"


def test_dance_npz(tmp_path):
    joints = np.random.default_rng(1).normal(size=(6, 18, 3)).astype(np.float32)
    save_dance_npz(tmp_path / "d.npz", Motion(joints, 15.0), model="m", seed=3)
    m = load_dance(tmp_path / "d.npz")
    np.testing.assert_array_equal(m.joints, joints)
    assert m.fps == 15.0 and m.meta["seed"] == 3


def test_keypoint_npz_and_npy(tmp_path):
    from test_io_keypoints import _pose

    np.savez(tmp_path / "k.npz", keypoints3d=_pose(4) * 100.0)
    m = load_dance(tmp_path / "k.npz")
    assert m.joints.shape == (4, 18, 3) and m.fps == 60.0
    assert abs(m.joints[0, 0, 1] - 0.9) < 1e-5  # centimetres detected
    np.save(tmp_path / "k.npy", _pose(4))
    assert load_dance(tmp_path / "k.npy").joints.shape == (4, 18, 3)


def test_tang_folder_and_bvh(tmp_path):
    folder = tmp_path / "DANCE_C_1"
    folder.mkdir()
    pts = np.random.default_rng(2).normal(0, 30, size=(3, 23, 3))
    (folder / "skeletons.json").write_text(
        json.dumps({"length": 3, "center": np.zeros((3, 3)).tolist(), "skeletons": pts.tolist()})
    )
    assert load_dance(folder).fps == 25.0
    assert load_dance(folder / "skeletons.json").joints.shape == (3, 18, 3)
    with pytest.raises(Music2DanceError, match="unknown joint layout"):
        load_dance(shutil.copy(FIXTURES / "chain.bvh", tmp_path / "chain.bvh"))


def test_real_bvh(shared_data):
    assert load_dance(shared_data / "cmu_salsa" / "pirouette.bvh").joints.shape == (592, 18, 3)


@pytest.mark.parametrize(
    "name, problem", [("x.txt", "unsupported dance file type '.txt'"), ("missing.bvh", "not found")]
)
def test_bad_paths(tmp_path, name, problem):
    if name != "missing.bvh":
        (tmp_path / name).write_text("hi")
    with pytest.raises(Music2DanceError, match=problem) as e:
        load_dance(tmp_path / name)
    assert name in str(e.value)


def test_empty_folder(tmp_path):
    with pytest.raises(Music2DanceError, match="no skeletons.json"):
        load_dance(tmp_path)


def test_corrupt_npz(tmp_path):
    (tmp_path / "c.npz").write_bytes(b"not a zip")
    with pytest.raises(Music2DanceError, match=r"c\.npz: not a readable npz"):
        load_dance(tmp_path / "c.npz")
