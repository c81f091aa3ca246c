"""The paper's Figure 2: music beats (onset envelope) above and a dance's kinematic beats below.

Drawing only; `music2dance beats` (reading the song and the dance, the hit rate) is `commands.run_beats`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PLOT_TYPES = (".png", ".pdf", ".svg")


def plot_beats(
    out: Path,
    env: np.ndarray,
    env_fps: float,
    beats: np.ndarray,
    dance_part,
    song_name: str,
    dance_name: str | None,
    tempo: float,
) -> None:
    """Write the figure to `out` atomically: the onset envelope `env` (at `env_fps`) with the music `beats`
    (s) above; below, when `dance_part` is (motion magnitude, fps, kinematic beat frames), the dance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io.atomic import atomic_path

    n = 1 if dance_part is None else 2
    fig, axes = plt.subplots(n, 1, figsize=(12, 2.6 * n + 0.6), sharex=True, squeeze=False)
    ax = axes[0, 0]
    ax.plot(np.arange(len(env)) / env_fps, env, color="tab:blue", lw=0.9)
    for b in beats:
        ax.axvline(b, color="tab:red", ls="--", lw=0.7, alpha=0.8)
    ax.set_ylabel("onset strength")
    ax.set_title(f"music beats: {song_name} ({tempo:.0f} BPM, {len(beats)} beats)", fontsize=10)
    if dance_part is not None:
        mag, fps, kin = dance_part
        ax2 = axes[1, 0]
        ax2.plot(np.arange(len(mag)) / fps, mag, color="tab:green", lw=0.9)
        for k in kin:
            ax2.axvline(k / fps, color="tab:purple", ls="--", lw=0.7, alpha=0.8)
        ax2.set_ylabel("motion magnitude (m/s)")
        ax2.set_title(f"kinematic beats: {dance_name} ({len(kin)} beats)", fontsize=10)
    axes[-1, 0].set_xlabel("time (s)" if dance_part is None else "time from the dance's first frame (s)")
    fig.tight_layout()
    try:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
