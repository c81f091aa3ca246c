"""The trained model as an object of its own: same seed, same dance; generation never loads the trainer."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from music2dance.audio.load import load_audio
from music2dance.errors import Music2DanceError
from music2dance.generate.dance import default_model_path, generate_dance, load_model

DEMO = default_model_path().parent / "demo" / "vibe_ace.ogg"
REFERENCE = Path(__file__).parent / "fixtures" / "demo_dance_reference.npz"


def test_same_seed_same_dance_as_recorded():
    """The bundled model dances the demo song (20 s, seeds 0 and 1) as it did when the fixture was recorded.

    The fixture holds every `stride`-th frame of the joints (float32, metres) and the frame count, written
    with `music2dance generate vibe_ace.ogg --seed S --seconds 20` (same as the calls below). It guards
    refactoring: a change of code must not change the dance. If the bundled model is retrained on purpose,
    regenerate the fixture on purpose (same calls, same keys) and say so in the commit.
    """
    ref = np.load(REFERENCE, allow_pickle=False)
    stride, seconds = int(ref["stride"]), float(ref["seconds"])
    model = load_model()
    y, sr = load_audio(DEMO, sr=22050, song_limits=True)
    for seed in (0, 1):
        motion = generate_dance(model, y, sr, seed=seed, seconds=seconds)
        assert len(motion.joints) == int(ref[f"frames_seed{seed}"])
        got = motion.joints[::stride]
        want = ref[f"joints_seed{seed}"]
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-5, f"seed {seed}: the dance changed"


_NO_TRAINING = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import numpy as np
    import soundfile as sf

    sr = 22050
    y = np.zeros(4 * sr, np.float32)
    for t in np.arange(0.25, 4.0, 0.5):  # a 120 BPM click track
        i = int(t * sr)
        y[i : i + 400] = np.sin(np.arange(400) * 2 * np.pi * 1000 / sr) * np.hanning(400)

    import music2dance.generate.dance as dance

    model = dance.load_model()
    motion = dance.generate_dance(model, y, sr, seed=0)
    assert len(motion.joints) > 0

    from music2dance.cli import main

    song, out = Path(sys.argv[1]) / "click.wav", Path(sys.argv[1]) / "dance.npz"
    sf.write(song, y, sr)
    assert main(["generate", str(song), "-o", str(out), "--seconds", "4", "-q"]) == 0
    assert out.exists()
    loaded = sorted(m for m in sys.modules if m.startswith("music2dance.train"))
    assert "music2dance.commands" in sys.modules
    assert not loaded, f"generation imported the trainer: {loaded}"
    print("ok")
    """
)


