"""Render speed: frames/s of the stick-figure rasteriser and of the whole mp4 export, for a 60 s dance.

Run: python benchmarks/render_speed.py [--seconds 60] [--fps 30]. Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

SONG = Path(__file__).resolve().parents[1] / "src" / "music2dance" / "assets" / "demo" / "vibe_ace.ogg"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="dance length")
    ap.add_argument("--fps", type=float, default=30.0, help="video frame rate")
    ap.add_argument("--size", default="640x480", help="video size WxH")
    a = ap.parse_args()
    width, height = (int(v) for v in a.size.split("x"))

    from music2dance.io.bvh_export import write_bvh
    from music2dance.motion.demo import demo_motion
    from music2dance.render.html import write_html
    from music2dance.render.video import make_renderer, write_gif, write_video

    motion = demo_motion(seconds=a.seconds, fps=15.0)
    t0 = time.perf_counter()
    renderer = make_renderer(motion, a.fps, width, height)
    setup = time.perf_counter() - t0
    n = len(renderer)
    t0 = time.perf_counter()
    for i in range(n):
        renderer.frame(i)
    draw = time.perf_counter() - t0
    print(
        f"rasterise only: {n} frames {width}x{height} in {draw:.2f} s = {n / draw:.0f} frames/s "
        f"(setup {setup * 1000:.0f} ms)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_video(
            motion, Path(tmp) / "d.mp4", audio_path=SONG, fps=a.fps, width=width, height=height, quiet=True
        )
        total = time.perf_counter() - t0
        size = (Path(tmp) / "d.mp4").stat().st_size / 1e6
        print(
            f"mp4 with audio (H.264 encode included): {total:.2f} s = {n / total:.0f} frames/s, {size:.1f} MB"
        )
        t0 = time.perf_counter()
        write_gif(motion, Path(tmp) / "d.gif", quiet=True)
        size = (Path(tmp) / "d.gif").stat().st_size / 1e6
        print(f"gif 320x320 15 fps: {time.perf_counter() - t0:.2f} s, {size:.1f} MB")
        t0 = time.perf_counter()
        write_html(motion, Path(tmp) / "d.html", audio_path=SONG, quiet=True)
        size = (Path(tmp) / "d.html").stat().st_size / 1e6
        print(f"html with song: {time.perf_counter() - t0:.2f} s, {size:.1f} MB")
        t0 = time.perf_counter()
        write_bvh(motion, Path(tmp) / "d.bvh")
        print(f"bvh: {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
