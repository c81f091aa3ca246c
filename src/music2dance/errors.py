"""User-facing errors: one line that names the file and the problem, never a traceback.

The CLI catches `Music2DanceError` and prints `error: <message>`; library code raises it for bad input.
"""


class Music2DanceError(Exception):
    """A problem with the user's input (file, option or model folder), explained in one line."""


def input_error(path, problem: str) -> Music2DanceError:
    """Build the standard one-line error: ``<path>: <problem>``."""
    return Music2DanceError(f"{path}: {problem}")
