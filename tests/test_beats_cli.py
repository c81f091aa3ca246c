"""`music2dance beats`: the Figure 2 plot and the printed hit rate, on synthetic and real Tang data."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf

from music2dance.cli import main

SR = 22050


def clicks(seconds: float, period: float, first: float) -> tuple[np.ndarray, np.ndarray]:
    y = np.zeros(int(seconds * SR), np.float32)
    times = np.arange(first, seconds - 0.2, period)
    n = int(0.02 * SR)
    decay = np.exp(-np.arange(n) / (0.003 * SR))
    burst = (np.random.default_rng(0).standard_normal(n) * decay).astype(np.float32)
    for t in times:
        y[int(round(t * SR)) : int(round(t * SR)) + n] += 0.5 * burst
    return y, times


@pytest.fixture
def synthetic_take(tmp_path):
    """A Tang-format folder: 120 BPM clicks from 0.5 s; the dance starts at song time 2 s (frame 50) and
    its whole body stops dead on every second click (every 25 frames)."""
    folder = tmp_path / "DANCE_C_99"
    folder.mkdir()
    y, _ = clicks(14.0, 0.5, 0.5)
    sf.write(folder / "audio.mp3", y, SR)
    T, start = 250, 50
    stops = np.arange(0, T, 25)  # song times 2.0, 3.0, ... all on clicks
    speed = np.abs(np.sin(np.pi * np.arange(T) / 25))
    x = np.cumsum(speed) * 150.0 / 25  # cm
    center = np.stack([x, np.full(T, 100.0), np.zeros(T)], axis=1)
    pose = np.random.default_rng(0).uniform(-30, 30, (23, 3))
    skel = np.broadcast_to(pose, (T, 23, 3))
    (folder / "skeletons.json").write_text(
        json.dumps({"length": T, "center": center.round(2).tolist(), "skeletons": skel.round(2).tolist()})
    )
    (folder / "config.json").write_text(json.dumps({"start_position": start, "end_position": start + T}))
    return folder, stops


def numbers(out: str) -> tuple[int, int, float, float]:
    m = re.search(r"(\d+) of (\d+) kinematic beats \((\d+)%\).*?at chance .*? (\d+)% \+- (\d+)%", out)
    assert m, out
    return int(m.group(1)), int(m.group(2)), float(m.group(3)), float(m.group(4))


def test_synthetic_take_hits_every_beat(synthetic_take, tmp_path, capsys):
    folder, stops = synthetic_take
    png = tmp_path / "beats.png"
    assert main(["beats", str(folder / "audio.mp3"), "--dance", str(folder), "-o", str(png)]) == 0
    out = capsys.readouterr().out
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert re.search(r"tempo 1(19|20|21)\.\d BPM", out), out
    assert "aligned with the take: 2.00 s" in out
    hits, n_kin, pct, chance = numbers(out)
    assert n_kin == len(stops) - 1  # the stop at frame 0 is the dance's edge, not a detectable minimum
    assert pct >= 90 and chance < 60


def test_synthetic_take_with_another_song_is_not_aligned(synthetic_take, tmp_path, capsys):
    folder, _ = synthetic_take
    other = tmp_path / "other.wav"
    y, _ = clicks(12.0, 0.5, 0.25)  # clicks fall between the dance's stops
    sf.write(other, y, SR)
    svg = tmp_path / "b.svg"
    assert main(["beats", str(other), "--dance", str(folder), "-o", str(svg), "--shifts", "50"]) == 0
    out = capsys.readouterr().out
    assert "no offset is applied" in out
    _, _, pct, _ = numbers(out)
    assert pct <= 20
    assert svg.read_text().lstrip().startswith("<?xml")


def test_music_only(tmp_path, capsys):
    song = tmp_path / "clicks.wav"
    y, times = clicks(8.0, 60 / 90, 0.5)
    sf.write(song, y, 44100 // 2)
    png = tmp_path / "m.png"
    assert main(["beats", str(song), "-o", str(png)]) == 0
    out = capsys.readouterr().out
    n = int(re.search(r"(\d+) music beats", out).group(1))
    assert abs(n - len(times)) <= 1 and png.exists()
    assert "kinematic" not in out
    assert main(["beats", str(song), "-o", str(tmp_path / "q.png"), "-q"]) == 0
    assert capsys.readouterr().out == ""


def test_bad_audio_is_exit_2_one_line(tmp_path, capsys):
    bad = tmp_path / "song.mp3"
    bad.write_text("not audio")
    out = tmp_path / "x.png"
    assert main(["beats", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and str(bad) in err and "\n" not in err
    assert not out.exists() and not list(tmp_path.glob(".x.*"))  # nothing half-written


def test_bad_output_type_is_exit_2(tmp_path, capsys):
    song = tmp_path / "s.wav"
    sf.write(song, clicks(3.0, 0.5, 0.5)[0], SR)
    assert main(["beats", str(song), "-o", str(tmp_path / "plot.txt")]) == 2
    assert "not supported" in capsys.readouterr().err


def test_real_tang_take(shared_data, tmp_path, capsys):
    take = shared_data / "tang2018" / "DANCE_W_6"
    png = tmp_path / "w6.png"
    argv = ["beats", str(take / "audio.mp3"), "--dance", str(take), "-o", str(png), "--shifts", "100"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    hits, n_kin, pct, chance = numbers(out)
    assert 30 < n_kin < 120 and 0 <= hits <= n_kin  # 49 s of waltz steps
    assert 5 < chance < 60
    tempo = float(re.search(r"tempo ([\d.]+) BPM", out).group(1))
    assert 80 < tempo < 95 or 160 < tempo < 190  # a slow waltz, ~29 bars a minute (or the double)
    assert png.stat().st_size > 10_000
