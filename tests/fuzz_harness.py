"""Bad inputs of every kind for the commands, and the promise each must keep (README: "bad input gets a
one-line error and exit code 2").

Used by tests/test_fuzz_inputs.py (pytest + Hypothesis) and benchmarks/fuzz_totals.py (the totals).
A `Case` is one command line with one bad input; `run_case` runs it in-process through
`music2dance.cli.main` and returns an `Outcome` that says whether it kept the promise:
exit code 2, no traceback, exactly one `error: ...` line naming the culprit, no new file in the output
folder, and a bounded run time. Inputs come from two sources: hand-made cases for every defect of issue 13
(`handmade_cases`) and Hypothesis strategies that generate bad inputs of each kind (`STRATEGIES`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import shutil
import struct
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

BOUND_S = 20.0  # a rejected input must be rejected within this many seconds (most take well under 1 s)
SR = 22050


# ------------------------------------------------------------------------------------------ outcome
@dataclass
class Case:
    kind: str  # song, dance, model, output, option, config
    name: str
    argv: list[str]
    culprit: str  # the error line must contain this (a path or an option name)
    watch: list[Path] = field(default_factory=list)  # folders that must not gain files


@dataclass
class Outcome:
    case: Case
    rc: int | None
    err: str
    seconds: float
    traceback: bool = False
    unclear: bool = False
    left: list[str] = field(default_factory=list)
    unbounded: bool = False
    accepted: bool = False

    @property
    def ok(self) -> bool:
        return not (self.traceback or self.unclear or self.left or self.unbounded or self.accepted)

    def explain(self) -> str:
        bad = [k for k in ("traceback", "unclear", "unbounded", "accepted") if getattr(self, k)]
        if self.left:
            bad.append(f"left {self.left}")
        return (
            f"{self.case.kind}/{self.case.name}: {', '.join(bad)}; rc={self.rc}; stderr={self.err[-800:]!r}"
        )


def _files(folders: list[Path]) -> set[str]:
    found = set()
    for f in folders:
        if f.is_dir():
            found.update(str(p) for p in f.rglob("*"))
    return found


def run_case(case: Case) -> Outcome:
    """Run one case in-process and judge it."""
    from music2dance.cli import main

    before = _files(case.watch)
    err, out = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    rc: int | None
    escaped = ""
    stopped = False
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out), _alarm(BOUND_S):
        try:
            rc = main(list(case.argv))
        except SystemExit as e:  # argparse
            rc = e.code if isinstance(e.code, int) else 2
        except _Unbounded:
            rc, stopped = None, True
        except BaseException:  # an exception escaping main() is a traceback for the user
            rc = None
            escaped = traceback.format_exc()
    seconds = time.perf_counter() - t0
    text = err.getvalue() + escaped
    lines = [ln for ln in text.splitlines() if ln.strip()]
    o = Outcome(case, rc, text, seconds)
    o.traceback = bool(escaped) or "Traceback" in text or "internal error" in text
    o.accepted = rc == 0
    o.unclear = (
        not o.traceback
        and not o.accepted
        and not (rc == 2 and len(lines) == 1 and lines[0].startswith("error: ") and case.culprit in lines[0])
    )
    o.left = sorted(_files(case.watch) - before)
    o.unbounded = stopped or seconds > BOUND_S
    if stopped:
        o.traceback = o.unclear = o.accepted = False
    return o


class _Unbounded(BaseException):
    pass


@contextlib.contextmanager
def _alarm(seconds: float):
    """Stop a case that runs past `seconds` (counted as unbounded), so one bad case cannot hang the suite."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise _Unbounded

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class Totals:
    tried: int = 0
    tracebacks: int = 0
    unclear: int = 0
    files_left: int = 0
    unbounded: int = 0
    accepted: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, o: Outcome) -> None:
        self.tried += 1
        self.tracebacks += o.traceback
        self.unclear += o.unclear
        self.files_left += bool(o.left)
        self.unbounded += o.unbounded
        self.accepted += o.accepted
        if not o.ok:
            self.failures.append(o.explain())

    def line(self) -> str:
        return (
            f"inputs tried {self.tried}, tracebacks {self.tracebacks}, unclear messages {self.unclear}, "
            f"files left behind {self.files_left}, unbounded runs {self.unbounded}, "
            f"invalid inputs accepted {self.accepted}"
        )


# ------------------------------------------------------------------------------------------ workspace
class Workspace:
    """Good inputs (a 4 s song, a dance npz, a copy of the bundled model) and an output folder."""

    def __init__(self, root: Path) -> None:
        import soundfile as sf

        from music2dance.io.dance_npz import save_dance_npz
        from music2dance.motion.demo import demo_motion

        self.root = Path(root)
        self.out = self.root / "out"
        self.out.mkdir(parents=True, exist_ok=True)
        self.inputs = self.root / "inputs"
        self.inputs.mkdir(exist_ok=True)
        y = np.zeros(4 * SR, np.float32)
        for t in np.arange(0.25, 4.0, 0.5):
            i = int(t * SR)
            y[i : i + 400] = 0.5 * np.hanning(400)
        self.song = self.inputs / "song.wav"
        sf.write(self.song, y, SR)
        self.song_bytes = self.song.read_bytes()
        self.motion = demo_motion(seconds=3.0, fps=15.0)
        self.dance = self.inputs / "dance.npz"
        save_dance_npz(self.dance, self.motion, model="demo", seed=1)
        self._model: Path | None = None
        self._n = 0

    def fresh(self, name: str) -> Path:
        """A new path under inputs/ (each case gets its own files)."""
        self._n += 1
        d = self.inputs / f"c{self._n}"
        d.mkdir()
        return d / name

    @property
    def model(self) -> Path:
        if self._model is None:
            from music2dance.generate.dance import default_model_path

            self._model = self.inputs / "model"
            shutil.copytree(default_model_path(), self._model)
        return self._model

    def model_copy(self) -> Path:
        dst = self.fresh("model")
        shutil.copytree(self.model, dst)
        return dst

    def dance_arrays(self) -> dict[str, np.ndarray]:
        with np.load(self.dance, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}


