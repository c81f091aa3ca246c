"""Does the Tang data's dance follow its music's beats in phase, with a lag, or only in tempo?

Kinematic beats vs librosa beats per sequence: hit rate at the given alignment, at random shifts, and
scanned over time offsets and half/double tempo. Run: python benchmarks/sync_scan.py [--data DIR].
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from music2dance.motion.kinematic_beats import KinematicBeatParams, hit_rate_vs_chance, kinematic_beats

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tang2018"
STYLES = ("cha-cha", "rumba", "tango", "waltz")
MARGIN_S = 3.0  # seconds of song tracked beyond each end of the dance, so shifted beats still find a beat
OFFSETS_S = np.round(np.arange(-2.0, 2.0 + 1e-9, 0.04), 2)


def _track_one(args: tuple[str, float, float]) -> dict:
    """Music beats of the danced part of one song (plus margins), in song seconds."""
    from music2dance.audio.beats import track_beats
    from music2dance.audio.load import load_audio

    audio, offset, duration = args
    start = max(0.0, offset - MARGIN_S)
    y, sr = load_audio(audio, offset=start, duration=duration + offset - start + MARGIN_S)
    tempo, beats = track_beats(y, sr)
    return {"tempo": tempo, "beats": (beats + start).tolist(), "start": start}


def load_tang(data: Path, cache: Path, workers: int = 2, quiet: bool = False) -> list[dict]:
    """Every sequence: name, style, joints (25 fps, m), offset (s), and cached music beats (song s)."""
    from music2dance.io.tang import list_tang_sequences, read_tang_sequence

    seqs = []
    for folder in list_tang_sequences(data):
        s = read_tang_sequence(folder)
        seqs.append(
            {
                "name": s.name,
                "style": s.style,
                "joints": s.motion.joints,
                "fps": s.motion.fps,
                "offset": s.audio_offset_s,
                "audio": str(s.audio_path),
                "duration": s.motion.num_frames / s.motion.fps,
            }
        )
    key = {s["name"]: [s["offset"], s["duration"]] for s in seqs}
    cached = json.loads(cache.read_text()) if cache.exists() else {}
    todo = [s for s in seqs if cached.get(s["name"], {}).get("key") != key[s["name"]]]
    if todo:
        t0 = time.time()
        with ProcessPoolExecutor(max_workers=max(1, min(2, workers))) as ex:
            jobs = [(s["audio"], s["offset"], s["duration"]) for s in todo]
            for s, r in zip(todo, ex.map(_track_one, jobs)):
                cached[s["name"]] = dict(r, key=key[s["name"]])
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(cached))
        if not quiet:
            print(
                f"tracked music beats of {len(todo)} songs in {time.time() - t0:.0f} s (cache {cache})",
                file=sys.stderr,
            )
    for s in seqs:
        s["tempo"] = cached[s["name"]]["tempo"]
        s["music_song_s"] = np.asarray(cached[s["name"]]["beats"])
    return seqs


def default_cache() -> Path:
    return Path(os.environ.get("M2D_CACHE", tempfile.gettempdir())) / "music2dance-sync-cache" / "beats.json"


def music_beats_dance_time(seq: dict, tempo_factor: float = 1.0) -> np.ndarray:
    """Music beats in dance seconds (0 = dance frame 0); factor 2 adds off-beats, 0.5 keeps every other."""
    b = seq["music_song_s"] - seq["offset"]
    if tempo_factor == 2.0:
        b = np.sort(np.concatenate([b, (b[:-1] + b[1:]) / 2]))
    elif tempo_factor == 0.5:
        # the half-tempo grid has two phases; callers take the better (both are scanned)
        b = b[::2]
    return b


def offset_curve(
    kin_s: np.ndarray,
    music_s: np.ndarray,
    tol_s: float,
    span: tuple[float, float],
    offsets: np.ndarray = OFFSETS_S,
) -> np.ndarray:
    """Hit rate with the kinematic beats shifted by each offset (wrapped circularly inside span)."""
    from music2dance.motion.kinematic_beats import _hits

    start, end = span
    shifted = start + np.mod(kin_s[None, :] - start + offsets[:, None], end - start)
    return _hits(shifted, np.sort(music_s), tol_s).mean(axis=1)


def analyse(
    seqs: list[dict], params: KinematicBeatParams, tol_s: float, n_shifts: int = 200, seed: int = 0
) -> list[dict]:
    """Per sequence: hit at the given alignment, chance, z, offset curve and best offset per tempo factor."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in seqs:
        kin = kinematic_beats(s["joints"], s["fps"], params) / s["fps"]
        span = (0.0, s["duration"])
        row = {
            "name": s["name"],
            "style": s["style"],
            "tempo": s["tempo"],
            "n_kin": len(kin),
            "kin_rate": len(kin) / s["duration"],
            "music_rate": s["tempo"] / 60.0,
        }
        for factor, tag in ((1.0, ""), (2.0, "_x2"), (0.5, "_half")):
            music = music_beats_dance_time(s, factor)
            r = hit_rate_vs_chance(kin, music, tol_s, n_shifts=n_shifts, max_shift_s=2.0, rng=rng, span=span)
            curve = offset_curve(kin, music, tol_s, span)
            if factor == 0.5:  # the other phase of the half-tempo grid
                other = music_beats_dance_time(s, 1.0)[1::2]
                c2 = offset_curve(kin, other, tol_s, span)
                if c2.max() > curve.max():
                    r = hit_rate_vs_chance(kin, other, tol_s, n_shifts=n_shifts, rng=rng, span=span)
                    curve = c2
            row.update(
                {
                    f"hit{tag}": r["hit"],
                    f"chance{tag}": r["chance_mean"],
                    f"chance_std{tag}": r["chance_std"],
                    f"z{tag}": r["z"],
                    f"curve{tag}": curve,
                    f"best_offset{tag}": float(OFFSETS_S[int(np.argmax(curve))]),
                    f"best_hit{tag}": float(curve.max()),
                    f"curve_z{tag}": float((curve.max() - curve.mean()) / max(curve.std(), 1e-9)),
                }
            )
        # null for the offset-curve peak: the same beats with their intervals shuffled (no music in them)
        music = music_beats_dance_time(s)
        null = []
        for _ in range(20):
            sur = kin[0] + np.concatenate([[0.0], np.cumsum(rng.permutation(np.diff(kin)))])
            c = offset_curve(sur, music, tol_s, span)
            null.append((c.max() - c.mean()) / max(c.std(), 1e-9))
        row["curve_z_null"] = float(np.mean(null))
        row["rayleigh"], row["phase_beats"] = phase_locking(kin, music)
        rows.append(row)
    return rows


