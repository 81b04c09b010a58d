"""Which files the chat may read: only those inside allowed folders, by their real paths.

`/describe PATH` and the chat's describe tool take paths from a user or a model; `..`,
absolute paths and symlinks that lead out of the allowed folders are refused.
"""

from __future__ import annotations

import os
from pathlib import Path


class PathRefused(ValueError):
    """A path outside the allowed folders, or no file."""


def allowed_path(path: str, *, allowed: list[Path]) -> Path:
    """The real path of `path` if it lies inside an allowed folder, else `PathRefused`."""
    real = Path(os.path.realpath(os.path.expanduser(path)))
    for folder in allowed:
        root = Path(os.path.realpath(folder))
        if real == root or root in real.parents:
            if not real.is_file():
                raise PathRefused(f"no such file: {path}")
            return real
    raise PathRefused(f"{path} is outside the allowed folders ({', '.join(map(str, allowed))}); "
                      "start the chat with --allow DIR to add one")


def default_allowed(extra: list[str], *, song_paths: list[str]) -> list[Path]:
    """The current directory, the `--allow` folders, and the folders of songs already described."""
    folders = [Path.cwd(), *map(Path, extra), *(Path(path).parent for path in song_paths)]
    return list(dict.fromkeys(Path(os.path.realpath(folder)) for folder in folders))
