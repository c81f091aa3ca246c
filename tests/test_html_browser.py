"""The web viewer in a real headless Chromium: it loads offline, plays on the song's clock, and moves.

Drives Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe): no port, no extra package.
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from music2dance.motion.demo import demo_motion
from music2dance.render.html import write_html

SONG = Path(__file__).resolve().parents[1] / "src" / "music2dance" / "assets" / "demo" / "vibe_ace.ogg"
CHROMIUM = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else shutil.which("chromium")


class DevTools:
    """Minimal Chrome DevTools Protocol client over the fd 3 / fd 4 pipe pair, one page session."""

    def __init__(self, exe: str, size=(640, 480)):
        self.profile = tempfile.mkdtemp(prefix="m2d-chromium-")
        to_child_r, self._w = os.pipe()
        self._r, from_child_w = os.pipe()

        def child_fds() -> None:
            # Move both ends above 10 first so the dup2s onto 3 and 4 cannot clobber each other.
            a = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--autoplay-policy=no-user-gesture-required",
            "--remote-debugging-pipe",
            f"--window-size={size[0]},{size[1]}",
            f"--user-data-dir={self.profile}",
            "about:blank",
        ]
        self.proc = subprocess.Popen(
            args, preexec_fn=child_fds, pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf, self._id = b"", 0
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def send(self, method: str, params: dict | None = None, timeout: float = 20.0) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if not method.startswith(("Target.", "Browser.")):
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._id:  # events (no id) are ignored
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply["result"]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply to {method} in {timeout} s")
            if select.select([self._r], [], [], left)[0]:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buf += chunk

    def eval(self, expr: str, await_promise: bool = False):
        res = self.send(
            "Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": await_promise}
        )
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expr}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def open(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})
        deadline = time.monotonic() + 15
        while not self.eval("typeof window.m2d === 'object' && document.readyState === 'complete'"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}: window.m2d never appeared")
            time.sleep(0.05)

    def screenshot(self) -> np.ndarray:
        from PIL import Image

        png = base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium not installed (/usr/bin/chromium): the web-page test needs a real browser")
    b = DevTools(CHROMIUM)
    yield b
    b.close()


def _figure_pixels(img: np.ndarray) -> int:
    """Count of clearly blue (left) or red (right) limb pixels."""
    r, g, b = (img[..., k].astype(int) for k in range(3))
    return int(((b > 180) & (r < 140)).sum() + ((r > 180) & (b < 140)).sum())


def test_page_plays_on_the_audio_clock_and_moves(browser, tmp_path):
    dance = demo_motion(seconds=5.0, fps=15.0)
    page = write_html(dance, tmp_path / "dance.html", audio_path=SONG, quiet=True)
    browser.open(page.as_uri())
    assert browser.eval("m2d.clock") == "audio"
    assert browser.eval("m2d.frame()") == 0 and browser.eval("m2d.playing()") is False
    before = browser.screenshot()
    assert _figure_pixels(before) > 200  # the figure is drawn with its left/right colours

    assert browser.eval("m2d.play().then(() => 'ok', e => 'refused: ' + e)", await_promise=True) == "ok"
    time.sleep(0.8)
    t1, f1 = browser.eval("[m2d.time(), m2d.frame()]")
    shot1 = browser.screenshot()
    time.sleep(0.8)
    t2, f2 = browser.eval("[m2d.time(), m2d.frame()]")
    shot2 = browser.screenshot()
    assert browser.eval("!document.getElementById('audio').paused")
    assert t2 - t1 > 0.3 and f2 > f1 >= 1  # the audio clock runs and drives the frame
    assert f1 == min(dance.num_frames - 1, int(np.floor(t1 * dance.fps)))
    h = shot1.shape[0] - 60  # leave out the control bar (its time label changes too)
    moved = np.abs(shot1[:h].astype(int) - shot2[:h].astype(int)).max(axis=-1)
    assert (moved > 40).sum() > 300, "the figure did not move between the two screenshots"

    browser.eval("m2d.pause()")
    browser.eval("m2d.seek(2.0)")
    time.sleep(0.2)
    t, f = browser.eval("[m2d.time(), m2d.frame()]")
    assert abs(t - 2.0) < 0.05 and f == 30 and browser.eval("m2d.playing()") is False


def test_page_without_song_uses_a_timer(browser, tmp_path):
    page = write_html(demo_motion(seconds=3.0, fps=15.0), tmp_path / "silent.html", quiet=True)
    browser.open(page.as_uri())
    assert browser.eval("m2d.clock") == "timer"
    browser.eval("m2d.play()", await_promise=True)
    time.sleep(0.5)
    assert browser.eval("m2d.frame()") >= 4 and browser.eval("m2d.playing()")
