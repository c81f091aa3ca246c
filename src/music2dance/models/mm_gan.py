"""The music-to-movement GAN (MM-GAN, eq. 2-6 of the paper): composes movements {z_mov} into a dance.

Real dances go z_movs -E_mtd-> z_dan -G_dan-> z_movs; music goes (s, noise) -E_std-> z~_dan -G_dan-> z~_movs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..validate import Config
from .du_vae import kl_normal, reparameterize


@dataclass
class MMGANConfig(Config):
    """Sizes and loss weights of the MM-GAN (eq. 6). `paper()` gives the original's sizes."""

    z_mov: int = 64  # must match the DU-VAE
    music_dim: int = 29  # per-frame music features the models hear (FEATURE_NAMES less the beat phase)
    unit_frames: int = 32
    units: int = 3  # units per training dance (the original's choice)
    style_dim: int = 4  # style feature s: the style classifier's probabilities
    z_dan: int = 64
    noise: int = 30
    hidden: int = 256
    audio_dim: int = 32  # per-unit music summary a^i
    # eq. 6 weights: L_comp = l_recon_m L_recon^m + l_s L_recon^s + l_adv^m L_adv^m + l_adv^d L_adv^d + l_KL^d L_KL^d
    # The paper writes L_recon^m with weight 1; the original code weighted its reconstruction terms 10x
    # (pose L1), and we measured that at weight 1 the adversarial terms win and G_dan forgets the
    # reconstruction (validation L1 rose from 0.94 to 1.06 between steps 500 and 1000), so 10 here.
    l_recon_m: float = 10.0
    l_s: float = 1.0
    # Measured on the Tang data (MODEL.md): at l_adv_m = 1 the movement discriminator's gradient through
    # G_dan undid the reconstruction (train L1 rose 0.47 -> 0.55 over 1000 steps) and the generated
    # movements collapsed to 20 % of the real spread; at 0.1 both improve steadily. l_adv_d only reaches
    # E_std, and at 1 it aligns z~_dan with z_dan (at 0.1 E_std's outputs stayed off the distribution).
    l_adv_m: float = 0.1
    l_adv_d: float = 1.0
    l_kl_d: float = 0.01
    # Real movements on the wrong music are negatives for D_mov, so the music condition is not ignored.
    mismatch_negatives: bool = True
    # Not in the paper: C_sty, a style classifier on movements alone, trained on the real chains; the
    # generator pays its cross-entropy against s for the movements it composes (0: off, no C_sty).
    # Why: forcing s to each of the four styles barely changed the generated dance (issue 12,
    # docs/RESULTS.md), i.e. eq. 5's E_sty on z_dan did not make the movements carry the style.
    l_style_m: float = 0.0

    @classmethod
    def cpu(cls, **kw) -> MMGANConfig:
        """The default: trains on this project's 2-core CPU (MODEL.md)."""
        return cls(**kw)

    @classmethod
    def paper(cls, **kw) -> MMGANConfig:
        return cls(**{"z_dan": 512, "hidden": 1024, **kw})

    @classmethod
    def tiny(cls, **kw) -> MMGANConfig:
        return cls(**{"z_dan": 16, "hidden": 32, "audio_dim": 8, **kw})

    def check(self) -> dict[str, bool]:
        sizes = (
            "z_mov",
            "music_dim",
            "unit_frames",
            "units",
            "style_dim",
            "z_dan",
            "noise",
            "hidden",
            "audio_dim",
        )
        return {k: getattr(self, k) >= 1 for k in sizes}


class AudioUnitEncoder(nn.Module):
    """Music of one unit (B, n, L, D) normalised -> a^i (B, n, audio_dim): a 1-D conv over time, mean-pooled."""

    def __init__(self, cfg: MMGANConfig):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(cfg.music_dim, 64, 5, padding=2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(64, 64, 5, padding=2, stride=2),
            nn.LeakyReLU(0.2),
        )
        self.out = nn.Linear(128, cfg.audio_dim)

    def forward(self, music: torch.Tensor) -> torch.Tensor:
        B, n, L, D = music.shape
        h = self.conv(music.reshape(B * n, L, D).transpose(1, 2))
        pooled = torch.cat([h.mean(-1), h.amax(-1)], dim=-1)
        return self.out(pooled).reshape(B, n, -1)


