"""Turn `describe PATH...` arguments (files, folders, globs) into the songs to describe."""

from __future__ import annotations

import glob
from pathlib import Path

from linernotes.tools.audio import AudioError

# What a folder walk picks up; a file named explicitly is taken whatever its extension.
AUDIO_SUFFIXES = frozenset({".mp3", ".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".m4a", ".aac",
                            ".opus", ".wma", ".mp4", ".webm", ".mka"})
_GLOB_CHARACTERS = frozenset("*?[")


def _folder_songs(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*")
                  if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES and not path.name.startswith("."))


def collect_songs(arguments: list[str]) -> list[Path]:
    """The songs the arguments name, in order, each once.

    A folder adds its audio files recursively; a pattern with ``*``, ``?`` or ``[`` is a glob
    (``**`` recurses); anything else is taken as a file (and checked when it is described).

    Raises
    ------
    AudioError
        When a folder holds no audio or a pattern matches nothing.
    """
    songs: list[Path] = []
    for argument in arguments:
        path = Path(argument).expanduser()
        if path.is_dir():
            found = _folder_songs(path)
            if not found:
                raise AudioError(f"{argument} is a directory with no audio files")
        elif _GLOB_CHARACTERS & set(argument) and not path.exists():
            matches = [Path(match) for match in sorted(glob.glob(str(path), recursive=True))]
            found = [match for match in matches if match.is_file() and match.suffix.lower() in AUDIO_SUFFIXES]
            if not found:
                raise AudioError(f"{argument} matches no audio file")
        else:
            found = [path]
        songs.extend(found)
    unique: dict[Path, None] = {}
    for song in songs:
        unique.setdefault(song.resolve() if song.exists() else song, None)
    return list(unique)


def output_names(songs: list[Path]) -> list[str]:
    """A file-name stem per song, named after it; songs sharing a name get "-2", "-3" in order."""
    names, taken = [], set()
    for song in songs:
        base = song.stem or song.name
        name, counter = base, 1
        while name in taken:
            counter += 1
            name = f"{base}-{counter}"
        taken.add(name)
        names.append(name)
    return names