def phase_locking(kin_s: np.ndarray, music_s: np.ndarray) -> tuple[float, float]:
    """Rayleigh z (N R^2; ~1 when unrelated) and mean phase (beats, -0.5..0.5) of kin beats in the grid."""
    i = np.searchsorted(music_s, kin_s) - 1
    ok = (i >= 0) & (i < len(music_s) - 1)
    if ok.sum() < 3:
        return float("nan"), float("nan")
    ph = (kin_s[ok] - music_s[i[ok]]) / (music_s[i[ok] + 1] - music_s[i[ok]])
    m = np.exp(2j * np.pi * ph).mean()
    return float(ok.sum() * abs(m) ** 2), float(np.angle(m) / (2 * np.pi))


def _circ_spread(offsets: np.ndarray, period: np.ndarray) -> tuple[float, float]:
    """Mean phase (in seconds of the median period) and resultant length R (1 = identical phases)."""
    ang = 2 * np.pi * offsets / period
    z = np.exp(1j * ang).mean()
    return float(np.angle(z) / (2 * np.pi) * np.median(period)), float(np.abs(z))


def summarise(rows: list[dict], tol_s: float) -> str:
    lines = [
        f"tolerance +-{tol_s * 1000:.0f} ms; offsets {OFFSETS_S[0]:+.1f} .. {OFFSETS_S[-1]:+.1f} s "
        "step 40 ms; chance = 200 random circular shifts of up to 2 s; peak z = (best - mean) / std of "
        "the offset curve, null = same beats with shuffled intervals",
        "",
        "| style | seqs | kin beats/s | music beats/s | hit (given) | chance +- sd | mean z | "
        "best-offset hit | peak z (null) | hit x2 / chance | hit half / chance | best offsets (s) | "
        "offset R | Rayleigh z | phase R |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for style in STYLES + ("all",):
        sel = [r for r in rows if style == "all" or r["style"] == style]
        if not sel:
            continue
        best = np.array([r["best_offset"] for r in sel])
        period = np.array([60.0 / r["tempo"] for r in sel])
        _, R = _circ_spread(best, period)
        ph = np.array([r["phase_beats"] for r in sel])
        phase_R = float(np.abs(np.exp(2j * np.pi * ph).mean()))

        def m(k: str, rows_: list[dict] = sel) -> float:
            return float(np.nanmean([r[k] for r in rows_]))

        lines.append(
            f"| {style} | {len(sel)} | {m('kin_rate'):.2f} | {m('music_rate'):.2f} | {m('hit'):.3f} | "
            f"{m('chance'):.3f} +- {m('chance_std'):.3f} | {m('z'):+.2f} | {m('best_hit'):.3f} | "
            f"{m('curve_z'):.2f} ({m('curve_z_null'):.2f}) | {m('hit_x2'):.3f} / {m('chance_x2'):.3f} | "
            f"{m('hit_half'):.3f} / {m('chance_half'):.3f} | {np.median(best):+.2f} "
            f"[{best.min():+.2f}, {best.max():+.2f}] | {R:.2f} | {m('rayleigh'):.2f} | {phase_R:.2f} |"
        )
    lines += [
        "",
        "offset R: agreement of the best offsets across sequences as phases of the beat period "
        "(1 = one lag for all, ~0 = none); Rayleigh z: locking of each sequence's kinematic beats to "
        "the music beat grid at any constant lag (~1 = none); phase R: agreement of those lags across "
        "sequences.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--cache", type=Path, default=default_cache())
    ap.add_argument("--tol", type=float, default=0.08, help="hit tolerance, seconds")
    ap.add_argument("--json", type=Path, help="write per-sequence rows here")
    a = ap.parse_args(argv)
    t0 = time.time()
    seqs = load_tang(a.data, a.cache)
    rows = analyse(seqs, KinematicBeatParams(), a.tol)
    print(summarise(rows, a.tol))
    print(f"\n({len(seqs)} sequences, {time.time() - t0:.0f} s)")
    if a.json:
        a.json.write_text(
            json.dumps(
                [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items()} for r in rows],
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