def _o(ws: Workspace, name: str) -> str:
    return str(ws.out / name)


# ------------------------------------------------------------------------------------------ builders
def song_case(ws: Workspace, data: bytes, ext: str, command: str, name: str = "") -> Case:
    path = ws.fresh(f"song{ext}")
    path.write_bytes(data)
    argv = {
        "generate": ["generate", str(path), "-o", _o(ws, "d.npz"), "-q"],
        "render": ["render", str(ws.dance), str(path), "-o", _o(ws, "d.html"), "-q"],
        "beats": ["beats", str(path), "-o", _o(ws, "b.png"), "-q"],
    }[command]
    return Case("song", name or f"{command}{ext}", argv, str(path), [ws.out, path.parent])


def dance_npz_case(ws: Workspace, arrays: dict | bytes, command: str, name: str = "") -> Case:
    path = ws.fresh("dance.npz")
    if isinstance(arrays, bytes):
        path.write_bytes(arrays)
    else:
        np.savez(path, **arrays)
    return _dance_argv(ws, path, command, name or f"{command}-npz")


def dance_text_case(ws: Workspace, text: str, ext: str, command: str, name: str = "") -> Case:
    path = ws.fresh(f"dance{ext}")
    path.write_text(text)
    return _dance_argv(ws, path, command, name or f"{command}{ext}")


def _dance_argv(ws: Workspace, path: Path, command: str, name: str) -> Case:
    argv = {
        "render": ["render", str(path), "-o", _o(ws, "d.json"), "-q"],
        "render-mp4": ["render", str(path), "-o", _o(ws, "d.mp4"), "-q"],
        "beats": ["beats", str(ws.song), "--dance", str(path), "-o", _o(ws, "b.png"), "-q"],
    }[command]
    return Case("dance", name, argv, str(path), [ws.out, path.parent])


def model_case(ws: Workspace, damage, name: str) -> Case:
    """`damage(folder) -> culprit path` damages a copy of the bundled model."""
    folder = ws.model_copy()
    culprit = damage(folder)
    argv = ["generate", str(ws.song), "-o", _o(ws, "d.npz"), "--model", str(folder), "-q"]
    return Case("model", name, argv, str(culprit), [ws.out, folder])


def output_case(ws: Workspace, out: str, command: str, culprit: str | None = None, name: str = "") -> Case:
    argv = {
        "generate": ["generate", str(ws.song), "-o", out, "-q"],
        "render": ["render", str(ws.dance), "-o", out, "-q"],
        "beats": ["beats", str(ws.song), "-o", out, "-q"],
    }[command]
    return Case("output", name or f"{command}:{out}", argv, culprit if culprit is not None else out, [ws.out])


def option_case(ws: Workspace, command: str, option: str, value: str) -> Case:
    base = {
        "generate": ["generate", str(ws.song), "-o", _o(ws, "d.npz"), "-q"],
        "render": ["render", str(ws.dance), "-o", _o(ws, "d.mp4"), "-q"],
        "beats": ["beats", str(ws.song), "--dance", str(ws.dance), "-o", _o(ws, "b.png"), "-q"],
        "train": ["train", "style", "--out", _o(ws, "run"), "-q"],
    }[command]
    return Case("option", f"{command} {option} {value!r}", [*base, option, value], option, [ws.out])


def config_case(ws: Workspace, text: str, name: str) -> Case:
    path = ws.fresh("config.json")
    path.write_text(text)
    argv = ["train", "style", "--out", _o(ws, "run"), "--config", str(path), "--steps", "1", "-q"]
    return Case("config", name, argv, str(path), [ws.out])


# ------------------------------------------------------------------------------------------ damage
def _truncate(rel: str, keep: float):
    def damage(folder: Path) -> Path:
        p = folder / rel
        data = p.read_bytes()
        p.write_bytes(data[: min(int(len(data) * keep), len(data) - 2)])
        return p

    return damage


def _overwrite(rel: str, data: bytes):
    def damage(folder: Path) -> Path:
        p = folder / rel
        p.write_bytes(data)
        return p

    return damage


def _flip_header(rel: str, offset: int, byte: int):
    def damage(folder: Path) -> Path:
        p = folder / rel
        data = bytearray(p.read_bytes())
        n = struct.unpack("<Q", bytes(data[:8]))[0]
        data[8 + offset % max(n, 1)] = byte
        p.write_bytes(bytes(data))
        return p

    return damage


def _edit_config(folder: Path, edit) -> Path:
    p = folder / "config.json"
    cfg = json.loads(p.read_text())
    edit(cfg)
    p.write_text(json.dumps(cfg))
    return p


