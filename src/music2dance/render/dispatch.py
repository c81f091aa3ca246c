"""Draw a dance in the format its file extension names: .mp4 .gif .html (`DRAWN_FORMATS`).

The data formats (.npz .bvh .json) are written by `io.export.write_data_file`; `commands.write_dance`
(`music2dance generate -o`, `music2dance render`) checks the output and picks between the two.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..defaults import OUTPUT_FPS
from ..errors import input_error
from ..io.skeleton import Motion
from .video import GIF_MAX_FPS

DRAWN_FORMATS: dict[str, str] = {
    ".mp4": "H.264 video with the song",
    ".gif": f"looping GIF (320 px, at most {GIF_MAX_FPS:g} fps)",
    ".html": "self-contained web viewer with the song",
}


def write_drawing(
    motion: Motion,
    out: str | os.PathLike,
    *,
    audio_path: str | os.PathLike | None = None,
    fps: float = OUTPUT_FPS,
    quiet: bool = False,
) -> Path:
    """Draw `motion` into `out`, the format picked by the extension (see `DRAWN_FORMATS`); returns the path.

    audio_path: the song, muxed into .mp4 and embedded into .html (not used by .gif).
    fps: frame rate of .mp4 (and the cap for .gif, at most GIF_MAX_FPS); the motion is resampled to it
    (`figure.video_frames`).
    """
    out = Path(out)
    ext = out.suffix.lower()
    if ext == ".mp4":
        from .video import write_video

        write_video(motion, out, audio_path=audio_path, fps=fps, quiet=quiet)
    elif ext == ".gif":
        from .video import write_gif

        write_gif(motion, out, fps=min(float(fps), GIF_MAX_FPS), quiet=quiet)
    elif ext == ".html":
        from .html import write_html

        write_html(motion, out, audio_path=audio_path, quiet=quiet)
    else:
        raise input_error(
            out, f"not a drawn format {ext or '(no extension)'!r}; use one of: {' '.join(DRAWN_FORMATS)}"
        )
    return out
