"""Reading a prepared data folder (written by `music2dance prepare`): `manifest.json` + one npz per sequence.

The one reader of prepared data, used by training and evaluation. Each sequence npz holds `joints`
(T, J, 3) float32 metres on the canonical skeleton at the manifest's `fps`, `music` (T, D) float32
features named by the manifest's `feature_names`, `music_beats` (B,) seconds and `kin_beats` (K,) frames.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import input_error

MANIFEST = "manifest.json"


@dataclass
class PreparedSequence:
    """One prepared sequence: arrays plus its manifest entry (name, style, split, its song)."""

    name: str
    style: str
    split: str
    joints: np.ndarray  # (T, J, 3) m, as stored (float32)
    music: np.ndarray  # (T, D) as stored (float32), one row per motion frame
    music_beats: np.ndarray  # (B,) float, s
    kin_beats: np.ndarray  # (K,) int, frames
    audio_path: str
    audio_offset_s: float
    extra: dict = field(default_factory=dict)


def read_manifest(data: str | os.PathLike) -> dict:
    """`<data>/manifest.json` as a dict; a one-line error if the folder was not written by `prepare`."""
    path = Path(data) / MANIFEST
    if not path.exists():
        raise input_error(
            data, "not a prepared data folder (no manifest.json); run `music2dance prepare` first"
        )
    try:
        man = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise input_error(path, f"unreadable manifest ({e})") from None
    if not isinstance(man, dict) or not isinstance(man.get("sequences"), list):
        raise input_error(path, "not a prepared-data manifest (no 'sequences' list)")
    return man


def load_prepared(data: str | os.PathLike, split: str | None = None) -> tuple[dict, list[PreparedSequence]]:
    """(manifest, sequences) of a prepared folder, optionally only one split ("train", "test").

    Errors name the file: a missing manifest, an unreadable or incomplete sequence npz, no sequences.
    """
    root = Path(data)
    man = read_manifest(root)
    seqs = []
    for e in man["sequences"]:
        if split and e.get("split", "train") != split:
            continue
        f = root / e["file"]
        try:
            with np.load(f, allow_pickle=False) as z:
                arr = {k: z[k] for k in ("joints", "music", "music_beats", "kin_beats") if k in z.files}
        except (OSError, ValueError) as err:
            raise input_error(f, f"unreadable prepared sequence ({err})") from None
        if "joints" not in arr:
            raise input_error(f, "prepared sequence has no 'joints'")
        joints = arr["joints"]
        seqs.append(
            PreparedSequence(
                name=e["name"],
                style=str(e.get("style", "unknown")),
                split=e.get("split", "train"),
                joints=joints,
                music=arr.get("music", np.zeros((len(joints), 0), np.float32)),
                music_beats=np.asarray(arr.get("music_beats", np.zeros(0)), dtype=np.float64),
                kin_beats=np.asarray(arr.get("kin_beats", np.zeros(0, int))),
                audio_path=str(e.get("audio_path", "")),
                audio_offset_s=float(e.get("audio_offset_s", 0.0)),
            )
        )
    if not seqs and split is None:
        raise input_error(root / MANIFEST, "the manifest lists no sequences")
    return man, seqs
