"""The music style classifier (the original's was never released): dance style from a window of music.

Its class probabilities are the style feature `s` that drives the MM-GAN's E_std (eq. 4) and E_sty (eq. 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..validate import Config


@dataclass
class StyleConfig(Config):
    """Sizes of the style classifier; one preset for every model size (it is small)."""

    music_dim: int = 29
    styles: tuple[str, ...] = ("cha-cha", "rumba", "tango", "waltz")
    window_frames: int = 96  # 6.4 s at 15 fps: a few bars of any of the four dances
    hidden: int = 64
    dropout: float = 0.3
    feature_idx: list[int] = field(default_factory=list)  # columns of audio.features used (no beat phase)
    # Meter and tempo branch: autocorrelation of the onset strength at lags 1..acf_lags frames (0: none,
    # the classifiers bundled before it). 48 frames at 15 fps = 3.2 s, one bar of the slowest of the four.
    acf_lags: int = 0
    acf_columns: list[int] = field(
        default_factory=list
    )  # positions of onset strength, loudness among the inputs
    timbre: bool = True  # the convolution branch over every column (MFCC, chroma, ...)

    @classmethod
    def cpu(cls, **kw) -> StyleConfig:
        """The default: trains on this project's 2-core CPU (MODEL.md)."""
        # Rhythm only: with the timbre branch the classifier learnt the 4-8 training songs of each style
        # by their sound and named 4 of the 6 held-out songs right; on rhythm alone, 6 of 6 (docs/RESULTS.md).
        return cls(**{"acf_lags": 48, "timbre": False, **kw})

    @classmethod
    def paper(cls, **kw) -> StyleConfig:
        return cls.cpu(**kw)

    @classmethod
    def tiny(cls, **kw) -> StyleConfig:
        return cls.cpu(**kw)

    def check(self) -> dict[str, bool]:
        return {
            "music_dim": self.music_dim >= 1,
            "styles": len(self.styles) >= 1,
            "window_frames": self.window_frames >= 1,
            "hidden": self.hidden >= 1,
            "dropout": 0.0 <= self.dropout < 1.0,
            "acf_lags": 0 <= self.acf_lags < self.window_frames,
            "acf_columns": all(0 <= c < self.music_dim for c in self.acf_columns),
            "timbre": self.timbre or self.acf_lags > 0,  # a classifier needs one branch
        }


def autocorrelation(x: torch.Tensor, lags: int) -> torch.Tensor:
    """x: (B, T) one music column -> (B, lags) its autocorrelation at lags 1..lags frames, each lag's
    products averaged over its overlap and divided by the variance (so 1.0 = perfectly periodic)."""
    x = x - x.mean(-1, keepdim=True)
    var = (x * x).mean(-1).clamp_min(1e-6)
    return torch.stack([(x[:, k:] * x[:, :-k]).mean(-1) for k in range(1, lags + 1)], -1) / var[:, None]


class StyleClassifier(nn.Module):
    """Music (B, T, D) normalised -> style logits (B, S), from two branches, either of which can be off.

    timbre: temporal convolutions over every column, then mean and max over time (any window length).
    They see about 2 s, less than a bar. rhythm (`acf_lags` > 0): the autocorrelation of the onset
    strength and loudness at lags up to 3.2 s, i.e. beat and bar length, tempo and meter (a waltz bar is
    3 beats). The timbre branch alone took the held-out cha-cha for a rumba and the rumba for a waltz;
    the rhythm branch alone names all 6 held-out songs right (docs/RESULTS.md), so the presets use it alone.
    """

    def __init__(self, cfg: StyleConfig):
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden
        self.conv = (
            nn.Sequential(
                nn.Conv1d(cfg.music_dim, h, 5, padding=2),
                nn.LeakyReLU(0.2),
                nn.Dropout(cfg.dropout),
                nn.Conv1d(h, h, 5, padding=4, dilation=2),
                nn.LeakyReLU(0.2),
                nn.Conv1d(h, h, 5, padding=8, dilation=4),
                nn.LeakyReLU(0.2),
            )
            if cfg.timbre
            else None  # no unused weights: DistributedDataParallel refuses them
        )
        n_acf = cfg.acf_lags * len(cfg.acf_columns)
        self.acf = nn.Sequential(nn.Linear(n_acf, h), nn.LeakyReLU(0.2)) if n_acf else None
        width = (2 * h if cfg.timbre else 0) + (h if n_acf else 0)
        self.head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(width, len(cfg.styles)))
        self.register_buffer("music_mean", torch.zeros(cfg.music_dim))
        self.register_buffer("music_std", torch.ones(cfg.music_dim))

    def norm_music(self, music: torch.Tensor) -> torch.Tensor:
        return (music - self.music_mean) / self.music_std

    def forward(self, music_n: torch.Tensor) -> torch.Tensor:
        pooled = []
        if self.cfg.timbre:
            h = self.conv(music_n.transpose(1, 2))
            pooled += [h.mean(-1), h.amax(-1)]
        if self.acf is not None:
            L = self.cfg.acf_lags
            lags = min(L, music_n.shape[1] - 1)
            # Lags a window is too short for (under acf_lags + 1 frames, as in tiny configurations) are 0.
            a = [F.pad(autocorrelation(music_n[:, :, c], lags), (0, L - lags)) for c in self.cfg.acf_columns]
            pooled.append(self.acf(torch.cat(a, -1)))
        return self.head(torch.cat(pooled, dim=-1))

    @torch.no_grad()
    def probs(self, music: torch.Tensor) -> torch.Tensor:
        """Raw (un-normalised) music (B, T, D) -> style probabilities (B, S)."""
        return torch.softmax(self(self.norm_music(music)), dim=-1)
