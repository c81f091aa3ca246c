"""The dance-unit VAE (DU-VAE, eq. 1 of the paper): a unit = an initial pose (z_ini) + a movement (z_mov).

`E_ini`, `E_mov` and `G_uni` are the paper's networks; `DUVAE` bundles them with the pose normaliser.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..validate import Config


@dataclass
class DUVAEConfig(Config):
    """Sizes of the DU-VAE. `paper()` gives the paper's (a GPU job); the default trains on a 2-core CPU."""

    pose_dim: int = 54  # 18 joints x 3 coordinates, normalised
    unit_frames: int = 32
    z_ini: int = 10
    z_mov: int = 64
    ini_hidden: int = 128
    mov_hidden: int = 256  # GRU hidden size of E_mov and G_uni
    # Loss weights (eq. 1 and the disentangling terms); the KL weight is annealed, see `kl_weight`.
    w_recon: float = 1.0
    w_cross: float = 1.0
    w_mov_agree: float = 1.0
    w_first: float = 1.0
    # Measured (issue 12, docs/RESULTS.md): at 0.01 the annealed KL closed 51 of the 64 z_mov dimensions
    # by step 3000 and samples moved at 0.72 of real speed; at 0.001, 49 stay in use, held-out
    # reconstruction error falls from 11.2 to 8.7 cm per joint and samples move at 0.86 of real speed.
    kl_max: float = 0.001
    kl_mid_step: int = 1500
    kl_slope: float = 0.005

    @classmethod
    def cpu(cls, **kw) -> DUVAEConfig:
        """The default: trains on this project's 2-core CPU (MODEL.md)."""
        return cls(**kw)

    @classmethod
    def paper(cls, **kw) -> DUVAEConfig:
        return cls(
            **{
                "z_mov": 512,
                "ini_hidden": 64,
                "mov_hidden": 1024,
                "kl_mid_step": 15000,
                "kl_slope": 0.0005,
                **kw,
            }
        )

    @classmethod
    def tiny(cls, **kw) -> DUVAEConfig:
        return cls(**{"z_mov": 16, "ini_hidden": 32, "mov_hidden": 32, **kw})

    def check(self) -> dict[str, bool]:
        sizes = ("pose_dim", "unit_frames", "z_ini", "z_mov", "ini_hidden", "mov_hidden")
        return {k: getattr(self, k) >= (2 if k == "unit_frames" else 1) for k in sizes}

    def kl_weight(self, step: int) -> float:
        """The original's annealing: kl_max * sigmoid(slope * (step - mid)), so early training is a plain AE."""
        return self.kl_max * float(torch.sigmoid(torch.tensor(self.kl_slope * (step - self.kl_mid_step))))


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator=None) -> torch.Tensor:
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + eps * torch.exp(0.5 * logvar)


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), summed over latent dims, averaged over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)).mean()


