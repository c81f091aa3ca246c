"""A folder of your own dances with their songs: `<dir>/<name>.{bvh,npz,npy,pkl}` beside `<name>.<audio>`.

Styles: an optional `styles.csv` (name,style; `styles.json` {name: style} also read), else one subfolder per
style (`<dir>/<style>/<name>.bvh` + song), else "unknown". Split: an optional `split.csv` (name,split with
split train, val or test), else 15 % of each style held out. Any file `load_dance` reads counts as a dance;
one it cannot read is skipped by `prepare` and listed.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ..errors import input_error
from .datasets import DANCE_EXTS, DatasetScan, DatasetSequence, assign_splits, find_audio, natural_key
from .skeleton import Motion

SPLITS = ("train", "val", "test")


def dance_files(root: Path) -> list[Path]:
    """Dance-like files at the top of `root` and one folder down (style folders), natural-sorted."""
    out = []
    for folder in [root, *sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))]:
        out += [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DANCE_EXTS]
    return sorted(out, key=lambda p: (p.parent != root, natural_key(str(p.relative_to(root)))))


def _read_pairs(path: Path, header: tuple[str, str]) -> dict[str, str]:
    """Two-column CSV (an optional header row equal to `header`) -> {first: second}."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise input_error(path, f"cannot read the CSV ({e})") from None
    if rows and tuple(c.strip().lower() for c in rows[0][:2]) == header:
        rows = rows[1:]
    out = {}
    for i, r in enumerate(rows, 1):
        if len(r) < 2:
            raise input_error(path, f"row {i}: expected two columns ({header[0]},{header[1]})")
        out[r[0].strip()] = r[1].strip()
    return out


def _styles(root: Path) -> dict[str, str]:
    if (root / "styles.csv").is_file():
        return _read_pairs(root / "styles.csv", ("name", "style"))
    if (root / "styles.json").is_file():
        try:
            data = json.loads((root / "styles.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise input_error(root / "styles.json", f"not readable JSON ({e})") from None
        if not isinstance(data, dict):
            raise input_error(root / "styles.json", "expected a JSON object {name: style}")
        return {str(k): str(v) for k, v in data.items()}
    return {}


def scan(root: Path, music: Path | None = None, body_model=None) -> DatasetScan:
    """List `<name>.<dance ext>` + `<name>.<audio ext>` pairs (songs also looked up in `music`)."""
    styles = _styles(root)
    split_file = root / "split.csv"
    splits = _read_pairs(split_file, ("name", "split")) if split_file.is_file() else {}
    bad = sorted({v for v in splits.values() if v not in SPLITS})
    if bad:
        raise input_error(split_file, f"unknown split {bad[0]!r}; use train, val or test")
    seqs, skipped, seen = [], [], {}
    for dance in dance_files(root):
        name = dance.stem
        audio = find_audio(dance.parent, name) or (find_audio(music, name) if music else None)
        if audio is None:
            skipped.append((str(dance), f"no song {name}.wav/.mp3/.ogg/.flac beside it"))
            continue
        if name in seen:
            skipped.append((str(dance), f"same name as {seen[name]}"))
            continue
        seen[name] = dance
        style = styles.get(name) or (dance.parent.name if dance.parent != root else "unknown")
        seqs.append(DatasetSequence(name, style, splits.get(name, ""), dance, audio, "file"))
    notes = []
    if splits:
        unlisted = [s for s in seqs if not s.split]
        if unlisted:
            notes.append(f"{len(unlisted)} sequence(s) not in split.csv: training")
        for s in unlisted:
            s.split = "train"
    else:
        auto = assign_splits(seqs)
        for s in seqs:
            s.split = auto[s.name]
        notes.append("split: no split.csv; 15 % of each style held out")
    return DatasetScan("folder", root, seqs, skipped, None, notes)


def load(seq: DatasetSequence) -> tuple[Motion, Path, float]:
    from .load import load_dance

    return load_dance(seq.dance), seq.audio, 0.0