def _mixed_stage(folder: Path) -> Path:
    """A DU-VAE of another size (z_mov 32, weights to match) next to the bundled MM-GAN."""
    from safetensors.torch import load_file, save_file

    from music2dance.models.du_vae import DUVAE, DUVAEConfig

    def edit(cfg):
        cfg["du_vae"]["z_mov"] = 32

    _edit_config(folder, edit)
    p = folder / "model.safetensors"
    cfg = json.loads((folder / "config.json").read_text())["du_vae"]
    tensors = {k: v for k, v in load_file(str(p)).items() if not k.startswith("du_vae.")}
    tensors.update({f"du_vae.{k}": v.contiguous() for k, v in DUVAE(DUVAEConfig(**cfg)).state_dict().items()})
    save_file(tensors, str(p))
    return folder / "config.json"


def _nan_weights(folder: Path) -> Path:
    """A readable model.safetensors whose MM-GAN weights are NaN."""
    from safetensors.torch import load_file, save_file

    p = folder / "model.safetensors"
    tensors = {
        k: v * float("nan") if v.is_floating_point() and k.startswith("mm_gan.") else v
        for k, v in load_file(str(p)).items()
    }
    save_file(tensors, str(p))
    return folder


def _weights_of_other_shape(folder: Path) -> Path:
    """config.json says the style classifier's hidden size is 32, the weights are the bundled (64)."""

    def edit(cfg):
        cfg["style"]["hidden"] = 32

    _edit_config(folder, edit)
    return folder / "model.safetensors"


def _unknown_feature(folder: Path) -> Path:
    """The model says it hears a music feature this version does not compute."""

    def edit(cfg):
        cfg["music_features"][0] = "spectral_flux_9000"

    return _edit_config(folder, edit)


# ------------------------------------------------------------------------------------------ hand-made
def _npz_bytes(ws: Workspace) -> bytes:
    return ws.dance.read_bytes()


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _with(ws: Workspace, **changes) -> dict:
    arrays = ws.dance_arrays()
    for k, v in changes.items():
        if v is None:
            arrays.pop(k, None)
        else:
            arrays[k] = v
    return arrays


BVH_OK = """HIERARCHY
ROOT hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 10 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
"""


