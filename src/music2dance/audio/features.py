"""Per-frame music features at the motion frame rate: exactly one feature row per motion frame.

Rhythm (onset, tracked-beat pulse and phase, local tempo), timbre (MFCC, log-energy) and harmony (chroma).
"""

from __future__ import annotations

import numpy as np

from .beats import fine_onset_strength, frame_hop, num_frames, pool_to_frames, track_beats

N_FFT = 2048
N_MELS = 64
N_MFCC = 13
# Seconds: how fast the beat pulse decays after a tracked beat (about one frame at 15 fps).
BEAT_PULSE_DECAY_S = 0.1
# Seconds of onset envelope in each local-tempo window (librosa's tempogram default is ~8.9 s).
TEMPO_WINDOW_S = 6.0
TEMPO_RANGE_BPM = (40.0, 240.0)

FEATURE_NAMES: tuple[str, ...] = (
    ("onset", "beat_pulse", "beat_phase_sin", "beat_phase_cos")
    + tuple(f"mfcc_{i}" for i in range(N_MFCC))
    + ("log_energy",)
    + tuple(f"chroma_{n}" for n in ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"))
    + ("local_tempo", "pulse_clarity")
)
NUM_FEATURES = len(FEATURE_NAMES)


def _beat_channels(times: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """(T, 3): pulse exp(-|t - nearest beat| / decay), and sin/cos of the phase within the beat period.

    Before the first beat and after the last the period is extrapolated from the neighbouring interval,
    so the phase keeps turning at the song's tempo instead of jumping.
    """
    out = np.zeros((len(times), 3), dtype=np.float32)
    if len(beats) < 2:
        out[:, 2] = 1.0  # phase 0 everywhere: no rhythm information
        return out
    idx = np.searchsorted(beats, times, side="right") - 1  # previous beat, -1 before the first
    k = np.clip(idx, 0, len(beats) - 2)
    period = beats[k + 1] - beats[k]
    phase = (times - beats[k]) / period  # may be < 0 before the first beat or > 1 after the last
    # distance to the nearest beat, not time since the last one: tracked beats fall a few ms either side
    # of a frame centre, and a one-sided pulse would then light up the frame after the beat
    prev = np.abs(times - beats[np.clip(idx, 0, len(beats) - 1)])
    nxt = np.abs(beats[np.clip(idx + 1, 0, len(beats) - 1)] - times)
    out[:, 0] = np.exp(-np.minimum(prev, nxt) / BEAT_PULSE_DECAY_S)
    out[:, 1] = np.sin(2 * np.pi * phase)
    out[:, 2] = np.cos(2 * np.pi * phase)
    return out


def _local_tempo(env: np.ndarray, fine_sr: float, k: int, n_frames: int) -> np.ndarray:
    """(T, 2): log2(local tempo / 120 BPM) and the normalised autocorrelation at that tempo (0..1).

    env: onset strength at fine_sr frames per second; k: fine frames per motion frame. Windows are
    centred on each motion frame's centre (fine frame t*k) and Hann-weighted like librosa's tempogram.
    """
    import librosa

    win = int(round(TEMPO_WINDOW_S * fine_sr))
    half = win // 2
    padded = np.pad(env.astype(np.float64), (half, half + n_frames * k))
    starts = np.arange(n_frames) * k
    frames = padded[starts[:, None] + np.arange(win)[None, :]]  # (T, win)
    frames = frames - frames.mean(axis=1, keepdims=True)
    frames *= np.hanning(win)[None, :]
    ac = librosa.autocorrelate(frames, axis=1)
    lo = max(1, int(np.floor(60.0 * fine_sr / TEMPO_RANGE_BPM[1])))
    hi = min(win - 1, int(np.ceil(60.0 * fine_sr / TEMPO_RANGE_BPM[0])))
    band = ac[:, lo : hi + 1]
    best = band.argmax(axis=1)
    lag = (best + lo).astype(np.float64)
    clarity = band[np.arange(n_frames), best] / np.maximum(ac[:, 0], 1e-12)
    tempo = 60.0 * fine_sr / lag
    out = np.stack([np.log2(tempo / 120.0), np.clip(clarity, 0.0, 1.0)], axis=1)
    out[ac[:, 0] <= 1e-12] = 0.0  # silent window: no tempo
    return out.astype(np.float32)


def music_features(y: np.ndarray, sr: int, fps: float, *, beats: np.ndarray | None = None) -> np.ndarray:
    """Music features with exactly one row per motion frame.

    y: (n,) mono float signal; sr: sample rate in Hz, a whole multiple of fps (22050 Hz: 15, 25, 30 fps);
    fps: motion frames per second. beats: tracked beat times in seconds from the start of y (None: tracked
    here with `track_beats` on the same onset envelope).
    Framing: hop = sr // fps samples (1470 at 15 fps, 882 at 25 fps, 735 at 30 fps), n_fft = 2048,
    centred frames: row t describes the audio around t / fps seconds, the time of motion frame t.
    T = ceil(n / hop), so a dance of T frames at fps covers the song exactly.
    Returns (T, D) float32, D = len(FEATURE_NAMES) = 32, columns in FEATURE_NAMES order:
      onset          max of librosa's onset strength (log-mel flux, fine hop dividing hop) over the frame
      beat_pulse     exp(-(seconds to the nearest tracked beat) / 0.1 s): 1 on a beat
      beat_phase_sin/cos   phase within the current beat period (0 at a beat)
      mfcc_0..12     MFCC from a 64-band mel power spectrogram (dB)
      log_energy     log10 of the frame's mean power (+1e-10)
      chroma_C..B    chroma from the same power spectrogram (max-normalised per frame)
      local_tempo    log2(tempo / 120 BPM) of the 6 s window around the frame (40-240 BPM)
      pulse_clarity  that tempo's normalised autocorrelation, 0 (no pulse) to 1
    Not normalised across songs: callers z-score with their dataset statistics.
    """
    import librosa

    y = np.asarray(y, dtype=np.float32).ravel()
    if y.size == 0:
        raise ValueError("empty audio: no samples to describe")
    hop = frame_hop(sr, fps)
    T = num_frames(len(y), sr, fps)

    env, fh = fine_onset_strength(y, sr, fps)
    k = hop // fh
    onset = pool_to_frames(env, k, T)
    if beats is None:
        _, beats = track_beats(y, sr, hop_length=fh, onset_env=env)
    times = np.arange(T) / float(fps)
    beat = _beat_channels(times, np.sort(np.asarray(beats, dtype=np.float64)))

    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=hop, center=True)) ** 2  # (1 + n_fft/2, 1 + n//hop)
    S = S[:, :T]
    mel = librosa.feature.melspectrogram(S=S, sr=sr, n_mels=N_MELS)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=N_MFCC)
    log_e = np.log10(S.mean(axis=0) + 1e-10)[None, :]
    chroma = librosa.feature.chroma_stft(S=S, sr=sr, n_fft=N_FFT, hop_length=hop)
    tempo = _local_tempo(env, sr / fh, k, T)

    feats = np.concatenate([onset[:, None], beat, mfcc.T, log_e.T, chroma.T, tempo], axis=1)
    return np.nan_to_num(feats.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
