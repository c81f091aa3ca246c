"""The music style classifier (the original's was never released): dance style from a window of music.

Its class probabilities are the style feature `s` that drives the MM-GAN's E_std (eq. 4) and E_sty (eq. 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
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

    @classmethod
    def cpu(cls, **kw) -> StyleConfig:
        """The default: trains on this project's 2-core CPU (MODEL.md)."""
        return cls(**kw)

    @classmethod
    def paper(cls, **kw) -> StyleConfig:
        return cls(**kw)

    @classmethod
    def tiny(cls, **kw) -> StyleConfig:
        return cls(**kw)

    def check(self) -> dict[str, bool]:
        return {
            "music_dim": self.music_dim >= 1,
            "styles": len(self.styles) >= 1,
            "window_frames": self.window_frames >= 1,
            "hidden": self.hidden >= 1,
            "dropout": 0.0 <= self.dropout < 1.0,
        }


class StyleClassifier(nn.Module):
    """Music (B, T, D) normalised -> style logits (B, S); temporal convs, then mean and max over time.

    Pooling over time makes it work on any window length, so a whole song can be classified at once.
    """

    def __init__(self, cfg: StyleConfig):
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden
        self.conv = nn.Sequential(
            nn.Conv1d(cfg.music_dim, h, 5, padding=2),
            nn.LeakyReLU(0.2),
            nn.Dropout(cfg.dropout),
            nn.Conv1d(h, h, 5, padding=4, dilation=2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(h, h, 5, padding=8, dilation=4),
            nn.LeakyReLU(0.2),
        )
        self.head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(2 * h, len(cfg.styles)))
        self.register_buffer("music_mean", torch.zeros(cfg.music_dim))
        self.register_buffer("music_std", torch.ones(cfg.music_dim))

    def norm_music(self, music: torch.Tensor) -> torch.Tensor:
        return (music - self.music_mean) / self.music_std

    def forward(self, music_n: torch.Tensor) -> torch.Tensor:
        h = self.conv(music_n.transpose(1, 2))
        return self.head(torch.cat([h.mean(-1), h.amax(-1)], dim=-1))

    @torch.no_grad()
    def probs(self, music: torch.Tensor) -> torch.Tensor:
        """Raw (un-normalised) music (B, T, D) -> style probabilities (B, S)."""
        return torch.softmax(self(self.norm_music(music)), dim=-1)