def handmade_cases(ws: Workspace) -> list[Case]:
    """One or more cases for every defect of issue 13 (numbers in the names)."""
    import soundfile as sf

    c: list[Case] = []
    j = ws.motion.joints
    # 1. output paths
    blocker = ws.fresh("a-file")
    blocker.write_text("x")
    existing = ws.fresh("folder.npz")
    existing.mkdir()
    for cmd in ("generate", "render", "beats"):
        ext = ".png" if cmd == "beats" else ".npz"
        c.append(output_case(ws, f"/proc/x{ext}", cmd, name=f"1 {cmd} /proc"))
        c.append(output_case(ws, f"/sys/nope/x{ext}", cmd, name=f"1 {cmd} /sys"))
        c.append(output_case(ws, str(blocker / f"x{ext}"), cmd, name=f"1 {cmd} file as parent"))
        c.append(output_case(ws, "", cmd, culprit="-o", name=f"1 {cmd} empty -o"))
        c.append(output_case(ws, _o(ws, "x.avi"), cmd, name=f"1 {cmd} unknown extension"))
        c.append(output_case(ws, _o(ws, "noext"), cmd, name=f"1 {cmd} no extension"))
    c.append(output_case(ws, _o(ws, "x" * 300 + ".npz"), "generate", name="1 generate file name too long"))
    c.append(output_case(ws, _o(ws, "x" * 300 + ".png"), "beats", name="1 beats file name too long"))
    c.append(output_case(ws, str(existing), "generate", name="1 generate existing folder as -o"))
    c.append(output_case(ws, str(existing), "render", name="1 render existing folder as -o"))
    # ... and the folders of train, prepare and evaluate
    for out, culprit in [("/proc/run", "/proc/run"), (str(blocker), str(blocker)), ("", "--out")]:
        argv = ["train", "style", "--out", out, "-q"]
        c.append(Case("output", f"1 train --out {out!r}", argv, culprit, [ws.out]))
    for out, culprit in [("/proc/prep", "/proc/prep"), (str(blocker), str(blocker))]:
        argv = ["prepare", str(ws.inputs), "-o", out, "-q"]
        c.append(Case("output", f"1 prepare -o {out!r}", argv, culprit, [ws.out]))
        argv = ["evaluate", "--model", "none", "-o", out, "-q"]
        c.append(Case("output", f"1 evaluate -o {out!r}", argv, culprit, [ws.out]))
    c.append(
        Case(
            "option",
            "prepare --workers -1",
            ["prepare", str(ws.inputs), "-o", _o(ws, "p"), "--workers", "-1", "-q"],
            "--workers",
            [ws.out],
        )
    )
    c.append(
        Case(
            "option",
            "train --data missing",
            ["train", "style", "--out", _o(ws, "run"), "--data", "/nonexistent", "-q"],
            "/nonexistent",
            [ws.out],
        )
    )
    c.append(
        Case(
            "config",
            "train --config missing",
            ["train", "style", "--out", _o(ws, "run"), "--config", "/nonexistent.json", "-q"],
            "/nonexistent.json",
            [ws.out],
        )
    )
    c.append(
        Case(
            "model",
            "evaluate --model missing",
            ["evaluate", "--model", "/nonexistent", "-o", _o(ws, "rep"), "-q"],
            "/nonexistent",
            [ws.out],
        )
    )
    # 2. damaged model folder
    rel = "model.safetensors"
    c.append(model_case(ws, _overwrite(rel, b""), f"2 empty {rel}"))
    c.append(model_case(ws, _truncate(rel, 0.5), f"2 truncated {rel}"))
    c.append(
        model_case(
            ws, _overwrite(rel, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}xxxxxx"), f"2 corrupt {rel}"
        )
    )
    c.append(model_case(ws, _truncate("config.json", 0.5), "2 broken config.json"))
    c.append(model_case(ws, _overwrite("config.json", b"[1, 2]"), "2 list config.json"))
    c.append(
        model_case(
            ws,
            _overwrite("config.json", b'{"format": "music2dance-model-2", "fps": -1}'),
            "2 fps out of range",
        )
    )
    c.append(model_case(ws, _unknown_feature, "2 unknown music feature"))
    c.append(model_case(ws, _mixed_stage, "2 stages of different sizes"))
    c.append(model_case(ws, _weights_of_other_shape, "2 weights of another shape"))
    c.append(model_case(ws, _nan_weights, "2 NaN weights"))
    # 3. bad dance files, for render and beats --dance
    for cmd in ("render", "beats"):
        c.append(dance_npz_case(ws, b"", cmd, f"3 {cmd} empty npz"))
        c.append(dance_npz_case(ws, _npz_bytes(ws)[:300], cmd, f"3 {cmd} truncated npz"))
        c.append(
            dance_npz_case(ws, _npz_bytes(ws)[: len(_npz_bytes(ws)) - 40], cmd, f"3 {cmd} truncated end")
        )
        for label, fps in [
            ("array", np.array([15.0, 30.0])),
            ("string", np.array("fast")),
            ("zero", np.float32(0)),
            ("negative", np.float32(-15)),
            ("nan", np.float32("nan")),
            ("tiny", np.float32(1e-9)),
            ("huge", np.float32(1e9)),
        ]:
            c.append(dance_npz_case(ws, _with(ws, fps=fps), cmd, f"3 {cmd} fps {label}"))
        c.append(
            dance_npz_case(ws, _with(ws, parents=np.array([5] * 18, np.int32)), cmd, f"3 {cmd} parents range")
        )
        c.append(
            dance_npz_case(
                ws, _with(ws, parents=np.arange(-1, 4, dtype=np.int32)), cmd, f"3 {cmd} parents len"
            )
        )
        cyc = np.array([-1, 2, 1, *range(2, 17)], np.int32)
        c.append(dance_npz_case(ws, _with(ws, parents=cyc), cmd, f"3 {cmd} parents cycle"))
        c.append(dance_npz_case(ws, _with(ws, joints=j * 1e30), cmd, f"3 {cmd} joints 1e30 m"))
        c.append(dance_npz_case(ws, _with(ws, joints=j[:, :, :2]), cmd, f"3 {cmd} joints 2-D"))
        c.append(dance_npz_case(ws, _with(ws, joints=np.full_like(j, np.inf)), cmd, f"3 {cmd} joints inf"))
        c.append(dance_npz_case(ws, _with(ws, joints=j.astype(np.complex64)), cmd, f"3 {cmd} joints complex"))
        c.append(dance_npz_case(ws, _with(ws, joints=j[:0]), cmd, f"3 {cmd} no frames"))
        c.append(dance_npz_case(ws, _with(ws, joint_names=np.array(["a", "b"])), cmd, f"3 {cmd} names len"))
        c.append(dance_npz_case(ws, _with(ws, fps=None), cmd, f"3 {cmd} no fps"))
        c.append(dance_npz_case(ws, _npy_bytes(j), cmd, f"3 {cmd} an .npy named .npz"))
        c.append(
            dance_npz_case(
                ws, _zip_bytes({"joints.npy": b"hello", "fps.npy": b"x"}), cmd, f"3 {cmd} zip of non-arrays"
            )
        )
        c.append(dance_npz_case(ws, _zip_bytes({"readme.txt": b"hello"}), cmd, f"3 {cmd} zip of a text file"))
        rows = "\n".join(" ".join(["0"] * 10) for _ in range(2))  # 10 values, the hierarchy has 9 channels
        c.append(dance_text_case(ws, BVH_OK + rows + "\n", ".bvh", cmd, f"3 {cmd} bvh extra values"))
        c.append(
            dance_text_case(
                ws, BVH_OK.replace("0.0333333", "0") + "0 " * 18, ".bvh", cmd, f"3 {cmd} bvh frame time 0"
            )
        )
        c.append(
            dance_text_case(
                ws, '{"format": "music2dance-keypoints/1", "fps": 30', ".json", cmd, f"3 {cmd} json cut"
            )
        )
        c.append(dance_text_case(ws, "[]", ".json", cmd, f"3 {cmd} json list"))
        for label, text in [
            ("broken", "{oops"),
            ("list", "[]"),
            ("no center", '{"length": 3, "skeletons": []}'),
        ]:
            take = ws.fresh("take")
            take.mkdir()
            (take / "skeletons.json").write_text(text)
            c.append(_dance_argv(ws, take, cmd, f"3 {cmd} Tang folder, {label} skeletons.json"))
        c.append(dance_text_case(ws, "garbage", ".npy", cmd, f"3 {cmd} keypoints .npy garbage"))
        c.append(dance_text_case(ws, "garbage", ".pkl", cmd, f"3 {cmd} keypoints .pkl garbage"))
    nan_joints = j.copy()
    nan_joints[1, 3] = np.nan
    c.append(dance_npz_case(ws, _with(ws, joints=nan_joints), "render-mp4", "3 render NaN joint"))
    # 4. options
    for value in ("18446744073709551616", "-1", "1e3", "x"):
        c.append(option_case(ws, "generate", "--seed", value))
    for value in ("nan", "inf", "-3", "0", "1", "1e9"):
        c.append(option_case(ws, "generate", "--seconds", value))
    for value in ("100000", "0", "nan", "-30"):
        c.append(option_case(ws, "render", "--fps", value))
    for value in ("0", "-5", "1e9"):
        c.append(option_case(ws, "beats", "--shifts", value))
    c.append(option_case(ws, "beats", "--tolerance-frames", "-1"))
    c.append(option_case(ws, "beats", "--seed", "-4"))
    for value in ("-5", "0", "ten"):
        c.append(option_case(ws, "train", "--steps", value))
    for value in ("tpu", "cuda:x", ""):
        c.append(option_case(ws, "train", "--device", value))
    c.append(config_case(ws, '{"train": {"stepz": 3}}', "4 config unknown train field"))
    c.append(config_case(ws, '{"train": {"steps": "ten"}}', "4 config train field of wrong type"))
    c.append(config_case(ws, '{"model": {"hiden": 3}}', "4 config unknown model field"))
    c.append(config_case(ws, '{"model": {"hidden": "big"}}', "4 config model field of wrong type"))
    c.append(config_case(ws, '{"model": {"hidden": -4}}', "4 config model size negative"))
    c.append(config_case(ws, '{"train": {"lr": -1}}', "4 config lr out of range"))
    c.append(config_case(ws, "[1, 2, 3]", "4 config JSON list"))
    c.append(config_case(ws, '{"style": [1]}', "4 config stage section a list"))
    c.append(config_case(ws, '{"trian": {}}', "4 config unknown section"))
    c.append(config_case(ws, "{oops", "4 config broken JSON"))
    # 5. messages that blamed the wrong thing
    for cmd in ("generate", "render", "beats"):
        c.append(
            song_case(ws, b"this is only text, not an mp3 " * 20, ".mp3", cmd, f"5 {cmd} text named .mp3")
        )
    c.append(
        dance_npz_case(ws, _with(ws, fps=np.float32("nan")), "render-mp4", "5 render NaN fps names the dance")
    )
    c.append(
        dance_npz_case(ws, _with(ws, fps=np.float32(-30)), "beats", "5 beats negative fps names the dance")
    )
    for cmd in ("generate", "render", "beats"):
        empty = ws.fresh("empty.wav")
        sf.write(empty, np.zeros(0, np.float32), SR)
        c.append(song_case(ws, empty.read_bytes(), ".wav", cmd, f"5 {cmd} 0-sample song"))
        short = ws.fresh("short.wav")
        sf.write(short, np.zeros(SR, np.float32), SR)
        c.append(song_case(ws, short.read_bytes(), ".wav", cmd, f"5 {cmd} 1 s song"))
    # a float song whose samples overflow every feature (1e30), or NaN
    for label, value in (("1e30", 1e30), ("NaN", np.nan)):
        loud = ws.fresh("loud.wav")
        sf.write(loud, np.full(4 * SR, value, np.float32), SR, subtype="FLOAT")
        for cmd in ("generate", "render", "beats"):
            c.append(song_case(ws, loud.read_bytes(), ".wav", cmd, f"{cmd} float song of {label}"))
    # huge inputs: a 16-minute song (refused from its header, before decoding) and a 16-minute dance
    long_song = ws.fresh("long.wav")
    sf.write(long_song, np.zeros(16 * 60 * 1000, np.int16), 1000, subtype="PCM_16")
    for cmd in ("generate", "render", "beats"):
        c.append(song_case(ws, long_song.read_bytes(), ".wav", cmd, f"huge {cmd} 16-minute song"))
    long_joints = np.repeat(j[:1], 16 * 60, axis=0)
    for cmd in ("render", "beats"):
        c.append(
            dance_npz_case(
                ws, _with(ws, joints=long_joints, fps=np.float32(1.0)), cmd, f"huge {cmd} 16-minute dance"
            )
        )
    # 6. the same audio file gets one verdict: a truncated m4a is refused by both (a good one is
    #    accepted by both; see test_fuzz_inputs.test_m4a_one_verdict)
    m4a = _m4a_bytes(ws)
    for cmd in ("generate", "render", "beats"):
        c.append(song_case(ws, m4a[: len(m4a) // 3], ".m4a", cmd, f"6 {cmd} truncated m4a"))
        c.append(song_case(ws, m4a[:64], ".aac", cmd, f"6 {cmd} 64-byte aac"))
    # a pipe instead of a file would be read forever

    for ext, cmd in ((".wav", "generate"), (".npz", "render"), (".bvh", "beats")):
        fifo = ws.fresh(f"pipe{ext}")
        os.mkfifo(fifo)
        if ext == ".wav":
            argv = ["generate", str(fifo), "-o", _o(ws, "d.npz"), "-q"]
            c.append(Case("song", "pipe as the song", argv, str(fifo), [ws.out]))
        else:
            c.append(_dance_argv(ws, fifo, cmd, f"pipe as the dance ({cmd})"))
    # 8. render reads every format we write: damaged ones are refused cleanly
    c.append(
        dance_text_case(
            ws,
            '{"format": "music2dance-keypoints/1", "fps": 30, "joint_names": ["a"], '
            '"parents": [-1], "frames": [[[0, 0]]]}',
            ".json",
            "render",
            "8 json frames of 2",
        )
    )
    return c


_M4A: dict[str, bytes] = {}


def _m4a_bytes(ws: Workspace) -> bytes:
    """The workspace song as AAC in an m4a, made by the bundled ffmpeg."""
    if "m4a" not in _M4A:
        import subprocess

        import imageio_ffmpeg

        dst = ws.fresh("song.m4a")
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-loglevel",
                "error",
                "-y",
                "-i",
                str(ws.song),
                "-c:a",
                "aac",
                str(dst),
            ],
            check=True,
        )
        _M4A["m4a"] = dst.read_bytes()
    return _M4A["m4a"]


# ------------------------------------------------------------------------------------------ strategies
# Each strategy draws a function ws -> Case, so pytest (via @given) and the totals script (via .example())
# build their inputs from the same generators.
AUDIO_EXTS = (".wav", ".mp3", ".ogg", ".flac", ".m4a", ".aac")
COMMANDS_SONG = ("generate", "render", "beats")


@st.composite
def bad_songs(draw):
    """Random bytes, text, or a prefix (truncation) / corrupted copy of a good song, under any extension."""
    ext = draw(st.sampled_from(AUDIO_EXTS))
    cmd = draw(st.sampled_from(COMMANDS_SONG))
    how = draw(st.sampled_from(["random", "text", "truncated", "corrupted"]))
    blob = draw(st.binary(min_size=0, max_size=2048))
    cut = draw(st.floats(0.0, 0.6))
    pos = draw(st.integers(0, 2**31))

    def build(ws: Workspace) -> Case:
        good = ws.song_bytes
        if how == "random":
            data = blob
        elif how == "text":
            data = ("not audio " * (1 + len(blob))).encode()
        elif how == "truncated":  # under 3 s of audio (or a broken header): always refused
            data = good[: int(len(good) * cut)]
        else:  # the header's format chunk overwritten, and under 3 s left (a garbled but decodable song
            # of full length is a song, not a bad input)
            data = bytearray(good[: int(len(good) * cut)])
            start = 12 + pos % 24
            data[start : start + len(blob[:16]) or start + 1] = blob[:16] or b"\xff"
            data = bytes(data)
        return song_case(ws, data, ext, cmd, f"{cmd}{ext} {how} {len(data)} B")

    return build


_BAD_FPS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not 1.0 <= x <= 1000.0),
    st.text(max_size=5).map(np.array),
    st.lists(st.floats(1, 60), min_size=2, max_size=4).map(lambda v: np.array(v, np.float32)),
    st.booleans().map(np.array),
)


