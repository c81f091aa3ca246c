"""`music2dance prepare`: a dance dataset -> cached training arrays (cleaned dances, music features, units).

One npz per sequence, built in parallel and skipped when its source and the recipe are unchanged; a
changed recipe (cleaning, rates, features, beat detector) changes the recipe hash and rebuilds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import Music2DanceError, input_error
from ..io.atomic import atomic_path, write_text_atomic

log = logging.getLogger(__name__)

RECIPE_VERSION = 3  # 3: music beats no longer trimmed at quiet ends (models read no beat columns)
MODEL_FPS = 15.0
UNIT_FRAMES = 32
AUDIO_SR = 22050
AUDIO_EXTS = (".mp3", ".ogg", ".wav", ".flac")
DANCE_EXTS = (".bvh", ".npz", ".npy", ".pkl")
# Fraction of each style's sequences held out for testing (styles with fewer than 3 sequences keep all).
TEST_FRACTION = 0.15


@dataclass
class Source:
    """One music-dance pair of a dataset."""

    name: str
    style: str
    dance: Path  # Tang folder or dance file
    audio: Path
    kind: str  # "tang" or "file"


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


def _natural_key(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def find_sources(root: str | os.PathLike) -> list[Source]:
    """Music-dance pairs under `root`: Tang 2018 folders, or `<name>.<dance ext>` beside `<name>.<audio ext>`.

    For the generic layout, styles come from an optional `styles.json` ({name: style}), else "unknown".
    """
    from ..io.tang import STYLE_BY_LETTER, list_tang_sequences

    root = Path(root)
    if not root.is_dir():
        raise input_error(root, "dataset folder not found")
    tang = list_tang_sequences(root)
    if tang:
        out = []
        for f in tang:
            letter = f.name.split("_")[1] if f.name.startswith("DANCE_") else "?"
            out.append(Source(f.name, STYLE_BY_LETTER.get(letter, "unknown"), f, f / "audio.mp3", "tang"))
        return out
    styles_file = root / "styles.json"
    styles = json.loads(styles_file.read_text()) if styles_file.exists() else {}
    out = []
    for dance in sorted(root.iterdir(), key=lambda p: _natural_key(p.name)):
        if dance.suffix.lower() not in DANCE_EXTS:
            continue
        audio = next((dance.with_suffix(e) for e in AUDIO_EXTS if dance.with_suffix(e).exists()), None)
        if audio is None:
            log.warning("skipping %s: no audio file with the same name", dance)
            continue
        out.append(Source(dance.stem, styles.get(dance.stem, "unknown"), dance, audio, "file"))
    if not out:
        raise input_error(
            root, "no music-dance pairs found (expected Tang 2018 folders or <name>.bvh + <name>.mp3 pairs)"
        )
    return out


def assign_splits(sources: list[Source]) -> dict[str, str]:
    """Deterministic held-out test sequences: evenly spaced in each style's natural-sorted list."""
    split = {}
    by_style: dict[str, list[str]] = {}
    for s in sources:
        by_style.setdefault(s.style, []).append(s.name)
    for names in by_style.values():
        names = sorted(names, key=_natural_key)
        n = len(names)
        m = max(1, round(n * TEST_FRACTION)) if n >= 3 else 0
        test = {names[int((k + 0.5) * n / m)] for k in range(m)}
        for nm in names:
            split[nm] = "test" if nm in test else "train"
    return split


def _load_source(src: Source):
    """-> (Motion uncleaned, audio path, audio offset in seconds)."""
    if src.kind == "tang":
        from ..io.tang import read_tang_sequence

        seq = read_tang_sequence(src.dance)
        return seq.motion, seq.audio_path, seq.audio_offset_s
    from ..io.load import load_dance

    return load_dance(src.dance), src.audio, 0.0


def prepare_one(src: Source, split: str, out_dir: Path, rec: dict, force: bool = False) -> dict:
    """Clean one dance, compute its music features and beats, write `sequences/<name>.npz`; return its entry."""
    from ..audio.beats import track_beats
    from ..audio.features import music_features
    from ..audio.load import load_audio
    from ..motion.clean import clean_motion
    from ..motion.kinematic_beats import kinematic_beats

    target = out_dir / "sequences" / f"{src.name}.npz"
    src_hash = _hash_files([src.dance, src.audio] if src.kind == "file" else [src.dance])
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

    motion, audio_path, offset = _load_source(src)
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
    _, beats = track_beats(y, sr)
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
    return {s: int((arrays["split"] == s).sum()) for s in ("train", "test")}


def prepare_dataset(
    data: str | os.PathLike,
    out: str | os.PathLike,
    *,
    workers: int = 0,
    force: bool = False,
    quiet: bool = False,
) -> Path:
    """Prepare every music-dance pair under `data` into `out` (see docs/ARCHITECTURE.md for the layout)."""
    import time

    from tqdm import tqdm

    t0 = time.perf_counter()
    out_dir = Path(out)
    (out_dir / "sequences").mkdir(parents=True, exist_ok=True)
    sources = find_sources(data)
    splits = assign_splits(sources)
    rec = recipe()
    workers = workers or os.cpu_count() or 1
    log.info("preparing %d sequences from %s with %d worker(s)", len(sources), data, workers)
    entries: dict[str, dict] = {}
    errors: list[str] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futs = {pool.submit(prepare_one, s, splits[s.name], out_dir, rec, force): s for s in sources}
        for fut in tqdm(as_completed(futs), total=len(futs), desc="prepare", unit="seq", disable=quiet):
            src = futs[fut]
            try:
                entries[src.name] = fut.result()
            except Music2DanceError as e:
                errors.append(str(e))
    if errors:
        raise Music2DanceError(f"{len(errors)} sequence(s) failed; first: {errors[0]}")
    ordered = [entries[s.name] for s in sources]
    counts = build_units(out_dir, ordered, rec["unit_frames"])
    data_hash = _hash_json(
        {"recipe": _hash_json(rec), "sources": [(e["name"], e["source_hash"]) for e in ordered]}
    )
    manifest = {
        "format": "music2dance-prepared-1",
        "recipe": rec,
        "recipe_hash": _hash_json(rec),
        "data_hash": data_hash,
        "source": str(Path(data).resolve()),
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
        "prepared %s: %d sequences (%d rebuilt, %d cached), %d train / %d test units, %.1f s",
        out_dir,
        len(ordered),
        built,
        len(ordered) - built,
        counts["train"],
        counts["test"],
        manifest["seconds"],
    )
    return out_dir


def load_manifest(data: str | os.PathLike) -> dict:
    """Read `<data>/manifest.json`; a clear error if the folder was not written by `prepare`."""
    path = Path(data) / "manifest.json"
    if not path.exists():
        raise input_error(
            data, "not a prepared data folder (no manifest.json); run `music2dance prepare` first"
        )
    return json.loads(path.read_text())


def load_sequences(data: str | os.PathLike, split: str | None = None) -> list[dict]:
    """All prepared sequences (optionally of one split) as dicts of arrays plus their manifest entry."""
    man = load_manifest(data)
    out = []
    for e in man["sequences"]:
        if split and e["split"] != split:
            continue
        with np.load(Path(data) / e["file"], allow_pickle=False) as z:
            d = {k: z[k] for k in ("joints", "music", "music_beats", "kin_beats")}
        d.update({k: e[k] for k in ("name", "style", "split", "audio_path", "audio_offset_s")})
        out.append(d)
    return out
