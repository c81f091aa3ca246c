"""Bring your own data: each official layout (tests/dataset_layouts.py writes tiny copies) through
`music2dance prepare` and one training step; bad files and missing songs are reported and skipped.

The SMPL-based readers use tiny synthetic body-model files, so they need the optional `smplx` package.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from dataset_layouts import (
    AIST_CORRUPT,
    AIST_IGNORED,
    AIST_NO_SONG,
    AIST_SECONDS,
    FINEDANCE_BAD,
    FINEDANCE_IGNORED,
    FINEDANCE_NO_SONG,
    FINEDANCE_SECONDS,
    fk,
    smpl_dance,
    write_aistpp,
    write_body_model,
    write_edge_aistpp,
    write_finedance,
    write_folder,
    write_popdanceset,
)

from music2dance.cli import main

try:
    import smplx  # noqa: F401

    HAVE_SMPLX = True
except ImportError:  # the optional extra: pip install "music2dance[smpl]"
    HAVE_SMPLX = False
needs_smplx = pytest.mark.skipif(
    not HAVE_SMPLX, reason='smplx not installed (pip install "music2dance[smpl]")'
)


def _prepare(caplog, *args) -> tuple[int, str]:
    caplog.clear()
    with caplog.at_level(logging.INFO):
        rc = main(["prepare", *map(str, args), "--workers", "1"])
    return rc, caplog.text


def _manifest(out) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _train_one_step(prepared, run, stage="style"):
    """One step of a training stage on the prepared data (test_pipeline.py trains all three stages);
    for the style stage, returns the classifier's classes."""
    args = [
        "train",
        stage,
        "--data",
        str(prepared),
        "--out",
        str(run),
        "--preset",
        "tiny",
        "--steps",
        "1",
        "-q",
    ]
    assert main(args) == 0
    assert (run / "model.safetensors").exists()
    return json.loads((run / "config.json").read_text())["model"].get("style", {}).get("styles")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("body_models")
    return {
        "smpl": write_body_model(d / "SMPL_MALE.npz", "smpl"),
        "smpl_pkl": write_body_model(d / "SMPL_NEUTRAL.pkl", "smpl", sparse=True),
        "smplx": write_body_model(d / "SMPLX_NEUTRAL.npz", "smplx"),
    }


@pytest.fixture(scope="module")
def aist(tmp_path_factory):
    return write_aistpp(tmp_path_factory.mktemp("aist"))


def test_aistpp_keypoints_prepare_and_train(aist, tmp_path, caplog):
    anno, music = aist
    rc, text = _prepare(caplog, anno, "--music", music, "-o", tmp_path / "prep")
    assert rc == 0
    man = _manifest(tmp_path / "prep")
    assert man["dataset"] == "aistpp" and man["source_fps"] == 60.0
    names = {e["name"]: e for e in man["sequences"]}
    # ignored, no song and corrupt sequences are left out; the missing song and the bad pickle are listed
    assert len(names) == 6 and not {AIST_IGNORED, AIST_NO_SONG, AIST_CORRUPT} & set(names)
    problems = " | ".join(f"{s.get('path', '')}: {s['problem']}" for s in man["skipped"])
    assert AIST_NO_SONG in problems and "no song mLO3.wav" in problems
    assert AIST_CORRUPT in problems and "cannot read the pickle" in problems
    assert "skipped 1:" in text and "skipped 1 unreadable" in text and "1 sequence(s) in ignore_list" in text
    # official split, genres as styles, 60 fps -> 15 fps, the tempo in the music name vs the beat tracker
    assert sorted(e["split"] for e in names.values()) == ["test"] * 2 + ["train"] * 3 + ["val"]
    assert man["styles"] == ["break", "house", "pop"] and man["units"]["val"] > 0
    assert all(abs(e["frames"] - AIST_SECONDS * 15) <= 1 and e["source_fps"] == 60.0 for e in names.values())
    assert all(abs(e["tempo_bpm"] / e["nominal_bpm"] - 1) < 0.04 for e in names.values())
    assert "6/6 within 4%" in text
    assert _train_one_step(tmp_path / "prep", tmp_path / "style") == ["break", "house", "pop"]
    _train_one_step(tmp_path / "prep", tmp_path / "decomposition", "decomposition")  # units with a val split


@needs_smplx
def test_aistpp_smpl_joints_match_the_keypoints(aist, models):
    """SMPL path (smplx FK of motions/) == keypoints3d path (numpy FK) where both define the same joint."""
    from music2dance.io.datasets import scan_dataset

    anno, music = aist
    kp = {s.name: s for s in scan_dataset(anno, music=music).sequences}
    sm = {s.name: s for s in scan_dataset(anno, music=music, body_model=models["smpl"]).sequences}
    assert set(kp) == set(sm)
    name = sorted(kp)[0]
    a, b = kp[name].load()[0], sm[name].load()[0]
    same = [j for j in range(18) if j not in (1, 13, 17)]  # spine and toes are derived differently
    assert a.joints.shape == b.joints.shape == (int(AIST_SECONDS * 60), 18, 3)
    assert np.abs(a.joints[:, same] - b.joints[:, same]).max() < 1e-4  # metres: trans / scaling = SMPL scale
    assert b.meta["source_format"] == "aistpp-smpl"


