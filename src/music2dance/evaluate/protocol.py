"""The evaluation protocol: every parameter a number in the report depends on, in one typed dataclass.

Printed above every table and saved in results.json, because the field's numbers drift with fps, crop length
and normalisation; `Protocol.load` reads overrides from a JSON file and names a bad field in one line.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field

from ..errors import input_error


@dataclass
class Protocol:
    """Parameters of `music2dance evaluate` (units in the names: _s seconds, _m metres, _frames frames)."""

    # Clips: fixed-length crops like the field's 20 s; features are fitted against the train split's crops.
    fps: float = 15.0
    clip_s: float = 20.0
    clip_hop_s: float = 20.0  # non-overlapping crops
    min_clip_s: float = 10.0  # shorter tails are dropped; a whole dance shorter than this is kept as one clip
    # Kinetic features (AIST++/Bailando): sliding window of the averaged velocity/acceleration, in frames.
    kinetic_window_frames: int = 2
    bugged_acceleration: bool = False  # True reproduces the published `p[i+j] - p[i+j-1] / dt` bug
    # Geometric features: thresholds are multiples of these body sizes (metres, the field's SMPL template
    # values; our cleaned skeletons are normalised to standard bone lengths, so fixed sizes are fair).
    geo_humerus_m: float = 0.26
    geo_shoulder_width_m: float = 0.36
    geo_hip_width_m: float = 0.12
    # Beat alignment.
    bas_sigma_frames: float = 3.0  # both published variants use sigma = 3 frames
    bas_motion_beats: str = "speed_minima"  # or "kinematic" (the paper's detector)
    speed_smooth_sigma_s: float = 5.0 / 60.0  # Bailando smooths joint speed with sigma 5 frames at 60 fps
    hit_tolerance_s: float = 2.0 / 15.0  # a kinematic beat hits a music beat within +-2 frames at 15 fps
    # Physical plausibility.
    contact_height_m: float = 0.05  # a toe / 0.05 + ankle_offset an ankle counts as in contact below this
    ankle_offset_m: float = 0.06  # height of the ankle joint above the toe when the foot is flat
    # Freezing and long-range behaviour.
    energy_window_s: float = 2.0
    freeze_fraction_of_real: float = 0.25  # a window is frozen below this fraction of real median energy
    trend_window_s: float = 20.0  # energy ratio last 20 s / first 20 s
    # Unit boundaries: reference rows get a fixed grid of this many frames (32 at 15 fps, the paper's).
    unit_frames: int = 32
    # Generated dances and statistics.
    n_seeds: int = 3  # seeds per test song for multimodality
    max_seconds: float | None = None  # cap on the length of generated / evaluated whole dances
    n_bootstrap: int = 1000
    ci: float = 0.95
    max_test_songs: int | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.bas_motion_beats not in ("speed_minima", "kinematic"):
            raise ValueError(
                f"bas_motion_beats must be 'speed_minima' or 'kinematic', got {self.bas_motion_beats!r}"
            )
        for name in ("fps", "clip_s", "clip_hop_s", "energy_window_s", "trend_window_s", "bas_sigma_frames"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not 0 < self.ci < 1:
            raise ValueError(f"ci must be in (0, 1), got {self.ci!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def quick(self) -> Protocol:
        """A smaller protocol for smoke checks: fewer songs, seeds, bootstrap draws and shorter dances."""
        return dataclasses.replace(
            self,
            n_seeds=min(self.n_seeds, 2),
            n_bootstrap=min(self.n_bootstrap, 200),
            max_test_songs=min(self.max_test_songs or 3, 3),
            max_seconds=min(self.max_seconds or 45.0, 45.0),
        )

    @classmethod
    def from_dict(cls, d: dict, *, source: str = "protocol") -> Protocol:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise input_error(
                source, f"unknown protocol field {unknown[0]!r}; fields are {', '.join(sorted(names))}"
            )
        try:
            return cls(**d)
        except (TypeError, ValueError) as e:
            raise input_error(source, f"bad protocol value: {e}") from None

    @classmethod
    def load(cls, spec: Protocol | dict | str | os.PathLike | None) -> Protocol:
        """Protocol from None (defaults), a Protocol, a dict of overrides or a JSON file of overrides."""
        if spec is None:
            return cls()
        if isinstance(spec, Protocol):
            return spec
        if isinstance(spec, dict):
            return cls.from_dict(spec)
        try:
            with open(spec, encoding="utf-8") as f:
                d = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise input_error(spec, f"not a readable JSON protocol file ({e})") from None
        if not isinstance(d, dict):
            raise input_error(spec, "a protocol file must hold a JSON object of field: value")
        return cls.from_dict(d, source=str(spec))

    def describe(self) -> str:
        """Markdown lines for the report header."""
        acc = "BUGGED (published)" if self.bugged_acceleration else "correct"
        length = "whole song" if self.max_seconds is None else f"{self.max_seconds:g} s"
        lines = [
            f"- frame rate {self.fps:g} fps; clips of {self.clip_s:g} s (hop {self.clip_hop_s:g} s, "
            f"tails under {self.min_clip_s:g} s dropped); features standardised by the train split's clips.",
            "- kinetic features: 3 per joint (horizontal/vertical kinetic energy, mean acceleration), "
            f"window +-{self.kinetic_window_frames} frames, acceleration {acc}.",
            f"- geometric features: 32 boolean relations; body sizes humerus {self.geo_humerus_m} m, "
            f"shoulders {self.geo_shoulder_width_m} m, hips {self.geo_hip_width_m} m.",
            f"- BAS: sigma {self.bas_sigma_frames:g} frames at {self.fps:g} fps; motion beats = "
            f"{self.bas_motion_beats} (joint speed smoothed, Gaussian sigma "
            f"{self.speed_smooth_sigma_s:.3f} s); both variants shown.",
            f"- beat hit rate tolerance +-{self.hit_tolerance_s:.3f} s; contact below "
            f"{self.contact_height_m} m (toes) / {self.contact_height_m + self.ankle_offset_m:g} m (ankles) "
            "above the clip's floor.",
            f"- freezing: {self.energy_window_s:g} s windows, frozen below "
            f"{self.freeze_fraction_of_real:g} x the real median energy; trend = last/first "
            f"{self.trend_window_s:g} s; unit grid "
            f"{self.unit_frames} frames for reference rows.",
            f"- {self.n_seeds} seeds per song; bootstrap {self.n_bootstrap} resamples of clips/dances, "
            f"{100 * self.ci:g} % percentile intervals; max dance length {length}.",
        ]
        return "\n".join(lines + [f"- note: {n}" for n in self.notes])
