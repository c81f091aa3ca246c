"""Generated dances against the issue's questions: beats on beats (vs chance), energy over a long dance.

For each song and seed: kinematic beats of the generated dance (the detector of motion.kinematic_beats) hit
music beats within +-2 frames at 15 fps, against the same beats shifted at random; mean joint speed of the
first and last 20 s of a 3-minute dance (the original froze after 20-30 s).
Usage: python benchmarks/generation_quality.py [--model DIR] [--seeds N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEMO = Path(__file__).resolve().parents[1] / "src" / "music2dance" / "assets" / "demo" / "vibe_ace.ogg"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--seeds", type=int, default=3)
    a = ap.parse_args()

    from music2dance.audio.load import load_audio
    from music2dance.evaluate.metrics import boundary_jump_ratio
    from music2dance.generate.dance import generate_dance, load_model
    from music2dance.motion.geometry import mean_joint_speed
    from music2dance.motion.kinematic_beats import hit_rate_vs_chance, kinematic_beats

    model = load_model(a.model)
    songs = [DEMO] + sorted((SHARED / "music").glob("*.ogg"))
    tol = 2 / 15
    rows = []
    print(f"{'song':44s} seed  kin/music beats  hit   chance (sd)    z    boundary/inside vel, acc")
    for song in songs:
        y, sr = load_audio(song, sr=22050)
        for seed in range(a.seeds):
            m = generate_dance(model, y, sr, seed=seed, out_fps=15.0)
            kin = kinematic_beats(m.joints, m.fps) / m.fps
            r = hit_rate_vs_chance(kin, m.meta["music_beats"], tol, rng=seed, span=(0.0, m.duration))
            jumps = boundary_jump_ratio(m.joints, m.meta["unit_starts"])
            rows.append((r["hit"], r["chance_mean"], r["z"]))
            print(
                f"{song.name[:44]:44s} {seed:4d}  {r['n_kin']:4d}/{r['n_music']:<4d}       {r['hit']:.2f}  "
                f"{r['chance_mean']:.2f} ({r['chance_std']:.2f})  {r['z']:5.2f}  "
                f"{jumps['velocity_ratio']:.2f}, {jumps['acceleration_ratio']:.2f}"
            )
    h = np.array(rows)
    print(
        f"mean over {len(h)} dances: hit {np.nanmean(h[:, 0]):.3f} vs chance {np.nanmean(h[:, 1]):.3f}, "
        f"mean z {np.nanmean(h[:, 2]):.2f}"
    )

    y, sr = load_audio(DEMO, sr=22050)
    y180 = np.tile(y, int(np.ceil(180 * sr / len(y))))[: 180 * sr]
    for seed in range(a.seeds):
        m = generate_dance(model, y180, sr, seed=seed, out_fps=15.0)
        speed = mean_joint_speed(m.joints, m.fps)
        n20 = int(20 * m.fps)
        first, last = speed[:n20].mean(), speed[-n20:].mean()
        per_min = [speed[i : i + int(60 * m.fps)].mean() for i in range(0, len(speed), int(60 * m.fps))]
        print(
            f"3-minute dance, seed {seed}: mean joint speed first 20 s {first:.3f} m/s, last 20 s {last:.3f} m/s "
            f"(ratio {last / first:.2f}); per minute {', '.join(f'{v:.3f}' for v in per_min)}"
        )


if __name__ == "__main__":
    main()
