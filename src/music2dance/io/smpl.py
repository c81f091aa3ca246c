"""SMPL / SMPL-H / SMPL-X joint positions from pose parameters, with the user's own body-model file.

The maths (shape blend, joint regression, forward kinematics) is the `smplx` library's (`smplx.lbs`), an
optional extra: `pip install "music2dance[smpl]"`. Body-model files are licensed (smpl.is.tue.mpg.de,
smpl-x.is.tue.mpg.de) and never bundled: the user passes one with `--body-model`.

Only joint positions are computed: with zero shape they depend on the rest joints (J_regressor applied to
v_template) and the rotations alone, so no vertices are skinned (pose blend shapes move vertices, not
joints). Body-model files read: `.npz` (SMPL-X / SMPL-H releases) and `.pkl` with numpy / scipy.sparse
arrays (SMPL releases; pickles holding chumpy objects are refused with a one-line hint).
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import input_error
from .skeleton import CANONICAL_JOINTS

# The first 22 joints are the same body in SMPL (24), SMPL-H (52) and SMPL-X (55).
SMPL_BODY_JOINTS: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)  # fmt: skip
_S = {n: i for i, n in enumerate(SMPL_BODY_JOINTS)}

# Canonical joint -> SMPL joints averaged. pelvis / neck are the hip / shoulder midpoints as for every
# other reader (SMPL's own pelvis joint sits ~8 cm above the hip line and its neck ~10 cm above the
# shoulders); spine is spine1 (~10 cm above the hips, Tang's waist point is 12 cm); head is SMPL's head
# joint (skull base, near ear level like Tang's head points); foot is SMPL's foot joint (ball of the foot).
SMPL_TO_CANONICAL: dict[str, tuple[int, ...]] = {
    "pelvis": (_S["left_hip"], _S["right_hip"]),
    "spine": (_S["spine1"],),
    "neck": (_S["left_shoulder"], _S["right_shoulder"]),
    "head": (_S["head"],),
    **{
        f"{side}_{c}": (_S[f"{side}_{s}"],)
        for side in ("left", "right")
        for c, s in (
            ("shoulder", "shoulder"),
            ("elbow", "elbow"),
            ("wrist", "wrist"),
            ("hip", "hip"),
            ("knee", "knee"),
            ("ankle", "ankle"),
            ("foot", "foot"),
        )
    },
}

BODY_MODEL_KINDS = {24: "smpl", 52: "smplh", 55: "smplx"}
INSTALL_HINT = 'needs the optional smplx package: pip install "music2dance[smpl]"'


def require_smplx():
    """The `smplx.lbs` module, or a one-line error saying how to install it."""
    try:
        from smplx import lbs
    except ImportError:
        raise input_error("smplx", INSTALL_HINT) from None
    return lbs


@dataclass
class BodyModel:
    """What joint positions need from a body-model file: rest joints and the kinematic tree."""

    path: Path
    kind: str  # smpl, smplh, smplx
    rest_joints: np.ndarray  # (J, 3) metres, zero shape, rest pose (J_regressor @ v_template)
    parents: np.ndarray  # (J,) int, -1 for the root

    @property
    def fingerprint(self) -> str:
        """Identifies what the joints depend on (for the prepared-data cache)."""
        import hashlib

        h = hashlib.sha1(
            self.rest_joints.astype(np.float64).tobytes() + self.parents.astype(np.int64).tobytes()
        )
        return f"{self.kind}:{h.hexdigest()[:16]}"


class _ModelUnpickler(pickle.Unpickler):
    """numpy arrays and scipy.sparse matrices only (the SMPL .pkl releases); anything else is refused."""

    _ALLOWED_MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray", "scipy.sparse")

    def find_class(self, module, name):
        if (module, name) in (("copyreg", "_reconstructor"), ("builtins", "object"), ("_codecs", "encode")):
            return super().find_class(module, name)
        if module.startswith(self._ALLOWED_MODULES):
            return super().find_class(module, name)
        if module.startswith("chumpy"):
            raise pickle.UnpicklingError(
                "it holds chumpy objects; save its arrays as plain numpy (smplx's tools/clean_ch.py) "
                "or use the .npz release"
            )
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


def _dense(x) -> np.ndarray:
    return np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=np.float64)


def _read_model_arrays(path: Path) -> dict:
    keys = ("v_template", "J_regressor", "kintree_table")
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                missing = [k for k in keys if k not in z.files]
                data = {k: z[k] for k in keys if k in z.files}
        elif path.suffix.lower() == ".pkl":
            with open(path, "rb") as f:
                raw = _ModelUnpickler(f, encoding="latin1").load()
            if not isinstance(raw, dict):
                raise input_error(path, "not a body-model file (expected a dict of arrays)")
            missing = [k for k in keys if k not in raw]
            data = {k: raw[k] for k in keys if k in raw}
        else:
            raise input_error(path, "body model must be an .npz or .pkl file (SMPL, SMPL-H or SMPL-X)")
    except (OSError, ValueError, EOFError, pickle.UnpicklingError, AttributeError, ImportError) as e:
        raise input_error(path, f"cannot read the body model ({e})") from None
    if missing:
        raise input_error(path, f"not a body-model file: no {', '.join(missing)}")
    return data


def load_body_model(path: str | os.PathLike) -> BodyModel:
    """Read a SMPL / SMPL-H / SMPL-X model file (.npz or .pkl) into its rest joints and parents."""
    path = Path(path)
    if not path.is_file():
        raise input_error(path, "body-model file not found")
    data = _read_model_arrays(path)
    v = np.asarray(data["v_template"], dtype=np.float64)
    J_reg = _dense(data["J_regressor"])
    kintree = np.asarray(data["kintree_table"]).astype(np.int64)
    n = J_reg.shape[0]
    if v.ndim != 2 or v.shape[1] != 3 or J_reg.shape[1] != v.shape[0] or kintree.shape != (2, n):
        raise input_error(
            path,
            f"inconsistent body model: v_template {v.shape}, J_regressor {J_reg.shape}, "
            f"kintree_table {kintree.shape}",
        )
    if n not in BODY_MODEL_KINDS:
        raise input_error(path, f"{n} joints: not SMPL (24), SMPL-H (52) or SMPL-X (55)")
    lbs = require_smplx()
    import torch

    with torch.no_grad():
        rest = lbs.vertices2joints(torch.from_numpy(J_reg), torch.from_numpy(v)[None])[0].numpy()
    parents = kintree[0].copy()
    parents[0] = -1
    return BodyModel(path=path, kind=BODY_MODEL_KINDS[n], rest_joints=rest, parents=parents)


def axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle -> (..., 3, 3) rotation matrices."""
    from scipy.spatial.transform import Rotation

    aa = np.asarray(aa, dtype=np.float64)
    return Rotation.from_rotvec(aa.reshape(-1, 3)).as_matrix().reshape(*aa.shape[:-1], 3, 3)


