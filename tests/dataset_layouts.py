"""Tiny data sets written in each official layout (AIST++, EDGE's AIST++, FineDance, PopDanceSet, a folder),
and tiny synthetic SMPL / SMPL-X body-model files with the official keys, for tests/test_datasets*.py.

Values are synthetic: a SMPL-like rest skeleton (T-pose, metres, y up, facing +z, left on +x) danced by
sinusoidal joint rotations; songs are click tracks at the tempo the AIST++ music names state.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.spatial.transform import Rotation

SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
# SMPL-like rest joints (T-pose), metres.
SMPL_REST = np.array(
    [
        [0.0, 0.95, 0.0], [0.09, 0.87, 0.0], [-0.09, 0.87, 0.0], [0.0, 1.06, -0.01],
        [0.10, 0.50, 0.01], [-0.10, 0.50, 0.01], [0.0, 1.19, 0.0], [0.10, 0.08, -0.02],
        [-0.10, 0.08, -0.02], [0.0, 1.25, 0.01], [0.11, 0.02, 0.11], [-0.11, 0.02, 0.11],
        [0.0, 1.47, -0.01], [0.07, 1.40, 0.0], [-0.07, 1.40, 0.0], [0.0, 1.60, 0.03],
        [0.18, 1.41, -0.01], [-0.18, 1.41, -0.01], [0.44, 1.41, -0.02], [-0.44, 1.41, -0.02],
        [0.69, 1.41, -0.01], [-0.69, 1.41, -0.01], [0.77, 1.41, -0.01], [-0.77, 1.41, -0.01],
    ]
)  # fmt: skip


def smplx_parents() -> list[int]:
    """55 SMPL-X joints: 22 body, jaw, eyes, 15 + 15 finger joints (3 per finger from the wrist)."""
    parents = SMPL_PARENTS[:22] + [15, 15, 15]
    for wrist in (20, 21):
        for _ in range(5):
            base = len(parents)
            parents += [wrist, base, base + 1]
    return parents


def smplx_rest() -> np.ndarray:
    rest = list(SMPL_REST[:22]) + [[0.0, 1.55, 0.06], [0.03, 1.64, 0.08], [-0.03, 1.64, 0.08]]
    for side in (1.0, -1.0):
        for f in range(5):
            for k in range(3):
                rest.append([side * (0.72 + 0.03 * k), 1.41, 0.04 - 0.02 * f])
    return np.array(rest)


def write_body_model(path: Path, kind: str = "smpl", *, sparse: bool = False, extra_verts: int = 6) -> Path:
    """A tiny body model in the official format: v_template, shapedirs, posedirs, J_regressor, weights,
    kintree_table, f (.npz or .pkl by the suffix). Vertices = the rest joints + a few more, and the
    regressor picks the joints' vertices, so J_regressor @ v_template is the rest skeleton above."""
    rng = np.random.default_rng(0)
    rest, parents = (SMPL_REST, SMPL_PARENTS) if kind == "smpl" else (smplx_rest(), smplx_parents())
    J = len(parents)
    V = J + extra_verts
    v_template = np.concatenate([rest, rest[:extra_verts] + rng.normal(0, 0.02, (extra_verts, 3))])
    J_regressor = np.zeros((J, V))
    J_regressor[np.arange(J), np.arange(J)] = 1.0
    weights = rng.random((V, J))
    data = {
        "v_template": v_template,
        "shapedirs": rng.normal(0, 0.01, (V, 3, 10)),
        "posedirs": rng.normal(0, 0.001, (V, 3, 9 * (J - 1))),
        "J_regressor": J_regressor,
        "weights": weights / weights.sum(1, keepdims=True),
        "kintree_table": np.array([[4294967295 if p < 0 else p for p in parents], list(range(J))], np.int64),
        "f": rng.integers(0, V, (2 * V, 3)).astype(np.int64),
    }
    if sparse:
        from scipy.sparse import csc_matrix

        data["J_regressor"] = csc_matrix(J_regressor)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".npz":
        np.savez(path, **data)
    else:
        with open(path, "wb") as f:
            pickle.dump(data, f, protocol=2)
    return path


