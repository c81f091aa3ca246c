"""Protocol presets (issue 14: `evaluate --protocol tang|aistpp|finedance`), beat scores with chance levels,
and reference rows without seams, on small synthetic data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REST
from test_evaluate_report import FAST, make_prepared

from music2dance.errors import Music2DanceError
from music2dance.evaluate import metrics as M
from music2dance.evaluate.baselines import EvalDance, PreparedSequence, _fit_length, retrieval_row
from music2dance.evaluate.protocol import PRESETS, Protocol
from music2dance.evaluate.records import beat_metrics
from music2dance.evaluate.report import run_evaluate


def test_presets_and_overrides(tmp_path):
    a = Protocol.load("aistpp")
    assert (a.name, a.fps, a.max_seconds, a.clip_s, a.bas_fps) == ("aistpp", 60.0, 20.0, 20.0, 60.0)
    f = Protocol.load("finedance")
    assert f.fps == 30.0 and f.max_seconds * f.fps == pytest.approx(1024)
    assert Protocol.load(None).name == "tang"
    assert Protocol.load(None, dataset="finedance").name == "finedance"
    assert Protocol.load(None, dataset="something-else").name == "tang"
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"name": "aistpp", "n_floor": 3}))
    q = Protocol.load(p)
    assert q.fps == 60.0 and q.n_floor == 3
    with pytest.raises(Music2DanceError, match="unknown protocol"):
        Protocol.from_dict({"name": "nope"})
    with pytest.raises(Music2DanceError, match="not a protocol name"):
        Protocol.load(tmp_path / "missing.json")
    for name in PRESETS:
        assert f"**{name}**" in Protocol.load(name).describe()
        assert Protocol.preset(name, n_floor=3) == Protocol.from_dict({"name": name, "n_floor": 3})


def test_bad_protocol_fields_are_named_in_one_line(tmp_path):
    p = tmp_path / "p.json"
    for fields, problem in (
        ({"name": "aistpp", "n_flor": 3}, "protocol: unknown field 'n_flor'"),
        ({"ci": 2}, "protocol.ci=2.0 is out of range"),
        ({"n_floor": 2.5}, "protocol.n_floor: expected int, got number 2.5"),
        ({"max_seconds": "20"}, "protocol.max_seconds='20' is out of range"),
        ({"geo_body_sizes": "big"}, "protocol.geo_body_sizes='big' is out of range"),
    ):
        p.write_text(json.dumps(fields))
        with pytest.raises(Music2DanceError) as e:
            Protocol.load(p)
        assert str(e.value).startswith(f"{p}: {problem}") and "\n" not in str(e.value)
    assert Protocol.load({"max_seconds": 30, "max_test_songs": 2}).max_seconds == 30


def test_published_features_switch():
    p = Protocol().published_features()
    assert p.bugged_acceleration and p.geo_published_hand_up and p.geo_fixed_frame_time
    assert p.body_sizes()["shoulder_width_m"] == pytest.approx(0.391, abs=5e-4)
    assert Protocol().body_sizes()["shoulder_width_m"] == pytest.approx(0.272)
    assert "SMPL" not in Protocol().describe() and "smpl" in p.describe()


def test_manifest_dataset_picks_the_protocol(tmp_path):
    root = make_prepared(tmp_path / "prepared")
    man = json.loads((root / "manifest.json").read_text())
    man["dataset"] = "aistpp"
    (root / "manifest.json").write_text(json.dumps(man))
    res = run_evaluate("none", root, tmp_path / "out", protocol=None, quick=True, quiet=True)
    proto = res["protocol"]
    assert proto["name"] == "aistpp" and proto["fps"] == 60.0 and proto["max_seconds"] == 20.0
    # two test songs, the first 20 s of each, one 20 s clip per dance
    assert res["counts"]["ground truth"]["clips"] == 2
    text = (tmp_path / "out" / "report.md").read_text()
    assert "protocol **aistpp**" in text and "upsampled to 60 fps" in text
    # an explicit protocol wins over the manifest
    res2 = run_evaluate("none", root, tmp_path / "out2", protocol={"name": "tang", **FAST}, quiet=True)
    assert res2["protocol"]["name"] == "tang"


def test_cli_protocol_name(tmp_path):
    from music2dance.cli import main

    root = make_prepared(tmp_path / "prepared")
    rc = main(["evaluate", "--model", "none", "--data", str(root), "-o", str(tmp_path / "o"), "--quick",
               "--protocol", "finedance", "-q"])  # fmt: skip
    assert rc == 0
    saved = json.loads((tmp_path / "o" / "results.json").read_text())
    assert saved["protocol"]["name"] == "finedance" and saved["protocol"]["fps"] == 30.0
    assert main(["evaluate", "--model", "none", "--data", str(root), "--protocol", "nope", "-q"]) == 2


def _beat_dance(seconds: float, bpm: float, fps: float = 15.0, phase_s: float = 0.0) -> np.ndarray:
    """The body sways up and down once per two beats, turning (speed 0) exactly on each beat."""
    t = np.arange(int(seconds * fps)) / fps
    x = np.repeat(REST[None], len(t), axis=0).copy()
    x[:, :, 1] += 0.1 * np.cos(np.pi * bpm / 60.0 * (t - phase_s))[:, None]
    x[:, :, 0] += 0.02 * np.sin(2 * np.pi * 0.1 * t)[:, None]
    return x


def test_bas_above_chance_for_beat_locked_motion():
    proto = Protocol(n_beat_shifts=30)
    rng = np.random.default_rng(0)
    beats = np.arange(0, 30, 0.6)  # 100 bpm
    locked = EvalDance("s", "x", _beat_dance(30, 100), 15.0, beats)
    m, _ = beat_metrics(locked, proto, rng)
    assert m["bas_aist"] > m["bas_aist_chance"] + 0.2
    assert m["bas_bailando"] > m["bas_bailando_chance"] + 0.2
    # the same motion against beats half a period off scores below chance
    off = EvalDance("s", "x", _beat_dance(30, 100), 15.0, beats + 0.3)
    assert beat_metrics(off, proto, rng)[0]["bas_bailando"] < m["bas_bailando_chance"]
    frozen = EvalDance("s", "x", np.repeat(REST[None], 450, axis=0), 15.0, beats)
    fz, _ = beat_metrics(frozen, proto, rng)
    assert fz["bas_aist"] == 0.0 == fz["bas_aist_chance"]


def test_shifted_chance_of_dense_beats_is_high():
    rng = np.random.default_rng(1)
    motion = np.arange(0, 600, 3.0)  # a motion beat every 3 frames: jitter
    music = np.arange(0, 600, 30.0)
    ch = M.shifted_chance(lambda mb: M.beat_align_score(motion, mb, variant="bailando"), music, 600, rng=rng)
    assert ch > 0.9  # dense beats score high whatever the music: the chance level shows it


def _seq(name: str, joints: np.ndarray, music: np.ndarray) -> PreparedSequence:
    return PreparedSequence(name, "waltz", "train", joints, music, np.zeros(0), np.zeros(0), "", 0.0)


def test_retrieval_uses_a_long_enough_dance_and_joins_without_jumps():
    rng = np.random.default_rng(2)
    walk = np.repeat(REST[None], 100, axis=0).copy()
    walk[:, :, 0] += np.linspace(0, 3.0, 100)[:, None]  # walks 3 m
    short = _seq("short", walk, np.ones((100, 2)))
    long_ = _seq("long", np.concatenate([walk, walk[::-1]]), np.ones((200, 2)) * 5)
    test = _seq("t", walk[:1].repeat(150, axis=0), np.ones((150, 2)))
    row = retrieval_row([test], [short, long_], 15.0)
    assert row[0].source == "long"  # the music is nearer to "short", but "short" is too short
    tiled = _fit_length(walk, 250, 15.0)
    assert len(tiled) == 250
    step = np.linalg.norm(np.diff(tiled[:, 0], axis=0), axis=-1)
    assert step.max() < 3 * np.median(step)  # no 3 m jump back at the seams
    assert rng is not None
