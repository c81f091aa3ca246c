"""`music2dance prepare`: a dance dataset -> cached training arrays (cleaned dances, music features, units).

One npz per sequence, built in parallel and skipped when its source and the recipe are unchanged; a
changed recipe (cleaning, rates, features, beat detector) changes the recipe hash and rebuilds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from ..defaults import AUDIO_SR, MODEL_FPS, UNIT_FRAMES
from ..errors import Music2DanceError
from ..io.atomic import atomic_path, write_text_atomic
from ..io.datasets import (  # data-set layouts (Tang, AIST++, FineDance, PopDanceSet, a folder)
    AUDIO_EXTS,  # noqa: F401
    DANCE_EXTS,  # noqa: F401
    TEST_FRACTION,  # noqa: F401
    assign_splits,  # noqa: F401
    scan_dataset,
    tempo_check,
)
from ..io.datasets import DatasetSequence as Source

log = logging.getLogger(__name__)

RECIPE_VERSION = 3  # 3: music beats no longer trimmed at quiet ends (models read no beat columns)


def recipe() -> dict:
    """Everything that changes the prepared arrays; its hash versions the cache."""
    from ..audio.features import FEATURE_NAMES

    return {
        "version": RECIPE_VERSION,
        "fps": MODEL_FPS,
        "unit_frames": UNIT_FRAMES,
        "audio_sr": AUDIO_SR,
        "features": list(FEATURE_NAMES),
        "cleaning": {"smooth_hz": None, "bone_lengths": "standard"},
        # The Tang data's music-motion sync is only tempo-level (docs/BEATS.md): no offset is applied, and
        # no later stage learns beat phase from it (the models do not see the beat-phase features).
        "audio_shift_s": 0.0,
    }


def _hash_json(obj) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _hash_files(paths: list[Path]) -> str:
    h = hashlib.sha1()
    for p in paths:
        for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
            if f.is_file():
                h.update(f.name.encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


def find_sources(root: str | os.PathLike, fmt: str = "auto", **kw) -> list[Source]:
    """Music-dance pairs under `root` in any supported layout (`io.datasets.scan_dataset`)."""
    return scan_dataset(root, fmt, **kw).sequences


def prepare_one(src: Source, split: str, out_dir: Path, rec: dict, force: bool = False) -> dict:
    """Clean one dance, compute its music features and beats, write `sequences/<name>.npz`; return its entry."""
    from ..audio.beats import track_beats
    from ..audio.features import music_features
    from ..audio.load import load_audio
    from ..motion.clean import clean_motion
    from ..motion.kinematic_beats import kinematic_beats

    target = out_dir / "sequences" / f"{src.name}.npz"
    src_hash = _hash_files(list(src.files))
    if src.hash_extra:  # e.g. the body model that turned rotations into joints
        src_hash = _hash_json([src_hash, src.hash_extra])
    rec_hash = _hash_json(rec)
    entry = {
        "name": src.name,
        "style": src.style,
        "split": split,
        "file": f"sequences/{src.name}.npz",
        "source_hash": src_hash,
        "recipe_hash": rec_hash,
    }
    if target.exists() and not force:
        try:
            with np.load(target, allow_pickle=False) as z:
                if str(z["source_hash"]) == src_hash and str(z["recipe_hash"]) == rec_hash:
                    entry.update(json.loads(str(z["entry"])))
                    entry["cached"] = True
                    return entry
        except (OSError, KeyError, ValueError):
            pass  # unreadable or old cache: rebuild

    motion, audio_path, offset = src.load()
    cleaned, report = clean_motion(
        motion,
        fps_out=rec["fps"],
        smooth_hz=rec["cleaning"]["smooth_hz"],
        bone_lengths=rec["cleaning"]["bone_lengths"],
    )
    joints = cleaned.joints
    T = len(joints)
    offset = offset + rec["audio_shift_s"]
    y, sr = load_audio(audio_path, sr=rec["audio_sr"], offset=max(offset, 0.0), duration=T / rec["fps"] + 1.0)
    tempo, beats = track_beats(y, sr)
    feats = music_features(y, sr, rec["fps"], beats=beats)
    if len(feats) < T:  # song ends before the dance: hold the last feature row (rare; logged)
        log.warning("%s: song covers %d of %d frames; padding the features", src.name, len(feats), T)
        feats = np.concatenate([feats, np.repeat(feats[-1:], T - len(feats), axis=0)])
    feats = feats[:T]
    beats = beats[beats < T / rec["fps"]]
    kin = kinematic_beats(joints, rec["fps"])
    entry.update(
        {
            "frames": T,
            "audio_path": str(Path(audio_path).resolve()),
            "audio_offset_s": float(offset),
            "seconds": T / rec["fps"],
            "n_music_beats": int(len(beats)),
            "n_kin_beats": int(len(kin)),
            "source_fps": float(motion.fps),
            "tempo_bpm": round(float(tempo), 2),
            **src.info,
            "cleaning": _report_dict(report),
        }
    )
    with atomic_path(target, suffix=".npz") as tmp:
        np.savez(
            tmp,
            joints=joints.astype(np.float32),
            music=feats.astype(np.float32),
            music_beats=beats.astype(np.float32),
            kin_beats=kin.astype(np.int64),
            style=np.array(src.style),
            source_hash=np.array(src_hash),
            recipe_hash=np.array(rec_hash),
            entry=np.array(json.dumps(entry)),
        )
    entry["cached"] = False
    return entry


def _report_dict(report) -> dict:
    import dataclasses

    if dataclasses.is_dataclass(report):
        d = dataclasses.asdict(report)
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}
    return dict(report)


def build_units(out_dir: Path, entries: list[dict], unit_frames: int) -> dict:
    """Collect the beat-anchored units of every sequence into `units.npz`; returns counts per split."""
    from ..motion.units import extract_units, unit_starts

    cols: dict[str, list] = {k: [] for k in ("units", "music", "style", "seq", "start", "split")}
    for i, e in enumerate(entries):
        with np.load(out_dir / e["file"], allow_pickle=False) as z:
            joints, music, kin = z["joints"], z["music"], z["kin_beats"]
        starts = unit_starts(kin, len(joints), unit_frames)
        if len(starts) == 0:
            continue
        cols["units"].append(extract_units(joints, starts, unit_frames))
        cols["music"].append(extract_units(music, starts, unit_frames))
        cols["style"] += [e["style"]] * len(starts)
        cols["seq"].append(np.full(len(starts), i))
        cols["start"].append(starts)
        cols["split"] += [e["split"]] * len(starts)
    arrays = {
        "units": np.concatenate(cols["units"]).astype(np.float32),
        "music": np.concatenate(cols["music"]).astype(np.float32),
        "style": np.array(cols["style"]),
        "seq": np.concatenate(cols["seq"]).astype(np.int64),
        "start": np.concatenate(cols["start"]).astype(np.int64),
        "split": np.array(cols["split"]),
    }
    with atomic_path(out_dir / "units.npz", suffix=".npz") as tmp:
        np.savez(tmp, **arrays)
    counts = {s: int((arrays["split"] == s).sum()) for s in ("train", "val", "test")}
    return {s: n for s, n in counts.items() if n or s != "val"}  # val only where the data set has one


def prepared_data_hash(rec: dict, entries: list[dict]) -> str:
    """The prepared data's identity: recipe, each sequence's source files, and its style and split.

    Everything the training stages read follows from these; the split and style are in it because they
    decide which sequences a model trains on (a changed split once left the hash unchanged).
    """
    return _hash_json(
        {
            "recipe": _hash_json(rec),
            "sources": [(e["name"], e["source_hash"]) for e in entries],
            "splits": [(e["name"], e["style"], e["split"]) for e in entries],
        }
    )


def prepare_dataset(
    data: str | os.PathLike,
    out: str | os.PathLike,
    *,
    workers: int = 0,
    force: bool = False,
    quiet: bool = False,
    fmt: str = "auto",
    music: str | os.PathLike | None = None,
    body_model: str | os.PathLike | None = None,
) -> Path:
    """Prepare every music-dance pair under `data` into `out` (see docs/ARCHITECTURE.md for the layout).

    fmt: the data set's layout (auto, tang, aistpp, finedance, popdanceset, folder; docs/DATA.md);
    music: where its songs are (AIST++); body_model: a SMPL / SMPL-X file for rotation-based motion.
    Sequences without a song or with an unreadable file are skipped and listed, not fatal.
    """
    import time

    from tqdm import tqdm

    t0 = time.perf_counter()
    out_dir = Path(out)
    (out_dir / "sequences").mkdir(parents=True, exist_ok=True)
    scan = scan_dataset(data, fmt, music=music, body_model=body_model)
    log.log(logging.WARNING if scan.skipped else logging.INFO, "%s", scan.summary())  # skips show with -q
    sources = scan.sequences
    splits = {s.name: s.split for s in sources}
    rec = recipe()
    workers = workers or os.cpu_count() or 1
    log.info("preparing %d sequences with %d worker(s)", len(sources), workers)
    entries: dict[str, dict] = {}
    errors: list[str] = []
    # Rotation-based readers run torch (smplx): a forked child of a process that already ran torch can
    # deadlock in its thread pool, so those workers are spawned fresh.
    ctx = multiprocessing.get_context("spawn") if any(s.uses_torch for s in sources) else None
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futs = {pool.submit(prepare_one, s, splits[s.name], out_dir, rec, force): s for s in sources}
        for fut in tqdm(as_completed(futs), total=len(futs), desc="prepare", unit="seq", disable=quiet):
            src = futs[fut]
            try:
                entries[src.name] = fut.result()
            except Music2DanceError as e:  # unreadable file: skipped and listed, the others go on
                errors.append(str(e))
    if errors:
        log.warning(
            "skipped %d unreadable sequence(s):\n%s", len(errors), "\n".join(f"  {e}" for e in errors)
        )
    if not entries:
        raise Music2DanceError(f"{len(errors)} sequence(s) failed, none prepared; first: {errors[0]}")
    ordered = [entries[s.name] for s in sources if s.name in entries]
    counts = build_units(out_dir, ordered, rec["unit_frames"])
    data_hash = prepared_data_hash(rec, ordered)
    manifest = {
        "format": "music2dance-prepared-1",
        "recipe": rec,
        "recipe_hash": _hash_json(rec),
        "data_hash": data_hash,
        "source": str(Path(data).resolve()),
        "dataset": scan.format,
        "source_fps": scan.fps or sorted({e["source_fps"] for e in ordered if "source_fps" in e}),
        "skipped": [{"path": p, "problem": why} for p, why in scan.skipped]
        + [{"problem": e} for e in errors],
        "fps": rec["fps"],
        "unit_frames": rec["unit_frames"],
        "feature_names": rec["features"],
        "styles": sorted({e["style"] for e in ordered}),
        "units": counts,
        "sequences": [{k: v for k, v in e.items() if k != "cached"} for e in ordered],
        "seconds": round(time.perf_counter() - t0, 2),
    }
    write_text_atomic(out_dir / "manifest.json", json.dumps(manifest, indent=1))
    built = sum(not e.get("cached") for e in entries.values())
    log.info(
        "prepared %s: %d sequences, %.2f h (%d rebuilt, %d cached), units %s, %.1f s",
        out_dir,
        len(ordered),
        sum(e["seconds"] for e in ordered) / 3600.0,
        built,
        len(ordered) - built,
        " / ".join(f"{n} {s}" for s, n in counts.items()),
        manifest["seconds"],
    )
    check = tempo_check(ordered)
    if check:
        log.info("%s", check)
    return out_dir
