"""Project-wide defaults: the rates and sizes a new model is trained at and outputs default to.

A trained model records the values it was trained with in its own config (`models.dance_model`), and
inference reads them from there; these are only the starting points for `prepare`, `train` and the CLI.
Imported by every layer, imports nothing.
"""

MODEL_FPS = 15.0  # motion frames per second of prepared data and models (the paper's)
AUDIO_SR = 22050  # Hz; one music feature frame per motion frame, hop = AUDIO_SR / fps
UNIT_FRAMES = 32  # frames per dance unit (about 2 s at 15 fps)
OUTPUT_FPS = 30.0  # frame rate of generated dances and videos unless --fps says otherwise
FLOOR_WINDOW_S = 4.0  # window of the moving floor estimate (motion.clean.put_on_floor), s