@st.composite
def bad_dances(draw):
    """A good dance npz with one field broken: fps, joints (values, shape, dtype), parents or names."""
    cmd = draw(st.sampled_from(["render", "render-mp4", "beats"]))
    field_ = draw(st.sampled_from(["fps", "joints", "parents", "names", "bytes", "zip"]))
    members = draw(
        st.dictionaries(
            st.sampled_from(["joints.npy", "fps.npy", "joints", "parents.npy", "x.txt", "kp.npy"]),
            st.binary(max_size=64),
            min_size=1,
            max_size=3,
        )
    )
    fps = draw(_BAD_FPS)
    scale = draw(st.sampled_from([1e4, 1e30, np.inf, -np.inf, np.nan]))
    if cmd == "beats" and np.isnan(scale):
        scale = np.inf  # beats takes NaN as a missing joint (as in Tang takes); render does not
    shape = draw(st.sampled_from(["2d", "4d", "flat", "zero-joints"]))
    parents = draw(
        st.lists(st.integers(-(2**31), 2**31 - 1), min_size=0, max_size=30).filter(
            lambda p: not (len(p) == 18 and _tree_ok(p))
        )
    )
    cut = draw(st.floats(0.0, 0.98))
    value_kind = draw(st.sampled_from(["scale", "shape"]))

    def build(ws: Workspace) -> Case:
        j = ws.motion.joints
        if field_ == "fps":
            arrays = _with(ws, fps=np.asarray(fps))
        elif field_ == "joints" and value_kind == "scale":
            bad = j.copy()
            bad[len(j) // 2, 5] *= scale  # one joint of one frame far away / not finite
            if np.isfinite(scale):
                bad[len(j) // 2, 5] += scale
            arrays = _with(ws, joints=bad)
        elif field_ == "joints":
            arrays = _with(
                ws,
                joints={"2d": j[..., :2], "4d": j[None], "flat": j.reshape(-1), "zero-joints": j[:, :0]}[
                    shape
                ],
            )
        elif field_ == "parents":
            arrays = _with(ws, parents=np.array(parents, np.int64))
        elif field_ == "names":
            arrays = _with(ws, joint_names=np.array(["same"] * 18))
        elif field_ == "zip":  # a zip whose members are not arrays (or not the right ones)
            return dance_npz_case(ws, _zip_bytes(members), cmd, f"{cmd} zip of {sorted(members)}")
        else:
            good = ws.dance.read_bytes()
            return dance_npz_case(ws, good[: int(len(good) * cut)], cmd, f"{cmd} npz cut at {cut:.2f}")
        return dance_npz_case(ws, arrays, cmd, f"{cmd} bad {field_}")

    return build


def _tree_ok(parents: list[int]) -> bool:
    from music2dance.validate import check_tree

    return check_tree(parents, len(parents)) is None


@st.composite
def bad_models(draw):
    """A copy of the bundled model with one file truncated, emptied, overwritten or a header byte flipped."""
    file = draw(st.sampled_from(["model.safetensors", "config.json"]))
    how = draw(st.sampled_from(["truncate", "empty", "random", "flip"]))
    keep = draw(st.floats(0.0, 0.99))
    blob = draw(st.binary(min_size=1, max_size=256))
    offset = draw(st.integers(0, 10**6))
    byte = draw(st.sampled_from([0x00, 0xFF]))  # never valid inside a JSON header (not even in a string)
    rel = file
    if how == "flip" and file == "config.json":
        how = "truncate"
    damage = {
        "truncate": _truncate(rel, keep),
        "empty": _overwrite(rel, b""),
        "random": _overwrite(rel, blob),
        "flip": _flip_header(rel, offset, byte),
    }[how]
    return lambda ws: model_case(ws, damage, f"{how} {rel}")


def _not_a_seed(text: str) -> bool:
    try:
        return not 0 <= int(text) < 2**63
    except ValueError:
        return True


def _not_a_float_in(lo: float, hi: float):
    def check(text: str) -> bool:
        try:
            return not lo <= float(text) <= hi
        except ValueError:
            return True

    return check


# option -> strategy of invalid values (as text)
_INVALID_OPTIONS = {
    ("generate", "--seed"): st.one_of(
        st.integers(max_value=-1).map(str),
        st.integers(min_value=2**63).map(str),
        st.text(max_size=6).filter(_not_a_seed),
    ),
    ("generate", "--seconds"): st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not 3.0 <= x <= 900.0).map(repr),
        st.sampled_from(["nan", "inf", "-inf", "", "three", "1e400"]),
        st.text(max_size=5).filter(_not_a_float_in(3.0, 900.0)),
    ),
    ("render", "--fps"): st.floats(allow_nan=True, allow_infinity=True)
    .filter(lambda x: not 1.0 <= x <= 120.0)
    .map(repr),
    ("beats", "--shifts"): st.one_of(st.integers(max_value=0), st.integers(min_value=100_001)).map(str),
    ("beats", "--tolerance-frames"): st.one_of(st.integers(max_value=-1), st.integers(min_value=101)).map(
        str
    ),
    ("train", "--steps"): st.one_of(
        st.integers(max_value=0), st.integers(min_value=10**9 + 1), st.just("1.5")
    ).map(str),
    ("train", "--device"): st.text(max_size=8).filter(
        lambda t: t not in ("cpu", "cuda") and not t.startswith("cuda:")
    ),
}


