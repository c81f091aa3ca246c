"""User-facing errors: one line that names the file and the problem, never a traceback.

The CLI catches `Music2DanceError` and prints `error: <message>`; library code raises it for bad input.
"""


class Music2DanceError(Exception):
    """A problem with the user's input (file, option or model folder), explained in one line."""


def one_line(text: str) -> str:
    """`text` as one printable line: line breaks and other control characters (from file names, JSON
    keys, library messages) are shown escaped, so an error is always exactly one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def input_error(path, problem: str) -> Music2DanceError:
    """Build the standard one-line error: ``<path>: <problem>``."""
    return Music2DanceError(f"{path}: {problem}")


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: raised like KeyboardInterrupt so every temp output is cleaned up."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum
