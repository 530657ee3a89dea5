"""One exception type for every bad input, so callers (and the CLI) can report one line."""

from os import PathLike


class FormatError(ValueError):
    """Bad or unreadable input; the message names the file and the problem."""

    def __init__(self, path: str | PathLike | None, problem: str):
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)
