"""The one validation layer: each kind of input is checked once, where it enters, with a one-line error.

Kinds: output paths (`check_output`, `check_output_folder`), dances (`check_motion`), options (argparse
types `seed_arg`, `int_arg`, `float_arg`, `device_arg`), and config files and sections (`Config`, the one
config style, on `check_fields`). Songs are checked in `audio.load.load_audio(..., song_limits=True)`,
model folders in `models.dance_model.DanceModel.from_pretrained` (found by `generate.dance.load_model`). Every problem raises `Music2DanceError` via `errors.input_error`, which the
CLI prints as `error: <file or option>: <problem>` with exit code 2. The limits below are the README's.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from .errors import Music2DanceError, input_error

# ---- limits (README "Limits")
SONG_MIN_S = 3.0
SONG_MAX_S = 15 * 60.0
DANCE_MAX_S = 15 * 60.0
FPS_MIN, FPS_MAX = 1.0, 1000.0  # frame rate of a dance file
RENDER_FPS_MIN, RENDER_FPS_MAX = 1.0, 120.0  # `render --fps`
COORD_MAX_M = 1000.0  # |joint coordinate| in metres
MAX_JOINTS = 256
MAX_SEED = 2**63 - 1
MAX_FILE_BYTES = 2 * 1024**3  # dance files (and the arrays declared inside an npz)


# ------------------------------------------------------------------------------------------ output paths
def _check_folder_writable(folder: Path, culprit) -> None:
    """`folder` exists (or can be created) and a file can be written in it; else name `culprit`.

    Probed for real (permission bits say little for root, /proc or a read-only mount) with a temp file
    in the folder, or in its nearest existing parent when it is still to be created; nothing is left."""
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise input_error(culprit, f"{probe} is a file, not a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".m2d-probe.", dir=probe)
    except OSError as e:
        raise input_error(culprit, f"cannot write in {probe} ({e.strerror or e})") from None
    os.close(fd)
    os.unlink(tmp)


def check_output(out, formats, *, option: str = "-o") -> Path:
    """The output file `out`: a known format (its extension, one of `formats`) in a writable folder.

    Checked before any work, so a bad output never costs a long run. Returns it as a Path.
    """
    if out is None or not str(out).strip():
        raise input_error(option, "the output path is empty")
    path = Path(out)
    ext = path.suffix.lower()
    if ext not in formats:
        known = " ".join(formats)
        raise input_error(path, f"unknown output format {ext or '(no extension)'!r}; use one of: {known}")
    if path.is_dir():
        raise input_error(path, f"is a folder; name a file inside it, e.g. {path / ('dance' + ext)}")
    if path.exists() and not path.is_file():
        raise input_error(path, "exists and is not a regular file")
    _check_folder_writable(path.parent, path)
    return path


def check_output_folder(folder, *, option: str = "--out") -> Path:
    """An output folder (run folder, report folder): empty path, a file in the way, or unwritable."""
    if folder is None or not str(folder).strip():
        raise input_error(option, "the output folder is empty")
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise input_error(path, "is a file, not a folder")
    _check_folder_writable(path, path)
    return path


def check_input_file(path, what: str) -> Path:
    """An input file that must exist, be a regular file and not be absurdly large."""
    p = Path(path)
    if not p.exists():
        raise input_error(p, f"no such {what}")
    if p.is_dir():
        raise input_error(p, f"is a folder, not a {what}")
    if not p.is_file():  # a pipe or a device could be read forever
        raise input_error(p, f"is not a regular file (a {what} must be one)")
    if p.stat().st_size > MAX_FILE_BYTES:
        raise input_error(p, f"file is larger than {MAX_FILE_BYTES >> 30} GiB; not a {what}")
    return p


def read_json_object(path, what: str = "JSON file") -> dict:
    """A JSON file holding one object ({...}); a missing, unreadable, broken or non-object file is a
    one-line error naming it."""
    import json

    p = check_input_file(path, what)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise input_error(p, f"cannot read the {what} ({getattr(e, 'strerror', None) or e})") from None
    except json.JSONDecodeError as e:
        raise input_error(p, f"not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise input_error(p, "not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise input_error(p, f"the {what} must hold a JSON object {{...}}, not a {json_type(data)}")
    return data


# ------------------------------------------------------------------------------------------ dances
def check_tree(parents, n_joints: int) -> str | None:
    """The problem with a parent list (None when it is a valid tree / forest over `n_joints` joints)."""
    parents = list(parents)
    if len(parents) != n_joints:
        return f"'parents' has {len(parents)} entries for {n_joints} joints"
    for j, p in enumerate(parents):
        if not (p == -1 or 0 <= p < n_joints) or p == j:
            return f"'parents'[{j}] = {p} is not -1 or another joint's index (0..{n_joints - 1})"
    if -1 not in parents:
        return "'parents' has no root (-1)"
    for j in range(n_joints):
        k, seen = j, 0
        while parents[k] != -1:
            k, seen = parents[k], seen + 1
            if seen > n_joints:
                return f"'parents' has a cycle through joint {j}"
    return None


def check_motion(motion, source, *, allow_missing: bool = False):
    """A dance as read from `source`: shapes, finite values, sane frame rate and size, a valid tree.

    allow_missing: NaN positions mark joints missing from a capture (Tang, keypoints); readers that
    fill them in (the beat analysis) allow them, every writer needs complete frames. Returns `motion`.
    """
    j = motion.joints
    if j.ndim != 3 or j.shape[-1] != 3:
        raise input_error(source, f"joints must be (frames, joints, 3), got {j.shape}")
    T, J = int(j.shape[0]), int(j.shape[1])
    if T < 1:
        raise input_error(source, "the dance has no frames")
    if not 1 <= J <= MAX_JOINTS:
        raise input_error(source, f"the dance has {J} joints; expected 1 to {MAX_JOINTS}")
    fps = motion.fps
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and FPS_MIN <= fps <= FPS_MAX):
        raise input_error(source, f"frame rate {fps!r} fps is outside {FPS_MIN:g}-{FPS_MAX:g} fps")
    if T / fps > DANCE_MAX_S:
        raise input_error(source, f"the dance lasts {T / fps:.0f} s; the limit is {DANCE_MAX_S / 60:.0f} min")
    finite = np.isfinite(j)
    if np.isinf(j).any():
        raise input_error(source, "joint positions contain infinite values")
    if not finite.all():
        if not allow_missing:
            raise input_error(
                source, f"joint positions contain NaN in {int((~finite).any(axis=(1, 2)).sum())} frames"
            )
        if not finite.any():
            raise input_error(source, "every joint position is missing (NaN)")
    big = float(np.abs(j[finite]).max()) if finite.any() else 0.0
    if big >= COORD_MAX_M:
        raise input_error(
            source, f"a joint is {big:.3g} m from the origin; coordinates must stay within 1 km"
        )
    problem = check_tree(motion.parents, J)
    if problem:
        raise input_error(source, problem)
    if len(set(motion.joint_names)) != J:
        raise input_error(source, "joint names are not unique")
    return motion


# ------------------------------------------------------------------------------------------ options
def _number(text: str, kind):
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not {'an integer' if kind is int else 'a number'}"
        ) from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def int_arg(lo: int, hi: int | None = None):
    """argparse type: an integer in [lo, hi]."""

    def parse(text: str) -> int:
        value = _number(text, int)
        if value < lo or (hi is not None and value > hi):
            rng = f"at least {lo}" if hi is None else f"from {lo} to {hi}"
            raise argparse.ArgumentTypeError(f"must be an integer {rng}, got {text}")
        return value

    return parse


def float_arg(lo: float, hi: float, unit: str = ""):
    """argparse type: a finite number in [lo, hi]."""

    def parse(text: str) -> float:
        value = _number(text, float)
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be from {lo:g} to {hi:g}{unit}, got {text}")
        return value

    return parse


seed_arg = int_arg(0, MAX_SEED)

_DEVICE = re.compile(r"^(cpu|cuda(:\d{1,2})?)$")


def device_arg(text: str) -> str:
    """argparse type: cpu, cuda or cuda:N."""
    if not _DEVICE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device; use cpu, cuda or cuda:N")
    return text


def check_device(device: str, option: str = "--device") -> None:
    """A CUDA device is only usable when torch sees one (checked before any data is loaded)."""
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise input_error(option, f"{device}: no CUDA device is available (torch {torch.__version__})")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise input_error(option, f"{device}: only {torch.cuda.device_count()} CUDA device(s)")


def _type_ok(value, default) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return True


def check_fields(source, section: str, cls, values) -> dict:
    """A JSON config section `values` for the dataclass `cls`: a dict of known fields of the right types."""
    if not isinstance(values, dict):
        raise input_error(source, f"{section!r} must be a JSON object of fields, got {type(values).__name__}")
    defaults = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in values.items():
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            raise input_error(source, f"{section}: unknown field {key!r} (known: {known})")
        f = defaults[key]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        if not _type_ok(value, default):
            raise input_error(
                source,
                f"{section}.{key}: expected {type(default).__name__}, got {json_type(value)} {value!r}",
            )
    return values


def json_type(value) -> str:
    return {
        bool: "true/false",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "object",
    }.get(type(value), type(value).__name__)


# ------------------------------------------------------------------------------------------- configs
class Config:
    """The one config style: a dataclass built from a plain dict (JSON) that names a bad field and value.

    Subclass with `@dataclasses.dataclass`; fields have defaults of a JSON type (int, float, str, bool,
    tuple, list, or a nested Config). `from_dict(d, source=, section=)` checks names and types
    (`check_fields`), turns JSON lists into tuples where the default is a tuple, builds nested configs,
    then runs `check()`: a subclass returns {field: ok} for its ranges, and the first False raises
    `input_error(source, "section.field=value is out of range")`. `to_dict()` is the JSON form.
    Presets are classmethods returning an instance (`cls.paper()`), all of the same shape.
    """

    def check(self) -> dict[str, bool]:
        return {}

    def __post_init__(self) -> None:
        self._check_ranges("config", type(self).__name__)

    def _check_ranges(self, source, section: str) -> None:
        for name, ok in self.check().items():
            if not ok:
                raise input_error(source, f"{section}.{name}={getattr(self, name)!r} is out of range")

    @classmethod
    def from_dict(cls, values, *, source="config", section: str | None = None):
        section = section or cls.__name__
        values = dict(check_fields(source, section, cls, values))
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        for key, value in values.items():
            f = fields[key]
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            if isinstance(default, Config):
                values[key] = type(default).from_dict(value, source=source, section=f"{section}.{key}")
            elif isinstance(default, tuple) and isinstance(value, list):
                values[key] = tuple(value)
            elif isinstance(default, float) and isinstance(value, int):
                values[key] = float(value)
        try:
            obj = cls(**values)
        except Music2DanceError as e:  # a range check: say which file, and the field's full section
            problem = str(e).split(": ", 1)[-1]
            if problem.startswith(cls.__name__ + "."):
                problem = section + problem[len(cls.__name__) :]
            raise input_error(source, problem) from None
        return obj

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)  # type: ignore[call-overload]
