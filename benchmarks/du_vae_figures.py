"""Held-out figures of a trained DU-VAE (issue: decomposition): reconstruction, disentanglement, sampling.

All on the test split's beat-anchored units (canonical frame), in centimetres per joint unless noted.
Usage: python benchmarks/du_vae_figures.py [--model DIR] [--data data/prepared]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from music2dance.generate.dance import load_model
from music2dance.motion.geometry import canonicalize_units


def _cm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., P) poses in metres -> per-joint distance in cm, (..., J)."""
    return 100 * (a - b).reshape(*a.shape[:-1], -1, 3).norm(dim=-1)


def _speed(u: torch.Tensor, fps: float) -> float:
    return float(_cm(u[:, 1:], u[:, :-1]).mean() * fps / 100)


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model folder (default: the bundled one)")
    ap.add_argument("--data", default="data/prepared")
    ap.add_argument("--pairs", type=int, default=2000)
    a = ap.parse_args()
    model = load_model(a.model)
    vae, cfg = model.du_vae, model.cfg.du_vae
    fps = json.loads((Path(a.data) / "manifest.json").read_text())["fps"]
    with np.load(Path(a.data) / "units.npz", allow_pickle=False) as z:
        units = z["units"][z["split"] == "test"]
    canon, _, _ = canonicalize_units(units)
    x = torch.from_numpy(canon).flatten(2)  # (N, L, P) metres
    n = len(x)
    xn = vae.norm(x)
    mi, _, mm, _ = vae.encode(xn)
    rec = vae.norm.inverse(vae.G_uni(mi, mm))
    err = _cm(rec, x)
    rec_j, x_j = rec.reshape(n, cfg.unit_frames, -1, 3), x.reshape(n, cfg.unit_frames, -1, 3)
    rel = _cm(
        (rec_j - rec_j[:, :, :1]).flatten(2), (x_j - x_j[:, :, :1]).flatten(2)
    )  # pose without the root path
    print(f"test units: {n} (beat-anchored, {cfg.unit_frames} frames at {fps:g} fps)")
    print(
        f"reconstruction error per joint: mean {err.mean():.2f} cm, 95th percentile {err.quantile(0.95):.2f} cm"
        f" (first frame {err[:, 0].mean():.2f} cm); relative to the pelvis: mean {rel.mean():.2f} cm, "
        f"95th percentile {rel.quantile(0.95):.2f} cm"
    )

    g = torch.Generator().manual_seed(0)
    ia = torch.randint(n, (a.pairs,), generator=g)
    ib = torch.randint(n, (a.pairs,), generator=g)
    keep = ia != ib
    ia, ib = ia[keep], ib[keep]
    A, B = x[ia], x[ib]
    mix = vae.norm.inverse(vae.G_uni(mi[ia], mm[ib]))
    start_mix = _cm(mix[:, 0], A[:, 0]).mean()
    start_b = _cm(B[:, 0], A[:, 0]).mean()
    # Movement = displacement from the unit's own first frame.
    d_mix, d_a, d_b = mix - mix[:, :1], A - A[:, :1], B - B[:, :1]
    move_vs_b = _cm(d_mix, d_b).mean()
    move_vs_a = _cm(d_mix, d_a).mean()
    a_vs_b = _cm(d_a, d_b).mean()
    still = _cm(torch.zeros_like(d_b), d_b).mean()
    print(f"disentanglement on {len(ia)} random test pairs, decoding (z_ini of A, z_mov of B):")
    print(f"  first pose vs A's first pose: {start_mix:.2f} cm (B's first pose vs A's: {start_b:.2f} cm)")
    print(
        f"  movement vs B's movement: {move_vs_b:.2f} cm; vs A's movement: {move_vs_a:.2f} cm "
        f"(baselines: A's movement vs B's {a_vs_b:.2f} cm, standing still vs B's {still:.2f} cm)"
    )

    real_speed = _speed(x, fps)
    zm = torch.randn(n, cfg.z_mov, generator=g)
    samp = vae.norm.inverse(vae.G_uni(mi, zm))
    zi = torch.randn(n, cfg.z_ini, generator=g)
    samp2 = vae.norm.inverse(vae.G_uni(zi, zm))
    print(
        f"mean joint speed: real units {real_speed:.3f} m/s; their reconstructions {_speed(rec, fps):.3f} m/s; z_mov ~ N(0, I) with real z_ini "
        f"{_speed(samp, fps):.3f} m/s (ratio {_speed(samp, fps) / real_speed:.2f}); z_ini, z_mov ~ N(0, I) "
        f"{_speed(samp2, fps):.3f} m/s (ratio {_speed(samp2, fps) / real_speed:.2f})"
    )
    m = model.cfg.training.get("stages", {}).get("decomposition", {}).get("metrics", {})
    if m:
        print(f"training: {m.get('steps')} steps in {m.get('wall_time_s', float('nan')) / 60:.1f} min")


if __name__ == "__main__":
    main()