@st.composite
def bad_options(draw):
    command, option = draw(st.sampled_from(sorted(_INVALID_OPTIONS)))
    value = draw(_INVALID_OPTIONS[(command, option)])
    return lambda ws: option_case(ws, command, option, value)


_JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5)
)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
    max_leaves=8,
)


@st.composite
def bad_configs(draw):
    """Training configs that are wrong in a way the command must name: not an object, an unknown section
    or field, or a known field of the wrong type."""
    from music2dance.train.loop import TrainConfig

    how = draw(st.sampled_from(["not-object", "unknown-section", "unknown-field", "wrong-type", "broken"]))
    fields = sorted(f.name for f in dataclasses.fields(TrainConfig))
    if how == "not-object":
        value = draw(_JSON.filter(lambda v: not isinstance(v, dict)))
        text = json.dumps(value)
    elif how == "unknown-section":
        key = draw(
            st.text(min_size=1, max_size=6).filter(
                lambda k: k not in ("train", "model", "style", "decomposition", "composition")
            )
        )
        text = json.dumps({key: draw(_JSON)})
    elif how == "unknown-field":
        key = draw(st.text(min_size=1, max_size=6).filter(lambda k: k not in fields))
        text = json.dumps({"train": {key: draw(_JSON)}})
    elif how == "wrong-type":
        key = draw(st.sampled_from([f for f in fields if f != "device"]))
        value = draw(
            st.one_of(st.text(max_size=4), st.lists(st.integers(), max_size=2), st.none(), st.booleans())
        )
        text = json.dumps({"train": {key: value}})
    else:
        text = json.dumps({"train": {"steps": 3}})[: draw(st.integers(0, 20))]
    return lambda ws: config_case(ws, text, f"{how}: {text[:40]}")


