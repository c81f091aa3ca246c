"""Figures of the evaluation report: motion energy over time, beat-alignment histograms, stick-figure frames.

Each `plot_*` writes one PNG atomically with matplotlib's Agg backend from plain arrays per row;
`write_plots` writes the three of a report from the rows' `row.RowDetail`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_path
from ..io.skeleton import BONES
from .protocol import Protocol


def _figure(*args, **kwargs):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt, plt.subplots(*args, **kwargs)


def _save(plt, fig, path: str | os.PathLike) -> None:
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def plot_energy(
    curves: dict[str, list[np.ndarray]],
    pose_dist: dict[str, list[np.ndarray]],
    window_s: float,
    fps: float,
    path: str | os.PathLike,
) -> None:
    """Mean joint speed per window (m/s) and distance to the data's mean pose (m) over time, one line per row.

    curves / pose_dist: row -> list over songs of (W,) window energies / (T,) per-frame distances; songs are
    averaged over the time they all cover.
    """
    plt, (fig, axes) = _figure(2, 1, figsize=(9, 6), sharex=True)
    for ax, per_row, step, offset in ((axes[0], curves, window_s, 0.5), (axes[1], pose_dist, 1 / fps, 0.0)):
        for name, lst in per_row.items():
            lst = [c for c in lst if len(c)]
            if not lst:
                continue
            n = min(len(c) for c in lst)
            ax.plot((np.arange(n) + offset) * step, np.mean([c[:n] for c in lst], axis=0), label=name)
    axes[0].set_ylabel("mean joint speed (m/s)")
    axes[0].set_title(f"motion energy per {window_s:g} s window (mean over test songs)")
    axes[1].set_ylabel("distance to mean pose (m)")
    axes[1].set_xlabel("time (s)")
    axes[0].legend(fontsize=8)
    _save(plt, fig, path)


def plot_beat_histograms(distances: dict[str, np.ndarray], sigma: float, path: str | os.PathLike) -> None:
    """Histogram per row of the signed distance (frames) from each music beat to its nearest motion beat."""
    n = max(len(distances), 1)
    plt, (fig, axes) = _figure(1, n, figsize=(3 * n, 2.8), sharey=True, squeeze=False)
    bins = np.arange(-10.5, 11.5, 1.0)
    for ax, (name, d) in zip(axes[0], distances.items()):
        d = np.asarray(d)
        ax.hist(np.clip(d, -10, 10), bins=bins, color="tab:blue")
        ax.axvspan(-sigma, sigma, color="tab:orange", alpha=0.15)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("music beat -> motion beat (frames)", fontsize=8)
    axes[0][0].set_ylabel("music beats")
    _save(plt, fig, path)


def plot_frames(
    dances: dict[str, np.ndarray], fps: float, path: str | os.PathLike, n_frames: int = 5
) -> None:
    """Stick figures (front view, x-y) of a few frames of each row's first dance, rows stacked."""
    rows = [(k, v) for k, v in dances.items() if len(v)]
    n = max(len(rows), 1)
    plt, (fig, axes) = _figure(n, n_frames, figsize=(1.8 * n_frames, 2.2 * n), squeeze=False)
    for r, (name, j) in enumerate(rows):
        T = min(len(j), int(20 * fps))
        idx = np.linspace(0, T - 1, n_frames).astype(int)
        for c, t in enumerate(idx):
            ax = axes[r][c]
            p = j[t] - np.array([j[t, 0, 0], 0.0, 0.0])
            for a, b in BONES:
                ax.plot([p[a, 0], p[b, 0]], [p[a, 1], p[b, 1]], "k-", lw=1.2)
            ax.set_xlim(-1, 1)
            ax.set_ylim(-0.1, 2.1)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{t / fps:.1f} s", fontsize=7)
        axes[r][0].set_ylabel(name, fontsize=8)
    _save(plt, fig, path)


def write_plots(details: dict, proto: Protocol, out: Path) -> None:
    """energy.png, beat_alignment.png and frames.png in the folder out; details: {row: RowDetail}."""
    plot_energy(
        {r: d.energy for r, d in details.items()},
        {r: d.pose_distance for r, d in details.items()},
        proto.energy_window_s,
        proto.fps,
        out / "energy.png",
    )
    plot_beat_histograms(
        {r: d.beat_distances for r, d in details.items()}, proto.bas_sigma_frames, out / "beat_alignment.png"
    )
    plot_frames({r: d.first_dance for r, d in details.items()}, proto.fps, out / "frames.png")
