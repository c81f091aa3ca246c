"""Choose the kinematic beat detector's parameters by measurement on the Tang data (docs/BEATS.md).

Grid over joints, smoothing, drop ratio, angle and spacing; scores each setting against the music beats.
Run: python benchmarks/kinematic_beat_params.py [--data DIR] [--top 15]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_scan import DEFAULT_DATA, default_cache, load_tang, music_beats_dance_time  # noqa: E402

from music2dance.motion.kinematic_beats import (  # noqa: E402
    KinematicBeatParams,
    hit_rate_vs_chance,
    kinematic_beats,
)

JOINT_SETS = {
    "all": None,
    "extremities": ("left_wrist", "right_wrist", "left_ankle", "right_ankle", "left_foot", "right_foot"),
    "feet": ("left_ankle", "right_ankle", "left_foot", "right_foot"),
    "pelvis": ("pelvis",),
}
TOL_S = 0.08


def rayleigh_z(kin_s: np.ndarray, music_s: np.ndarray) -> float:
    """N R^2 of the kinematic beats' phases within the music beat grid: ~1 if unrelated, large if locked.

    Offset-free: a dance locked to the beat at any constant lag scores as high as one locked on the beat.
    """
    i = np.searchsorted(music_s, kin_s) - 1
    ok = (i >= 0) & (i < len(music_s) - 1)
    if ok.sum() < 3:
        return float("nan")
    ph = (kin_s[ok] - music_s[i[ok]]) / (music_s[i[ok] + 1] - music_s[i[ok]])
    return float(ok.sum() * np.abs(np.exp(2j * np.pi * ph).mean()) ** 2)


def grid() -> list[tuple[str, KinematicBeatParams]]:
    out = []
    for (jname, joints), rr, sm, drop, ang, gap in itertools.product(
        JOINT_SETS.items(), (True, False), (0.04, 0.08, 0.12), (0.2, 0.35, 0.5), (None, 90.0), (0.2, 0.3)
    ):
        if jname == "pelvis" and rr:
            continue  # the pelvis relative to itself does not move
        out.append(
            (
                f"{jname}/{'rel' if rr else 'world'}",
                KinematicBeatParams(
                    joints=joints,
                    root_relative=rr,
                    smooth_s=sm,
                    min_drop=drop,
                    min_angle_deg=ang,
                    min_spacing_s=gap,
                ),
            )
        )
    return out


def score(args: tuple[str, KinematicBeatParams, list[dict]]) -> dict:
    label, p, seqs = args
    rng = np.random.default_rng(0)
    excess, zs, rz, rate = [], [], [], []
    for s in seqs:
        kin = kinematic_beats(s["joints"], s["fps"], p) / s["fps"]
        music = music_beats_dance_time(s)
        r = hit_rate_vs_chance(kin, music, TOL_S, n_shifts=100, rng=rng, span=(0.0, s["duration"]))
        excess.append(r["hit"] - r["chance_mean"])
        zs.append(r["z"])
        rz.append(rayleigh_z(kin, music))
        rate.append(len(kin) / s["duration"] / (s["tempo"] / 60.0))
    return {
        "label": label,
        "params": p,
        "excess": float(np.nanmean(excess)),
        "z": float(np.nanmean(zs)),
        "rayleigh": float(np.nanmean(rz)),
        "kin_per_music_beat": float(np.mean(rate)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    t0 = time.time()
    seqs = load_tang(a.data, default_cache())
    jobs = [(label, p, seqs) for label, p in grid()]
    with ProcessPoolExecutor(max_workers=max(1, min(2, a.workers))) as ex:
        res = list(ex.map(score, jobs, chunksize=8))
    res.sort(key=lambda r: -r["rayleigh"])
    print(
        f"{len(res)} settings x {len(seqs)} sequences, tolerance +-{TOL_S * 1000:.0f} ms, "
        f"{time.time() - t0:.0f} s; sorted by mean Rayleigh z (1 = no locking)\n"
    )
    print(
        "| joints | smooth s | min drop | angle | spacing s | kin/music beat | hit - chance | mean z | "
        "Rayleigh z |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    default = KinematicBeatParams()
    shown = res[: a.top] + [r for r in res if r["params"] == default and r not in res[: a.top]]
    for r in shown:
        p = r["params"]
        mark = " (default)" if p == default else ""
        print(
            f"| {r['label']}{mark} | {p.smooth_s} | {p.min_drop} | {p.min_angle_deg or '-'} | "
            f"{p.min_spacing_s} | {r['kin_per_music_beat']:.2f} | {r['excess']:+.3f} | {r['z']:+.2f} | "
            f"{r['rayleigh']:.2f} |"
        )
    best_excess = max(res, key=lambda r: r["excess"])
    print(
        f"\nbest by hit - chance: {best_excess['label']} {best_excess['params']} "
        f"excess {best_excess['excess']:+.3f} z {best_excess['z']:+.2f} "
        f"Rayleigh {best_excess['rayleigh']:.2f}"
    )
    print(
        f"range of hit - chance over all settings: {min(r['excess'] for r in res):+.3f} .. "
        f"{max(r['excess'] for r in res):+.3f}; of Rayleigh z: {min(r['rayleigh'] for r in res):.2f} .. "
        f"{max(r['rayleigh'] for r in res):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
