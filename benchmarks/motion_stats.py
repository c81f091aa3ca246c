"""Motion statistics of generated vs real dances on the held-out test songs (issue 12's realism rows).

For each test dance and its song (whole dance, 3 seeds, 15 fps): mean joint speed (m/s), mean leg-joint
acceleration (hips to feet, m/s^2), ankle height spread (std within 5 s clips, m), the fraction of frames
whose lowest foot joint is more than 2 cm below the floor (y = 0) and the lowest foot height; then a
10-minute dance (the demo song looped) and its energy ratio, last 20 s / first 20 s.
Usage: python3 benchmarks/motion_stats.py [--model DIR] [--data data/prepared]
"""

from __future__ import annotations

import argparse

import numpy as np

FPS = 15.0


def stats(j: np.ndarray) -> np.ndarray:
    """(T, 18, 3) m at FPS -> speed, leg acceleration, ankle height spread, below-floor fraction, lowest foot."""
    from music2dance.motion.geometry import joint_acceleration, joint_speed

    acc = joint_acceleration(j[:, 10:], FPS).mean()
    n = int(5 * FPS)
    ankle = np.mean([j[i : i + n, [12, 16], 1].std(0).mean() for i in range(0, len(j) - n, n)])
    low = j[:, [12, 13, 16, 17], 1].min(1)
    return np.array([joint_speed(j, FPS).mean(), acc, ankle, np.mean(low < -0.02), low.min()])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--data", default="data/prepared")
    a = ap.parse_args()

    from music2dance.audio.load import load_audio
    from music2dance.generate.dance import default_model_path, generate_dance, load_model
    from music2dance.io.prepared import load_prepared
    from music2dance.motion.geometry import mean_joint_speed

    model = load_model(a.model)
    _, test = load_prepared(a.data, "test")
    real, gen = [], []
    for s in test:
        real.append(stats(np.asarray(s.joints, np.float64)))
        y, sr = load_audio(s.audio_path, sr=22050, offset=s.audio_offset_s, duration=len(s.joints) / FPS)
        for seed in range(3):
            gen.append(stats(generate_dance(model, y, sr, seed=seed, out_fps=FPS).joints.astype(np.float64)))
    r, g = np.mean(real, 0), np.mean(gen, 0)
    fmt = "speed %.3f m/s  leg acceleration %.2f m/s^2  ankle height spread %.4f m  below floor -2 cm %.3f  lowest %.3f m"
    print(f"model {model.name}, {len(test)} test songs x 3 seeds")
    print("real  " + fmt % tuple(r))
    print("model " + fmt % tuple(g))
    print(
        f"model / real: speed {g[0] / r[0]:.2f}, leg acceleration {g[1] / r[1]:.2f}, ankle height spread {g[2] / r[2]:.2f}"
    )
    y, sr = load_audio(default_model_path().parent / "demo" / "vibe_ace.ogg", sr=22050)
    y600 = np.tile(y, int(np.ceil(600 * sr / len(y))))[: 600 * sr]
    sp = mean_joint_speed(generate_dance(model, y600, sr, seed=0, out_fps=FPS).joints, FPS)
    n20 = int(20 * FPS)
    print(f"10-minute dance: energy last 20 s / first 20 s {sp[-n20:].mean() / sp[:n20].mean():.2f} "
          f"({sp[:n20].mean():.3f} -> {sp[-n20:].mean():.3f} m/s)")  # fmt: skip


if __name__ == "__main__":
    main()
