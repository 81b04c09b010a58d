"""The chat's view of the song store: the stored analyses, loaded once, and songs found by name.

Questions name songs loosely ("synth01", "the waltz", "Fixture Song"); `find_songs` matches
titles and file names fuzzily. Analyses are read from the store once per song and version,
so a turn of the deterministic answerer costs no store round trip.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING

from linernotes.agent.facts import TAG_FLOOR
from linernotes.tools.schema import SongAnalysis
from linernotes.tools.vocabulary import INSTRUMENT_WORDS

if TYPE_CHECKING:
    from linernotes.memory.store import SongStore

_WORD = re.compile(r"[a-z0-9]+")
# Words that name no song in particular.
_COMMON = {"the", "a", "an", "of", "and", "song", "track", "flac", "wav", "mp3", "ogg", "my", "in", "at", "is"}
# "the ragtime song", "the melancholic one": a word before a noun for a song names it by its tags.
_TAG_PHRASE = re.compile(r"\b([a-z0-9]+)\s+(?:song|track|one|piece|tune|thing)\b")
_MIN_TITLE_WORD = 4  # shorter title words ("me", "you", "go") are too often the question's own
_SHORT_TITLE_WORD = re.compile(r"\bthe ([a-z0-9]{3})\b")  # ... unless "the" names it: "the rag"
# Words a question uses of any song: a lone one names no song, whatever the titles hold
# ("when does the guitar come in?" is not about "Come Together").
_QUESTION_WORDS = {word for aliases in INSTRUMENT_WORDS.values() for alias in aliases for word in alias.split()} | {
    "what", "when", "where", "which", "while", "does", "done", "have", "there", "their", "them", "they", "then",
    "than", "that", "this", "these", "those", "with", "from", "into", "about", "after", "before", "over", "again",
    "more", "most", "much", "many", "some", "only", "also", "very", "just", "each", "every", "both", "other",
    "would", "could", "should", "will", "been", "being", "were", "your", "here", "show", "give", "list", "know",
    "tell", "like", "sound", "sounds", "music", "songs", "time", "first", "last", "next", "whole",
    "tempo", "fast", "faster", "fastest", "slow", "slower", "slowest", "loud", "louder", "loudest", "quiet",
    "quietest", "long", "longest", "short", "shortest", "chord", "chords", "chorus", "verse", "bridge", "intro",
    "outro", "section", "part", "voice", "vocals", "sing", "sings", "singing", "energy", "mood", "genre", "major",
    "minor", "come", "comes", "start", "starts", "stop", "stops", "drop", "drops", "change", "changes", "begin",
    "begins", "play", "plays", "playing", "key", "bpm", "end", "one", "two", "bar", "sig", "top", "way", "bit", "lot",
    "mid", "low"}


def normalised_words(text: str) -> list[str]:
    """Lower-case words, with `_`, `-` and `.` as separators: "synth01_pop-2.flac" -> [synth01, pop, 2, flac]."""
    return _WORD.findall(text.lower())


@dataclass(kw_only=True)
class LibrarySong:
    """A stored song as the chat sees it: its id, its name and its full analysis."""

    id: str
    name: str  # title (with artist), else the file name
    analysis: SongAnalysis

    @property
    def names(self) -> list[str]:
        """Every name a user may call it by: title, file name, file stem."""
        source = self.analysis.source
        stem = PurePath(source.path.replace("\\", "/")).stem
        return [name for name in dict.fromkeys([self.name, source.title or "", PurePath(source.path).name, stem]) if name]

    @property
    def name_words(self) -> set[str]:
        """The words of its names that may name it, without "the", "song", "wav"..."""
        return {word for name in self.names for word in normalised_words(name) if word not in _COMMON}

    @property
    def tag_words(self) -> set[str]:
        """The words of its song-level genre, mood and instrument tags that are not too weak to mention."""
        summary = self.analysis.summary
        tags = [*summary.genres, *summary.moods, *summary.instruments]
        return {word for tag in tags if tag.score >= TAG_FLOOR for word in normalised_words(tag.label)}

    @property
    def lead_tag_words(self) -> set[str]:
        """The words of its strongest genre, mood and instrument tag: "the techno track" is the song techno leads."""
        summary = self.analysis.summary
        leads = [max(tags, key=lambda tag: tag.score) for tags in (summary.genres, summary.moods, summary.instruments)
                 if tags]
        return {word for tag in leads if tag.score >= TAG_FLOOR for word in normalised_words(tag.label)}


def _held(word: str, words: set[str]) -> bool:
    return word in words


def _starts_with_one(word: str, words: set[str]) -> bool:
    """"ragtime" starts with the title word "rag"."""
    return any(word.startswith(title_word) for title_word in words if len(title_word) >= 3)


def _match_score(song: LibrarySong, words: list[str], text: str) -> float:
    """How well the question names the song: 1 for a whole name in the text, less for fuzzy word matches."""
    joined = " ".join(words)
    naming = [word for word in words if word not in _COMMON]  # "the techno track" is not near "track03"
    best = 0.0
    for name in song.names:
        name_words = [word for word in normalised_words(name) if word not in _COMMON]
        if not name_words:
            continue
        if re.search(rf"(?<![a-z0-9]){re.escape(' '.join(name_words))}(?![a-z0-9])", joined):
            best = max(best, 1.0 + 0.01 * len(name_words))
            continue
        hits = 0.0
        for name_word in name_words:
            if name_word in words:
                hits += 1.0
            elif len(name_word) >= 4 and difflib.get_close_matches(name_word, naming, n=1, cutoff=0.8):
                hits += 0.8
        best = max(best, 0.9 * hits / len(name_words))
    return best


@dataclass(kw_only=True)
class Library:
    """The songs of a store, with their analyses; `refresh` picks up songs stored since."""

    store: SongStore | None = None
    songs: list[LibrarySong] = field(default_factory=list)
    _stamps: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of_analyses(cls, analyses: list[SongAnalysis]) -> "Library":
        """A library held in memory only (tests, benchmarks, a notebook without a store)."""
        return cls(songs=[LibrarySong(id=analysis.source.sha256, name=display_name(analysis), analysis=analysis)
                          for analysis in analyses])

    def refresh(self) -> "Library":
        """Reload the song list from the store; analyses are read only for new or rewritten songs."""
        if self.store is None:
            return self
        records = self.store.list_songs()
        known = {song.id: song for song in self.songs}
        songs = []
        for record in records:
            song = known.get(record.id)
            if song is None or self._stamps.get(record.id) != record.stored_at:
                analysis = self.store.get_analysis(record.id)
                if analysis is None:
                    continue
                song = LibrarySong(id=record.id, name=record.display_name, analysis=analysis)
                self._stamps[record.id] = record.stored_at
            songs.append(song)
        self.songs = songs
        return self

    def get(self, song_id: str | None) -> LibrarySong | None:
        """The song with this id (or unique id prefix), else None."""
        if not song_id:
            return None
        found = [song for song in self.songs if song.id.startswith(song_id)]
        return found[0] if len(found) == 1 else None

    def find_songs(self, text: str) -> list[LibrarySong]:
        """The songs the text names, best match first: every song named in full ("is brahms faster
        than the maple leaf rag?") and the best fuzzy matches (ties all returned); [] when it names none."""
        return self._named_by(text, at_least=1.0)

    def _named_by(self, text: str, *, at_least: float) -> list[LibrarySong]:
        """The best-scoring songs, and those scoring `at_least`; by id or distinctive word when none scores."""
        words = normalised_words(text)
        scored = [(_match_score(song, words, text), song) for song in self.songs]
        scored = [(score, song) for score, song in scored if score >= 0.6]
        if not scored:
            by_id = self.get(text.strip()) or self._by_distinctive_word(text)
            return [by_id] if by_id else []
        top = max(score for score, _ in scored)
        return [song for score, song in sorted(scored, key=lambda pair: -pair[0]) if score >= min(top - 1e-9, at_least)]

    def _by_distinctive_word(self, text: str) -> LibrarySong | None:
        """The one song a title word of the text names ("how loud is feelings?", "the rag"), else the
        one song whose tags hold the word of "the ragtime song", else the one song that word leads
        the tags of ("the techno track"), else the one with a title word it starts with ("the ragtime
        thing": Maple Leaf Rag); None when no word is held by exactly one song."""
        lowered = text.lower()
        title_words = [word for word in normalised_words(text)
                       if len(word) >= _MIN_TITLE_WORD and word not in _QUESTION_WORDS]
        title_words += [word for word in _SHORT_TITLE_WORD.findall(lowered) if word not in _QUESTION_WORDS]
        tag_words = _TAG_PHRASE.findall(lowered)
        tiers = [(title_words, lambda song: song.name_words, _held), (tag_words, lambda song: song.tag_words, _held),
                 (tag_words, lambda song: song.lead_tag_words, _held),
                 (tag_words, lambda song: song.name_words, _starts_with_one)]
        for words, words_of, holds in tiers:
            held = [(song, words_of(song)) for song in self.songs]  # each song's words, once
            for word in words:
                holders = [song for song, song_words in held if holds(word, song_words)]
                if len(holders) == 1:
                    return holders[0]
        return None

    def find_song(self, text: str) -> LibrarySong | None:
        """The one song the text names, else None (no match, or several equally good)."""
        found = self._named_by(text, at_least=float("inf"))
        return found[0] if len(found) == 1 else None


def without_names(text: str, songs: list[LibrarySong], *, full_names: bool = True) -> str:
    """The text with the songs' names blanked out, so that "synth01_pop_modulation" asks nothing about keys.

    A song named by one word of its title ("how long is the intro of feelings?") has that word
    blanked, so that "feelings" asks nothing about the mood. With `full_names` False a name given
    in full stays: what its words ask ("when does the tempo change in tempo_change?") is still read.
    """
    for song in songs:
        named = 0
        for name in sorted(song.names, key=len, reverse=True):
            words = [re.escape(word) for word in normalised_words(name)]
            if words:
                pattern = r"[\W_]*".join(words)
                named += len(re.findall(pattern, text, flags=re.I))
                if full_names:
                    text = re.sub(pattern, " ", text, flags=re.I)
        if not named:
            for word in song.name_words - _QUESTION_WORDS:
                if len(word) >= _MIN_TITLE_WORD:
                    text = re.sub(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", " ", text, flags=re.I)
    return text


def display_name(analysis: SongAnalysis) -> str:
    """Title (with artist when known), else the file name, as the store shows it."""
    source = analysis.source
    if source.title:
        return f"{source.artist} - {source.title}" if source.artist else source.title
    return PurePath(source.path.replace("\\", "/")).name
