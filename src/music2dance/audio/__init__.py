"""Audio in: decoding, per-frame music features aligned to the motion frame rate, music beats."""
