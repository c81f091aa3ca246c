"""The evaluation's statistics on real Tang 2018 dances (skipped without ../shared/data)."""

from __future__ import annotations

import numpy as np

from music2dance.evaluate import c2st as C
from music2dance.evaluate import features as F
from music2dance.evaluate import sets as S
from music2dance.evaluate.protocol import Protocol
from music2dance.evaluate.reference import clip_features, clips
from music2dance.io.load import load_dance
from music2dance.motion.geometry import resample_joints

TAKES = ("DANCE_W_1", "DANCE_W_3", "DANCE_W_4", "DANCE_W_6", "DANCE_W_7", "DANCE_W_8", "DANCE_W_10",
         "DANCE_W_11")  # fmt: skip


def test_real_halves_look_alike_and_a_frozen_pose_does_not(shared_data):
    proto = Protocol()
    kin, geo, stats, groups, frozen = [], [], [], [], []
    for name in TAKES:
        m = load_dance(shared_data / "tang2018" / name)
        x = resample_joints(m.joints, m.fps, proto.fps)
        for a, b in clips(len(x), proto):
            k, g = clip_features(x[a:b], proto)
            kin.append(k)
            geo.append(g)
            stats.append(F.motion_statistics(x[a:b], proto.fps))
            groups.append(name)
            frozen.append(F.motion_statistics(np.repeat(x[a : a + 1], b - a, axis=0), proto.fps))
    kin, geo, stats, groups = np.array(kin), np.array(geo), np.array(stats), np.array(groups)
    half = np.isin(groups, TAKES[:4])
    # two halves of real waltz takes: FID finite and small with the std floor (issue 11, defect 4)
    fg = S.fid(geo[half], geo[~half], min_std=proto.min_std_geometric)
    fk = S.fid(kin[half], kin[~half], min_std=proto.min_std_kinetic)
    assert np.isfinite(fg) and np.isfinite(fk) and fg < 50
    rng = np.random.default_rng(0)
    # a classifier cannot tell the halves apart much better than chance ...
    r = C.c2st(stats[half], groups[half], stats[~half], groups[~half], rng=rng, n_boot=100, repeats=1)
    assert r["value"] < 0.8
    # ... and tells each clip's first pose held still from real clips at once
    f = C.c2st(
        stats[half], groups[half], np.array(frozen)[~half], groups[~half], rng=rng, n_boot=100, repeats=1
    )
    assert f["value"] > 0.95
