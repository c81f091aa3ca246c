"""`run_evaluate` end to end on a tiny synthetic prepared folder, without a model (reference rows only).

The folder follows the prepared-data contract of docs/ARCHITECTURE.md; dances are swaying stick figures.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REST

from music2dance.evaluate.report import REFERENCE_ROWS, run_evaluate

FPS = 15.0


def _dance(seconds: float, bpm: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    T = int(seconds * FPS)
    t = np.arange(T) / FPS
    f = bpm / 60.0
    x = np.repeat(REST[None], T, axis=0)
    # the body sways once per two beats, so speed minima fall on beats; arms bob with the beat
    x[:, :, 0] += (0.15 * np.sin(np.pi * f * t + rng.uniform(0, 0.3)))[:, None]
    x[:, 4:10, 1] += (0.1 * np.abs(np.sin(np.pi * f * t)))[:, None]
    x += rng.normal(0, 0.002, x.shape)
    beats = np.arange(0, seconds, 1.0 / f)
    return x.astype(np.float32), beats.astype(np.float32)


def make_prepared(root):
    """Write a 6-sequence prepared folder (2 styles, 2 test songs, 45 s each) under root."""
    rng = np.random.default_rng(0)
    (root / "sequences").mkdir(parents=True)
    entries = []
    specs = [
        ("W_1", "waltz", "train", 90),
        ("W_2", "waltz", "train", 84),
        ("W_3", "waltz", "test", 88),
        ("C_1", "cha-cha", "train", 120),
        ("C_2", "cha-cha", "train", 126),
        ("C_3", "cha-cha", "test", 124),
    ]
    for name, style, split, bpm in specs:
        j, beats = _dance(45.0, bpm, rng)
        music = rng.normal(size=(len(j), 4)).astype(np.float32) + (bpm / 60.0)
        np.savez(
            root / "sequences" / f"{name}.npz",
            joints=j,
            music=music,
            music_beats=beats,
            kin_beats=np.zeros(0, np.int64),
            style=np.array(style),
        )
        entries.append(
            {
                "name": name,
                "style": style,
                "split": split,
                "frames": len(j),
                "audio_path": "",
                "audio_offset_s": 0.0,
                "file": f"sequences/{name}.npz",
            }
        )
    (root / "manifest.json").write_text(json.dumps({"fps": FPS, "unit_frames": 32, "sequences": entries}))
    return root


@pytest.fixture
def prepared(tmp_path):
    return make_prepared(tmp_path / "prepared")


# small resampling counts keep the end-to-end tests fast; the statistics themselves are tested elsewhere
FAST = {"n_bootstrap": 50, "n_subsamples": 30, "n_floor": 5, "c2st_repeats": 1, "c2st_floor_draws": 2}


def test_run_evaluate_reference_rows(prepared, tmp_path):
    out = tmp_path / "report"
    res = run_evaluate("none", prepared, out, protocol=FAST, seed=0, quiet=True)
    assert set(res["rows"]) == set(REFERENCE_ROWS)
    for f in ("report.md", "results.json", "energy.png", "beat_alignment.png", "frames.png"):
        assert (out / f).stat().st_size > 0
    saved = json.loads((out / "results.json").read_text())
    assert saved["protocol"]["clip_s"] == 5.0 and saved["model"] == "none"
    assert saved["protocol"]["name"] == "tang"  # the manifest names no dataset
    rows = saved["rows"]
    gt, frozen = rows["ground truth"], rows["mean pose"]
    # the frozen mean pose is recognised as frozen and as far from the real feature distribution
    assert frozen["frozen_fraction"]["value"] == 1.0
    assert gt["frozen_fraction"]["value"] == 0.0
    assert frozen["fid_k"]["value"] > gt["fid_k"]["value"]
    assert frozen["div_k"]["value"] == pytest.approx(0.0, abs=1e-9)
    assert gt["bone_std_cm"]["value"] < 1.0
    # beat-locked synthetic dances align better with their own song than with a wrong one
    assert gt["bas_bailando"]["value"] > frozen["bas_bailando"]["value"]
    # the headline realism test: a frozen pose is trivially fake, and far above the real-vs-real floor
    assert frozen["c2st"]["value"] > 0.95
    assert frozen["c2st"]["value"] > frozen["c2st_floor"]["ci_hi"]
    assert frozen["kid_k"]["value"] > gt["kid_k"]["value"]
    # every row is compared at the same number of clips, and every printed interval holds its point
    assert len({c["compared"] for c in saved["counts"].values()}) == 1
    for row in rows.values():
        for key, e in row.items():
            if e["value"] is not None and e["ci_lo"] is not None and not key.endswith(("_floor", "_chance")):
                assert e["ci_lo"] - 1e-9 <= e["value"] <= e["ci_hi"] + 1e-9, key
    for key in ("fid_k_inf", "fid_g_floor", "kid_g", "bas_aist_chance", "bas_bailando_chance"):
        assert gt[key]["value"] is not None, key
    text = (out / "report.md").read_text()
    assert "## Protocol" in text and "ground truth" in text and "FID_k" in text and "[" in text
    assert "C2ST" in text and "floor" in text and "chance" in text


def test_run_evaluate_bad_folder(tmp_path):
    from music2dance.errors import Music2DanceError

    with pytest.raises(Music2DanceError, match="manifest"):
        run_evaluate("none", tmp_path, tmp_path / "out", quiet=True)


def test_run_evaluate_model_row(prepared, tmp_path, monkeypatch):
    """The model row, with the generator replaced by a stand-in that stitches units with jumps."""
    import music2dance.audio.load as audio_load
    import music2dance.generate.dance as gen
    from music2dance.io.skeleton import Motion

    manifest = json.loads((prepared / "manifest.json").read_text())
    song = tmp_path / "song.wav"
    song.write_bytes(b"stand-in")
    for e in manifest["sequences"]:
        e["audio_path"] = str(song)
    (prepared / "manifest.json").write_text(json.dumps(manifest))

    def fake_generate(model, y, sr, *, seed=0, seconds=None, quiet=True):
        j, beats = _dance(seconds, 100.0, np.random.default_rng(seed))
        starts = np.arange(0, len(j), 32)
        for s in starts[1:]:
            j[s:, :, 0] += 0.2  # every unit starts 20 cm off
        return Motion(j, FPS, meta={"music_beats": beats, "unit_starts": starts})

    monkeypatch.setattr(gen, "load_model", lambda path=None: "stand-in model")
    monkeypatch.setattr(gen, "generate_dance", fake_generate)
    monkeypatch.setattr(audio_load, "load_audio", lambda *a, **k: (np.zeros(22050, np.float32), 22050))
    res = run_evaluate("any-folder", prepared, tmp_path / "out", protocol={**FAST, "n_seeds": 2}, quiet=True)
    model, gt = res["rows"]["model"], res["rows"]["ground truth"]
    assert model["jump_velocity_ratio"]["value"] > 2 * gt["jump_velocity_ratio"]["value"]
    assert model["multimodality"]["value"] > 0
    assert "| model |" in (tmp_path / "out" / "report.md").read_text()


def test_row_averages_clip_scores_over_clips_and_dance_scores_over_dances(prepared):
    """`row.summarise_row` on two hand-made dance records whose averages are known."""
    from music2dance.evaluate.baselines import EvalDance
    from music2dance.evaluate.records import BEAT_SCORES, DANCE_SCORES, ClipRecord, DanceRecord
    from music2dance.evaluate.reference import build_reference
    from music2dance.evaluate.row import summarise_row
    from music2dance.evaluate.split import load_split

    _, proto, train, _ = load_split(prepared, FAST)
    ref = build_reference(train, proto)

    def clip(i: int, pfc: float) -> ClipRecord:
        scores = {"pfc": pfc, "foot_skating": 0.1, "bone_std_cm": 0.0}
        return ClipRecord(ref.kinetic[i], ref.geometric[i], ref.stats[i], scores)

    def dance(song: str, clips: list[ClipRecord], **scores: float) -> DanceRecord:
        d = EvalDance(song, "waltz", np.zeros((30, 18, 3)), proto.fps, np.zeros(0), source=song)
        given = {**dict.fromkeys(BEAT_SCORES + DANCE_SCORES, 0.5), **scores}
        return DanceRecord(d, clips, given, np.array([1.0, -1.0]), np.ones(3), np.ones(30))

    nan = float("nan")
    a = dance("a", [clip(0, 1.0), clip(1, 2.0)], frozen_fraction=0.0, pose_distance_ratio=nan, bas_aist=0.2)
    b = dance("b", [clip(40, 6.0)], frozen_fraction=1.0, pose_distance_ratio=2.0, bas_aist=0.4)
    res, detail = summarise_row([a, b], ref, proto, np.random.default_rng(0))
    # a clip score is the mean over the row's clips (1, 2, 6), not over the dances' means (1.5, 6)
    assert res["pfc"]["value"] == pytest.approx(3.0) and res["pfc"]["n"] == 3
    assert res["pfc"]["ci_lo"] <= 3.0 <= res["pfc"]["ci_hi"]
    # a dance score is the mean over the dances; an undefined (nan) score is left out
    assert res["frozen_fraction"]["value"] == pytest.approx(0.5) and res["frozen_fraction"]["n"] == 2
    assert res["bas_aist"]["value"] == pytest.approx(0.3)
    assert res["pose_distance_ratio"]["value"] == pytest.approx(2.0) and res["pose_distance_ratio"]["n"] == 1
    # equal values resample to a zero-width interval
    e = res["energy_ratio"]
    assert (e["value"], e["ci_lo"], e["ci_hi"], e["n"]) == pytest.approx((0.5, 0.5, 0.5, 2))
    # the set metrics see the three clips; the plots get both dances' beat distances and the first dance
    assert res["fid_k"]["n"] == 3 and res["c2st"]["n"] == 3
    assert (detail.n_clips, detail.n_dances, len(detail.beat_distances)) == (3, 2, 4)
    assert detail.first_dance is a.dance.joints
