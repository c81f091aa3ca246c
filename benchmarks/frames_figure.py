"""The frames figure of docs/RESULTS.md: real and generated clips of the same style, side by side.

For each held-out test song named below, 3 s of the real dance and 3 s of the bundled model's dance for
the same song (seed 0, same seconds of the song), 7 frames 0.5 s apart, each frame drawn from the front
(x-y, black) and from the side (z-y, grey, to its right), facing removed so every frame faces +z.
Usage: python3 benchmarks/frames_figure.py [--data data/prepared] [--model DIR] [--out docs/frames.png]
"""

from __future__ import annotations

import argparse

import numpy as np

SONGS = (("DANCE_W_15", 10.0), ("DANCE_C_6", 10.0))  # (test dance, start s): a waltz and a cha-cha


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/prepared")
    ap.add_argument("--model", default=None)
    ap.add_argument("--out", default="docs/frames.png")
    a = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from music2dance.audio.load import load_audio
    from music2dance.evaluate.plots import BONES
    from music2dance.generate.dance import generate_dance, load_model
    from music2dance.io.prepared import load_prepared
    from music2dance.motion.geometry import face_forward

    model = load_model(a.model)
    _, test = load_prepared(a.data, "test")
    by_name = {s.name: s for s in test}
    fps, n, step, span = 15.0, 7, 0.5, 3.0
    fig, axes = plt.subplots(2 * len(SONGS), n, figsize=(1.6 * n, 2.0 * 2 * len(SONGS)), squeeze=False)
    for r, (name, start) in enumerate(SONGS):
        seq = by_name[name]
        y, sr = load_audio(seq.audio_path, sr=22050, offset=seq.audio_offset_s, duration=start + span + 1)
        gen = generate_dance(model, y, sr, seed=0, out_fps=fps).joints
        for k, (label, joints) in enumerate((("real", seq.joints), ("model", gen))):
            row = axes[2 * r + k]
            frames = np.round((start + np.arange(n) * step) * fps).astype(int)
            pose = face_forward(np.asarray(joints, np.float64)[frames])  # pelvis-relative, facing +z
            lift = np.asarray(joints, np.float64)[frames, 0, 1]  # keep the pelvis height above the floor
            for c, (p, h) in enumerate(zip(pose, lift)):
                ax = row[c]
                for i, j in BONES:
                    ax.plot([p[i, 0], p[j, 0]], [p[i, 1] + h, p[j, 1] + h], "k-", lw=1.1)
                    ax.plot(
                        [p[i, 2] + 1.0, p[j, 2] + 1.0], [p[i, 1] + h, p[j, 1] + h], "-", color="0.55", lw=1.1
                    )
                ax.axhline(0, color="0.8", lw=0.6)
                ax.set_xlim(-0.7, 1.7)
                ax.set_ylim(-0.1, 2.0)
                ax.set_aspect("equal")
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_title(f"{start + c * step:.1f} s", fontsize=7)
            row[0].set_ylabel(f"{label}\n{name} ({seq.style})", fontsize=7)
    fig.tight_layout()
    fig.savefig(a.out, dpi=80)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
