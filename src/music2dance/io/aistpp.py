"""AIST++ (google/aistplusplus_api) as downloaded, and EDGE's repackaged copy, -> sequences.

Layout (annotations folder): `keypoints3d/<seq>.pkl` (`keypoints3d`, `keypoints3d_optim`: (N, 17, 3) COCO
order, centimetres, y up, 60 fps), `motions/<seq>.pkl` (`smpl_poses` (N, 72) or (N, 24, 3) axis-angle,
`smpl_trans` (N, 3), `smpl_scaling` (1,); betas are zero), `splits/crossmodal_{train,val,test}.txt`,
`ignore_list.txt`. Songs are the AIST Dance DB wavs, `<music>/<m>.wav` with m = seq.split("_")[4]; EDGE's
copy (`edge_aistpp/{motions,wavs}/<seq>.{pkl,wav}`) has one wav per sequence and no keypoints3d.

Motion: with `--body-model` (SMPL; AIST++ was fitted with SMPL_MALE) the SMPL joints of `motions/` at SMPL
scale (translation / scaling, metres); without it `keypoints3d_optim` (else `keypoints3d`) in cm.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import input_error
from .datasets import DatasetScan, DatasetSequence, find_audio, read_name_list
from .keypoints import coco17_to_motion, load_array_pickle
from .skeleton import Motion

AIST_FPS = 60.0
GENRES = {
    "gBR": "break",
    "gPO": "pop",
    "gLO": "lock",
    "gMH": "middle-hiphop",
    "gLH": "la-hiphop",
    "gHO": "house",
    "gWA": "waack",
    "gKR": "krump",
    "gJS": "street-jazz",
    "gJB": "ballet-jazz",
}
SEQ_RE = re.compile(r"^(g[A-Z]{2})_s[A-Z]{2}_c[A-Za-z0-9]+_d\d+_(m[A-Z]{2}\d+)_ch\d+$")
SPLITS = {"train": "crossmodal_train.txt", "val": "crossmodal_val.txt", "test": "crossmodal_test.txt"}


def is_aist_name(name: str) -> bool:
    return SEQ_RE.match(name) is not None


def music_id(seq: str) -> str:
    """`gBR_sBM_cAll_d04_mBR0_ch01` -> `mBR0`."""
    return seq.split("_")[4]


def nominal_bpm(music: str) -> float:
    """Tempo encoded in an AIST music name: 10 d + 80 BPM (mBR0 = 80 ... mBR5 = 130), 5 d + 110 for mHO."""
    d = int(music[3:])
    return float(5 * d + 110 if music.startswith("mHO") else 10 * d + 80)


def _aist_names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.pkl") if is_aist_name(p.stem)) if folder.is_dir() else []


def find_aist_root(root: Path) -> Path | None:
    """The annotations folder under `root` (itself, edge_aistpp/ or aist_plusplus_final/), if any."""
    for cand in (root, root / "edge_aistpp", root / "aist_plusplus_final"):
        if _aist_names(cand / "keypoints3d") or _aist_names(cand / "motions"):
            return cand
    return None


def _music_dirs(anno: Path, root: Path, music: Path | None) -> list[Path]:
    if music is not None:
        return [music]
    names = ("wavs", "wav", "music", "audio")
    return [
        d
        for base in dict.fromkeys((anno, root, anno.parent))
        for d in (base / n for n in names)
        if d.is_dir()
    ]


def scan(root: Path, music: Path | None = None, body_model=None) -> DatasetScan:
    anno = find_aist_root(root)
    if anno is None:
        raise input_error(root, "no AIST++ keypoints3d/<seq>.pkl or motions/<seq>.pkl found")
    kp_dir, mo_dir = anno / "keypoints3d", anno / "motions"
    notes: list[str] = []
    options: dict = {}
    hash_extra = ""
    if body_model is not None:
        from .smpl import load_body_model

        if not _aist_names(mo_dir):
            raise input_error(
                root,
                "--body-model given but no motions/<seq>.pkl (SMPL) here; without it keypoints3d/ is read",
            )
        model = load_body_model(body_model)
        options = {"source": "smpl", "body_model": model}
        hash_extra = f"smpl:{model.fingerprint}"
        notes.append(f"motion: SMPL joints of motions/ with {model.path.name} ({model.kind}), SMPL scale")
    elif _aist_names(kp_dir):
        options = {"source": "keypoints3d"}
        hash_extra = "keypoints3d"
        notes.append("motion: keypoints3d (COCO-17, cm; no --body-model given)")
    else:
        from .smpl import missing_body_model

        raise missing_body_model(
            root,
            "AIST++",
            "a SMPL body model (SMPL_MALE.pkl, as AIST++ was fitted) since this copy has no keypoints3d/",
        )
    motion_dir = mo_dir if options["source"] == "smpl" else kp_dir
    names = sorted(set(_aist_names(kp_dir)) | set(_aist_names(mo_dir)))

    # The official files sit in the annotations folder; EDGE keeps splits/ beside edge_aistpp/.
    bases = list(dict.fromkeys((anno, root)))
    ignore_file = next((b / "ignore_list.txt" for b in bases if (b / "ignore_list.txt").is_file()), None)
    ignored = set(read_name_list(ignore_file)) if ignore_file else set()
    split_of: dict[str, str] = {}
    split_dir = next(
        (b / "splits" for b in bases if (b / "splits" / SPLITS["train"]).is_file()), anno / "splits"
    )
    for split, fname in SPLITS.items():
        if (split_dir / fname).is_file():
            split_of.update({n: split for n in read_name_list(split_dir / fname)})
    if split_of:
        notes.append("split: the official crossmodal lists (sequences in none of them are left out)")
    else:
        notes.append("split: no splits/crossmodal_*.txt; 15 % of each genre held out")
    n_ignored = len([n for n in names if n in ignored])
    if n_ignored:
        notes.append(f"{n_ignored} sequence(s) in ignore_list.txt left out")
    n_unlisted = len([n for n in names if n not in ignored and split_of and n not in split_of])
    if n_unlisted:
        notes.append(f"{n_unlisted} sequence(s) in no crossmodal split left out")

    dirs = _music_dirs(anno, root, music)
    seqs, skipped = [], []
    for name in names:
        if name in ignored or (split_of and name not in split_of):
            continue
        dance = motion_dir / f"{name}.pkl"
        if not dance.is_file():
            skipped.append((str(dance), "file not found"))
            continue
        mid = music_id(name)
        audio = next((a for d in dirs for a in (find_audio(d, name), find_audio(d, mid)) if a), None)
        if audio is None:
            where = ", ".join(str(d) for d in dirs) or "no music folder (pass --music DIR)"
            skipped.append((str(dance), f"no song {mid}.wav or {name}.wav in {where}"))
            continue
        genre = SEQ_RE.match(name).group(1)
        seqs.append(
            DatasetSequence(
                name,
                GENRES.get(genre, genre),
                split_of.get(name, ""),
                dance,
                audio,
                "aistpp",
                AIST_FPS,
                options=options,
                hash_extra=hash_extra,
                info={"nominal_bpm": nominal_bpm(mid)},
            )
        )
    if not split_of:
        from .datasets import assign_splits

        auto = assign_splits(seqs)
        for s in seqs:
            s.split = auto[s.name]
    return DatasetScan("aistpp", anno, seqs, skipped, AIST_FPS, notes)


def smpl_motion_joints(data: dict, path: Path, model) -> np.ndarray:
    """AIST++ motions pickle -> (N, 24, 3) SMPL joints at SMPL scale (metres): J(pose) + trans / scaling."""
    from .smpl import axis_angle_to_matrix, joint_positions

    try:
        poses = np.asarray(data["smpl_poses"], dtype=np.float64)
        trans = np.asarray(data["smpl_trans"], dtype=np.float64).reshape(-1, 3)
        scaling = float(np.asarray(data.get("smpl_scaling", 1.0), dtype=np.float64).reshape(-1)[0])
    except KeyError as e:
        raise input_error(path, f"missing key {e} (expected smpl_poses, smpl_trans, smpl_scaling)") from None
    except (TypeError, ValueError) as e:
        raise input_error(path, f"SMPL arrays are not numeric ({e})") from None
    poses = poses.reshape(len(poses), -1, 3)
    if poses.shape[1] != 24 or len(trans) != len(poses) or len(poses) == 0:
        raise input_error(
            path, f"smpl_poses {poses.shape} / smpl_trans {trans.shape}: expected (N, 24, 3) / (N, 3)"
        )
    if not scaling > 0:
        raise input_error(path, f"smpl_scaling is {scaling}")
    return joint_positions(model, axis_angle_to_matrix(poses), trans / scaling)


def load(seq: DatasetSequence) -> tuple[Motion, Path, float]:
    data = load_array_pickle(seq.dance)
    if seq.options["source"] == "smpl":
        from .smpl import smpl_to_canonical

        joints = smpl_to_canonical(smpl_motion_joints(data, seq.dance, seq.options["body_model"]))
        motion = Motion(joints, AIST_FPS, meta={"source_format": "aistpp-smpl"})
    else:
        key = next((k for k in ("keypoints3d_optim", "keypoints3d") if data.get(k) is not None), None)
        if key is None:
            raise input_error(seq.dance, "no keypoints3d_optim or keypoints3d array")
        try:
            motion = coco17_to_motion(np.asarray(data[key], dtype=np.float64), AIST_FPS, units="cm")
        except ValueError as e:
            raise input_error(seq.dance, str(e)) from None
        motion.meta["source_format"] = f"aistpp-{key}"
    motion.meta.update({"source": str(seq.dance), "dataset": "aistpp"})
    return motion, seq.audio, 0.0
