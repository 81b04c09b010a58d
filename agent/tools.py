"""LangChain tools: typed functions whose docstrings are their descriptions.

`analysis_tools` serve the describe graph's writer (one song's analysis); `chat_tools` serve
the chat (the library). Results are compact text, short enough for a small model; a bad
argument comes back as an "error: ..." result, never as an exception that ends the chat.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Annotated, Callable

from langchain_core.tools import BaseTool, tool

from linernotes.agent import facts
from linernotes.tools.schema import Segment, SongAnalysis
from linernotes.tools.vocabulary import format_time, parse_time, top_labels

if TYPE_CHECKING:
    from linernotes.agent.answer import Answerer


def segment_facts(segment: Segment) -> dict:
    """A segment's features, as the tools report them."""
    return {
        "label": segment.label, "section_index": segment.section_index,
        "start": format_time(segment.start), "end": format_time(segment.end), "key": segment.key,
        "bpm": round(segment.bpm) if segment.bpm else None,
        "energy": round(segment.energy, 2) if segment.energy is not None else None,
        "instruments": top_labels(segment.instruments), "genres": top_labels(segment.genres, limit=2),
        "moods": top_labels(segment.moods, limit=2), "vocals": segment.vocals.present,
        "chords": segment.chords[:6], "caption": segment.caption,
    }


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def analysis_tools(analysis: SongAnalysis) -> list[BaseTool]:
    """Feature tools over one song's analysis: the song's facts, a section's facts, the window at a time."""
    sections = facts.sections(analysis)

    @tool
    def song_facts() -> str:
        """Key, tempo, genres, moods, instruments and sections of the song."""
        summary = analysis.summary
        return _dump({
            "duration": format_time(analysis.source.duration_s), "key": summary.key,
            "bpm": round(summary.bpm) if summary.bpm else None, "time_signature": summary.time_signature,
            "genres": top_labels(summary.genres, limit=2), "moods": top_labels(summary.moods, limit=2),
            "instruments": top_labels(summary.instruments, limit=4), "vocals": summary.vocals.present,
            "sections": [f"{section.label} {format_time(section.start)}-{format_time(section.end)}"
                         for section in sections],
            "key_changes": [f"{format_time(change.time)} {change.from_key} -> {change.to_key}"
                            for change in analysis.key_changes],
        })

    @tool
    def section_facts(section_index: Annotated[int, "Position of the section, 0 for the first"]) -> str:
        """Measured features of one section: span, key, BPM, instruments, chords, mood."""
        if not 0 <= section_index < len(sections):
            return _dump({"error": f"no section {section_index}; the song has {len(sections)}"})
        return _dump(segment_facts(sections[section_index]))

    @tool
    def segment_at_time(time_s: Annotated[float, "A time in the song in seconds, e.g. 45 for 0:45"]) -> str:
        """Measured features of the 10-second window playing at a time."""
        found = facts.window_at(analysis, time_s)
        return _dump(segment_facts(found) if found else {"error": f"no segment at {time_s:.1f} s"})

    return [song_facts, section_facts, segment_at_time]


def _seconds(time: str) -> float:
    """"0:45", "45" or "45.0" as seconds."""
    text = time.strip()
    return parse_time(text) if ":" in text else float(text)


def chat_tools(answerer: Answerer, *, describe_file: Callable[[str], str] | None = None,
               narrate_song: Callable[[str], str] | None = None) -> list[BaseTool]:
    """Tools over the library, answering from the same facts as the deterministic answerer.

    Parameters
    ----------
    answerer : Answerer
        The library and its store.
    describe_file : callable, optional
        Describes and stores a new file (path -> summary); adds the `describe_file` tool.
    narrate_song : callable, optional
        Rewrites a stored song's narrative (song -> Markdown); adds the `narrate_again` tool.
    """

    def guarded(function: Callable[..., str]) -> Callable[..., str]:
        """Errors go back to the model as the tool's result."""
        @functools.wraps(function)
        def run(*args, **kwargs) -> str:
            try:
                return function(*args, **kwargs)
            except (LookupError, ValueError, OSError) as error:
                return f"error: {error}"
        return run

    def ask(text: str) -> str:
        return answerer.answer_text(text)

    @tool
    @guarded
    def list_songs() -> str:
        """Every song in the library with its duration, key, tempo, metre and vocals."""
        return answerer.library_lines()

    @tool
    @guarded
    def song_overview(song: Annotated[str, "Song title or file name"]) -> str:
        """Key, tempo, metre, duration, genres, moods, instruments and vocals of one song."""
        return answerer.overview_text(song)

    @tool
    @guarded
    def what_plays_at(song: Annotated[str, "Song title or file name"],
                      time: Annotated[str, "A time as m:ss, e.g. 0:45"]) -> str:
        """What plays at a time of a song: section, key, tempo, chord, vocals, instruments, loudness."""
        return answerer.moment_text(song, _seconds(time))

    @tool
    @guarded
    def song_sections(song: Annotated[str, "Song title or file name"]) -> str:
        """The sections of a song with their spans, keys and tempi."""
        return answerer.sections_text(song)

    @tool
    @guarded
    def song_events(song: Annotated[str, "Song title or file name"]) -> str:
        """Key changes, tempo changes, vocals and drums coming in and out, loudest and quietest moments."""
        return answerer.events_text(song)

    @tool
    @guarded
    def compare_spans(song: Annotated[str, "Song title or file name"],
                      first: Annotated[str, "A section such as 'the first chorus', or a range such as 0:10-0:20"],
                      second: Annotated[str, "Another section or range"]) -> str:
        """Compare two sections or time ranges of a song: key, tempo, loudness, vocals, instruments."""
        return ask(f"compare {first} and {second} in {song}")

    @tool
    @guarded
    def search_passages(query: Annotated[str, "What to look for, e.g. 'quiet piano with vocals'"],
                        song: Annotated[str | None, "Only this song; default the whole library"] = None) -> str:
        """Find passages by meaning across the library (or in one song)."""
        return answerer.search_text(query, song=song)

    @tool
    @guarded
    def library_query(question: Annotated[str, "e.g. 'which songs are in a minor key', 'fastest song'"]) -> str:
        """Answer a question over every song's measured summary: fastest, longest, minor, with vocals, in 3/4."""
        return ask(question)

    @tool
    @guarded
    def similar_songs(song: Annotated[str, "Song title or file name"],
                      time: Annotated[str | None, "A time as m:ss for passages like that moment"] = None) -> str:
        """Songs (or, with a time, passages) that sound like a song."""
        return answerer.similar_text(song, None if time is None else _seconds(time))

    tools: list[BaseTool] = [list_songs, song_overview, what_plays_at, song_sections, song_events, compare_spans,
                             search_passages, library_query, similar_songs]
    if describe_file is not None:
        @tool
        @guarded
        def describe_new_file(path: Annotated[str, "Path of an audio file in an allowed folder"]) -> str:
            """Analyse a new audio file, store it in the library, and return its summary."""
            return describe_file(path)

        tools.append(describe_new_file)
    if narrate_song is not None:
        @tool
        @guarded
        def narrate_again(song: Annotated[str, "Song title or file name"]) -> str:
            """Write the song's verified narrative again and return it."""
            return narrate_song(song)

        tools.append(narrate_again)
    return tools

