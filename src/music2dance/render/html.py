"""A self-contained web page that plays a dance with its song: one .html file, no network needed.

Canvas 2D with its own perspective camera (drag to orbit, wheel to zoom); the song's clock drives the frame.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
from pathlib import Path

import numpy as np

from ..errors import input_error
from ..io.atomic import write_text_atomic
from ..io.skeleton import Motion

log = logging.getLogger(__name__)


def encode_audio_mp3(
    audio_path, *, offset_s: float = 0.0, duration_s: float | None = None, bitrate: str = "96k"
) -> bytes:
    """The song cut to [offset_s, offset_s + duration_s) as mp3 bytes (ffmpeg's libmp3lame)."""
    from ..audio.load import ffmpeg_command

    cmd = ffmpeg_command("-ss", f"{max(offset_s, 0.0):.6f}")
    if duration_s is not None:
        cmd += ["-t", f"{duration_s:.6f}"]
    cmd += [
        "-i",
        str(audio_path),
        "-vn",
        "-map",
        "0:a:0",
        "-c:a",
        "libmp3lame",
        "-b:a",
        bitrate,
        "-f",
        "mp3",
        "pipe:1",
    ]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0 or not proc.stdout:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise input_error(audio_path, f"cannot read the song ({lines[-1] if lines else 'no audio stream'})")
    return proc.stdout


def _b64_f32(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def page_data(motion: Motion) -> dict:
    """The JSON the page embeds: joints (mm-rounded float32, base64), camera track, skeleton, sides."""
    from .figure import follow_track, joint_sides

    joints = np.round(np.asarray(motion.joints, dtype=np.float64), 3)
    track = follow_track(joints, motion.fps)
    names = [str(n) for n in motion.joint_names]
    lower = [n.lower() for n in names]
    return {
        "fps": float(motion.fps),
        "frames": int(motion.num_frames),
        "names": names,
        "parents": [int(p) for p in motion.parents],
        "sides": joint_sides(names).tolist(),
        "head": lower.index("head") if "head" in lower else -1,
        "joints": _b64_f32(joints),
        "track": _b64_f32(np.round(track, 3)),
    }


def write_html(
    motion: Motion,
    out: str | os.PathLike,
    *,
    audio_path: str | os.PathLike | None = None,
    title: str | None = None,
    quiet: bool = False,
) -> Path:
    """Write the viewer page for `motion` (and the song, embedded as mp3) to `out`, atomically.

    The page exposes `window.m2d = {frame(), time(), play(), pause(), seek(t), playing(), clock}`:
    frame() = floor(time() * fps) where time() is the audio element's currentTime (a timer without song).
    """
    out = Path(out)
    if motion.num_frames < 1:
        raise input_error(out, "the dance has no frames to render")
    if not np.isfinite(motion.joints).all():
        raise input_error(out, "the dance contains NaN or infinite joint positions")
    data = page_data(motion)
    audio_tag = ""
    song_name = ""
    if audio_path is not None:
        p = Path(audio_path)
        if not p.is_file():
            raise input_error(p, "song not found")
        offset = float(motion.meta.get("audio_offset_s", 0.0) or 0.0)
        mp3 = encode_audio_mp3(p, offset_s=offset, duration_s=motion.duration)
        audio_tag = (
            '<audio id="audio" preload="auto" src="data:audio/mpeg;base64,'
            + base64.b64encode(mp3).decode("ascii")
            + '"></audio>'
        )
        song_name = p.stem
    data["song"] = song_name
    title = title or ("music2dance" + (f" \u2013 {song_name}" if song_name else ""))
    # "</" inside a <script> block would end it early; JSON allows the escaped form.
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    from html import escape

    page = _TEMPLATE.replace("@TITLE@", escape(title)).replace("@AUDIO@", audio_tag).replace("@DATA@", blob)
    write_text_atomic(out, page)
    if not quiet:
        log.info(
            "wrote %s (%d frames at %g fps%s)",
            out,
            motion.num_frames,
            motion.fps,
            ", with the song" if audio_tag else ", no song",
        )
    return out


_TEMPLATE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@TITLE@</title>
<style>
html,body{margin:0;height:100%;background:#181a20;color:#d7d7dc;font:14px system-ui,sans-serif}
body{display:flex;flex-direction:column}
#view{flex:1;position:relative;min-height:200px}
#c{position:absolute;inset:0;width:100%;height:100%;display:block;cursor:grab;touch-action:none}
#c.drag{cursor:grabbing}
#hint{position:absolute;left:10px;top:8px;opacity:.6;font-size:12px;pointer-events:none}
#bar{display:flex;gap:10px;align-items:center;padding:8px 12px;background:#111318}
#seek{flex:1}
button{background:#2b2f3a;color:#eee;border:1px solid #444a58;border-radius:4px;padding:4px 14px;
font:inherit;cursor:pointer;min-width:70px}
#time{font-variant-numeric:tabular-nums;min-width:92px;text-align:right}
</style>
</head>
<body>
<div id="view"><canvas id="c"></canvas>
<div id="hint">@TITLE@ &middot; drag to rotate, wheel to zoom, space to play/pause</div></div>
<div id="bar"><button id="play" type="button">Play</button>
<input id="seek" type="range" min="0" max="1" step="0.01" value="0" aria-label="seek">
<span id="time">0:00 / 0:00</span></div>
@AUDIO@
<script id="m2d-data" type="application/json">@DATA@</script>
<script>
(function () {
"use strict";
const D = JSON.parse(document.getElementById("m2d-data").textContent);
function f32(b64) {
  const s = atob(b64), u = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
  return new Float32Array(u.buffer);
}
const P = f32(D.joints), TR = f32(D.track);
const N = D.frames, J = D.parents.length, FPS = D.fps, DUR = N / FPS;
const COLORS = ["#d7d7dc", "#468cff", "#f0554b"];
const audio = document.getElementById("audio");
const canvas = document.getElementById("c"), ctx = canvas.getContext("2d");
const btn = document.getElementById("play"), seekEl = document.getElementById("seek");
const timeEl = document.getElementById("time");
seekEl.max = DUR.toFixed(2);

// Clock: the audio element's own time when there is a song, so picture and sound cannot drift.
let timerPlaying = false, t0 = 0, tHeld = 0;
function time() {
  if (audio) return Math.min(audio.currentTime, DUR);
  if (!timerPlaying) return tHeld;
  const t = (performance.now() - t0) / 1000;
  if (t >= DUR) { timerPlaying = false; tHeld = DUR; return DUR; }
  return t;
}
function frame() { return Math.max(0, Math.min(N - 1, Math.floor(time() * FPS))); }
function playing() { return audio ? !audio.paused && !audio.ended : timerPlaying; }
function seek(t) {
  t = Math.max(0, Math.min(DUR, +t || 0));
  if (audio) audio.currentTime = t; else { tHeld = t; t0 = performance.now() - t * 1000; }
}
function play() {
  if (time() >= DUR - 1e-3) seek(0);
  if (audio) return audio.play();
  if (!timerPlaying) { timerPlaying = true; t0 = performance.now() - tHeld * 1000; }
  return Promise.resolve();
}
function pause() {
  if (audio) audio.pause(); else if (timerPlaying) { tHeld = time(); timerPlaying = false; }
}

// Orbit camera around the (smoothed) dancer position.
const cam = {yaw: 0.45, pitch: 0.2, dist: 3.4, fov: 45 * Math.PI / 180};
let drag = null;
canvas.addEventListener("pointerdown", e => {
  drag = {x: e.clientX, y: e.clientY}; canvas.setPointerCapture(e.pointerId); canvas.classList.add("drag");
});
canvas.addEventListener("pointermove", e => {
  if (!drag) return;
  cam.yaw -= (e.clientX - drag.x) * 0.008;
  cam.pitch = Math.max(-0.1, Math.min(1.45, cam.pitch + (e.clientY - drag.y) * 0.006));
  drag = {x: e.clientX, y: e.clientY};
});
function endDrag() { drag = null; canvas.classList.remove("drag"); }
canvas.addEventListener("pointerup", endDrag);
canvas.addEventListener("pointercancel", endDrag);
canvas.addEventListener("wheel", e => {
  e.preventDefault();
  cam.dist = Math.max(1.2, Math.min(15, cam.dist * Math.exp(e.deltaY * 0.001)));
}, {passive: false});

btn.addEventListener("click", () => { if (playing()) pause(); else play(); });
let seeking = false;
seekEl.addEventListener("input", () => { seeking = true; seek(parseFloat(seekEl.value)); });
seekEl.addEventListener("change", () => { seeking = false; });
document.addEventListener("keydown", e => {
  if (e.code === "Space" && e.target.tagName !== "INPUT") { e.preventDefault(); btn.click(); }
});

function fmt(t) {
  const s = Math.floor(t);
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

const pose = new Float64Array(J * 3), target = new Float64Array(3);
let drawn = 0;
function draw() {
  const dpr = window.devicePixelRatio || 1;
  const W = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const H = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== W || canvas.height !== H) { canvas.width = W; canvas.height = H; }
  const t = time();
  // Interpolate between stored frames so the picture is smooth at any display rate.
  const ft = Math.min(t * FPS, N - 1), i0 = Math.floor(ft), i1 = Math.min(i0 + 1, N - 1), w = ft - i0;
  for (let k = 0; k < J * 3; k++) pose[k] = P[i0 * J * 3 + k] * (1 - w) + P[i1 * J * 3 + k] * w;
  for (let k = 0; k < 3; k++) target[k] = TR[i0 * 3 + k] * (1 - w) + TR[i1 * 3 + k] * w;

  const cy = Math.cos(cam.yaw), sy = Math.sin(cam.yaw), cp = Math.cos(cam.pitch), sp = Math.sin(cam.pitch);
  const back = [sy * cp, sp, cy * cp];
  const fwd = [-back[0], -back[1], -back[2]];
  let right = [-fwd[2], 0, fwd[0]];  // fwd x (0,1,0)
  const rl = Math.hypot(right[0], right[2]) || 1; right = [right[0] / rl, 0, right[2] / rl];
  const up = [right[1] * fwd[2] - right[2] * fwd[1], right[2] * fwd[0] - right[0] * fwd[2],
              right[0] * fwd[1] - right[1] * fwd[0]];
  const eye = [0, 1, 2].map(k => target[k] + back[k] * cam.dist);
  const F = 0.5 * H / Math.tan(cam.fov / 2), NEAR = 0.1;
  function toCam(x, y, z) {
    const dx = x - eye[0], dy = y - eye[1], dz = z - eye[2];
    return [dx * right[0] + dy * right[1] + dz * right[2], dx * up[0] + dy * up[1] + dz * up[2],
            dx * fwd[0] + dy * fwd[1] + dz * fwd[2]];
  }
  function proj(c) { const z = Math.max(c[2], NEAR); return [W / 2 + F * c[0] / z, H / 2 - F * c[1] / z, z]; }

  ctx.fillStyle = "#181a20"; ctx.fillRect(0, 0, W, H);
  ctx.lineCap = "round";
  // Floor grid on y = 0, snapped to 0.5 m so the lines stay put while the camera follows.
  const STEP = 0.5, HALF = 5;
  const gx = Math.round(target[0] / STEP) * STEP, gz = Math.round(target[2] / STEP) * STEP;
  ctx.lineWidth = Math.max(1, dpr);
  for (let k = -HALF; k <= HALF + 1e-9; k += STEP) {
    const lines = [[[gx + k, 0, gz - HALF], [gx + k, 0, gz + HALF]],
                   [[gx - HALF, 0, gz + k], [gx + HALF, 0, gz + k]]];
    for (const s of lines) {
      let a = toCam(...s[0]), b = toCam(...s[1]);
      const near = NEAR + 0.2;
      if (a[2] < near && b[2] < near) continue;
      if (a[2] < near) { const u = (near - a[2]) / (b[2] - a[2]); a = a.map((v, i) => v + (b[i] - v) * u); }
      if (b[2] < near) { const u = (near - b[2]) / (a[2] - b[2]); b = b.map((v, i) => v + (a[i] - v) * u); }
      const pa = proj(a), pb = proj(b), d = (a[2] + b[2]) / 2;
      const alpha = Math.max(0.12, Math.min(0.55, 0.75 - d * 0.06));
      ctx.strokeStyle = "rgba(150,158,180," + alpha.toFixed(3) + ")";
      ctx.beginPath(); ctx.moveTo(pa[0], pa[1]); ctx.lineTo(pb[0], pb[1]); ctx.stroke();
    }
  }
  const pc = [], sc = [];
  for (let j = 0; j < J; j++) {
    pc.push(proj(toCam(pose[j * 3], pose[j * 3 + 1], pose[j * 3 + 2])));
    sc.push(proj(toCam(pose[j * 3], 0, pose[j * 3 + 2])));
  }
  const R = 0.028, bones = [];
  ctx.strokeStyle = "rgba(0,0,0,0.45)";
  for (let j = 0; j < J; j++) {
    const p = D.parents[j];
    if (p < 0) continue;
    bones.push([j, p, (pc[j][2] + pc[p][2]) / 2]);
    ctx.lineWidth = 2 * R * F / sc[j][2];
    ctx.beginPath(); ctx.moveTo(sc[j][0], sc[j][1]); ctx.lineTo(sc[p][0], sc[p][1]); ctx.stroke();
  }
  bones.sort((a, b) => b[2] - a[2]);  // far limbs first: near ones cover them
  for (const [j, p, d] of bones) {
    ctx.strokeStyle = COLORS[D.sides[j]];
    ctx.lineWidth = 2 * R * F / d;
    ctx.beginPath(); ctx.moveTo(pc[j][0], pc[j][1]); ctx.lineTo(pc[p][0], pc[p][1]); ctx.stroke();
  }
  if (D.head >= 0) {
    const h = pc[D.head];
    ctx.fillStyle = COLORS[0];
    ctx.beginPath(); ctx.arc(h[0], h[1], 0.095 * F / h[2], 0, 2 * Math.PI); ctx.fill();
  }
  if (!seeking) seekEl.value = t.toFixed(2);
  timeEl.textContent = fmt(t) + " / " + fmt(DUR);
  btn.textContent = playing() ? "Pause" : "Play";
  drawn++;
  requestAnimationFrame(draw);
}
window.m2d = {
  frame, time, play, pause, seek, playing,
  clock: audio ? "audio" : "timer", fps: FPS, frames: N, duration: DUR,
  drawn: () => drawn,
};
requestAnimationFrame(draw);
})();
</script>
</body>
</html>
"""