def rot6d_to_matrix(d6: np.ndarray) -> np.ndarray:
    """(..., 6) 6-D rotations (the first two rows of the matrix, Zhou et al. 2019 / pytorch3d) -> (..., 3, 3)."""
    d6 = np.asarray(d6, dtype=np.float64)
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = a1 / np.linalg.norm(a1, axis=-1, keepdims=True).clip(1e-12)
    a2 = a2 - (b1 * a2).sum(-1, keepdims=True) * b1
    b2 = a2 / np.linalg.norm(a2, axis=-1, keepdims=True).clip(1e-12)
    return np.stack([b1, b2, np.cross(b1, b2)], axis=-2)


def joint_positions(
    model: BodyModel, rotmats: np.ndarray, transl: np.ndarray | None = None, chunk: int = 4096
) -> np.ndarray:
    """Posed joints (T, J, 3) from local rotations (T, K, 3, 3) (K <= J; missing joints stay at rest).

    rotmats[:, 0] is the global orientation, rotated about the model's rest pelvis joint as smplx does;
    `transl` (T, 3) is added to every joint. Zero rotations give the rest joints.
    """
    lbs = require_smplx()
    import torch

    rotmats = np.asarray(rotmats, dtype=np.float64)
    T, K = rotmats.shape[:2]
    J = len(model.parents)
    if K > J:
        raise ValueError(f"{K} joint rotations for a {J}-joint {model.kind} model")
    full = np.broadcast_to(np.eye(3), (T, J, 3, 3)).copy()
    full[:, :K] = rotmats
    parents = torch.from_numpy(model.parents)
    rest = torch.from_numpy(model.rest_joints)
    out = np.empty((T, J, 3), np.float64)
    with torch.no_grad():
        for s in range(0, T, chunk):
            r = torch.from_numpy(full[s : s + chunk])
            posed, _ = lbs.batch_rigid_transform(r, rest.expand(len(r), J, 3), parents, dtype=torch.float64)
            out[s : s + chunk] = posed.numpy()
    if transl is not None:
        out += np.asarray(transl, dtype=np.float64)[:, None, :]
    return out


def smpl_to_canonical(joints: np.ndarray) -> np.ndarray:
    """(T, >=22, 3) SMPL-family joints -> (T, 18, 3) canonical joints (same units and axes)."""
    return np.stack(
        [joints[:, list(SMPL_TO_CANONICAL[n])].mean(axis=1) for n in CANONICAL_JOINTS], axis=1
    ).astype(np.float32)


def missing_body_model(root, dataset: str, what: str) -> Exception:
    """The one-line error for a data set whose motion needs a body model that was not given."""
    return input_error(
        root, f"{dataset} motion needs {what}: pass it with --body-model (licensed, not bundled)"
    )
