"""One exception type for every bad input, so callers (and the CLI) can report one line."""

import json
from os import PathLike
from pathlib import Path


class FormatError(ValueError):
    """Bad or unreadable input; the message names the file and the problem."""

    def __init__(self, path: str | PathLike | None, problem: str):
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


def load_json_file(path, what: str):
    """Parse a small JSON file; a missing or broken one is a FormatError naming it."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, f"missing {what}")
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(path, f"not valid JSON ({exc})") from None
