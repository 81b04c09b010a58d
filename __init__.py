"""linernotes: measured facts and a time-stamped narrative of whole songs, offline on a CPU.

>>> import linernotes
>>> analysis = linernotes.describe("song.mp3", llm="none")   # SongAnalysis, with its narrative
>>> agent = linernotes.MusicAgent(llm="none")                 # describe, ask, threads, similar

The names below are imported on first use, so `import linernotes` stays instant.
"""

__version__ = "0.2.0"

__all__ = ["MusicAgent", "analyze", "describe", "narrate", "__version__"]

_EXPORTS = {
    "MusicAgent": "linernotes.agent.api",
    "describe": "linernotes.agent.api",
    "narrate": "linernotes.agent.api",
    "analyze": "linernotes.agent.api",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'linernotes' has no attribute {name!r}")
