"""Dance data sets as downloaded -> one uniform list of music-dance sequences (`scan_dataset`).

Layouts: Tang 2018, AIST++ (and EDGE's copy), FineDance, PopDanceSet, and a folder of dances with songs.
Each reader module (`aistpp.py`, `finedance.py`, `popdanceset.py`, `folder.py`, Tang here) has
`scan(root, music=, body_model=) -> DatasetScan` and `load(seq) -> (Motion, audio path, audio offset s)`.
Sequences that cannot be used (no song, a listed file missing) are in `DatasetScan.skipped`, not errors;
files that turn out unreadable are skipped by `prepare` when it loads them.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import input_error
from .skeleton import Motion

FORMATS = ("tang", "aistpp", "finedance", "popdanceset", "folder")
AUDIO_EXTS = (".wav", ".mp3", ".ogg", ".flac")
DANCE_EXTS = (".bvh", ".npz", ".npy", ".pkl")
# Fraction of each style's sequences held out for testing when a data set has no official split (styles
# with fewer than 3 sequences keep all for training).
TEST_FRACTION = 0.15


@dataclass
class DatasetSequence:
    """One music-dance pair of a data set, with everything its reader needs (picklable for workers)."""

    name: str
    style: str
    split: str  # train, val or test
    dance: Path  # the motion file (or Tang folder)
    audio: Path
    kind: str  # the reader: tang, aistpp, finedance, popdanceset, file
    fps: float | None = None  # source frame rate when the layout fixes it
    options: dict = field(default_factory=dict)  # reader settings (motion source, body model, ...)
    files: tuple[Path, ...] = ()  # whose bytes version the prepared sequence (default: dance + audio)
    hash_extra: str = ""  # anything else that changes the result (e.g. the body model)
    info: dict = field(default_factory=dict)  # extra manifest fields (e.g. AIST++ nominal tempo)

    def __post_init__(self) -> None:
        if not self.files:
            self.files = (self.dance, self.audio)

    @property
    def uses_torch(self) -> bool:
        """True when reading it runs forward kinematics through smplx (torch)."""
        return "body_model" in self.options

    def load(self) -> tuple[Motion, Path, float]:
        """-> (canonical Motion at the source rate, uncleaned; song path; song time of dance frame 0)."""
        if self.kind == "tang":
            return load_tang(self)
        module = "folder" if self.kind == "file" else self.kind
        return importlib.import_module(f"{__package__}.{module}").load(self)


@dataclass
class DatasetScan:
    """What a data-set folder holds: its usable sequences, what was left out and why."""

    format: str
    root: Path
    sequences: list[DatasetSequence]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, problem)
    fps: float | None = None  # the data set's frame rate (None: per file)
    notes: list[str] = field(default_factory=list)  # e.g. "motion from keypoints3d (no --body-model)"

    def summary(self) -> str:
        """One paragraph: sequences, styles, split, notes (the hours come after reading, from prepare)."""
        n = len(self.sequences)
        styles: dict[str, int] = {}
        splits: dict[str, int] = {}
        for s in self.sequences:
            styles[s.style] = styles.get(s.style, 0) + 1
            splits[s.split] = splits.get(s.split, 0) + 1
        style_txt = ", ".join(f"{k} {v}" for k, v in sorted(styles.items()))
        split_txt = " / ".join(f"{splits[k]} {k}" for k in ("train", "val", "test") if k in splits)
        fps = f"{self.fps:g} fps" if self.fps else "fps per file"
        lines = [
            f"{self.format} at {self.root}: {n} sequences, {len(styles)} style(s) ({style_txt}), "
            f"split {split_txt}, {fps}"
        ]
        lines += [f"  {note}" for note in self.notes]
        if self.skipped:
            lines.append(f"  skipped {len(self.skipped)}:")
            lines += [f"    {p}: {why}" for p, why in self.skipped]
        return "\n".join(lines)


def natural_key(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def find_audio(folder: Path, stem: str) -> Path | None:
    """`<folder>/<stem>.<audio ext>` if one exists."""
    return next((folder / f"{stem}{e}" for e in AUDIO_EXTS if (folder / f"{stem}{e}").is_file()), None)


def read_name_list(path: Path) -> list[str]:
    """Names one per line (official split and ignore lists); blank lines and # comments dropped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise input_error(path, f"cannot read the list ({e})") from None
    return [ln.split("#")[0].strip() for ln in lines if ln.split("#")[0].strip()]


def assign_splits(sequences) -> dict[str, str]:
    """Deterministic held-out test sequences: evenly spaced in each style's natural-sorted list.

    `sequences`: objects with `.name` and `.style`. Returns {name: "train" | "test"}.
    """
    split = {}
    by_style: dict[str, list[str]] = {}
    for s in sequences:
        by_style.setdefault(s.style, []).append(s.name)
    for names in by_style.values():
        names = sorted(names, key=natural_key)
        n = len(names)
        m = max(1, round(n * TEST_FRACTION)) if n >= 3 else 0
        test = {names[int((k + 0.5) * n / m)] for k in range(m)}
        for nm in names:
            split[nm] = "test" if nm in test else "train"
    return split


