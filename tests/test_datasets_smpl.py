"""SMPL / SMPL-X joint positions (io/smpl.py) on tiny synthetic body-model files in the official format.

Needs the optional `smplx` package (pip install "music2dance[smpl]"); skipped with a reason without it.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from dataset_layouts import SMPL_PARENTS, SMPL_REST, fk, smpl_dance, smplx_rest, write_body_model

from music2dance.errors import Music2DanceError

smplx = pytest.importorskip("smplx", reason='smplx not installed (pip install "music2dance[smpl]")')

from music2dance.io import smpl as S  # noqa: E402


@pytest.mark.parametrize("name,kind,sparse", [("m.npz", "smpl", False), ("m.pkl", "smpl", True)])
def test_smpl_zero_pose_gives_the_rest_joints(tmp_path, name, kind, sparse):
    path = write_body_model(tmp_path / name, kind, sparse=sparse)
    model = S.load_body_model(path)
    assert model.kind == "smpl" and model.rest_joints.shape == (24, 3)
    assert model.parents.tolist() == SMPL_PARENTS
    np.testing.assert_allclose(model.rest_joints, SMPL_REST, atol=1e-12)  # = J_regressor @ v_template
    rot = np.broadcast_to(np.eye(3), (5, 24, 3, 3))
    joints = S.joint_positions(model, rot)
    assert joints.shape == (5, 24, 3)
    np.testing.assert_allclose(joints, np.broadcast_to(SMPL_REST, (5, 24, 3)), atol=1e-12)
    canon = S.smpl_to_canonical(joints)
    assert canon.shape == (5, 18, 3) and canon.dtype == np.float32


def test_smplx_model_shapes_and_rest(tmp_path):
    model = S.load_body_model(write_body_model(tmp_path / "SMPLX_NEUTRAL.npz", "smplx"))
    assert model.kind == "smplx" and model.rest_joints.shape == (55, 3)
    joints = S.joint_positions(model, np.broadcast_to(np.eye(3), (3, 22, 3, 3)))  # body only: hands at rest
    assert joints.shape == (3, 55, 3)
    np.testing.assert_allclose(joints[0], smplx_rest(), atol=1e-12)


def test_posed_joints_match_smplx_full_forward_and_plain_fk(tmp_path):
    """Our joints (rest joints + smplx's rigid transform) == smplx.SMPL's full forward (skinning path)
    == an independent numpy FK, for a random dance."""
    import torch

    path = write_body_model(tmp_path / "m.pkl", "smpl")
    model = S.load_body_model(path)
    poses, trans = smpl_dance(7, 30.0, seed=1)
    ours = S.joint_positions(model, S.axis_angle_to_matrix(poses), trans)

    with open(path, "rb") as f:
        data = pickle.load(f)
    ids = {k: 0 for k in ("nose", "reye", "leye", "rear", "lear", "LBigToe", "LSmallToe", "LHeel")}
    ids.update({k: 0 for k in ("RBigToe", "RSmallToe", "RHeel")})
    ids.update({h + t: 0 for h in "lr" for t in ("thumb", "index", "middle", "ring", "pinky")})
    body = smplx.SMPL(str(path), data_struct=smplx.utils.Struct(**data), vertex_ids=ids, dtype=torch.float64)
    with torch.no_grad():
        out = body(
            global_orient=torch.from_numpy(poses[:, 0]),
            body_pose=torch.from_numpy(poses[:, 1:].reshape(7, 69)),
            transl=torch.from_numpy(trans),
            betas=torch.zeros(7, 10, dtype=torch.float64),
        )
    np.testing.assert_allclose(ours, out.joints[:, :24].numpy(), atol=1e-6)
    np.testing.assert_allclose(ours, fk(poses, trans)[0], atol=1e-9)


def test_rot6d_is_the_first_two_rows():
    from scipy.spatial.transform import Rotation

    m = Rotation.random(10, random_state=0).as_matrix()
    np.testing.assert_allclose(S.rot6d_to_matrix(m[:, :2, :].reshape(10, 6)), m, atol=1e-12)


def test_bad_body_model_files_get_one_line(tmp_path):
    (tmp_path / "chumpy.pkl").write_bytes(b"(dp0\nS'v_template'\np1\ncchumpy.ch\nCh\np2\n)\x81p3\ns.")
    np.savez(tmp_path / "bad.npz", v_template=np.zeros((3, 3)))
    cases = (
        ("chumpy.pkl", "chumpy"),
        ("bad.npz", "no J_regressor, kintree_table"),
        ("missing.npz", "not found"),
    )
    for name, words in cases:
        with pytest.raises(Music2DanceError) as e:
            S.load_body_model(tmp_path / name)
        assert words in str(e.value) and len(str(e.value).splitlines()) == 1, str(e.value)