def smpl_dance(n: int, fps: float, seed: int = 0, bpm: float = 120.0) -> tuple[np.ndarray, np.ndarray]:
    """(poses (n, 24, 3) axis-angle, trans (n, 3) metres y up): steps, knee bends, arm swings, a turn."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps
    beat = 2 * np.pi * bpm / 60.0 * t
    ph = rng.uniform(0, 2 * np.pi, 4)
    poses = np.zeros((n, 24, 3))
    poses[:, 0, 1] = 0.5 * np.sin(2 * np.pi * t / 6 + ph[0])  # slow turn
    poses[:, 3, 0] = 0.1 * np.sin(beat + ph[1])
    for hip, knee, shoulder, elbow, s in ((1, 4, 16, 18, 1.0), (2, 5, 17, 19, -1.0)):
        swing = np.clip(np.sin(beat / 2 + (0 if s > 0 else np.pi)), 0, None)
        poses[:, hip, 0] = -0.5 * swing
        poses[:, knee, 0] = 1.0 * swing
        poses[:, shoulder, 2] = -s * (1.2 + 0.3 * np.sin(beat + ph[2]))  # arms down from the T-pose
        poses[:, elbow, 1] = s * 0.9 * np.abs(np.sin(beat / 2 + ph[3]))  # a stop on every beat
        poses[:, knee, 0] += 0.4 * np.abs(np.sin(beat / 2))
    trans = np.stack(
        [0.3 * np.sin(2 * np.pi * t / 8), 0.02 * np.sin(beat), 0.2 * np.cos(2 * np.pi * t / 8)], 1
    )
    return poses, trans


def click_track(seconds: float, bpm: float, sr: int = 22050) -> np.ndarray:
    y = np.zeros(int(seconds * sr), np.float32)
    click = np.sin(2 * np.pi * 1000 * np.arange(int(0.03 * sr)) / sr) * np.hanning(int(0.03 * sr))
    for t in np.arange(0.25, seconds, 60.0 / bpm):
        i = int(t * sr)
        y[i : i + len(click)] += click[: len(y) - i]
    return y


def _pickle(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)


def fk(poses: np.ndarray, trans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy forward kinematics of SMPL_REST (test-side, independent of smplx) -> (pos, global rot)."""
    n = len(poses)
    rot = Rotation.from_rotvec(poses.reshape(-1, 3)).as_matrix().reshape(n, 24, 3, 3)
    glob = np.zeros((n, 24, 3, 3))
    pos = np.zeros((n, 24, 3))
    for j, p in enumerate(SMPL_PARENTS):
        if p < 0:
            glob[:, j], pos[:, j] = rot[:, j], SMPL_REST[j] + trans
        else:
            glob[:, j] = glob[:, p] @ rot[:, j]
            pos[:, j] = pos[:, p] + np.einsum("nij,j->ni", glob[:, p], SMPL_REST[j] - SMPL_REST[p])
    return pos, glob


