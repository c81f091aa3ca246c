"""Kinematic beats of generated dances against music beats: the beat goal of issue 12.

On the 6 held-out test songs and the 5 shared songs (`../shared/data/music`), first `--seconds` of each,
3 seeds: the fraction of kinematic beats (the detector of `motion.kinematic_beats`, feet) within +-2
frames at 15 fps of a music beat, its chance level (the dance's beats circularly shifted at random, 500
shifts), and z = (hit - chance) / chance spread, per dance and pooled (the mean hit rate of a set of
dances against the spread of the mean of their independent shifts).

Why pooled: for one dance whose beats all sit on a regular music grid, a shift hits all of them or none,
so the chance spread is that of one coin, sqrt(p (1 - p)) with p = 2 x tolerance / beat period (about
0.53 at 120 BPM), and z can never exceed sqrt((1 - p) / p), about 0.9: a perfectly aligned single dance
scores z < 1. Pooling n independent dances divides the spread by sqrt(n).
Also prints each row's mean joint speed and leg-joint acceleration (a warp must not add jitter).
Usage: python3 benchmarks/beat_alignment.py [--model DIR] [--data data/prepared] [--seconds 40]
"""

from __future__ import annotations

import argparse
import glob
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def pooled_z(rows: np.ndarray) -> float:
    """rows: (n, 3) hit, chance mean, chance std of n dances -> z of their mean hit rate."""
    return float((rows[:, 0].mean() - rows[:, 1].mean()) / (np.sqrt((rows[:, 2] ** 2).sum()) / len(rows)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--data", default=str(REPO / "data" / "prepared"))
    ap.add_argument("--music", default=str(REPO.parent / "shared" / "data" / "music"))
    ap.add_argument("--seconds", type=float, default=40.0)
    a = ap.parse_args()

    from music2dance.audio.load import load_audio
    from music2dance.generate.dance import generate_dance, load_model
    from music2dance.io.prepared import load_prepared
    from music2dance.motion.geometry import joint_acceleration, joint_speed
    from music2dance.motion.kinematic_beats import hit_rate_vs_chance, kinematic_beats

    model = load_model(a.model)
    _, test = load_prepared(a.data, "test")
    songs = [(s.name, s.audio_path, s.audio_offset_s) for s in test]
    songs += [(Path(p).stem[:24], p, 0.0) for p in sorted(glob.glob(str(Path(a.music) / "*.ogg")))]
    fps, tol, rows, t0 = 30.0, 2 / 15, [], time.perf_counter()
    for _name, path, offset in songs:
        y, sr = load_audio(path, sr=22050, offset=offset, duration=a.seconds)
        for seed in (0, 1, 2):
            m = generate_dance(model, y, sr, seed=seed, out_fps=fps)
            kin = kinematic_beats(m.joints, fps) / fps
            r = hit_rate_vs_chance(
                kin, m.meta["music_beats"], tol, n_shifts=500, rng=seed, span=(0, m.duration)
            )
            speed = joint_speed(m.joints, fps)
            leg_acc = joint_acceleration(m.joints[:, 10:], fps).mean()
            rows.append((r["hit"], r["chance_mean"], r["chance_std"], r["z"], speed.mean(), leg_acc))
    R = np.array(rows)
    n_test = 3 * len(test)
    print(f"model {model.name}: {len(R)} dances of {a.seconds:g} s in {time.perf_counter() - t0:.0f} s")
    print(
        f"hit {R[:, 0].mean():.3f}  chance {R[:, 1].mean():.3f}  z per dance {np.nanmean(R[:, 3]):.2f}  "
        f"pooled z: test songs {pooled_z(R[:n_test]):.1f}, shared songs {pooled_z(R[n_test:]):.1f}, "
        f"all {pooled_z(R):.1f}  mean joint speed {R[:, 4].mean():.3f} m/s  leg acceleration {R[:, 5].mean():.2f} m/s^2"
    )
    for i, (name, *_) in enumerate(songs):
        s = R[3 * i : 3 * i + 3]
        print(
            f"  {name:24s} hit {s[:, 0].mean():.3f}  chance {s[:, 1].mean():.3f}  pooled z {pooled_z(s):.1f}"
        )


if __name__ == "__main__":
    main()
