"""The evaluation protocol: every parameter a number in the report depends on, in one typed dataclass.

Printed above every table and saved in results.json, because the field's numbers drift with fps, crop length
and normalisation. A `validate.Config`: presets `Protocol.tang()`, `.aistpp()`, `.finedance()`; `Protocol.load`
takes a preset name, a dict or a JSON file of overrides and names a bad field and value in one line.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..defaults import MODEL_FPS, UNIT_FRAMES
from ..errors import input_error
from ..validate import Config, read_json_object
from .features import canonical_body_sizes, smpl_body_sizes


@dataclass
class Protocol(Config):
    """Parameters of `music2dance evaluate` (units in the names: _s seconds, _m metres, _frames frames)."""

    name: str = "tang"  # the preset these values started from (see PRESETS); printed with the table
    # Clips: fixed-length crops. 5 s clips every 2.5 s (EDGE scores 5 s clips) give ~150 test clips where
    # 20 s crops gave 19; see docs/METRICS.md for the measurement. Overlapping clips are dependent, which
    # is why every interval resamples whole dances.
    fps: float = MODEL_FPS
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
    hit_tolerance_s: float = 2.0 / MODEL_FPS  # a kinematic beat hits a music beat within +-2 frames at 15 fps
    # Physical plausibility.
    contact_height_m: float = 0.05  # a toe / 0.05 + ankle_offset an ankle counts as in contact below this
    ankle_offset_m: float = 0.06  # height of the ankle joint above the toe when the foot is flat
    # Freezing and long-range behaviour.
    energy_window_s: float = 2.0
    freeze_fraction_of_real: float = 0.25  # a window is frozen below this fraction of real median energy
    trend_window_s: float = 20.0  # energy ratio last 20 s / first 20 s
    # Unit boundaries: reference rows get a fixed grid of this many frames (32 at 15 fps, the paper's).
    unit_frames: int = UNIT_FRAMES
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

    def check(self) -> dict[str, bool]:
        """Ranges of the fields (see `validate.Config`)."""
        rates = ("fps", "bas_fps", "bas_sigma_frames")
        lengths = ("clip_s", "clip_hop_s", "energy_window_s", "trend_window_s")
        optional = ("max_seconds", "geo_humerus_m", "geo_shoulder_width_m", "geo_hip_width_m")
        out = {k: getattr(self, k) > 0 for k in rates + lengths}
        # fields that may be None take any JSON type in `from_dict`; their type is checked here
        out.update({k: getattr(self, k) is None or _number(getattr(self, k)) > 0 for k in optional})
        out["max_test_songs"] = self.max_test_songs is None or (
            _number(self.max_test_songs) >= 1 and float(self.max_test_songs).is_integer()
        )
        out["geo_body_sizes"] = self.geo_body_sizes in BODY_SIZES
        out["ci"] = 0 < self.ci < 1
        out["c2st_folds"] = self.c2st_folds >= 2
        return out

    @classmethod
    def tang(cls, **kw) -> Protocol:
        """Ours for the Tang 2018 data: 5 s clips every 2.5 s of the whole test dances (the defaults)."""
        return cls(**{"name": "tang", **kw})

    @classmethod
    def aistpp(cls, **kw) -> Protocol:
        """Bailando / FACT on AIST++: 60 fps, the first 20 s of each test dance as one clip, FID against
        the training set, BAS at 60 fps."""
        clip = {"max_seconds": 20.0, "clip_s": 20.0, "clip_hop_s": 20.0, "min_clip_s": 10.0}
        return cls(**{"name": "aistpp", "fps": 60.0, **clip, "bas_fps": 60.0, "unit_frames": 128, **kw})

    @classmethod
    def finedance(cls, **kw) -> Protocol:
        """Lodge / FineDance: 30 fps, the first 1024 frames as one clip, BAS at 30 fps (FACT's order
        scaled)."""
        n = 1024 / 30.0
        clip = {"max_seconds": n, "clip_s": n, "clip_hop_s": n, "min_clip_s": 10.0}
        beats = {"bas_fps": 30.0, "fact_order_frames": 5}
        return cls(**{"name": "finedance", "fps": 30.0, **clip, **beats, "unit_frames": 64, **kw})

    @classmethod
    def preset(cls, name: str, **kw) -> Protocol:
        """The preset called name (one of PRESETS), with fields kw changed."""
        return getattr(cls, name)(**kw)

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
    def from_dict(cls, values, *, source="protocol", section: str | None = "protocol") -> Protocol:
        """The preset values["name"] (default tang) with values' other fields as overrides; a bad field,
        type or value is a one-line error naming source, the field and the value."""
        name = values.get("name", "tang") if isinstance(values, dict) else "tang"
        if not isinstance(name, str) or name not in PRESETS:
            raise input_error(source, f"unknown protocol {name!r}; presets are {', '.join(PRESETS)}")
        base = cls.preset(name).to_dict()
        return super().from_dict({**base, **values}, source=source, section=section)

    @classmethod
    def load(
        cls, spec: Protocol | dict | str | os.PathLike | None, *, dataset: str | None = None
    ) -> Protocol:
        """Protocol from a Protocol, a dict of overrides, a preset name (tang, aistpp, finedance) or a JSON
        file of overrides (which may name its preset in "name"). None: the preset of `dataset` (the
        prepared manifest's "dataset" field), tang when that is absent or unknown."""
        if spec is None:
            return cls.preset(dataset if dataset in PRESETS else "tang")
        if isinstance(spec, Protocol):
            return spec
        if isinstance(spec, dict):
            return cls.from_dict(spec)
        if str(spec) in PRESETS:
            return cls.preset(str(spec))
        if not Path(spec).is_file():
            raise input_error(spec, f"not a protocol name ({', '.join(PRESETS)}) nor a JSON file")
        return cls.from_dict(read_json_object(spec, "protocol file"), source=str(spec))

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

# The field's settings per data set: classmethods of Protocol of one shape, (**changes) -> Protocol.
PRESETS = ("tang", "aistpp", "finedance")
PRESET_NOTES = {
    "tang": "ours for the Tang 2018 data: 5 s clips every 2.5 s of the whole test dances",
    "aistpp": "the field's AIST++ settings: 60 fps, first 20 s of each test dance, FID against the train set",
    "finedance": "the field's FineDance settings: 30 fps, first 1024 frames of each test dance",
}


def _number(x) -> float:
    """x as a float when it is a JSON number (not a bool), else nan (which fails every range check)."""
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else math.nan
