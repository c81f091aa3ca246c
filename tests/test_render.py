"""Rendering: the rasteriser, the camera, mp4 (frames, duration, audio), GIF, HTML file and dispatch.

Short synthetic dances keep this file to a few seconds; the browser test lives in test_html_browser.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from music2dance.cli import main
from music2dance.commands import write_dance
from music2dance.errors import Music2DanceError
from music2dance.io.dance_npz import load_dance_npz, save_dance_npz
from music2dance.motion.demo import demo_motion
from music2dance.render.figure import (
    FollowCamera,
    Rasterizer,
    joint_sides,
    side_colors,
    video_frames,
)

SONG = Path(__file__).resolve().parents[1] / "src" / "music2dance" / "assets" / "demo" / "vibe_ace.ogg"


def _ffmpeg_info(path: Path) -> str:
    import imageio_ffmpeg

    proc = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    )
    return proc.stderr


@pytest.fixture(scope="module")
def dance():
    return demo_motion(seconds=2.0, fps=15.0)


def test_rasterizer_draws_line_where_expected():
    r = Rasterizer(32, 32, background=(0, 0, 0))
    r.line((4, 16), (28, 16), (255, 255, 255), 3.0)
    img = r.image()
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    assert img[16, 16].min() > 200  # on the line
    assert img[16, 2].max() == 0 and img[5, 16].max() == 0  # beyond its end / far above it
    rows = np.flatnonzero(img[:, 16, 0] > 0)
    assert 13 <= rows.min() and rows.max() <= 18  # about 3 px thick


def test_rasterizer_antialiases_edges():
    r = Rasterizer(32, 32, background=(0, 0, 0))
    r.disc((16.0, 16.0), 6.0, (255, 255, 255))
    img = r.image()[..., 0]
    partial = ((img > 0) & (img < 255)).sum()
    assert img[16, 16] == 255 and partial > 8  # soft edge pixels, not a hard stair-step


def test_video_frames_last_as_long_as_the_dance():
    j = np.zeros((4, 1, 3), np.float32)
    j[:, 0, 0] = [0.0, 1.0, 2.0, 3.0]
    out = video_frames(j, 15.0, 30.0)
    assert out.shape == (8, 1, 3) and out.dtype == np.float32  # 4 frames of 1/15 s = 8 of 1/30 s
    np.testing.assert_allclose(out[:7, 0, 0], np.arange(7) / 2, atol=1e-6)  # a line stays a line
    assert out[7, 0, 0] == out[6, 0, 0]  # past the last sample the last pose is held
    assert video_frames(np.zeros((30, 1, 3)), 30.0, 15.0).shape == (15, 1, 3)
    assert video_frames(np.zeros((1, 1, 3)), 15.0, 30.0).shape == (2, 1, 3)


def test_camera_centres_its_target():
    cam = FollowCamera(width=640, height=480)
    target = np.array([[1.0, 0.9, -2.0]])
    uv = cam.project_camera(cam.to_camera(target[:, None, :], target))
    np.testing.assert_allclose(uv[0, 0], [320.0, 240.0], atol=1e-6)
    # A point to the dancer-world +x side of the target appears right of centre (camera in front, +z).
    uv = cam.project_camera(cam.to_camera((target + [0.5, 0, 0])[:, None, :], target))
    assert uv[0, 0, 0] > 320


def test_left_right_colours_from_names():
    names = ("pelvis", "left_knee", "right_knee", "LeftArm", "RightArm", "Head")
    assert joint_sides(names).tolist() == [0, 1, 2, 1, 2, 0]
    col = side_colors(names)
    assert col[1, 2] > col[1, 0] and col[2, 0] > col[2, 2]  # left blue-ish, right red-ish


def test_mp4_with_song_has_frames_duration_and_audio(tmp_path, dance):
    import imageio_ffmpeg

    out = write_dance(dance, tmp_path / "d.mp4", audio_path=SONG, fps=30.0, quiet=True)
    frames, secs = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert frames == round(dance.duration * 30) == 60
    assert abs(secs - dance.duration) < 0.1
    info = _ffmpeg_info(out)
    assert "Audio:" in info and "h264" in info and "yuv420p" in info
    assert not list(tmp_path.glob(".*"))  # no temp file left behind


def test_mp4_without_song_is_silent(tmp_path, dance):
    out = write_dance(dance, tmp_path / "d.mp4", fps=30.0, quiet=True)
    assert "Audio:" not in _ffmpeg_info(out) and "Video:" in _ffmpeg_info(out)


def test_gif(tmp_path, dance):
    from PIL import Image

    out = write_dance(dance, tmp_path / "d.gif", quiet=True)
    with Image.open(out) as im:
        assert im.size == (320, 320)
        assert im.n_frames == 30  # 2 s at 15 fps
        durations = []
        for k in range(im.n_frames):
            im.seek(k)
            durations.append(im.info["duration"])
    assert abs(sum(durations) - 2000) <= 10


def test_html_is_self_contained(tmp_path, dance):
    out = write_dance(dance, tmp_path / "d.html", audio_path=SONG, quiet=True)
    text = out.read_text()
    assert "data:audio/mpeg;base64," in text and "window.m2d" in text
    assert "http://" not in text and "https://" not in text and "<script src" not in text


def test_npz_json_bvh_through_dispatch(tmp_path, dance):
    write_dance(dance, tmp_path / "d.npz", quiet=True, model="demo", seed=3)
    back = load_dance_npz(tmp_path / "d.npz")
    np.testing.assert_allclose(back.joints, dance.joints)
    assert back.meta["seed"] == 3
    assert (write_dance(dance, tmp_path / "d.json", quiet=True)).stat().st_size > 0
    assert (write_dance(dance, tmp_path / "d.bvh", quiet=True)).read_text().startswith("HIERARCHY")


def test_unknown_extension_is_one_line_error(tmp_path, dance):
    with pytest.raises(Music2DanceError, match="unknown output format"):
        write_dance(dance, tmp_path / "d.avi")


def test_cli_render(tmp_path, dance, capsys):
    npz = tmp_path / "d.npz"
    save_dance_npz(npz, dance)
    assert main(["render", str(npz), "-o", str(tmp_path / "d.avi"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "unknown output format" in err and "\n" not in err
    assert main(["render", str(npz), str(tmp_path / "missing.ogg"), "-o", str(tmp_path / "d.mp4"), "-q"]) == 2
    assert "song not found" in capsys.readouterr().err
    assert not (tmp_path / "d.mp4").exists()
    assert main(["render", str(npz), "-o", str(tmp_path / "d.json"), "-q"]) == 0
    assert (tmp_path / "d.json").exists()