class E_mtd(nn.Module):
    """Movement-to-dance encoder (eq. 2): {z_mov^i} (B, n, z_mov) -> (mu, logvar) of z_dan."""

    def __init__(self, cfg: MMGANConfig):
        super().__init__()
        self.gru = nn.GRU(cfg.z_mov, cfg.hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * cfg.hidden, 2 * cfg.z_dan)

    def forward(self, z_movs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, h = self.gru(z_movs)
        mu, logvar = self.out(torch.cat([h[0], h[1]], dim=-1)).chunk(2, dim=-1)
        return mu, logvar.clamp(-10, 10)


class G_dan(nn.Module):
    """Dance generator (eq. 2, 7): z_dan (B, z_dan) and the music of each unit a (B, n, A) -> {z_mov^i}.

    The music enters at every unit so that movements follow the song locally, not only through its style.
    """

    def __init__(self, cfg: MMGANConfig):
        super().__init__()
        self.h0 = nn.Linear(cfg.z_dan, cfg.hidden)
        self.gru = nn.GRU(cfg.z_dan + cfg.audio_dim, cfg.hidden, batch_first=True)
        self.out = nn.Sequential(
            nn.Linear(cfg.hidden, cfg.hidden), nn.LeakyReLU(0.2), nn.Linear(cfg.hidden, cfg.z_mov)
        )

    def forward(self, z_dan: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        n = a.shape[1]
        inp = torch.cat([z_dan[:, None].expand(-1, n, -1), a], dim=-1)
        y, _ = self.gru(inp, torch.tanh(self.h0(z_dan))[None])
        return self.out(y)


class E_std(nn.Module):
    """Style-to-dance encoder (eq. 4): (s (B, S), noise (B, N)) -> z~_dan (B, z_dan)."""

    def __init__(self, cfg: MMGANConfig):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(cfg.style_dim + cfg.noise, cfg.hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(cfg.hidden, cfg.hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(cfg.hidden, cfg.z_dan),
        )

    def forward(self, s: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([s, noise], dim=-1))


class D_mov(nn.Module):
    """Movement discriminator (eq. 3): ({z_mov^i} (B, n, z_mov), music a (B, n, A)) -> real/fake logit (B,)."""

    def __init__(self, cfg: MMGANConfig):
        super().__init__()
        self.audio = AudioUnitEncoder(cfg)  # its own, so the generator cannot shape what D hears
        self.net = nn.Sequential(
            nn.Linear(cfg.units * (cfg.z_mov + cfg.audio_dim), cfg.hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(cfg.hidden, cfg.hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(cfg.hidden, 1),
        )

    def forward(self, z_movs: torch.Tensor, music: torch.Tensor) -> torch.Tensor:
        a = self.audio(music)
        return self.net(torch.cat([z_movs, a], dim=-1).flatten(1)).squeeze(-1)


class D_dan(nn.Module):
    """Dance-latent discriminator (eq. 4): z_dan (B, z_dan) -> logit; aligns E_std's z~_dan with E_mtd's z_dan."""

    def __init__(self, cfg: MMGANConfig):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(cfg.z_dan, cfg.hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(cfg.hidden, 1),
        )

    def forward(self, z_dan: torch.Tensor) -> torch.Tensor:
        return self.net(z_dan).squeeze(-1)


class C_sty(nn.Module):
    """Movement style classifier (ours, see `l_style_m`): {z_mov^i} (B, n, z_mov) -> style logits (B, S).
    No music input, so the style has to be in the movements themselves."""

    def __init__(self, cfg: MMGANConfig):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(cfg.units * cfg.z_mov, cfg.hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(cfg.hidden, cfg.style_dim),
        )

    def forward(self, z_movs: torch.Tensor) -> torch.Tensor:
        return self.net(z_movs.flatten(1))


def _soft_ce(logits: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return -(p * F.log_softmax(logits, dim=-1)).sum(-1).mean()


class E_sty(nn.Module):
    """Style regressor (eq. 5): z_dan (B, z_dan) -> s (B, S) probabilities, so z~_dan keeps the music's style."""

    def __init__(self, cfg: MMGANConfig):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(cfg.z_dan, cfg.hidden), nn.LeakyReLU(0.2), nn.Linear(cfg.hidden, cfg.style_dim)
        )

    def forward(self, z_dan: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(z_dan), dim=-1)


def _bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


class MMGAN(nn.Module):
    """All MM-GAN networks. Generator side: A_enc, E_mtd, G_dan, E_std, E_sty. Discriminators: D_mov, D_dan."""

    def __init__(self, cfg: MMGANConfig):
        super().__init__()
        self.cfg = cfg
        self.A_enc = AudioUnitEncoder(cfg)
        self.E_mtd = E_mtd(cfg)
        self.G_dan = G_dan(cfg)
        self.E_std = E_std(cfg)
        self.E_sty = E_sty(cfg)
        self.D_mov = D_mov(cfg)
        self.D_dan = D_dan(cfg)
        self.C_sty = C_sty(cfg) if cfg.l_style_m > 0 else None
        self.register_buffer("music_mean", torch.zeros(cfg.music_dim))
        self.register_buffer("music_std", torch.ones(cfg.music_dim))
        # The DU-VAE's movement latents are far from unit variance (its KL weight is small), so the GAN
        # works on centred, rescaled latents: without this G_dan learned to output the mean movement
        # (measured: 5 % of the real spread after 2000 steps), i.e. every unit the same small motion.
        self.register_buffer("zmov_mean", torch.zeros(cfg.z_mov))
        self.register_buffer("zmov_std", torch.ones(cfg.z_mov))

    def generator_parameters(self):
        for m in (self.A_enc, self.E_mtd, self.G_dan, self.E_std, self.E_sty):
            yield from m.parameters()

    def discriminator_parameters(self):
        """D_mov, D_dan and C_sty: the networks trained on real movements against the generator's."""
        for m in (self.D_mov, self.D_dan, self.C_sty):
            if m is not None:
                yield from m.parameters()

    def norm_music(self, music: torch.Tensor) -> torch.Tensor:
        return (music - self.music_mean) / self.music_std

    def norm_z(self, z_movs: torch.Tensor) -> torch.Tensor:
        return (z_movs - self.zmov_mean) / self.zmov_std

    def sample_noise(self, batch: int, generator=None, device="cpu") -> torch.Tensor:
        return torch.randn(batch, self.cfg.noise, generator=generator, device=device)

    def generator_losses(self, z_movs, music_n, s, generator=None) -> tuple[dict, dict]:
        """Eq. 6 generator side. z_movs (B, n, z_mov) and music_n (B, n, L, D) normalised; s (B, S).

        Returns (losses incl. 'total', tensors needed by the discriminator step).
        """
        cfg = self.cfg
        a = self.A_enc(music_n)
        mu, logvar = self.E_mtd(z_movs)
        z_dan = reparameterize(mu, logvar, generator)
        recon = self.G_dan(z_dan, a)
        z_dan_s = self.E_std(s, self.sample_noise(len(s), generator, s.device))
        fake = self.G_dan(z_dan_s, a)
        out = {
            "recon_m": F.l1_loss(recon, z_movs),  # eq. 2
            "recon_s": F.mse_loss(self.E_sty(z_dan_s), s) + F.mse_loss(self.E_sty(z_dan), s),  # eq. 5
            "adv_m": _bce(self.D_mov(fake, music_n), True),  # eq. 3, generator side
            "adv_d": _bce(self.D_dan(z_dan_s), True),  # eq. 4, generator side
            "kl_d": kl_normal(mu, logvar),  # eq. 4
        }
        out["total"] = (
            cfg.l_recon_m * out["recon_m"]
            + cfg.l_s * out["recon_s"]
            + cfg.l_adv_m * out["adv_m"]
            + cfg.l_adv_d * out["adv_d"]
            + cfg.l_kl_d * out["kl_d"]
        )
        if self.C_sty is not None:
            out["style_m"] = _soft_ce(self.C_sty(fake), s)
            out["total"] = out["total"] + cfg.l_style_m * out["style_m"]
        cache = {"fake": fake.detach(), "z_dan": z_dan.detach(), "z_dan_s": z_dan_s.detach(), "s": s}
        return out, cache

    def discriminator_losses(self, z_movs, music_n, cache: dict) -> dict:
        """Eq. 3-4 discriminator side: real movements on their music vs generated ones (and on wrong music)."""
        d_real = self.D_mov(z_movs, music_n)
        d_fake = self.D_mov(cache["fake"], music_n)
        loss_m = _bce(d_real, True) + _bce(d_fake, False)
        if self.cfg.mismatch_negatives and len(z_movs) > 1:
            loss_m = loss_m + 0.5 * _bce(self.D_mov(z_movs, music_n.roll(1, dims=0)), False)
        loss_d = _bce(self.D_dan(cache["z_dan"]), True) + _bce(self.D_dan(cache["z_dan_s"]), False)
        out = {"D_mov": loss_m, "D_dan": loss_d}
        out["total"] = loss_m + loss_d
        if self.C_sty is not None:
            out["C_sty"] = _soft_ce(self.C_sty(z_movs), cache["s"])
            out["total"] = out["total"] + out["C_sty"]
        return out

    @torch.no_grad()
    def compose(self, s: torch.Tensor, music_n: torch.Tensor, generator=None) -> torch.Tensor:
        """Inference (eq. 7): style s (B, S) and unit music (B, n, L, D) normalised -> z~_movs (B, n, z_mov).

        The movements come back in the DU-VAE's latent space (not normalised), ready for G_uni.
        """
        z_dan = self.E_std(s, self.sample_noise(len(s), generator, s.device))
        return self.G_dan(z_dan, self.A_enc(music_n)) * self.zmov_std + self.zmov_mean
