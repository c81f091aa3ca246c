"""Shared drawing helpers for every renderer: limb colours, the frames a video shows, a following camera.

Plus a fast rasteriser: Pillow's C line/disc drawing at 2x size, box-filtered down for anti-aliasing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..motion.geometry import resample_joints

# RGB, chosen to read on the dark background and to survive yuv420p chroma subsampling.
LEFT_COLOR = (70, 140, 255)
RIGHT_COLOR = (240, 85, 75)
CENTRE_COLOR = (215, 215, 220)
BACKGROUND = (24, 26, 32)
GRID_COLOR = (95, 100, 115)
SHADOW_COLOR = (12, 13, 17)

BONE_RADIUS_M = 0.028  # drawn limb half-thickness in metres, scaled by perspective
JOINT_RADIUS_M = 0.034
HEAD_RADIUS_M = 0.095


def joint_sides(joint_names) -> np.ndarray:
    """(J,) int: 0 centre, 1 left, 2 right, read from the joint names (left_*, Left*, l_*, ...)."""
    sides = []
    for name in joint_names:
        n = str(name).lower()
        if n.startswith(("left", "l_")) or "_left" in n:
            sides.append(1)
        elif n.startswith(("right", "r_")) or "_right" in n:
            sides.append(2)
        else:
            sides.append(0)
    return np.array(sides, dtype=np.int64)


def side_colors(joint_names) -> np.ndarray:
    """(J, 3) uint8 colour of each joint and of the bone that ends at it."""
    palette = np.array([CENTRE_COLOR, LEFT_COLOR, RIGHT_COLOR], dtype=np.uint8)
    return palette[joint_sides(joint_names)]


def video_frames(joints: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """The dance as a player shows it, each frame for 1 / fps_out s: (T, J, 3) metres at fps_in ->
    (N, J, 3) float32 at fps_out, N = round(T fps_out / fps_in) frames, the dance's T / fps_in seconds.

    `motion.geometry.resample_joints` covers the sample times up to (T - 1) / fps_in; the last pose is held
    for the remaining frames (one at 15 -> 30 fps: 2 T frames for T), so the picture lasts as the audio does.
    """
    joints = np.asarray(joints)
    t = joints.shape[0]
    if t == 0:
        return joints.astype(np.float32)
    n = max(1, int(round(t * float(fps_out) / float(fps_in))))
    out = resample_joints(joints, fps_in, fps_out)[:n]
    if len(out) < n:
        out = np.concatenate([out, np.repeat(out[-1:], n - len(out), axis=0)])
    return out.astype(np.float32)


def follow_track(joints: np.ndarray, fps: float, sigma_s: float = 0.8) -> np.ndarray:
    """(T, 3) camera target: the pelvis (joint 0) smoothed with a Gaussian of `sigma_s` seconds.

    Smoothing keeps the camera calm while the dancer sways; the height is the body's median mid-height
    so the camera does not bob with every knee bend.
    """
    from scipy.ndimage import gaussian_filter1d

    joints = np.asarray(joints, dtype=np.float64)
    root = joints[:, 0, :].copy()
    sigma = max(sigma_s * float(fps), 1e-3)
    if root.shape[0] > 1:
        root[:, 0] = gaussian_filter1d(root[:, 0], sigma, mode="nearest")
        root[:, 2] = gaussian_filter1d(root[:, 2], sigma, mode="nearest")
    top = np.median(joints[:, :, 1].max(axis=1))
    bottom = np.median(joints[:, :, 1].min(axis=1))
    root[:, 1] = 0.5 * (top + max(bottom, 0.0)) if np.isfinite(top) else 0.9
    return root


@dataclass
class FollowCamera:
    """Perspective camera that looks at a per-frame target from a fixed direction and distance.

    yaw_deg: azimuth of the camera around the target (0: camera on +z looking towards -z).
    pitch_deg: elevation above the horizon. distance: metres. fov_deg: vertical field of view.
    """

    width: int = 640
    height: int = 480
    yaw_deg: float = 25.0
    pitch_deg: float = 12.0
    distance: float = 3.4
    fov_deg: float = 45.0
    near: float = 0.1

    @property
    def focal(self) -> float:
        """Focal length in pixels."""
        return 0.5 * self.height / np.tan(np.radians(self.fov_deg) / 2)

    def basis(self) -> tuple[np.ndarray, np.ndarray]:
        """(3, 3) world->camera rotation (rows: right, up, forward) and the eye offset from the target."""
        yaw, pitch = np.radians(self.yaw_deg), np.radians(self.pitch_deg)
        back = np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
        forward = -back
        right = np.cross(forward, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        return np.stack([right, up, forward]), back * self.distance

    def to_camera(self, points: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """World points (N, ..., 3) and per-frame targets (N, 3) -> camera coordinates (N, ..., 3).

        Camera coordinates: x right, y up, z depth along the viewing direction (metres, > 0 in front).
        """
        rot, offset = self.basis()
        eye = np.asarray(targets, dtype=np.float64) + offset
        shape = (eye.shape[0],) + (1,) * (np.ndim(points) - 2) + (3,)
        return (np.asarray(points, dtype=np.float64) - eye.reshape(shape)) @ rot.T

    def project_camera(self, cam: np.ndarray) -> np.ndarray:
        """Camera coordinates (..., 3) -> pixel coordinates (..., 2), origin top-left, y down."""
        z = np.maximum(cam[..., 2], self.near)
        f = self.focal
        u = self.width / 2 + f * cam[..., 0] / z
        v = self.height / 2 - f * cam[..., 1] / z
        return np.stack([u, v], axis=-1)


def grid_segments(center_xz: np.ndarray, half: float = 5.0, step: float = 0.5) -> np.ndarray:
    """(S, 2, 3) floor-grid segments on y = 0 around a point, snapped to the grid so lines stay put."""
    cx = np.round(center_xz[0] / step) * step
    cz = np.round(center_xz[1] / step) * step
    ticks = np.arange(-half, half + 1e-9, step)
    segs = []
    for k in ticks:
        segs.append([[cx + k, 0.0, cz - half], [cx + k, 0.0, cz + half]])
        segs.append([[cx - half, 0.0, cz + k], [cx + half, 0.0, cz + k]])
    return np.asarray(segs, dtype=np.float64)


def clip_segments_near(seg_cam: np.ndarray, near: float) -> tuple[np.ndarray, np.ndarray]:
    """Clip camera-space segments (S, 2, 3) to z >= near; returns (clipped (S, 2, 3), keep mask (S,))."""
    a, b = seg_cam[:, 0].copy(), seg_cam[:, 1].copy()
    za, zb = a[:, 2], b[:, 2]
    keep = (za >= near) | (zb >= near)
    # Move the behind-camera endpoint along the segment to the near plane.
    t_a = np.where(za < near, (near - za) / np.where(zb - za == 0, 1, zb - za), 0.0)
    t_b = np.where(zb < near, (near - zb) / np.where(za - zb == 0, 1, za - zb), 0.0)
    a2 = a + (b - a) * t_a[:, None]
    b2 = b + (a - b) * t_b[:, None]
    return np.stack([a2, b2], axis=1), keep


class Rasterizer:
    """Draws anti-aliased thick lines and discs into an (H, W, 3) uint8 frame.

    Shapes are drawn by Pillow at `supersample` times the size and box-filtered down, which is both
    anti-aliased and fast (C code, no per-pixel Python).
    """

    def __init__(self, width: int, height: int, background=BACKGROUND, supersample: int = 2):
        from PIL import Image, ImageDraw

        self.width, self.height, self.ss = int(width), int(height), int(supersample)
        self._blank = Image.new("RGB", (self.width * self.ss, self.height * self.ss), tuple(background))
        self._image = self._blank.copy()
        self._draw = ImageDraw.Draw(self._image)

    def clear(self) -> None:
        self._image.paste(self._blank)

    def line(self, p0, p1, color, width_px: float) -> None:
        """Segment between pixel points p0, p1 (x, y) of `width_px` pixels (output resolution)."""
        s = self.ss
        w = max(1, int(round(width_px * s)))
        self._draw.line([(p0[0] * s, p0[1] * s), (p1[0] * s, p1[1] * s)], fill=tuple(color), width=w)

    def disc(self, center, radius_px: float, color) -> None:
        s = self.ss
        r = max(0.5, radius_px * s)
        x, y = center[0] * s, center[1] * s
        self._draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(color))

    def capsule(self, p0, p1, color, radius_px: float) -> None:
        """A thick segment with round ends: how limbs are drawn."""
        self.line(p0, p1, color, 2 * radius_px)
        self.disc(p0, radius_px, color)
        self.disc(p1, radius_px, color)

    def image(self) -> np.ndarray:
        """The frame as (H, W, 3) uint8 (a new array)."""
        small = self._image.reduce(self.ss) if self.ss > 1 else self._image
        return np.asarray(small, dtype=np.uint8)


def _shade(color, factor: float) -> tuple[int, int, int]:
    return tuple(int(min(255, max(0, c * factor))) for c in color)


class FigureRenderer:
    """Renders a whole dance frame by frame: floor grid, shadow, depth-sorted limbs, head.

    joints: (N, J, 3) metres, already at the output frame rate; the camera follows `follow_track`.
    """

    def __init__(
        self,
        joints: np.ndarray,
        fps: float,
        joint_names,
        parents,
        *,
        width: int = 640,
        height: int = 480,
        camera: FollowCamera | None = None,
        supersample: int = 2,
    ):
        self.joints = np.asarray(joints, dtype=np.float64)
        self.camera = camera or FollowCamera(width=width, height=height)
        self.camera.width, self.camera.height = int(width), int(height)
        self.parents = np.asarray(parents, dtype=np.int64)
        self.colors = side_colors(joint_names)
        names = [str(n).lower() for n in joint_names]
        self.head = names.index("head") if "head" in names else -1
        bones = [(j, p) for j, p in enumerate(self.parents) if p >= 0]
        self.bones = np.array(bones, dtype=np.int64).reshape(-1, 2)  # (0, 2) for a lone joint
        self.targets = follow_track(self.joints, fps)
        # Project everything at once: one vectorised pass instead of per-frame matrix work.
        cam = self.camera.to_camera(self.joints, self.targets)
        self.depth = cam[..., 2]
        self.pix = self.camera.project_camera(cam)
        shadow = self.joints.copy()
        shadow[..., 1] = 0.0
        self.shadow_pix = self.camera.project_camera(self.camera.to_camera(shadow, self.targets))
        self.raster = Rasterizer(width, height, supersample=supersample)

    def __len__(self) -> int:
        return self.joints.shape[0]

    def _draw_grid(self, i: int) -> None:
        cam = self.camera
        segs = grid_segments(self.targets[i, [0, 2]])
        seg_cam = cam.to_camera(segs.reshape(1, -1, 3), self.targets[i : i + 1]).reshape(-1, 2, 3)
        seg_cam, keep = clip_segments_near(seg_cam, cam.near + 0.2)
        px = cam.project_camera(seg_cam[keep])
        depth = seg_cam[keep][..., 2].mean(axis=1)
        # Fade with distance: a cheap depth cue that keeps the far grid from cluttering.
        fade = np.clip(1.6 - depth / cam.distance * 0.55, 0.25, 1.0)[:, None]
        bg, grid = np.asarray(BACKGROUND, float), np.asarray(GRID_COLOR, float)
        cols = (bg + (grid - bg) * fade).astype(np.int64).tolist()
        for (p0, p1), col in zip(px.tolist(), cols):
            self.raster.line(p0, p1, col, 1.0)

    def frame(self, i: int) -> np.ndarray:
        """Frame i as (H, W, 3) uint8."""
        r, f = self.raster, self.camera.focal
        r.clear()
        self._draw_grid(i)
        pix, depth, sh = self.pix[i], self.depth[i], self.shadow_pix[i]
        sh_depth = np.maximum(depth, self.camera.near)
        for j, p in self.bones:
            r.line(sh[j], sh[p], SHADOW_COLOR, 2 * BONE_RADIUS_M * f / sh_depth[j])
        # Painter's algorithm: far bones first so near limbs cover them.
        bone_depth = 0.5 * (depth[self.bones[:, 0]] + depth[self.bones[:, 1]])
        zmin = depth.min()
        for k in np.argsort(-bone_depth):
            j, p = self.bones[k]
            d = max(bone_depth[k], self.camera.near)
            col = _shade(self.colors[j], 1.0 - 0.35 * float(np.clip((bone_depth[k] - zmin) / 0.6, 0, 1)))
            r.capsule(pix[j], pix[p], col, BONE_RADIUS_M * f / d)
        if self.head >= 0:
            d = max(depth[self.head], self.camera.near)
            r.disc(pix[self.head], HEAD_RADIUS_M * f / d, CENTRE_COLOR)
        return r.image()