@st.composite
def bad_outputs(draw):
    cmd = draw(st.sampled_from(COMMANDS_SONG))
    how = draw(st.sampled_from(["extension", "proc", "file-parent", "empty", "folder"]))
    ext = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=0, max_size=4))
    ok = (".png", ".pdf", ".svg") if cmd == "beats" else (".npz", ".mp4", ".gif", ".html", ".bvh", ".json")

    def build(ws: Workspace) -> Case:
        good_ext = ok[0]
        if how == "extension":
            e = f".{ext}" if ext and f".{ext}" not in ok else ".avi"
            return output_case(ws, _o(ws, f"x{e}"), cmd)
        if how == "proc":
            return output_case(ws, f"/proc/m2d-{ext}/x{good_ext}", cmd)
        if how == "file-parent":
            blocker = ws.fresh("blocker")
            blocker.write_text("x")
            return output_case(ws, str(blocker / ext / f"x{good_ext}"), cmd)
        if how == "empty":
            return output_case(ws, " " * len(ext), cmd, culprit="-o")
        folder = ws.out / f"f{ext}{good_ext}"
        folder.mkdir(exist_ok=True)
        return output_case(ws, str(folder), cmd)

    return build


STRATEGIES = {
    "song": bad_songs(),
    "dance": bad_dances(),
    "model": bad_models(),
    "option": bad_options(),
    "config": bad_configs(),
    "output": bad_outputs(),
}