def test_generation_imports_no_training(tmp_path):
    """`generate_dance`, `load_model` and `music2dance generate` load no `music2dance.train` module."""
    r = subprocess.run(
        [sys.executable, "-c", _NO_TRAINING, str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().endswith("ok")


# ---------------------------------------------------------------------------------- the model object
import torch  # noqa: E402
from dataset_layouts import click_track  # noqa: E402

from music2dance.io.skeleton import CANONICAL_PARENTS  # noqa: E402
from music2dance.models.dance_config import DanceModelConfig  # noqa: E402
from music2dance.models.dance_model import DanceModel  # noqa: E402
from music2dance.models.unit_timing import join_unit, warp_times  # noqa: E402
from music2dance.motion.clean import STANDARD_BONE_LENGTHS  # noqa: E402

SR = 22050


def test_model_knows_its_rates_and_inputs():
    """One place answers "what does this model expect": the config of the bundled model."""
    model = load_model()
    cfg = model.cfg
    assert (cfg.fps, cfg.sample_rate, cfg.unit_frames) == (15.0, 22050, 32)
    assert len(cfg.music_features) == cfg.style.music_dim == cfg.mm_gan.music_dim == 29
    assert "onset" in cfg.music_features and not any(n.startswith("beat_phase") for n in cfg.music_features)
    assert cfg.styles == ("cha-cha", "rumba", "tango", "waltz")
    assert 0.3 < cfg.unit_energy < 1.5  # m/s, the training units' median speed
    rec = cfg.training
    assert rec["data_hash"] and set(rec["stages"]) == {"style", "decomposition", "composition"}
    assert rec["stages"]["style"]["train"]["weight_decay"] == 1e-4  # what the style stage used


def test_save_pretrained_round_trip(tmp_path):
    """save_pretrained -> from_pretrained gives the same config, the same tensors and the same dance."""
    model = load_model()
    model.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    back = DanceModel.from_pretrained(tmp_path / "m")
    assert back.cfg == model.cfg
    a, b = model.state_dict(), back.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    y = click_track(5.0, 120)
    assert np.array_equal(model.generate(y, SR, seed=3).joints, back.generate(y, SR, seed=3).joints)


def test_config_names_the_bad_field(tmp_path):
    model = load_model()
    d = model.cfg.to_dict()
    d["inference"]["blend_frames"] = 0
    with pytest.raises(Music2DanceError, match=r"model\.inference\.blend_frames=0 is out of range"):
        DanceModelConfig.from_dict(d, source="config.json", section="model")
    d = model.cfg.to_dict()
    d["mm_gan"]["z_mov"] = 32
    with pytest.raises(Music2DanceError, match="du_vae.z_mov is 64 but mm_gan.z_mov is 32"):
        DanceModel(DanceModelConfig.from_dict(d))


def test_plan_puts_units_on_the_beat_grid():
    """plan: a 120 BPM click track -> units of 4 beats (2 s) starting on beats; each unit's music and style."""
    model = load_model()
    plan = model.plan(click_track(10.0, 120), SR)
    L, n = model.unit_frames, model.cfg.mm_gan.units
    U = plan.n_units
    assert plan.beats_per_unit == 4 and np.allclose(np.diff(plan.bounds), 2.0, atol=0.05)
    assert plan.bounds[0] <= 0 and plan.bounds[-1] >= 10.0
    beats = plan.music_beats
    assert all(np.abs(beats - b).min() < 0.03 for b in plan.bounds if 0 <= b <= beats[-1])
    assert plan.times.shape == (U, L) and np.allclose(plan.times[:, 0], plan.bounds[:-1])
    assert np.allclose(plan.times[:, -1], plan.bounds[1:])  # units share their boundary frame
    assert plan.music.shape == (-(-U // n), n, L, len(model.cfg.music_features))
    assert np.allclose(plan.style.sum(1).numpy(), 1.0, atol=1e-5)


def test_decode_chains_units_without_gaps():
    """decode: one unit of key frames per planned unit, each starting where the one before ended."""
    model = load_model()
    plan = model.plan(click_track(10.0, 120), SR)
    keys, redraws = model.decode(plan, seed=0)
    assert keys.shape == (plan.n_units, model.unit_frames, 18, 3) and np.isfinite(keys).all()
    assert 0 <= redraws <= plan.n_units * model.cfg.inference.max_redraws
    for i in range(1, len(keys)):
        assert np.abs(keys[i, 0] - keys[i - 1, -1]).max() < 1e-5
    again, _ = model.decode(plan, seed=0)
    assert np.array_equal(keys, again)
    other, _ = model.decode(plan, seed=1)
    assert np.abs(other - keys).max() > 0.05


def test_finish_resamples_rebuilds_bones_and_grounds():
    """finish: key frames at the plan's times -> out_fps frames with the standard bones, feet on y = 0."""
    model = load_model()
    plan = model.plan(click_track(6.0, 120), SR)
    keys, _ = model.decode(plan, seed=0)
    keys[..., 1] += 0.3  # lifted: finish puts it back on the floor
    joints = model.finish(plan, keys, out_fps=25.0)
    assert joints.shape == (int(np.floor(plan.duration * 25.0)), 18, 3) and joints.dtype == np.float32
    bones = np.linalg.norm(joints[:, 1:] - joints[:, CANONICAL_PARENTS[1:]], axis=-1)
    assert np.allclose(bones, np.asarray(STANDARD_BONE_LENGTHS)[1:], atol=1e-4)
    feet = joints[:, [12, 13, 16, 17], 1].min(axis=1)
    assert abs(np.median(feet)) < 0.03


def test_join_unit_continues_position_and_velocity():
    """join_unit: a unit standing still 5 cm beside the end of a unit moving at 1 m/s along x starts at
    that unit's last pose, with its velocity up to the discrete smoothstep's first step (an error of
    (|dp| / dt + |dv|) (1 - w(1)), 4 % of the gaps at 8 blend frames), and is untouched after the blend."""
    J, L, dt, blend = 18, 32, 1 / 15, 8
    t = np.arange(L) * dt
    prev = np.zeros((L, J, 3))
    prev[..., 0] = t[:, None]  # 1 m/s along x
    unit = np.repeat(prev[-1:], L, axis=0)
    unit[..., 2] += 0.05
    out = join_unit(unit, prev, dt, dt, blend)
    assert np.allclose(out[0], prev[-1])
    w1 = 1 - (1 / blend) ** 2 * (3 - 2 / blend)
    err = np.abs((out[1] - out[0]) / dt - [1, 0, 0])  # against a 1 m/s jump without the join
    assert err[..., 0].max() <= 1.0 * (1 - w1) + 1e-9  # dv = 1 m/s
    assert err[..., 2].max() <= 0.05 * (1 - w1) / dt + 1e-9  # dp = 5 cm
    assert np.array_equal(out[blend:], unit[blend:])
    # a unit warped to half the time per frame keeps the same m/s velocity at the join
    fast = join_unit(unit, prev, dt / 2, dt, blend)
    err = np.abs((fast[1] - fast[0]) / (dt / 2) - [1, 0, 0])
    assert (
        err[..., 0].max() <= 1.0 * (1 - w1) + 1e-9 and err[..., 2].max() <= 0.05 * (1 - w1) / (dt / 2) + 1e-9
    )


def test_warp_times_moves_anchored_frames_and_keeps_the_ends():
    nominal = np.linspace(2.0, 4.0, 32)  # a 2 s unit
    dt = nominal[1] - nominal[0]
    got = warp_times(nominal, {10.0: nominal[10] + 0.1, 20.0: nominal[20] - 0.05}, max_warp=1.6)
    assert got[0] == nominal[0] and got[-1] == nominal[-1]
    assert abs(got[10] - (nominal[10] + 0.1)) < 1e-9 and abs(got[20] - (nominal[20] - 0.05)) < 1e-9
    assert (np.diff(got) > 0).all()  # time never runs backwards
    # an anchor that would need the unit's time to run 3x faster is dropped
    far = warp_times(nominal, {5.0: nominal[5] + 10 * dt}, max_warp=1.6)
    assert np.array_equal(far, nominal)


def test_align_puts_kinematic_beats_on_music_beats():
    """align: on 30 s of the demo song, the bundled model's kinematic beats hit the music beats (+-2 frames
    at 15 fps) more often with the warp than without, for each of 3 seeds; speed barely changes."""
    from music2dance.motion.kinematic_beats import hit_rate, kinematic_beats

    model = load_model()
    model.cfg.inference.align_beats = True
    y, sr = load_audio(DEMO, sr=22050, song_limits=True)
    y = y[: 30 * sr]
    for seed in range(3):
        plan = model.plan(y, sr)
        keys, _ = model.decode(plan, seed=seed)
        hits, speeds = [], []
        for times in (plan.times, model.align(plan, keys)):
            j = model.finish(dataclasses.replace(plan, times=times), keys, 30.0)
            kin = kinematic_beats(j, 30.0) / 30.0
            hits.append(hit_rate(kin, plan.music_beats, 2 / 15))
            speeds.append(np.linalg.norm(np.diff(j, axis=0), axis=-1).mean() * 30)
        assert hits[1] > hits[0] + 0.05, (seed, hits)
        assert abs(speeds[1] / speeds[0] - 1) < 0.05


def test_limb_ends_kept_and_knee_bent_to_the_standard_bones():
    """A leg decoded with bones 10 % short and a slightly bent knee: rebuilt with the standard bones, the
    hip-to-ankle vector is kept and the knee bends forward, where the input bent it; the plain rebuild
    stretches the leg by 10 %."""
    from music2dance.io.skeleton import joint_index
    from music2dance.motion.clean import normalize_bone_lengths, normalize_bone_lengths_keep_limb_ends
    from music2dance.motion.demo import demo_motion

    std = np.asarray(STANDARD_BONE_LENGTHS)
    pose = normalize_bone_lengths(demo_motion(1.0).joints[:1].astype(np.float64), CANONICAL_PARENTS, std)
    h, k, a = (joint_index(n) for n in ("left_hip", "left_knee", "left_ankle"))
    short = pose.copy()
    short[:, k] = pose[:, h] + 0.9 * (pose[:, k] - pose[:, h]) + np.array([0, 0, 0.02])
    short[:, a] = short[:, k] + 0.9 * (pose[:, a] - pose[:, k])
    out = normalize_bone_lengths_keep_limb_ends(short, CANONICAL_PARENTS, std)
    bones = np.linalg.norm(out[:, 1:] - out[:, CANONICAL_PARENTS[1:]], axis=-1)
    assert np.allclose(bones, std[1:], atol=1e-6)
    assert np.allclose(out[:, a] - out[:, h], short[:, a] - short[:, h], atol=1e-6)
    u = (out[0, a] - out[0, h]) / np.linalg.norm(out[0, a] - out[0, h])
    bend = (out[0, k] - out[0, h]) - ((out[0, k] - out[0, h]) @ u) * u
    bend_in = (short[0, k] - short[0, h]) - ((short[0, k] - short[0, h]) @ u) * u
    assert bend @ bend_in > 0 and np.linalg.norm(bend) > np.linalg.norm(bend_in)  # bent more, same side
    plain = normalize_bone_lengths(short, CANONICAL_PARENTS, std)
    leg = np.linalg.norm(plain[0, a] - plain[0, h])
    assert leg > 1.05 * np.linalg.norm(short[0, a] - short[0, h])


def test_feet_below_the_floor_lifted_onto_it_by_bending_the_knee():
    """A dance whose left foot sinks 6 cm under the floor for half a second: afterwards no foot joint is
    below y = 0, the pelvis and the right leg have not moved, the bones keep their standard lengths and
    the left knee bends more while the foot is lifted; frames far from the dip are unchanged."""
    from music2dance.io.skeleton import joint_index
    from music2dance.motion.clean import lift_feet_to_floor, normalize_bone_lengths, put_on_floor
    from music2dance.motion.demo import demo_motion

    std = np.asarray(STANDARD_BONE_LENGTHS)
    fps = 30.0
    j = put_on_floor(
        normalize_bone_lengths(demo_motion(3.0).joints.astype(np.float64), CANONICAL_PARENTS, std)
    )
    j[..., 1] -= j[:, [12, 13, 16, 17], 1].min() - 0.01  # both feet at least 1 cm above the floor
    h, k, a, toe = (joint_index(n) for n in ("left_hip", "left_knee", "left_ankle", "left_foot"))
    dip = np.zeros(len(j))
    dip[30:45] = j[30:45, [a, toe], 1].min(1) + 0.06  # the lowest left foot joint to 6 cm under the floor
    sunk = j.copy()
    sunk[:, [a, toe], 1] -= dip[:, None]  # the shin now too long: the decoder's kind of error
    out = lift_feet_to_floor(sunk, fps, CANONICAL_PARENTS, std)
    assert sunk[:, [a, toe], 1].min() < -0.059 and out[:, [12, 13, 16, 17], 1].min() > -1e-6
    assert np.allclose(out[:, :11], j[:, :11]) and np.allclose(out[:, 14:], j[:, 14:])
    bones = np.linalg.norm(out[:, 1:] - out[:, CANONICAL_PARENTS[1:]], axis=-1)
    assert np.allclose(bones, std[1:], atol=1e-6)
    reach = lambda x: np.linalg.norm(x[:, a] - x[:, h], axis=-1)  # noqa: E731
    assert np.all(reach(out)[30:45] < reach(sunk)[30:45] - 0.02)
    assert np.allclose(out[:20], j[:20]) and np.allclose(out[55:], j[55:])  # the lift spreads 0.2 s