def _coco_from_smpl(poses: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """COCO-17 points (cm) of the rest skeleton posed by `poses`."""
    pos, glob = fk(poses, trans)
    head = pos[:, 15]
    fwd = glob[:, 15] @ np.array([0.0, 0.0, 1.0])
    left = glob[:, 15] @ np.array([1.0, 0.0, 0.0])
    face = [head + 0.1 * fwd, head + 0.08 * fwd + 0.03 * left, head + 0.08 * fwd - 0.03 * left]
    ears = [head + 0.07 * left, head - 0.07 * left]
    body = [pos[:, j] for j in (16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8)]
    return np.stack(face + ears + body, axis=1) * 100.0


# AIST++: (name, split) - genres break (mBR0 = 80 BPM), pop (mPO1 = 90), house (mHO2 = 120).
AIST_SEQS = [
    ("gBR_sBM_cAll_d04_mBR0_ch01", "train"),
    ("gPO_sBM_cAll_d10_mPO1_ch02", "train"),
    ("gHO_sBM_cAll_d19_mHO2_ch03", "train"),
    ("gPO_sBM_cAll_d11_mPO1_ch05", "val"),
    ("gHO_sFM_cAll_d20_mHO2_ch06", "test"),
    ("gBR_sBM_cAll_d06_mBR0_ch07", "test"),
]
AIST_IGNORED = "gPO_sBM_cAll_d12_mPO1_ch08"
AIST_NO_SONG = "gLO_sBM_cAll_d13_mLO3_ch09"  # no mLO3.wav
AIST_CORRUPT = "gWA_sBM_cAll_d25_mWA4_ch10"  # garbage keypoints3d pickle
AIST_SECONDS = 7.5


def write_aistpp(root: Path, *, keypoints: bool = True, motions: bool = True) -> tuple[Path, Path]:
    """AIST++ annotations folder + a separate AIST music folder -> (anno, music)."""
    from music2dance.io.aistpp import music_id, nominal_bpm

    anno, music = root / "aist_plusplus_final", root / "aist_music"
    names = [n for n, _ in AIST_SEQS] + [AIST_IGNORED, AIST_NO_SONG, AIST_CORRUPT]
    n = int(AIST_SECONDS * 60)
    for i, name in enumerate(names):
        bpm = nominal_bpm(music_id(name))
        poses, trans = smpl_dance(n, 60.0, seed=i, bpm=bpm)
        scaling = 95.0
        if keypoints:
            kp = _coco_from_smpl(poses, trans)
            data = {
                "keypoints3d": kp + np.random.default_rng(i).normal(0, 0.3, kp.shape),
                "keypoints3d_optim": kp,
            }
            _pickle(anno / "keypoints3d" / f"{name}.pkl", data)
        if motions:
            _pickle(
                anno / "motions" / f"{name}.pkl",
                {
                    "smpl_poses": poses.reshape(n, 72),
                    "smpl_trans": trans * scaling,
                    "smpl_scaling": np.array([scaling]),
                    "smpl_loss": 0.1,
                },
            )
        if name != AIST_NO_SONG and not (music / f"{music_id(name)}.wav").exists():
            music.mkdir(parents=True, exist_ok=True)
            sf.write(music / f"{music_id(name)}.wav", click_track(AIST_SECONDS + 2, bpm), 22050)
    for sub in ("keypoints3d", "motions"):
        if (anno / sub / f"{AIST_CORRUPT}.pkl").exists():
            (anno / sub / f"{AIST_CORRUPT}.pkl").write_bytes(b"\x80\x04\x95 not a pickle")
    (anno / "splits").mkdir(parents=True, exist_ok=True)
    for split in ("train", "val", "test"):
        listed = [nm for nm, sp in AIST_SEQS if sp == split]
        if split == "train":
            listed += [AIST_IGNORED, AIST_NO_SONG, AIST_CORRUPT]
        (anno / "splits" / f"crossmodal_{split}.txt").write_text("\n".join(listed) + "\n")
    (anno / "ignore_list.txt").write_text(AIST_IGNORED + "\n")
    return anno, music


def write_edge_aistpp(root: Path) -> Path:
    """EDGE's copy: edge_aistpp/{motions,wavs}/<seq>.{pkl,wav} (SMPL motions only, one wav per sequence)."""
    from music2dance.io.aistpp import music_id, nominal_bpm

    base = root / "edge_aistpp"
    n = int(AIST_SECONDS * 60)
    for i, (name, _) in enumerate(AIST_SEQS[:3]):
        bpm = nominal_bpm(music_id(name))
        poses, trans = smpl_dance(n, 60.0, seed=i, bpm=bpm)
        _pickle(
            base / "motions" / f"{name}.pkl",
            {"smpl_poses": poses.reshape(n, 72), "smpl_trans": trans * 90, "smpl_scaling": np.array([90.0])},
        )
        (base / "wavs").mkdir(parents=True, exist_ok=True)
        sf.write(base / "wavs" / f"{name}.wav", click_track(AIST_SECONDS, bpm), 22050)
    (root / "splits").mkdir(exist_ok=True)  # EDGE keeps the crossmodal lists beside edge_aistpp/
    (root / "splits" / "crossmodal_train.txt").write_text(f"{AIST_SEQS[0][0]}\n{AIST_SEQS[1][0]}\n")
    (root / "splits" / "crossmodal_test.txt").write_text(f"{AIST_SEQS[2][0]}\n")
    return root


def matrix_to_rot6d(m: np.ndarray) -> np.ndarray:
    return m[..., :2, :].reshape(*m.shape[:-2], 6)


# FineDance: (name, genre); 012 and 036 are in the official cross-genre test list, 116 is ignored.
FINEDANCE_SEQS = [
    ("001", "Popular"),
    ("002", "Jazz"),
    ("003", "Dai"),
    ("012", "Jazz"),
    ("036", "Dai"),
]
FINEDANCE_NO_SONG = "004"
FINEDANCE_BAD = "006"  # wrong shape
FINEDANCE_IGNORED = "116"
FINEDANCE_SECONDS = 7.5


def write_finedance(root: Path) -> Path:
    n = int(FINEDANCE_SECONDS * 30)
    for d in ("motion", "music_wav", "label_json"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for i, (name, genre) in enumerate(
        FINEDANCE_SEQS + [(FINEDANCE_NO_SONG, "Jazz"), (FINEDANCE_IGNORED, "Jazz")]
    ):
        poses, trans = smpl_dance(n + 2, 30.0, seed=10 + i)  # motion 2 frames longer than the song
        rot = Rotation.from_rotvec(poses.reshape(-1, 3)).as_matrix().reshape(n + 2, 24, 3, 3)
        full = np.broadcast_to(np.eye(3), (n + 2, 52, 3, 3)).copy()
        full[:, :22] = rot[:, :22]
        np.save(
            root / "motion" / f"{name}.npy",
            np.concatenate([trans, matrix_to_rot6d(full).reshape(n + 2, -1)], 1),
        )
        (root / "label_json" / f"{name}.json").write_text(
            json.dumps({"name": f"song {name}", "style1": "Modern", "style2": genre})
        )
        if name != FINEDANCE_NO_SONG:
            sf.write(root / "music_wav" / f"{name}.wav", click_track(FINEDANCE_SECONDS, 100 + 5 * i), 22050)
    np.save(root / "motion" / f"{FINEDANCE_BAD}.npy", np.zeros((50, 7)))
    sf.write(root / "music_wav" / f"{FINEDANCE_BAD}.wav", click_track(3.0, 100), 22050)
    (root / "label_json" / f"{FINEDANCE_BAD}.json").write_text(json.dumps({"style2": "Jazz"}))
    return root


POP_SEQS = [("BV1aa411a7qr_Clip_3", "test"), ("BV1xx411b70_Clip_1", "train"), ("BV1xx411b71_Clip_2", "train")]
POP_SECONDS = 7.5
POP_CAMERA_SCALE = 1.5


def camera_frame_hybrik(poses: np.ndarray, trans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A y-up dance as HybrIK writes it: camera frame (y down, z away), the dancer facing the camera."""
    flip = Rotation.from_rotvec([np.pi, 0.0, 0.0])  # camera <- world (its own inverse)
    cam = poses.copy()
    cam[:, 0] = (flip * Rotation.from_rotvec(poses[:, 0])).as_rotvec()
    # Root joint placement: rotate the pelvis' world position (rest pelvis + trans) into the camera frame
    # and express it as a smplx translation (joints = R (J - J0) + J0 + transl).
    pelvis_cam = (SMPL_REST[0] + trans) @ flip.as_matrix().T + np.array([0.0, 0.0, 4.0])
    transl = (pelvis_cam - SMPL_REST[0]) / POP_CAMERA_SCALE
    return cam, transl


def write_popdanceset(root: Path) -> Path:
    n = int(POP_SECONDS * 30)
    (root / "motions").mkdir(parents=True, exist_ok=True)
    (root / "wavs").mkdir(parents=True, exist_ok=True)
    (root / "splits").mkdir(parents=True, exist_ok=True)
    for i, (name, _) in enumerate(POP_SEQS):
        poses, trans = smpl_dance(n, 30.0, seed=20 + i, bpm=110)
        cam, transl = camera_frame_hybrik(poses, trans)
        _pickle(
            root / "motions" / f"{name}.pkl",
            {
                "pred_thetas": cam,
                "transl": transl,
                "pred_camera": np.full((n, 1), POP_CAMERA_SCALE),
                "pred_betas": np.zeros((n, 10)),
                "img_path": [f"frame_{k:05d}.jpg" for k in range(3)],
            },
        )
        sf.write(root / "wavs" / f"{name}.wav", click_track(POP_SECONDS, 110), 22050)
    for split in ("train", "test"):
        (root / "splits" / f"{split}.txt").write_text(
            "\n".join(nm for nm, sp in POP_SEQS if sp == split) + "\n"
        )
    return root


def write_folder(root: Path) -> Path:
    """Style subfolders + a top-level pair with styles.csv and split.csv, a corrupt file, a dance without song."""
    from music2dance.io.bvh_export import write_bvh
    from music2dance.io.dance_npz import save_dance_npz
    from music2dance.motion.demo import demo_motion

    pairs = [
        ("hiphop/a", 120),
        ("hiphop/b", 124),
        ("hiphop/c", 118),
        ("salsa/d", 96),
        ("salsa/e", 100),
        ("f", 98),
    ]
    for i, (rel, bpm) in enumerate(pairs):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        motion = demo_motion(seconds=8.0, fps=30.0, seed=i)
        if rel == "hiphop/b":
            write_bvh(motion, path.with_suffix(".bvh"))
        else:
            save_dance_npz(path.with_suffix(".npz"), motion)
        sf.write(path.with_suffix(".flac" if i % 2 else ".wav"), click_track(8.0, bpm), 22050)
    (root / "salsa" / "broken.npz").write_bytes(b"PK\x03\x04 truncated zip")
    sf.write(root / "salsa" / "broken.wav", click_track(4.0, 100), 22050)
    save_dance_npz(root / "hiphop" / "lonely.npz", demo_motion(seconds=4.0, fps=30.0, seed=9))  # no song
    (root / "styles.csv").write_text("name,style\nf,salsa\n")
    (root / "split.csv").write_text("name,split\na,train\nb,train\nc,test\nd,train\ne,test\nf,train\n")
    return root