# ------------------------------------------------------------------------------------------ kills
FIXTURES = Path(__file__).parent / "fixtures"


def _worker(out: Path) -> list[str]:
    return [sys.executable, str(FIXTURES / "loop_kill_worker.py"), str(out)]


def _env() -> dict:

    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def same_tensors(a, b) -> bool:
    """Two nested dicts / lists of tensors and plain values (e.g. optimizer.pt's content) are equal."""
    import torch

    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_tensors(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same_tensors(x, y) for x, y in zip(a, b))
    if torch.is_tensor(a):
        return torch.is_tensor(b) and a.dtype == b.dtype and torch.equal(a, b)
    return a == b


def sigkill_training_trials(root: Path, kills: int, seed: int = 0) -> dict:
    """Train the toy with SIGKILLs at random moments, resuming after each, then compare with a run that
    was never killed. Returns {"kills", "mid_save" (kills that landed inside a checkpoint write),
    "failed_resumes", "bit_exact", "left_behind" (stray files after the last resume)}."""
    import random
    import signal
    import subprocess

    from music2dance.train import loop

    RUN_FILES, PENDING_DIR = loop.RUN_FILES, getattr(loop, "PENDING_DIR", ".checkpoint-pending")

    rng = random.Random(seed)
    straight, killed = Path(root) / "straight", Path(root) / "killed"
    subprocess.run(_worker(straight), env=_env(), check=True, timeout=300)
    done, failed, mid_save = 0, 0, 0
    while done < kills:
        proc = subprocess.Popen(_worker(killed), env=_env(), stderr=subprocess.PIPE)
        t0 = time.perf_counter()
        while (
            not (killed / "config.json").exists() and proc.poll() is None and time.perf_counter() - t0 < 120
        ):
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.6))
        if proc.poll() is not None:  # it finished (or failed) before the kill
            failed += proc.returncode != 0
            if proc.returncode == 0:
                shutil.rmtree(killed)  # a finished run: start over so every kill lands in a live run
            continue
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        done += 1
        mid_save += (killed / PENDING_DIR).exists()  # the kill landed inside a checkpoint write
    final = subprocess.run(_worker(killed), env=_env(), capture_output=True, text=True, timeout=300)
    failed += final.returncode != 0
    import torch
    from safetensors.torch import load_file

    same = final.returncode == 0
    if same:
        a, b = load_file(str(straight / "model.safetensors")), load_file(str(killed / "model.safetensors"))
        same = a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)
        states = [torch.load(f / loop.OPTIMIZER_FILE, weights_only=True) for f in (straight, killed)]
        same = same and all(same_tensors(states[0][k], states[1][k]) for k in ("optimizers", "rng"))
    left = sorted(p.name for p in killed.iterdir() if p.name not in RUN_FILES)
    return {
        "kills": done,
        "mid_save": mid_save,
        "failed_resumes": failed,
        "bit_exact": same,
        "left_behind": left,
    }


def signal_command_trial(argv: list[str], out_dir: Path, sig: int, wait_for: str) -> dict:
    """Run `python -m music2dance.cli ARGV` as a process, send `sig` once a temp output matching
    `wait_for` (a glob in out_dir) exists, and report its exit code and what stayed in out_dir."""
    import subprocess

    cmd = [sys.executable, "-m", "music2dance.cli", *argv]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.perf_counter()
    while not list(out_dir.glob(wait_for)) and proc.poll() is None and time.perf_counter() - t0 < 120:
        time.sleep(0.01)
    seen = bool(list(out_dir.glob(wait_for)))
    time.sleep(0.3)
    still_running = proc.poll() is None
    if still_running:
        os.kill(proc.pid, sig)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return {
        "temp_seen": seen,
        "signalled": still_running,
        "rc": proc.returncode,
        "stderr": err,
        "left": sorted(p.name for p in out_dir.iterdir()),
    }


@st.composite
def odd_dances(draw):
    """Valid but unusual dances (any tree of 1-20 joints, 1-1000 fps, far-off but legal coordinates):
    every command must take them (exit 0) or refuse them cleanly (exit 2, e.g. BVH needs the canonical
    skeleton), never crash."""
    J = draw(st.integers(1, 20))
    parents = [-1] + [draw(st.integers(-1, j - 1)) for j in range(1, J)]
    T = draw(st.integers(1, 40))
    fps = draw(st.floats(1.0, 1000.0))
    scale = draw(st.sampled_from([0.0, 1e-6, 1.0, 500.0]))
    offset = draw(st.floats(-400.0, 400.0))
    seed = draw(st.integers(0, 2**32 - 1))

    def build(ws: Workspace) -> Path:
        rng = np.random.default_rng(seed)
        joints = np.clip(offset + scale * rng.standard_normal((T, J, 3)), -999.0, 999.0).astype(np.float32)
        path = ws.fresh("odd.npz")
        names = np.array([f"j{i}" for i in range(J)])
        np.savez(
            path, joints=joints, fps=np.float32(fps), joint_names=names, parents=np.array(parents, np.int32)
        )
        return path

    return build
