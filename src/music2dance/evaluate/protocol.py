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
from .features import canonical_body_sizes, smpl_body_sizes


@dataclass
class Protocol:
    """Parameters of `music2dance evaluate` (units in the names: _s seconds, _m metres, _frames frames)."""

    name: str = "tang"  # the preset these values started from (see PRESETS); printed with the table
    # Clips: fixed-length crops. 5 s clips every 2.5 s (EDGE scores 5 s clips) give ~150 test clips where
    # 20 s crops gave 19; see docs/METRICS.md for the measurement. Overlapping clips are dependent, which
    # is why every interval resamples whole dances.
    fps: float = 15.0
    clip_s: float = 5.0
    clip_hop_s: float = 2.5
    min_clip_s: float = 2.5  # shorter tails are dropped; a whole dance shorter than this is kept as one clip
    max_seconds: float | None = None  # keep only the first max_seconds of each test dance (AIST++: 20 s)
    # Kinetic features (AIST++/Bailando): sliding window of the averaged velocity/acceleration, in frames.
    kinetic_window_frames: int = 2
    bugged_acceleration: bool = False  # True reproduces the published `p[i+j] - p[i+j-1] / dt` bug
    # Geometric features. Body sizes the thresholds are multiples of: "canonical" measures them on our
    # canonical skeleton (the bone lengths the data is normalised to), "smpl" uses the published code's
    # SMPL-template values; geo_*_m override single sizes (metres).
    geo_body_sizes: str = "canonical"
    geo_humerus_m: float | None = None
    geo_shoulder_width_m: float | None = None
    geo_hip_width_m: float | None = None
    geo_published_hand_up: bool = False  # True: rows 5-6 as published (they ignore the wrist)
    geo_fixed_frame_time: bool = False  # True: velocities over the published fixed 1/120 s frame time
    # Floors of the reference std that standardised features are divided by (FID, KID, Div): a relation
    # that (almost) never fires in the reference would otherwise dominate FID_g and KID_g.
    min_std_kinetic: float = 1e-6
    min_std_geometric: float = 0.05
    # Beat alignment (the field's way): at bas_fps (the dances are upsampled by a cubic spline when the
    # evaluation rate is lower), sigma in frames at bas_fps; chance = music beats shifted at random.
    bas_fps: float = 60.0
    bas_sigma_frames: float = 3.0  # both published variants use sigma = 3 frames
    fact_order_frames: int = 10  # FACT: strict minima of summed joint speed over +-10 frames (60 fps)
    speed_smooth_sigma_s: float = 5.0 / 60.0  # Bailando smooths joint speed with sigma 5 frames at 60 fps
    n_beat_shifts: int = 50  # random shifts per dance for the chance levels
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
    n_bootstrap: int = 1000  # resamples of per-dance means
    n_subsamples: int = 200  # half-samples of dances for the FID / KID / Div intervals
    n_floor: int = 50  # draws of the noise floor
    fid_inf_sizes: int = 5  # set sizes n of the FID_inf fit (n/2 .. n)
    c2st_folds: int = 5
    c2st_repeats: int = 3
    c2st_floor_draws: int = 10
    ci: float = 0.95
    max_test_songs: int | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.geo_body_sizes not in BODY_SIZES:
            raise ValueError(
                f"geo_body_sizes must be one of {sorted(BODY_SIZES)}, got {self.geo_body_sizes!r}"
            )
        for name in (
            "fps",
            "clip_s",
            "clip_hop_s",
            "energy_window_s",
            "trend_window_s",
            "bas_sigma_frames",
            "bas_fps",
        ):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not 0 < self.ci < 1:
            raise ValueError(f"ci must be in (0, 1), got {self.ci!r}")
        if self.c2st_folds < 2:
            raise ValueError(f"c2st_folds must be >= 2, got {self.c2st_folds!r}")

    def body_sizes(self) -> dict[str, float]:
        """Body sizes (metres) of the geometric thresholds: humerus, shoulder width, hip width."""
        out = dict(BODY_SIZES[self.geo_body_sizes]())
        for key, over in (
            ("humerus_m", self.geo_humerus_m),
            ("shoulder_width_m", self.geo_shoulder_width_m),
            ("hip_width_m", self.geo_hip_width_m),
        ):
            if over is not None:
                out[key] = float(over)
        return out

    def published_features(self) -> Protocol:
        """The same protocol with every published feature variant on (for comparing with published tables)."""
        return dataclasses.replace(
            self,
            bugged_acceleration=True,
            geo_body_sizes="smpl",
            geo_published_hand_up=True,
            geo_fixed_frame_time=True,
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def quick(self) -> Protocol:
        """A smaller protocol for smoke checks: fewer songs, seeds, resamples and shorter dances."""
        return dataclasses.replace(
            self,
            n_seeds=min(self.n_seeds, 2),
            n_bootstrap=min(self.n_bootstrap, 200),
            n_subsamples=min(self.n_subsamples, 50),
            n_floor=min(self.n_floor, 10),
            c2st_repeats=1,
            c2st_floor_draws=min(self.c2st_floor_draws, 3),
            max_test_songs=min(self.max_test_songs or 3, 3),
            max_seconds=min(self.max_seconds or 45.0, 45.0),
        )

    @classmethod
    def from_dict(cls, d: dict, *, source: str = "protocol") -> Protocol:
        """A preset (d["name"], default tang) with d's other fields as overrides."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise input_error(
                source, f"unknown protocol field {unknown[0]!r}; fields are {', '.join(sorted(names))}"
            )
        preset = d.get("name", "tang")
        if preset not in PRESETS:
            raise input_error(source, f"unknown protocol {preset!r}; presets are {', '.join(PRESETS)}")
        try:
            return cls(**{**PRESETS[preset], **d})
        except (TypeError, ValueError) as e:
            raise input_error(source, f"bad protocol value: {e}") from None

    @classmethod
    def load(
        cls, spec: Protocol | dict | str | os.PathLike | None, *, dataset: str | None = None
    ) -> Protocol:
        """Protocol from a Protocol, a dict of overrides, a preset name (tang, aistpp, finedance) or a JSON
        file of overrides (which may name its preset in "name"). None: the preset of `dataset` (the
        prepared manifest's "dataset" field), tang when that is absent or unknown."""
        if spec is None:
            return cls.from_dict({"name": dataset if dataset in PRESETS else "tang"})
        if isinstance(spec, Protocol):
            return spec
        if isinstance(spec, dict):
            return cls.from_dict(spec)
        if str(spec) in PRESETS:
            return cls.from_dict({"name": str(spec)})
        try:
            with open(spec, encoding="utf-8") as f:
                d = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise input_error(
                spec, f"not a protocol name ({', '.join(PRESETS)}) nor a readable JSON file ({e})"
            ) from None
        if not isinstance(d, dict):
            raise input_error(spec, "a protocol file must hold a JSON object of field: value")
        return cls.from_dict(d, source=str(spec))

    def describe(self) -> str:
        """Markdown lines for the report header."""
        acc = "BUGGED (published)" if self.bugged_acceleration else "correct"
        length = "whole dance" if self.max_seconds is None else f"first {self.max_seconds:g} s"
        b = self.body_sizes()
        geo = [
            f"body sizes ({self.geo_body_sizes}) humerus {b['humerus_m']:.3f} m, shoulders "
            f"{b['shoulder_width_m']:.3f} m, hips {b['hip_width_m']:.3f} m"
        ]
        geo.append(
            "rows 5-6 as published (wrist ignored)" if self.geo_published_hand_up else "rows 5-6 wrist"
        )
        geo.append("frame time fixed 1/120 s (published)" if self.geo_fixed_frame_time else "true frame time")
        up = (
            "" if self.fps >= self.bas_fps else f" (dances upsampled from {self.fps:g} fps by a cubic spline)"
        )
        lines = [
            f"- protocol **{self.name}** ({PRESET_NOTES.get(self.name, 'custom')}).",
            f"- frame rate {self.fps:g} fps; test dances: {length}; clips of {self.clip_s:g} s (hop "
            f"{self.clip_hop_s:g} s, tails under {self.min_clip_s:g} s dropped); FID, KID, C2ST against "
            "the train split's clips, features standardised by it (std floored at "
            f"{self.min_std_kinetic:g} kinetic, {self.min_std_geometric:g} geometric).",
            "- kinetic features: 3 per joint (horizontal/vertical kinetic energy, mean acceleration), "
            f"window +-{self.kinetic_window_frames} frames, acceleration {acc}.",
            f"- geometric features: 32 boolean relations; {'; '.join(geo)}.",
            f"- BAS at {self.bas_fps:g} fps{up}, sigma {self.bas_sigma_frames:g} frames; AIST++ variant with "
            f"FACT's motion beats (minima of summed joint speed over +-{self.fact_order_frames} frames), "
            "Bailando variant with Bailando's (mean joint speed smoothed, Gaussian sigma "
            f"{self.speed_smooth_sigma_s * self.bas_fps:g} frames); chance = the same score with the music "
            f"beats circularly shifted at random ({self.n_beat_shifts} shifts per dance).",
            f"- beat hit rate tolerance +-{self.hit_tolerance_s:.3f} s; contact below "
            f"{self.contact_height_m} m (toes) / {self.contact_height_m + self.ankle_offset_m:g} m (ankles) "
            "above the clip's floor.",
            f"- freezing: {self.energy_window_s:g} s windows, frozen below "
            f"{self.freeze_fraction_of_real:g} x the real median energy; trend = last/first "
            f"{self.trend_window_s:g} s; unit grid {self.unit_frames} frames for reference rows.",
            f"- intervals ({100 * self.ci:g} %): FID, KID and Div from {self.n_subsamples} half-samples of "
            "the row's dances and the train dances (without replacement), centred on the point; per-dance "
            f"figures from {self.n_bootstrap} bootstrap resamples of dances; noise floor from "
            f"{self.n_floor} draws of the same number of train clips (whole dances, the rows' mix of styles); "
            f"C2ST {self.c2st_folds}-fold, folds grouped by dance, {self.c2st_repeats} repeats, floor from "
            f"{self.c2st_floor_draws} splits of the train dances (dances of the rows' styles playing the row); "
            f"{self.n_seeds} seeds per song.",
        ]
        return "\n".join(lines + [f"- note: {n}" for n in self.notes])


BODY_SIZES = {"canonical": canonical_body_sizes, "smpl": smpl_body_sizes}

# The field's settings per data set; fields not named keep the dataclass defaults.
PRESETS: dict[str, dict] = {
    "tang": {"name": "tang"},
    # Bailando / FACT on AIST++: 60 fps, the first 20 s of each test dance as one clip, FID against the
    # training set, BAS at 60 fps.
    "aistpp": {
        "name": "aistpp",
        "fps": 60.0,
        "max_seconds": 20.0,
        "clip_s": 20.0,
        "clip_hop_s": 20.0,
        "min_clip_s": 10.0,
        "bas_fps": 60.0,
        "hit_tolerance_s": 2.0 / 15.0,
        "unit_frames": 128,
    },
    # Lodge / FineDance: 30 fps, the first 1024 frames as one clip, BAS at 30 fps (FACT's order scaled).
    "finedance": {
        "name": "finedance",
        "fps": 30.0,
        "max_seconds": 1024 / 30.0,
        "clip_s": 1024 / 30.0,
        "clip_hop_s": 1024 / 30.0,
        "min_clip_s": 10.0,
        "bas_fps": 30.0,
        "fact_order_frames": 5,
        "unit_frames": 64,
    },
}
PRESET_NOTES = {
    "tang": "ours for the Tang 2018 data: 5 s clips every 2.5 s of the whole test dances",
    "aistpp": "the field's AIST++ settings: 60 fps, first 20 s of each test dance, FID against the train set",
    "finedance": "the field's FineDance settings: 30 fps, first 1024 frames of each test dance",
}