class E_ini(nn.Module):
    """Initial-pose encoder (eq. 1): pose (B, P) -> (mu, logvar) of z_ini (B, z_ini). An MLP, as in the original."""

    def __init__(self, cfg: DUVAEConfig):
        super().__init__()
        h = cfg.ini_hidden
        self.net = nn.Sequential(
            nn.Linear(cfg.pose_dim, h),
            nn.LeakyReLU(0.2),
            nn.Linear(h, h),
            nn.LeakyReLU(0.2),
            nn.Linear(h, 2 * cfg.z_ini),
        )

    def forward(self, pose: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.net(pose).chunk(2, dim=-1)
        return mu, logvar.clamp(-10, 10)


class E_mov(nn.Module):
    """Movement encoder (eq. 1): unit (B, L, P) -> (mu, logvar) of z_mov. A bidirectional GRU, as in the original.

    It sees frame-to-frame differences beside the poses so that it encodes how the body moves rather than
    where it starts (which is z_ini's job).
    """

    def __init__(self, cfg: DUVAEConfig):
        super().__init__()
        self.gru = nn.GRU(2 * cfg.pose_dim, cfg.mov_hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * cfg.mov_hidden, 2 * cfg.z_mov)

    def forward(self, unit: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        vel = torch.diff(unit, dim=1, prepend=unit[:, :1])
        _, h = self.gru(torch.cat([unit, vel], dim=-1))  # h: (2, B, H), last states of both directions
        mu, logvar = self.out(torch.cat([h[0], h[1]], dim=-1)).chunk(2, dim=-1)
        return mu, logvar.clamp(-10, 10)


class G_uni(nn.Module):
    """Unit generator (eq. 1): (z_ini, z_mov) -> unit (B, L, P).

    As in the original, the GRU is fed z_mov at every step (not its own output: no exposure bias inside a
    unit) and starts from a hidden state made of [z_ini, z_mov]. It predicts the first pose from z_ini and
    per-frame displacements from it, so the unit starts where z_ini says (what chaining units relies on).
    """

    def __init__(self, cfg: DUVAEConfig):
        super().__init__()
        self.cfg = cfg
        h = cfg.mov_hidden
        self.first_pose = nn.Sequential(
            nn.Linear(cfg.z_ini, cfg.ini_hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(cfg.ini_hidden, cfg.ini_hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(cfg.ini_hidden, cfg.pose_dim),
        )
        self.h0 = nn.Linear(cfg.z_ini + cfg.z_mov, h)
        self.gru = nn.GRU(cfg.z_mov + cfg.pose_dim + 1, h, batch_first=True)
        self.out = nn.Sequential(nn.Linear(h, h), nn.LeakyReLU(0.2), nn.Linear(h, cfg.pose_dim))

    def forward(self, z_ini: torch.Tensor, z_mov: torch.Tensor) -> torch.Tensor:
        B, L = z_ini.shape[0], self.cfg.unit_frames
        p0 = self.first_pose(z_ini)
        t = torch.linspace(0, 1, L, device=z_ini.device).expand(B, L)[..., None]
        inp = torch.cat([z_mov[:, None].expand(B, L, -1), p0[:, None].expand(B, L, -1), t], dim=-1)
        h0 = torch.tanh(self.h0(torch.cat([z_ini, z_mov], dim=-1)))[None]
        y, _ = self.gru(inp, h0)
        disp = self.out(y)
        disp = disp - disp[:, :1]  # frame 0 is exactly p0
        return p0[:, None] + disp


class PoseNormalizer(nn.Module):
    """Per-dimension z-score of canonical poses (the original's normalisation), kept with the weights."""

    def __init__(self, pose_dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(pose_dim))
        self.register_buffer("std", torch.ones(pose_dim))

    def fit(self, poses: torch.Tensor) -> None:
        flat = poses.reshape(-1, poses.shape[-1])
        self.mean.copy_(flat.mean(0))
        self.std.copy_(flat.std(0).clamp_min(1e-3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean


class DUVAE(nn.Module):
    """E_ini + E_mov + G_uni (eq. 1) with the pose normaliser. Poses in and out are canonical, metres."""

    def __init__(self, cfg: DUVAEConfig):
        super().__init__()
        self.cfg = cfg
        self.norm = PoseNormalizer(cfg.pose_dim)
        self.E_ini = E_ini(cfg)
        self.E_mov = E_mov(cfg)
        self.G_uni = G_uni(cfg)

    def encode(self, unit_n: torch.Tensor):
        """unit_n: (B, L, P) normalised. Returns (mu_ini, logvar_ini, mu_mov, logvar_mov)."""
        return (*self.E_ini(unit_n[:, 0]), *self.E_mov(unit_n))

    def losses(
        self, a_n: torch.Tensor, b_n: torch.Tensor, step: int, generator=None
    ) -> dict[str, torch.Tensor]:
        """Eq. 1 plus the disentangling terms, on two copies a, b of the same movement (B, L, P) normalised.

        The copies differ in where and which way the dancer stands (see `train.stages`), so:
        recon (each copy from its own latents), cross (z_ini of a with z_mov of b must give a, and the
        reverse), mov_agree (|z_mov(a) - z_mov(b)|), first (G_uni's first pose from z_ini alone), KL.
        """
        cfg = self.cfg
        B = len(a_n)
        # Both copies go through each network in one batch: the GRUs are step-sequential, so fewer, larger
        # calls are what makes this fast on a CPU.
        mi, li, mm, lm = self.encode(torch.cat([a_n, b_n]))
        zi, zm = reparameterize(mi, li, generator), reparameterize(mm, lm, generator)
        zi_a, zi_b, zm_a, zm_b = zi[:B], zi[B:], zm[:B], zm[B:]
        dec = self.G_uni(torch.cat([zi_a, zi_b, zi_a, zi_b]), torch.cat([zm_a, zm_b, zm_b, zm_a]))
        rec_a, rec_b, cross_a, cross_b = dec.split(B)
        mi_a, mi_b, li_a, li_b, mm_a, mm_b, lm_a, lm_b = (
            *mi.split(B),
            *li.split(B),
            *mm.split(B),
            *lm.split(B),
        )
        out = {
            "recon": 0.5 * (F.l1_loss(rec_a, a_n) + F.l1_loss(rec_b, b_n)),
            "cross": 0.5 * (F.l1_loss(cross_a, a_n) + F.l1_loss(cross_b, b_n)),
            "mov_agree": F.l1_loss(mm_a, mm_b),
            "first": 0.5 * (F.l1_loss(rec_a[:, 0], a_n[:, 0]) + F.l1_loss(rec_b[:, 0], b_n[:, 0])),
            "kl_ini": 0.5 * (kl_normal(mi_a, li_a) + kl_normal(mi_b, li_b)),
            "kl_mov": 0.5 * (kl_normal(mm_a, lm_a) + kl_normal(mm_b, lm_b)),
        }
        kw = cfg.kl_weight(step)
        out["total"] = (
            cfg.w_recon * out["recon"]
            + cfg.w_cross * out["cross"]
            + cfg.w_mov_agree * out["mov_agree"]
            + cfg.w_first * out["first"]
            + kw * (out["kl_ini"] + out["kl_mov"])
        )
        return out

    @torch.no_grad()
    def reconstruct(self, unit_n: torch.Tensor) -> torch.Tensor:
        """Deterministic reconstruction from the posterior means (normalised in, normalised out)."""
        mi, _, mm, _ = self.encode(unit_n)
        return self.G_uni(mi, mm)