@needs_smplx
def test_edge_aistpp_copy_needs_a_body_model(tmp_path, models, capsys):
    from music2dance.io.datasets import scan_dataset

    root = write_edge_aistpp(tmp_path / "edge")
    assert main(["prepare", str(root), "-o", str(tmp_path / "p"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "SMPL_MALE.pkl" in err and "--body-model" in err
    scan = scan_dataset(root, body_model=models["smpl_pkl"])  # the SMPL .pkl (sparse J_regressor) path
    assert scan.format == "aistpp" and scan.root.name == "edge_aistpp" and len(scan.sequences) == 3
    assert [s.split for s in scan.sequences] == ["train", "test", "train"]  # EDGE's splits/ beside it
    seq = scan.sequences[0]
    assert seq.audio.name == f"{seq.name}.wav"
    motion = seq.load()[0]
    assert motion.joints.shape == (int(AIST_SECONDS * 60), 18, 3) and motion.fps == 60.0


@needs_smplx
def test_finedance_prepare_and_train(tmp_path, models, caplog, capsys):
    root = write_finedance(tmp_path / "finedance")
    assert main(["prepare", str(root), "-o", str(tmp_path / "p"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "SMPLX_NEUTRAL.npz" in err
    rc, text = _prepare(caplog, root, "--body-model", models["smplx"], "-o", tmp_path / "p")
    assert rc == 0
    man = _manifest(tmp_path / "p")
    assert man["dataset"] == "finedance" and man["source_fps"] == 30.0
    names = {e["name"]: e for e in man["sequences"]}
    assert sorted(names) == ["001", "002", "003", "012", "036"]
    assert {n for n, e in names.items() if e["split"] == "test"} == {"012", "036"}  # the cross-genre list
    assert FINEDANCE_IGNORED not in names and man["styles"] == ["Dai", "Jazz", "Popular"]
    problems = " | ".join(f"{s.get('path', '')}: {s['problem']}" for s in man["skipped"])
    assert f"{FINEDANCE_NO_SONG}.npy: no song" in problems and f"{FINEDANCE_BAD}.npy" in problems
    assert all(
        abs(e["frames"] - FINEDANCE_SECONDS * 15) <= 1 for e in names.values()
    )  # motion 2 frames longer: cut to the song
    assert _train_one_step(tmp_path / "p", tmp_path / "run") == ["Dai", "Jazz", "Popular"]


@needs_smplx
def test_popdanceset_rotation_and_translation(tmp_path, models):
    """HybrIK's camera frame -> y up: the reader gives back the world dance (plus the camera offset)."""
    from dataset_layouts import camera_frame_hybrik

    from music2dance.io.popdanceset import popdanceset_joints
    from music2dance.io.smpl import load_body_model

    poses, trans = smpl_dance(60, 30.0, seed=3)
    cam, transl = camera_frame_hybrik(poses, trans)
    data = {"pred_thetas": cam, "transl": transl, "pred_camera": np.full((60, 1), 1.5)}
    got = popdanceset_joints(data, tmp_path / "x.pkl", load_body_model(models["smpl"]))
    world, _ = fk(poses, trans)
    assert np.abs(got - (world + [0.0, 0.0, -4.0])).max() < 1e-6
    assert (got[:, 15, 1] > got[:, 0, 1]).all()  # head above pelvis: y up


@needs_smplx
def test_popdanceset_prepare_and_train(tmp_path, models, caplog):
    root = write_popdanceset(tmp_path / "pop")
    rc, text = _prepare(caplog, root, "--body-model", models["smpl_pkl"], "-o", tmp_path / "p")
    assert rc == 0
    man = _manifest(tmp_path / "p")
    assert man["dataset"] == "popdanceset" and man["source_fps"] == 30.0 and man["styles"] == ["pop"]
    assert sorted(e["split"] for e in man["sequences"]) == ["test", "train", "train"]
    with np.load(tmp_path / "p" / man["sequences"][0]["file"]) as z:
        j = z["joints"]
    assert (j[:, 3, 1] > j[:, 0, 1] + 0.3).all() and j[:, :, 1].min() > -0.05  # upright, on the floor
    assert _train_one_step(tmp_path / "p", tmp_path / "run") == ["pop"]


def test_folder_prepare_and_train(tmp_path, caplog):
    root = write_folder(tmp_path / "mine")
    rc, text = _prepare(caplog, root, "-o", tmp_path / "p")
    assert rc == 0
    man = _manifest(tmp_path / "p")
    assert man["dataset"] == "folder" and man["source_fps"] == [30.0]
    names = {e["name"]: e for e in man["sequences"]}
    assert sorted(names) == ["a", "b", "c", "d", "e", "f"]  # b is a BVH file
    assert {n: e["style"] for n, e in names.items()} == dict(
        a="hiphop", b="hiphop", c="hiphop", d="salsa", e="salsa", f="salsa"
    )  # style folders; f from styles.csv
    assert {n for n, e in names.items() if e["split"] == "test"} == {"c", "e"}  # split.csv
    problems = " | ".join(f"{s.get('path', '')}: {s['problem']}" for s in man["skipped"])
    assert "lonely.npz: no song" in problems and "broken.npz" in problems
    assert _train_one_step(tmp_path / "p", tmp_path / "run") == ["hiphop", "salsa"]


def test_detect_format_and_wrong_format(aist, tmp_path, capsys):
    from music2dance.io.datasets import detect_format

    anno, _ = aist
    assert detect_format(anno) == "aistpp" and detect_format(anno.parent) == "aistpp"
    assert detect_format(write_folder(tmp_path / "f")) == "folder"
    assert detect_format(write_finedance(tmp_path / "fd")) == "finedance"
    assert detect_format(write_popdanceset(tmp_path / "pop")) == "popdanceset"
    assert main(["prepare", str(anno), "--format", "folder", "-o", str(tmp_path / "x"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1