def truncate_to_audio(motion: Motion, audio: Path) -> Motion:
    """Cut the motion to its song's length when the song is shorter (FineDance: off by 1-2 frames)."""
    import soundfile as sf

    try:
        info = sf.info(str(audio))
        seconds = info.frames / float(info.samplerate)
    except (RuntimeError, OSError, sf.LibsndfileError):
        return motion  # decoded later by load_audio, which reports a real problem
    n = int(seconds * motion.fps + 1e-6)
    if 0 < n < motion.num_frames:
        motion.joints = motion.joints[:n]
        motion.meta["truncated_to_song_frames"] = n
    return motion


# ------------------------------------------------------------------------------------------------- Tang
def _scan_tang(root: Path, music=None, body_model=None) -> DatasetScan:
    from .tang import STYLE_BY_LETTER, TANG_FPS, list_tang_sequences

    seqs, skipped = [], []
    for f in list_tang_sequences(root):
        if not (f / "audio.mp3").is_file():
            skipped.append((str(f / "audio.mp3"), "song not found"))
            continue
        letter = f.name.split("_")[1][:1].upper() if f.name.count("_") >= 1 else "?"
        style = STYLE_BY_LETTER.get(letter, "unknown")
        seqs.append(DatasetSequence(f.name, style, "", f, f / "audio.mp3", "tang", TANG_FPS, files=(f,)))
    auto = assign_splits(seqs)
    for s in seqs:
        s.split = auto[s.name]
    return DatasetScan(
        "tang", root, seqs, skipped, TANG_FPS, ["split: none in the data; 15 % of each style held out"]
    )


def load_tang(seq: DatasetSequence) -> tuple[Motion, Path, float]:
    from .tang import read_tang_sequence

    t = read_tang_sequence(seq.dance)
    return t.motion, t.audio_path, t.audio_offset_s


# ------------------------------------------------------------------------------------------- detection
def _has(folder: Path, pattern: str) -> bool:
    return folder.is_dir() and next(folder.glob(pattern), None) is not None


def detect_format(root: str | os.PathLike) -> str:
    """The layout of a data-set folder: one of FORMATS, or a one-line error saying what was expected."""
    from .aistpp import find_aist_root
    from .tang import list_tang_sequences

    root = Path(root)
    if not root.is_dir():
        raise input_error(root, "dataset folder not found")
    if list_tang_sequences(root):
        return "tang"
    if _has(root / "motion", "*.npy") and ((root / "music_wav").is_dir() or (root / "label_json").is_dir()):
        return "finedance"
    if find_aist_root(root) is not None:
        return "aistpp"
    if _has(root / "motions", "*.pkl") and ((root / "wavs").is_dir() or (root / "splits").is_dir()):
        return "popdanceset"
    from .folder import dance_files

    if dance_files(root):
        return "folder"
    raise input_error(
        root,
        "no music-dance pairs found (expected Tang 2018 folders, AIST++ keypoints3d/ or motions/, FineDance "
        "motion/ + music_wav/, PopDanceSet motions/ + wavs/, or <name>.bvh + <name>.mp3 pairs)",
    )


def scan_dataset(
    root: str | os.PathLike,
    fmt: str = "auto",
    *,
    music: str | os.PathLike | None = None,
    body_model: str | os.PathLike | None = None,
) -> DatasetScan:
    """Detect (fmt="auto") or take the layout of `root` and list its sequences (see DatasetScan)."""
    root = Path(root)
    if not root.is_dir():
        raise input_error(root, "dataset folder not found")
    if fmt == "auto":
        fmt = detect_format(root)
    if fmt not in FORMATS:
        raise input_error(root, f"unknown format {fmt!r}; use auto or one of {', '.join(FORMATS)}")
    if music is not None and not Path(music).is_dir():
        raise input_error(music, "music folder not found")
    if fmt == "tang":
        scan = _scan_tang(root)
    else:
        scan = importlib.import_module(f"{__package__}.{fmt}").scan(
            root, music=Path(music) if music else None, body_model=body_model
        )
    if not scan.sequences:
        problems = f"; first skipped: {scan.skipped[0][0]}: {scan.skipped[0][1]}" if scan.skipped else ""
        raise input_error(root, f"no usable {fmt} sequences found{problems}")
    return scan


def tempo_check(entries: list[dict], tol: float = 0.04) -> str:
    """Beat tracker vs the tempo a data set states (AIST++ music names): one line, "" when none is stated."""
    pairs = [
        (e["tempo_bpm"], e["nominal_bpm"]) for e in entries if e.get("nominal_bpm") and e.get("tempo_bpm")
    ]
    if not pairs:
        return ""
    ok = sum(abs(t / n - 1) <= tol for t, n in pairs)
    octave = sum(
        abs(t / n - 1) > tol and min(abs(t / n - r) for r in (0.5, 2.0)) <= tol * 2 for t, n in pairs
    )
    return (
        f"beat tracker vs the stated tempo: {ok}/{len(pairs)} within {tol:.0%}, "
        f"{octave} at half or double tempo, {len(pairs) - ok - octave} other"
    )
