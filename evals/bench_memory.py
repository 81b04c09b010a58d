"""Benchmark of the song store: insert time per song and query latency on a full library.

Fills a fresh embedded store with synthetic analyses (default 1,000 songs x 30 windows plus
their sections) and reports:

- full `add_song` time per song, MiniLM text embedding included, on the first songs;
- Chroma-only insert time per song for the rest: the bulk fill gives each text the MiniLM
  vector of its first line only (a segment's caption, a song's title), embedded once and
  reused, so it measures the store, not the model;
- latency of a filtered semantic query, with the query text's embedding timed apart.

Run: ``python -m evals.bench_memory [--songs 1000] [--store DIR]``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from linernotes.memory import store as store_module
from linernotes.memory.embedding import embed_texts
from linernotes.memory.store import SongStore
from linernotes.tools.schema import Segment, Source, SongAnalysis, Summary, Tag, Vocals

KEYS = ["C major", "A minor", "E minor", "G major", "D major", "F# minor"]
LABELS = ["intro", "verse", "chorus", "bridge", "solo", "outro"]
GENRES = ["rock", "pop", "jazz", "folk", "metal", "electronic", "hip hop", "classical"]
MOODS = ["happy", "sad", "energetic", "calm", "dark", "dreamy"]
INSTRUMENTS = ["guitar", "piano", "drums", "bass", "synthesizer", "strings", "voice"]
CAPTIONS = [
    "distorted guitar solo over pounding drums",
    "soft piano chords with a hushed voice",
    "driving bass line and four-on-the-floor kick",
    "lush strings swell under a soaring melody",
    "sparse acoustic guitar picking",
    "layered synth pads and a slow arpeggio",
    "full band chorus with stacked vocals",
    "a quiet breakdown of bass and hi-hat",
]
WINDOW_S = 10.0
EMBEDDING_SIZE = 200


def synthetic_analysis(index: int, *, rng: random.Random, windows: int = 30) -> SongAnalysis:
    """A plausible `SongAnalysis`: 6 sections, `windows` 10 s windows, random audio vectors."""
    duration = windows * WINDOW_S
    key, bpm = rng.choice(KEYS), float(rng.choice([90, 100, 120, 128, 140]))
    vocals = Vocals(present=rng.random() < 0.6, score=0.8)
    tags = lambda names, n: [Tag(label=name, score=0.9 - 0.1 * i)  # noqa: E731
                             for i, name in enumerate(rng.sample(names, n))]
    genres, moods, instruments = tags(GENRES, 2), tags(MOODS, 2), tags(INSTRUMENTS, 3)
    vector = lambda: np.random.default_rng(rng.randrange(2**32)).normal(  # noqa: E731
        size=EMBEDDING_SIZE).tolist()
    section_len = duration / len(LABELS)

    def segment(kind: str, position: int, section: int, start: float, end: float) -> Segment:
        return Segment(
            kind=kind, index=position, section_index=section, start=start, end=end,
            label=LABELS[section], cluster="AB"[section % 2], label_confidence=0.7, key=key,
            key_confidence=0.7, bpm=bpm, loudness_lufs=float(rng.choice([-14, -10, -8])),
            energy=0.5, genres=genres, moods=moods, instruments=instruments, vocals=vocals,
            chords=["C:maj", "A:min"], caption=rng.choice(CAPTIONS), audio_embedding=vector(),
        )

    sections = [segment("section", i, i, i * section_len, (i + 1) * section_len)
                for i in range(len(LABELS))]
    segments = [segment("window", i, int(i * WINDOW_S // section_len), i * WINDOW_S,
                        (i + 1) * WINDOW_S) for i in range(windows)]
    return SongAnalysis(
        source=Source(path=f"/library/song-{index:05d}.flac",
                      sha256=hashlib.sha256(f"bench-{index}".encode()).hexdigest(),
                      duration_s=duration, sample_rate=44100, channels=2, title=f"Song {index}"),
        summary=Summary(
            key=key, key_confidence=0.7, bpm=bpm, bpm_confidence=0.8, time_signature="4/4",
            loudness_lufs=-10.0, loudness_range_lu=6.0, genres=genres, moods=moods,
            instruments=instruments, vocals=vocals, valence=0.5, energy=0.5, danceability=0.5,
            instrumentalness=0.3, melody=None, silent=False,
        ),
        beats=[], downbeats=[], tempo_curve=[], loudness_curve=[], chords=[], key_changes=[],
        sections=sections, segments=segments, timings={}, audio_embedding=vector(),
    )


@functools.lru_cache(maxsize=None)
def _embed_one(text: str) -> tuple[float, ...]:
    return tuple(embed_texts([text])[0])


def _first_line_embeddings(texts: list[str]) -> np.ndarray:
    """Each text gets the vector of its first line; each distinct line is embedded once."""
    return np.asarray([_embed_one(text.splitlines()[0]) for text in texts], dtype=np.float32)


def _milliseconds(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {1000 * statistics.median(values):.1f} ms, p95 {1000 * p95:.1f} ms"


def run(*, songs: int, store_dir: Path, full_inserts: int = 10, queries: int = 50) -> None:
    rng = random.Random(0)
    store = SongStore(path=store_dir)
    embed_texts(["warm up"])  # model load is not an insert cost

    full = []
    for index in range(min(full_inserts, songs)):
        analysis = synthetic_analysis(index, rng=rng)
        started = time.perf_counter()
        store.add_song(analysis)
        full.append(time.perf_counter() - started)
    print(f"add_song with text embedding: {_milliseconds(full)} per song ({len(full)} songs)")

    store_module.embed_texts = _first_line_embeddings
    bulk = []
    for index in range(len(full), songs):
        analysis = synthetic_analysis(index, rng=rng)
        _first_line_embeddings([store_module.song_summary_text(analysis)])  # its new title
        started = time.perf_counter()
        store.add_song(analysis)
        bulk.append(time.perf_counter() - started)
        if (index + 1) % 100 == 0:
            print(f"  {index + 1} songs stored", flush=True)
    store_module.embed_texts = embed_texts
    if bulk:
        print(f"add_song, Chroma only: {_milliseconds(bulk)} per song ({len(bulk)} songs)")
    print(f"library: {len(store.list_songs())} songs")

    filters = [{"key": key, "vocals": False} for key in KEYS]
    text_times, chroma_times, store_times = [], [], []
    for turn in range(queries):
        query = CAPTIONS[turn % len(CAPTIONS)]
        where = {"$and": [{name: value} for name, value in filters[turn % len(filters)].items()]}
        started = time.perf_counter()
        vector = embed_texts([query])
        text_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        store._segments.query(query_embeddings=vector, n_results=5, where=where)
        chroma_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        store_module._filtered_query(store._segments, vector, where, k=5)
        store_times.append(time.perf_counter() - started)
    print(f"filtered semantic query, the store's (nearest {5 * store_module.OVERSAMPLE}, "
          f"filtered in Python): {_milliseconds(store_times)}")
    print(f"filtered semantic query, Chroma's own metadata filter: {_milliseconds(chroma_times)}")
    print(f"query text embedding: {_milliseconds(text_times)}")
    end_to_end = []
    for turn in range(queries):
        started = time.perf_counter()
        store.search_segments(CAPTIONS[turn % len(CAPTIONS)], where=filters[turn % len(filters)])
        end_to_end.append(time.perf_counter() - started)
    print(f"search_segments end to end (embed + lock + query + records): {_milliseconds(end_to_end)}")
    similar = []
    for turn in range(queries):
        started = time.perf_counter()
        store.similar_segments(f"song-{turn % songs:05d}", 55.0, k=5)
        similar.append(time.perf_counter() - started)
    print(f"similar_segments (audio vectors): {_milliseconds(similar)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=1000)
    parser.add_argument("--store", type=Path, default=None, help="store directory (default: temporary)")
    args = parser.parse_args(argv)
    if args.store:
        run(songs=args.songs, store_dir=args.store)
        return
    with tempfile.TemporaryDirectory() as scratch:
        run(songs=args.songs, store_dir=Path(scratch) / "store")


if __name__ == "__main__":
    main()
