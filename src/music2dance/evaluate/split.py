"""The data every row is measured on: a prepared folder's train and test split, at the protocol's fps.

`load_split` reads the folder, settles the protocol (preset of the manifest's dataset, overrides, quick,
published features), resamples every dance to the protocol fps, picks the test songs (round-robin over
styles when the protocol caps their number) and crops them to the protocol's length.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import input_error
from ..motion.geometry import resample_joints
from .baselines import PreparedSequence, load_prepared
from .protocol import Protocol


def pick_test(test: list[PreparedSequence], limit: int | None) -> list[PreparedSequence]:
    """Sorted test songs; with a limit, taken round-robin over styles so every style stays represented."""
    test = sorted(test, key=lambda s: s.name)
    if not limit or limit >= len(test):
        return test
    by_style: dict[str, list[PreparedSequence]] = {}
    for s in test:
        by_style.setdefault(s.style, []).append(s)
    out: list[PreparedSequence] = []
    while len(out) < limit:
        for lst in by_style.values():
            if lst and len(out) < limit:
                out.append(lst.pop(0))
    return sorted(out, key=lambda s: s.name)


def conform(
    seqs: list[PreparedSequence], fps_in: float, proto: Protocol, crop: bool
) -> list[PreparedSequence]:
    """Resample to the protocol fps and (crop=True) cap at max_seconds; beats stay in seconds, music
    feature frames are repeated or dropped to one per dance frame."""
    out = []
    for s in seqs:
        j = resample_joints(s.joints, fps_in, proto.fps) if abs(fps_in - proto.fps) > 1e-9 else s.joints
        beats = s.music_beats
        if crop and proto.max_seconds is not None:
            n = int(round(proto.max_seconds * proto.fps))
            j = j[:n]
            beats = beats[beats < len(j) / proto.fps]
        music = s.music
        if len(music) and len(music) != len(j):
            idx = np.minimum((np.arange(len(j)) * len(music) / max(len(j), 1)).astype(int), len(music) - 1)
            music = music[idx]
        out.append(
            dataclasses.replace(s, joints=np.asarray(j, dtype=np.float64), music_beats=beats, music=music)
        )
    return out


def load_split(
    data, protocol=None, *, quick: bool = False, published_features: bool = False
) -> tuple[dict, Protocol, list[PreparedSequence], list[PreparedSequence]]:
    """(manifest, protocol, train, test) of a prepared folder, resampled to the protocol's fps; test songs
    picked and cropped as the protocol says. protocol: see `Protocol.load`; quick: `Protocol.quick`;
    published_features: `Protocol.published_features`."""
    man, seqs = load_prepared(data)
    proto = Protocol.load(protocol, dataset=man.get("dataset"))
    if published_features:
        proto = proto.published_features()
    if quick:
        proto = proto.quick()
    fps_in = float(man.get("fps", proto.fps))
    if fps_in < proto.fps - 1e-9:
        note = (
            f"the prepared data is at {fps_in:g} fps: dances are upsampled to {proto.fps:g} fps by a cubic "
            "spline, so motion faster than the prepared rate is absent from every row"
        )
        proto = dataclasses.replace(proto, notes=[*proto.notes, note])
    train = conform([s for s in seqs if s.split == "train"], fps_in, proto, crop=False)
    test = conform(
        pick_test([s for s in seqs if s.split == "test"], proto.max_test_songs), fps_in, proto, crop=True
    )
    if not train or not test:
        raise input_error(data, f"needs train and test sequences, got {len(train)} train / {len(test)} test")
    return man, proto, train, test
