"""The analysis as `.lab` files for Sonic Visualiser and mir_eval: chords, sections and keys
as `start end label`, beats as `time position` (1 on a downbeat)."""

from __future__ import annotations

from linernotes.exports.lanes import Region, beat_positions, chord_regions, key_regions, section_regions
from linernotes.tools.schema import SongAnalysis

# The lab files of one song: the part each adds to the song's name, e.g. "song.chords.lab".
LAB_PARTS = ("chords", "sections", "keys", "beats")


def _intervals(regions: list[Region]) -> str:
    return "".join(f"{region.start:.3f}\t{region.end:.3f}\t{region.label}\n" for region in regions)


def lab_files(analysis: SongAnalysis) -> dict[str, str]:
    """Each lab part's text, keyed by its part name (`LAB_PARTS`)."""
    return {
        "chords": _intervals(chord_regions(analysis)),
        "sections": _intervals(section_regions(analysis)),
        "keys": _intervals(key_regions(analysis)),
        "beats": "".join(f"{time:.3f}\t{position}\n" for time, position in beat_positions(analysis)),
    }
